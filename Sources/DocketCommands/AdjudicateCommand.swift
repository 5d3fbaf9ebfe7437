import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// One command of the lead's session or of triage, with one line of what it does.
struct LeadSessionCommand: Sendable {
    let name: String
    let aliases: [String]
    let usage: String
    let help: String
    /// The decision the command records; the one place a command word maps to a stored kind.
    let decision: DecisionKind?

    init(name: String, aliases: [String] = [], usage: String, help: String, decision: DecisionKind? = nil) {
        self.name = name
        self.aliases = aliases
        self.usage = usage
        self.help = help
        self.decision = decision
    }

    static let adjudicate: [LeadSessionCommand] = [
        .init(name: "label", usage: "label LABEL RATIONALE", help: "Record the final label and resolve the escalation.", decision: .label),
        .init(name: "rate", usage: "rate N RATIONALE", help: "Record the final rating; the item stays on screen until it has a label.", decision: .rating),
        .init(name: "choose", usage: "choose LETTER RATIONALE", help: "Record the chosen response; the item stays on screen until it has a label.", decision: .choice),
        .init(name: "return", usage: "return NOTE", help: "Send the item back for another review round (its overlap goes up by one).", decision: .return),
        .init(name: "dismiss", usage: "dismiss REASON", help: "Close the escalation without a decision.", decision: .dismiss),
        .init(name: "skip", aliases: ["s"], usage: "skip", help: "Go on to the next item; this one stays open."),
        .init(name: "show", usage: "show", help: "Show the item again."),
        .init(name: "help", aliases: ["h", "?"], usage: "help", help: "List the commands."),
        .init(name: "quit", aliases: ["q", "exit"], usage: "quit", help: "End the session (Ctrl-D does the same)."),
    ]

    static let triage: [LeadSessionCommand] = [
        .init(name: "0", aliases: ["1", "2", "3"], usage: "0, 1, 2 or 3", help: "Give the item that severity and go on to the next one."),
        .init(name: "skip", aliases: ["s"], usage: "skip", help: "Go on to the next item without a severity."),
        .init(name: "show", usage: "show", help: "Show the item again."),
        .init(name: "help", aliases: ["h", "?"], usage: "help", help: "List the commands."),
        .init(name: "quit", aliases: ["q", "exit"], usage: "quit", help: "End the triage (Ctrl-D does the same)."),
    ]

