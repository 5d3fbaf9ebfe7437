import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct EscalationsCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalations",
        abstract: "List open escalations with their tier, reason, severity and age.",
        discussion: """
            The escalation policy in docket.yaml (an ordered list of rules, each a condition and a tier) is evaluated whenever feedback is committed; the first matching rule routes the item. A second-review tier also raises the item's overlap so one more reviewer sees it.

            Example: docket escalations --tier lead
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("Only this tier.", valueName: "tier")) var tier: String?
    @Flag(help: "Print one JSON array.") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(for: .escalations, in: context).store
        let records = try store.openEscalations(tier: tier)
        let now = context.clock()
        if json {
            context.console.write(JSONValue.array(records.map { record in
                var object = JSONObjectWriter()
                object.set("id", Int(record.id))
                object.set("item", record.itemID)
                object.set("tier", record.tier)
                object.set("rule", record.rule)
                object.set("reason", record.reason)
                object.set("severity", record.severity)
                object.set("created_at", record.createdAt.iso8601)
                object.set("age_seconds", Int(now.milliseconds(since: record.createdAt) / 1000))
                return object.value
            }).encoded() + "\n")
            return
        }
        guard !records.isEmpty else { return context.console.write("No open escalations\(tier.map { " in tier \($0)" } ?? "").\n") }
        context.console.write(Format.table(
            header: ["item", "tier", "severity", "age", "reason"],
            rows: records.map { [Sanitize.inline($0.itemID), Sanitize.inline($0.tier), String($0.severity), Self.age(now.milliseconds(since: $0.createdAt)), Sanitize.inline($0.reason)] },
            rightAligned: [2, 3]))
    }

    static func age(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 86_400 { return "\(seconds / 3600)h" }
        return "\(seconds / 86_400)d"
    }
}
