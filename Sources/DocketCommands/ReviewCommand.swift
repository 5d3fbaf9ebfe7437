import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct ReviewCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Review items from the queue in a terminal session.",
        discussion: """
            Serves items one at a time and records each piece of feedback the moment it is given. On a terminal the session uses GNU readline (line editing, tab completion, history per project and reviewer in $XDG_STATE_HOME/docket/history, else ~/.local/state/docket/history); otherwise it reads the same commands line by line, so sessions can be scripted. Type help inside the session for the commands.

            Example: docket review --as ana --keys
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this reviewer: only an admin may name someone else (default: the reviewer bound to your login).", valueName: "name")) var reviewer: String?
    @Flag(help: "Write each response as one JSON line.") var json = false
    @Flag(help: "Single-key mode: answer each ask with one keypress, no Enter (Tab switches to typed commands, `keys` back).")
    var keys = false

    func run(in context: CommandContext) throws {
        let (store, actor) = try database.open(for: .review, as: reviewer, in: context)
        let reviewer = actor.name  // normalised (NFC)
        let input = context.makeLineInput(HistoryScope(database: store.location, reviewer: reviewer))
        let editor: any TextEditor
        // An empty VISUAL counts as unset (as git does), so EDITOR still applies.
        let visual = context.environment["VISUAL"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        let plain = context.environment["EDITOR"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        if input.isInteractive, let command = visual ?? plain {
            editor = ExternalTextEditor(command: command)
        } else {
            editor = LineTextEditor()
        }
        let session = ReviewSession(
            store: store, reviewer: reviewer, console: context.console, input: input, editor: editor, clock: context.clock, json: json,
            keyMode: keys, dayStart: context.dayStart)
        let asked = self.reviewer
        session.recheck = { try Authority.stillActs(reviewer, for: .review, as: asked, store: store, context: context) }
        try session.run()
    }
}