    static func named(_ word: String, in commands: [LeadSessionCommand]) -> LeadSessionCommand? {
        commands.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// Each command's usage and what it does, one line each.
    static func helpText(_ commands: [LeadSessionCommand]) -> String {
        let width = commands.map(\.usage.count).max() ?? 0
        return commands.map { "  " + $0.usage + String(repeating: " ", count: width - $0.usage.count) + "  " + $0.help }.joined(separator: "\n") + "\n"
    }

    /// "Unknown command 'x'." with the nearest command's name when one is close.
    static func unknown(_ word: String, in commands: [LeadSessionCommand]) -> String {
        var message = "Unknown command '\(Sanitize.inline(word))'."
        let names = commands.map(\.name).filter { $0.count > 1 }
        if let suggestion = Suggestion.nearest(to: word.lowercased(), in: names) { message += " Did you mean `\(suggestion)`?" }
        return message
    }

    /// The text after the first `count` words, as typed (inner spacing kept).
    static func remainder(of line: String, after count: Int) -> String {
        var rest = Substring(line)
        for _ in 0..<count { rest = rest.drop(while: \.isWhitespace).drop(while: { !$0.isWhitespace }) }
        return rest.trimmingCharacters(in: .whitespaces)
    }
}

struct AdjudicateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "adjudicate",
        abstract: "The lead's session: resolve escalated items, highest severity and oldest first.",
        discussion: """
            Shows every reviewer's feedback side by side with names, the votes, the Dawid–Skene posterior (from aggregate --save), gold, flags and notes. Commands: label LABEL RATIONALE, rate N RATIONALE, choose LETTER RATIONALE (a final decision), return NOTE (another review round: the item's overlap goes up by one), dismiss REASON, skip, show, help, quit. A rationale is required. A mistyped command, a bad value or a refused decision prints a message and the session goes on. Decisions can be revised later with --item; every revision is kept. Only leads and admins may adjudicate.

            Example: docket adjudicate --as lee --tier lead
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this reviewer: only an admin may name someone else (default: the reviewer bound to your login).", valueName: "name")) var lead: String?
    @Option(help: ArgumentHelp("The tier to work through (default: lead).", valueName: "tier")) var tier: String = "lead"
    @Option(help: ArgumentHelp("Adjudicate (or revise) this item only.", valueName: "id")) var item: String?

    func run(in context: CommandContext) throws {
        let (store, actor) = try database.open(for: .adjudicate, as: lead, in: context)
        let lead = actor.name  // normalised (NFC)
        let definition = try store.taskDefinition().definition
        let queue: [String]
        if let item {
            _ = try store.itemReport(id: item)  // an unknown --item is an error of the command line, before the session
            queue = [item]
        } else {
            queue = try store.openEscalations(tier: tier).map(\.itemID)
        }
        let session = LeadSession(store: store, definition: definition, lead: lead, console: context.console, input: context.makeLineInput(HistoryScope(database: store.location, reviewer: lead, session: "adjudicate")), clock: context.clock)
        let asked = self.lead
        session.recheck = { try Authority.stillActs(lead, for: .adjudicate, as: asked, store: store, context: context) }
        session.run(queue: queue, scope: item == nil ? " in tier \(Sanitize.inline(tier))" : "")
        if let denied = session.denied { throw denied }
    }
}

/// The lead's session. Every error — a mistyped command, a bad value, a missing rationale, a
/// refused or failed store write — is printed as a sentence and the session goes on.
final class LeadSession {
    /// Checked before each answer (`Authority.stillActs`); `denied` holds why it failed.
    var recheck: (() throws -> Void)?
    private(set) var denied: (any Error)?
    let store: any ReviewStore
    let definition: TaskDefinition
    let lead: String
    let console: any Console
    let input: any LineInput
    let clock: () -> Instant
    private var current: ItemReport?
    private var decided = 0

    init(store: any ReviewStore, definition: TaskDefinition, lead: String, console: any Console, input: any LineInput, clock: @escaping () -> Instant) {
        self.store = store
        self.definition = definition
        self.lead = lead
        self.console = console
        self.input = input
        self.clock = clock
    }

    private enum Outcome { case stay, next, quit }

    private var letters: [String] {
        guard let report = current else { return [] }
        return report.content.letters
    }

    private func fail(_ text: String) { console.write("! " + text + "\n") }

    func run(queue: [String], scope: String) {
        let commands = LeadSessionCommand.adjudicate
        input.completer = { [weak self] line, start in
            guard let self else { return [] }
            let words = line.prefix(start).split(whereSeparator: \.isWhitespace)
            guard let first = words.first else { return commands.map(\.name) }
            guard words.count == 1 else { return [] }
            switch LeadSessionCommand.named(first.lowercased(), in: commands)?.decision {
            case .label?: return self.definition.labels
            case .rating?: return self.definition.rating.map { ($0.minimum...$0.maximum).map(String.init) } ?? []
            case .choice?: return self.letters
            default: return []
            }
        }
        console.write("Adjudicating as \(Sanitize.inline(lead)): \(queue.count) \(queue.count == 1 ? "item" : "items")\(scope).\n")
        items: for id in queue {
            do {
                current = try store.itemReport(id: id)
            } catch {
                fail("\(error) Skipping \(Sanitize.inline(id)).")
                continue
            }
            show()
            while true {
                // Decisions are taken only on what was shown: once standard output fails (a
                // closed pipe, a full disk), no further answer is read.
                if console.outputFailure != nil { break items }
                switch input.readLine(prompt: "lead> ") {
                case .interrupt: continue
                case .end: break items  // the line input ends the prompt's line itself
                case .line(let line):
                    input.remember(line)
                    // The caller may no longer act so (an unbinding or a demotion since the
                    // start): checked once the answer has come, before it is taken.
                    do { try recheck?() } catch {
                        fail("\(error)")
                        denied = error
                        break items
                    }
                    let outcome: Outcome
                    do { outcome = try handle(line) } catch {
                        fail("\(error)")
                        outcome = .stay
                    }
                    switch outcome {
                    case .stay: continue
                    case .next: continue items
                    case .quit: break items
                    }
                }
            }
        }
        current = nil
        console.write("Adjudication ended: \(decided) \(decided == 1 ? "decision" : "decisions").\n")
    }

    private func show() {
        guard let report = current else { return }
        console.page(ItemReportView.text(report, width: console.width, leadView: true, viewer: nil))
    }

    private func handle(_ line: String) throws -> Outcome {
        guard let report = current else { return .next }
        // A rationale is stored text (`StoredText`): the whole line is refused, nothing decided.
        if StoredText.hasNUL(line) {
            fail("That line " + StoredText.nulProblem + "; nothing was decided.")
            return .stay
        }
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let word = words.first else { return .stay }
        guard let command = LeadSessionCommand.named(word.lowercased(), in: LeadSessionCommand.adjudicate) else {
            fail(LeadSessionCommand.unknown(word, in: LeadSessionCommand.adjudicate) + " Type help for the commands.")
            return .stay
        }
        switch command.name {
        case "quit": return .quit
        case "skip": return .next
        case "show":
            current = try store.itemReport(id: report.id)  // as it stands now: another lead may have decided meanwhile
            show()
            return .stay
        case "help": console.write(LeadSessionCommand.helpText(LeadSessionCommand.adjudicate)); return .stay
        default: break
        }
        guard let kind = command.decision else { return .stay }
        if kind.carriesValue {
            let rationale = LeadSessionCommand.remainder(of: line, after: 2)
            guard words.count > 1, !rationale.isEmpty else {
                fail("A decision needs a value and a rationale: \(command.usage)")
                return .stay
            }
            guard let value = value(of: kind, words[1]) else { return .stay }
            _ = try store.decide(item: report.id, kind: kind, value: value, rationale: rationale, by: lead, at: clock())
            console.write("Decided \(kind.rawValue) \(Sanitize.inline(value)) on \(Sanitize.inline(report.id)).\n\n")
            if !kind.closesEscalation {
                // A rating or a choice leaves the escalation open: the lead stays on the item to
                // give its label (or skip it, return it, dismiss it).
                decided += 1
                return .stay
            }
        } else {
            let rationale = LeadSessionCommand.remainder(of: line, after: 1)
            guard !rationale.isEmpty else {
                fail(kind == .return ? "Say what the next reviewers should look at: return NOTE" : "Give a reason: dismiss REASON")
                return .stay
            }
            _ = try store.decide(item: report.id, kind: kind, value: nil, rationale: rationale, by: lead, at: clock())
            console.write(kind == .return
                ? "Returned \(Sanitize.inline(report.id)) for another review round.\n\n"
                : "Dismissed the escalation on \(Sanitize.inline(report.id)).\n\n")
        }
        decided += 1
        return .next
    }

    /// The value as stored, or nil after saying why it is not one.
    private func value(of kind: DecisionKind, _ word: String) -> String? {
        switch kind {
        case .label:
            if definition.labels.contains(word) { return word }
            // A label's number works as in the reviewer session (1 is the first declared label).
            if let number = Int(word), definition.labels.indices.contains(number - 1), !definition.labels.contains(word) {
                return definition.labels[number - 1]
            }
            fail("'\(Sanitize.inline(word))' is not a label; the labels are \(definition.labels.enumerated().map { "\($0.offset + 1) \(Sanitize.inline($0.element))" }.joined(separator: ", ")).")
            return nil
        case .rating:
            guard let scale = definition.rating else {
                fail("This project declares no rating scale, so there is no rating to decide.")
                return nil
            }
            guard let n = Int(word), (scale.minimum...scale.maximum).contains(n) else {
                fail("'\(Sanitize.inline(word))' is not a rating; a rating is a whole number from \(scale.minimum) to \(scale.maximum).")
                return nil
            }
            return String(n)
        case .choice:
            let letters = self.letters
            guard letters.count >= 2 else {
                fail(letters.isEmpty ? "This item has no responses to choose from." : "This item has one response; there is nothing to choose between.")
                return nil
            }
            guard letters.contains(word.uppercased()) else {
                fail("'\(Sanitize.inline(word))' is not a response; choose one of \(letters.joined(separator: ", ")).")
                return nil
            }
            return word.uppercased()
        case .return, .dismiss:
            return nil
        }
    }
}
