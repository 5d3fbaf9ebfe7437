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
        let store = try database.openForReading(in: context)
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

struct StatusCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show items, reviews, open leases and the label budget.",
        discussion: "Example: docket status --json"
    )

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(in: context)
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
            labels:      \(Format.count(status.labels)) current, on \(Format.count(status.labelledItems)) items
            open leases: \(Format.count(status.openLeases))
            reviewers:   \(Format.count(status.reviewers))

            """)
    }
}

struct BackupCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database, even while reviewers are working.",
        discussion: "Uses SQLite's online backup API. Example: docket backup backups/docket-2026-11-29.db"
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The new file to write; it must not exist.", valueName: "file")) var file: String

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(in: context, acceptingOlderSchema: true)
        if let clash = OutputFile.clash(of: file, with: OutputFile.protected(store: store, inputs: [])) {
            throw CommandError.cannotWrite(path: file, reason: "it is \(clash), which this command must not overwrite")
        }
        guard file != "-", !file.hasPrefix("/dev/") else {
            throw CommandError.cannotWrite(path: file, reason: "a backup is a database file; name a new file")
        }
        let temporary = try OutputFile.reserveTemporary(for: file)
        // SQLite may keep a journal beside the temporary while it writes.
        TemporaryFiles.register(temporary + "-journal")
        defer {
            TemporaryFiles.unregister(temporary)
            TemporaryFiles.unregister(temporary + "-journal")
        }
        do {
            try store.backup(to: file, through: temporary)
        } catch {
            if case .backupTargetExists = error { throw error }
            // Like every other writer: a sentence naming the file, and EX_CANTCREAT.
            var reason = "\(error)"
            while reason.hasSuffix(".") { reason.removeLast() }
            throw CommandError.cannotWrite(path: file, reason: reason)
        }
        context.console.write("Backed up \(Sanitize.inline(store.location)) to \(Sanitize.inline(file)).\n")
    }
}

struct CheckCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run SQLite's integrity check and Docket's own invariants.",
        discussion: """
            Checks that no item has more counted reviews than its overlap (open leases, completed reviews, and leases that ended holding current feedback other than a skip), no reviewer is twice on one item, no lease is without a live item, and that the stored counters match. Exits non-zero on any violation.

            Example: docket check
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(in: context)
        let violations = try store.check()
        guard violations.isEmpty else {
            for violation in violations { context.console.writeError("violation: \(Sanitize.inline(violation.description))\n") }
            throw CommandError.checkFailed(violations: violations.count)
        }
        context.console.write("OK: integrity check passed and every invariant holds.\n")
    }
}
