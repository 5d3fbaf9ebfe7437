import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct RoundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract: "Mark feedback-loop rounds: items imported while a round is open belong to it.",
        subcommands: [Start.self, Close.self]
    )

    struct Start: ContextCommand {
        static let configuration = CommandConfiguration(abstract: "Open a round.", discussion: "Example: docket round start model-2026-12")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The round's name.") var name: String
        func run(in context: CommandContext) throws {
            let round = try database.open(for: .round, in: context).store.startRound(name, at: context.clock())
            context.console.write("Round \(Sanitize.inline(round.name)) started at \(round.startedAt.iso8601).\n")
        }
    }

    struct Close: ContextCommand {
        static let configuration = CommandConfiguration(abstract: "Close the open round.", discussion: "Example: docket round close")
        @OptionGroup var database: DatabaseOptions
        func run(in context: CommandContext) throws {
            let round = try database.open(for: .round, in: context).store.closeRound(at: context.clock())
            context.console.write("Round \(Sanitize.inline(round.name)) closed.\n")
        }
    }
}
