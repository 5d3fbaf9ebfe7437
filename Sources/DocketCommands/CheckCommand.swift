import ArgumentParser
import DocketCore
import DocketStore

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
        let store = try database.openForReading(for: .check, in: context).store
        let violations = try store.check()
        guard violations.isEmpty else {
            for violation in violations { context.console.writeError("violation: \(Sanitize.inline(violation.description))\n") }
            throw CommandError.checkFailed(violations: violations.count)
        }
        context.console.write("OK: integrity check passed and every invariant holds.\n")
    }
}
