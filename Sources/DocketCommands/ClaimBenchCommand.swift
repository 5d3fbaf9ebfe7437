import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Hidden: claims and finishes items in a loop and prints each claim's latency, for scripts/bench
/// and the multi-process tests. Not part of the documented interface.
struct ClaimBenchCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim-loop",
        abstract: "Claim and finish items in a loop (benchmarks and tests).",
        shouldDisplay: false
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as")) var reviewer: String
    @Option var count: Int = 100
    @Flag(help: "Leave each claimed item open instead of finishing it.") var hold = false

    func run(in context: CommandContext) throws {
        let store = try database.open(in: context)
        var lines = ""
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try store.claimNext(for: reviewer, at: context.clock())
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            guard case .claimed(let assignment) = outcome else {
                lines += "end \(outcome == .budgetSpent ? "budget" : "empty")\n"
                break
            }
            if !hold { try store.finish(assignment: assignment.id, at: context.clock()) }
            lines += "claim \(assignment.itemID) \(elapsed)\n"
        }
        context.console.write(lines)
    }
}
