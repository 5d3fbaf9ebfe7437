import ArgumentParser
import DocketCore
import DocketStore

struct LogCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the audit log: every state change, with who, when and what.",
        discussion: """
            Every import, claim, lease expiry, selection, feedback, undo, gold mix, configuration change and reviewer change is an append-only event; the store refuses to update or delete one.

            Example: docket log --item item-00042 --since 2026-11-29
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("Only events about this item.", valueName: "id")) var item: String?
    @Option(help: ArgumentHelp("Only events by or for this reviewer.", valueName: "name")) var reviewer: String?
    @Option(help: ArgumentHelp("Only events at or after this time (RFC 3339 with a zone, or a date for midnight UTC).", valueName: "time")) var since: String?
    @Flag(help: "One JSON object per line.") var json = false

    func run(in context: CommandContext) throws {
        var from: Instant?
        if let since {
            do { from = try Instant.parse(since) } catch {
                throw CommandError.invalidOption(name: "--since", value: since, reason: error.reason)
            }
        }
        let (store, actor) = try database.openForReading(for: .log, in: context)
        var reviewer = reviewer
        if actor.visibility == .own {
            // A reviewer reads their own events only: what they did and what was done to their
            // leases. Someone else's name is refused before it is looked up.
            if let named = reviewer, ((try? ReviewerName.normalised(named)) ?? named) != actor.name {
                throw StoreError.denied(.ownOnly(name: actor.name, role: actor.role, other: named))
            }
            reviewer = actor.name
        }
        reviewer = try reviewer.map { try store.reviewer(named: $0).name }
        var out = ""
        var count = 0
        try store.forEachEvent(item: item, reviewer: reviewer, since: from) { event in
            count += 1
            var event = event
            if actor.visibility == .own { event.detail = Self.blind(event.detail, viewer: actor.name) }
            if json {
                var object = JSONObjectWriter()
                object.set("id", Int(event.id))
                object.set("at", event.at.iso8601)
                object.set("kind", event.kind)
                object.set("reviewer", event.reviewer)
                object.set("item", event.item)
                object.set("detail", event.detail.flatMap { try? JSON.parse($0) } ?? .null)
                out += object.value.encoded() + "\n"
            } else {
                var line = "\(event.at.iso8601)  \(event.kind)"
                if let reviewer = event.reviewer { line += "  by \(Sanitize.inline(reviewer))" }
                if let item = event.item { line += "  on \(Sanitize.inline(item))" }
                if let detail = event.detail { line += "  \(Sanitize.inline(detail))" }
                out += line + "\n"
            }
            if out.utf8.count > 1 << 16 {
                context.console.write(out)
                out = ""
            }
        }
        if count == 0, !json { out = "No events match.\n" }
        context.console.write(out)
    }

    /// A reviewer's view of an event's detail: whoever else caused it (another reviewer whose
    /// claim ended this reviewer's lease) is not named, as no other view names who else reviews.
    static func blind(_ detail: String?, viewer: String) -> String? {
        guard let detail, detail.contains("\"actor\""), case .object(var members)? = try? JSON.parse(detail),
              let index = members.firstIndex(where: { $0.0 == "actor" }), members[index].1 != .string(viewer)
        else { return detail }
        members[index].1 = .string("someone else")
        return JSONValue.object(members).encoded()
    }
}
