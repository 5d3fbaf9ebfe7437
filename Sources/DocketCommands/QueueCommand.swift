import ArgumentParser
import DocketCore
import DocketStore

struct QueueCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show the next items in serving order, with their utility and its parts.",
        discussion: """
            The order is the one new items will be handed out in: each step either exploits (the highest utility, ties by id) or, with probability --explore, draws uniformly from the unserved items. Propensity is the probability that the step picks that item.

            Example: docket queue --budget 10
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "How many items to show, 0 to 1000000.")
    var budget: Int = 20

    @Flag(help: "Print one JSON array.")
    var json = false

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--budget", budget, OptionBounds.queueLength, "items")
        let store = try database.openForReading(for: .queue, in: context).store
        let preview = try store.queuePreview(limit: budget)
        if json {
            let array = JSONValue.array(preview.entries.map { entry in
                var object = JSONObjectWriter()
                object.set("rank", entry.step - preview.served + 1)
                object.set("id", entry.id)
                object.set("utility", entry.utility)
                object.set("risk", entry.risk)
                object.set("uncertainty", entry.uncertainty)
                object.set("diversity", entry.diversity)
                object.set("policy", entry.policy.rawValue)
                object.set("propensity", entry.propensity)
                object.set("step", entry.step)
                return object.value
            })
            context.console.write(array.encoded() + "\n")
            return
        }
        var out = ""
        if let left = preview.budgetLeft, left == 0 {
            out += "The label budget is spent: \(Format.count(preview.budget ?? 0)) of \(Format.count(preview.budget ?? 0)) items handed out.\n"
            context.console.write(out)
            return
        }
        if preview.unserved == 0 {
            context.console.write("The queue is empty: every item has been handed out.\n")
            return
        }
        let budgetText = preview.budget.map { "budget \(Format.count(preview.served)) of \(Format.count($0)) used, \(Format.count(max(0, $0 - preview.served))) left" } ?? "no budget cap"
        out += "Next \(Format.count(preview.entries.count)) of \(Format.count(preview.unserved)) unserved items (\(budgetText)).\n"
        out += Format.table(
            header: ["#", "id", "utility", "risk", "uncert.", "divers.", "policy", "propensity"],
            rows: preview.entries.map { entry in
                [
                    String(entry.step - preview.served + 1), Sanitize.inline(entry.id), Format.fixed(entry.utility, 4),
                    Format.fixed(entry.risk), Format.fixed(entry.uncertainty), Format.fixed(entry.diversity),
                    entry.policy.rawValue, Format.fixed(entry.propensity, 6),
                ]
            },
            rightAligned: [0, 2, 3, 4, 5, 7])
        context.console.write(out)
    }
}
