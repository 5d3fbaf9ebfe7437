import ArgumentParser
import DocketCore
import DocketStore

struct StatusCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show items, reviews, open leases and the label budget.",
        discussion: "Example: docket status --json"
    )

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(for: .status, in: context).store
        let status = try store.status(at: context.clock())
        if json {
            var object = JSONObjectWriter()
            object.set("items", status.items)
            object.set("served", status.served)
            object.set("budget", status.budget)
            object.set("budget_used", status.served)
            object.set("budget_left", status.budgetLeft)
            object.set("overlap", status.overlap)
            object.set("reviews", status.reviewsDone)
            object.set("labels", status.labels)
            object.set("labelled_items", status.labelledItems)
            // Only where the database shows the login its own answers alone (PostgreSQL).
            if status.labelsAreOwnOnly { object.set("labels_counted", "own") }
            object.set("items_complete", status.itemsComplete)
            object.set("open_leases", status.openLeases)
            object.set("reviewers", status.reviewers)
            context.console.write(object.value.encoded() + "\n")
            return
        }
        let budget = status.budget.map { "\(Format.count(status.served)) of \(Format.count($0)) used, \(Format.count(status.budgetLeft ?? 0)) left" }
            ?? "\(Format.count(status.served)) items handed out, no cap"
        context.console.write("""
            items:       \(Format.count(status.items))
            budget:      \(budget)
            reviews:     \(Format.count(status.reviewsDone)) done, \(Format.count(status.itemsComplete)) items complete at overlap \(status.overlap)
            labels:      \(Format.count(status.labels)) current, on \(Format.count(status.labelledItems)) items\(status.labelsAreOwnOnly ? " (yours: the database shows your login only your own answers)" : "")
            open leases: \(Format.count(status.openLeases))
            reviewers:   \(Format.count(status.reviewers))

            """)
    }
}
