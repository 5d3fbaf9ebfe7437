import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Renders an item report for leads (`adjudicate`, `show`) or, blind, for its reviewer.
enum ItemReportView {
    static func text(_ report: ItemReport, width: Int, leadView: Bool, viewer: String?) -> String {
        let width = max(40, min(width, 100))
        var out = "── \(Sanitize.inline(report.id))" + (report.category.map { " · \(Sanitize.inline($0))" } ?? "") + " "
        out += String(repeating: "─", count: max(3, width - out.count)) + "\n"
        if let prompt = report.prompt { out += "Prompt\n" + TextWrap.wrap(Sanitize.block(prompt), width: width, indent: "  ").joined(separator: "\n") + "\n" }
        let lettered: [(String, String)] = report.responses.map { $0.enumerated().map { (ResponseLetters.letter($0.offset), $0.element) } }
            ?? (report.response.map { [("A", $0)] } ?? [])
        for (letter, text) in lettered {
            out += (report.responses == nil ? "Response" : "Response \(letter)") + "\n"
            out += TextWrap.wrap(Sanitize.block(text), width: width, indent: "  ").joined(separator: "\n") + "\n"
        }
        // Current feedback and the answers it superseded, in the order given; superseded ones are marked.
        let rows = (report.feedback.map { ($0.reviewer, $0.feedback, false) } + report.superseded.map { ($0.reviewer, $0.feedback, true) })
            .filter { leadView || $0.0 == viewer }.sorted { $0.1.id < $1.1.id }
        out += leadView ? "Feedback\n" : "Your feedback\n"
        if rows.isEmpty { out += "  (none)\n" }
        for (reviewer, stored, superseded) in rows {
            var line = "  \(Sanitize.inline(reviewer)): \(Sanitize.inline(stored.draft.summary))"
            if let text = stored.draft.text { line += " — " + Sanitize.inline(String(text.prefix(120))) }
            if superseded { line += " (superseded)" }
            out += line + "\n"
        }
        guard leadView else { return out }
        let total = report.labels.votes.total
        if total > 0 {
            out += "Votes: " + report.labelCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\(Sanitize.inline($0.key)) \($0.value)/\(total)" }.joined(separator: ", ") + "\n"
        }
        if let posterior = report.posterior { out += "Dawid–Skene posterior of the most likely label: \(Format.fixed(posterior, 3))\n" }
        if let gold = report.gold { out += "Gold: \(Sanitize.inline(gold))\n" }
        if let risk = report.risk { out += "Model risk: \(Format.fixed(risk, 3))\n" }
        if let triage = report.triage { out += "Triage severity: \(triage)\n" }
        for escalation in report.escalations {
            out += "Escalation (\(escalation.status)): \(Sanitize.inline(escalation.tier)), severity \(escalation.severity), rule \(escalation.rule): \(Sanitize.inline(escalation.reason))\n"
        }
        for decision in report.decisions {
            out += Format.hangingWrap("Decision by \(Sanitize.inline(decision.lead)) at \(decision.createdAt.iso8601): \(decision.kind)" + (decision.value.map { " \(Sanitize.inline($0))" } ?? "")
                + " — \(Sanitize.inline(decision.rationale))" + (decision.supersedes != nil ? " (revises the one before)" : ""), width: width) + "\n"
        }
        out += "Final label: " + Sanitize.inline(LabelRules.describe(report.labels.final)) + "\n"
        if let rating = report.finalRating {
            out += "Final rating: " + (report.finalRatingSource == "adjudicated" ? "\(JSONText.number(rating)) (adjudicated)" : "\(Format.fixed(rating, 2)) (mean)") + "\n"
        }
        return out
    }
}

struct ShowCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an item, its feedback and its final label with where it came from.",
        discussion: """
            A lead or an admin sees every reviewer's feedback with names, the votes, the Dawid–Skene posterior, gold, escalations, every decision and the final label: adjudicated (the latest lead decision), else single (one current label), else the aggregate named by final_label in docket.yaml; a tie is what the ties setting makes of it (escalate: no final label until a lead decides). A reviewer sees only their own feedback.

            Example: docket show item-00042 --as lee
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The item's id.", valueName: "item")) var item: String
    @Option(name: .customLong("as"), help: ArgumentHelp("Who is looking (decides the view).", valueName: "name")) var viewer: String
    @Flag(help: "Print one JSON object (lead view only).") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(in: context)
        let reviewer = try store.reviewer(named: viewer)
        let lead = reviewer.role == .lead || reviewer.role == .admin
        let report = try store.itemReport(id: item)
        if json {
            guard lead else { throw StoreError.notPermitted(reviewer: reviewer.name, role: reviewer.role.rawValue, action: "see every reviewer's feedback") }
            var object = JSONObjectWriter()
            object.set("item", report.id)
            object.set("final_label", report.finalLabel)
            object.set("final_source", report.finalSource)
            object.set("final_rating", report.finalRating)
            object.set("final_rating_source", report.finalRatingSource)
            object.set("tie", .bool(report.labels.final.isTie))
            object.set("votes", .object(report.labelCounts.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) }))
            object.set("reviewer_labels", .array(report.labels.current.map { .object([("reviewer", .string($0.reviewer)), ("label", .string($0.value))]) }))
            object.set("posterior", report.posterior)
            object.set("gold", report.gold)
            object.set("feedback", .array(report.feedback.map { .object([("reviewer", .string($0.reviewer)), ("summary", .string($0.feedback.draft.summary))]) }))
            object.set("superseded", .array(report.superseded.map {
                .object([("reviewer", .string($0.reviewer)), ("summary", .string($0.feedback.draft.summary)), ("by", .number(Double($0.by)))])
            }))
            object.set("escalations", .array(report.escalations.map { .object([("tier", .string($0.tier)), ("status", .string($0.status)), ("reason", .string($0.reason))]) }))
            object.set("decisions", .array(report.decisions.map { .object([("lead", .string($0.lead)), ("kind", .string($0.kind)), ("value", $0.value.map { .string($0) } ?? .null), ("rationale", .string($0.rationale))]) }))
            context.console.write(object.value.encoded() + "\n")
            return
        }
        context.console.write(ItemReportView.text(report, width: context.console.width, leadView: lead, viewer: reviewer.name))
    }
}

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
        .init(name: "rate", usage: "rate N RATIONALE", help: "Record the final rating and resolve the escalation.", decision: .rating),
        .init(name: "choose", usage: "choose LETTER RATIONALE", help: "Record the chosen response and resolve the escalation.", decision: .choice),
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
    @Option(name: .customLong("as"), help: ArgumentHelp("A lead or an admin.", valueName: "name")) var lead: String
    @Option(help: ArgumentHelp("The tier to work through (default: lead).", valueName: "tier")) var tier: String = "lead"
    @Option(help: ArgumentHelp("Adjudicate (or revise) this item only.", valueName: "id")) var item: String?

    func run(in context: CommandContext) throws {
        let store = try database.open(in: context)
        let actor = try store.reviewer(named: lead)
        let lead = actor.name  // normalised (NFC)
        guard actor.role == .lead || actor.role == .admin else {
            throw StoreError.notPermitted(reviewer: lead, role: actor.role.rawValue, action: "adjudicate")
        }
        let definition = try store.taskDefinition().definition
        let queue: [String]
        if let item {
            _ = try store.itemReport(id: item)  // an unknown --item is an error of the command line, before the session
            queue = [item]
        } else {
            queue = try store.openEscalations(tier: tier).map(\.itemID)
        }
        let session = LeadSession(store: store, definition: definition, lead: lead, console: context.console, input: context.makeLineInput(HistoryScope(database: store.location, reviewer: lead, session: "adjudicate")), clock: context.clock)
        session.run(queue: queue, scope: item == nil ? " in tier \(Sanitize.inline(tier))" : "")
    }
}

/// The lead's session. Every error — a mistyped command, a bad value, a missing rationale, a
/// refused or failed store write — is printed as a sentence and the session goes on.
final class LeadSession {
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
        return ResponseLetters.letters(count: report.responses?.count ?? (report.response == nil ? 0 : 1))
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
                switch input.readLine(prompt: "lead> ") {
                case .interrupt: continue
                case .end: break items  // the line input ends the prompt's line itself
                case .line(let line):
                    input.remember(line)
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

struct TriageCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "A fast pass assigning severity 0–3 to flagged and newly imported items.",
        discussion: """
            Flagged or escalated items come first, then items without a model risk, in import order. Each item says why it is in triage: its flags (reason, severity, who raised it), its open escalation, or that it has no model risk. Type 0, 1, 2 or 3 and Enter (s skips, q quits, help lists the commands); it can be scripted on standard input. A mistyped answer prints a message and the triage goes on. The severity feeds the utility's risk term (as severity / 3) when the model gave none.

            Example: docket triage --as ana --limit 50
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as"), help: ArgumentHelp("A registered reviewer.", valueName: "name")) var reviewer: String
    @Option(help: "How many items at most, 1 to 100000.") var limit: Int = 100

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--limit", limit, OptionBounds.triageLimit, "items")
        let store = try database.open(in: context)
        let reviewer = try store.reviewer(named: reviewer).name  // normalised (NFC)
        let queue = try store.triageQueue(limit: limit)
        let session = TriageSession(store: store, reviewer: reviewer, console: context.console, input: context.makeLineInput(HistoryScope(database: store.location, reviewer: reviewer, session: "triage")), clock: context.clock)
        session.run(queue: queue)
    }
}

/// The triage screen of one item: a header, why it is in triage, then its prompt and responses.
enum TriageView {
    static func text(_ report: ItemReport, position: Int, of total: Int, width: Int) -> String {
        let width = max(40, min(width, 100))
        var out = "── \(position)/\(total) · \(Sanitize.inline(report.id))" + (report.category.map { " · \(Sanitize.inline($0))" } ?? "") + " "
        out += String(repeating: "─", count: max(3, width - out.count)) + "\n"
        for reason in reasons(report) {
            var lines = TextWrap.wrap(reason, width: width, indent: "     ")
            lines[0] = "Why: " + lines[0].dropFirst(5)
            out += lines.joined(separator: "\n") + "\n"
        }
        func excerpt(_ text: String, _ limit: Int) -> String {
            let clean = Sanitize.inline(text)
            return clean.count > limit ? String(clean.prefix(limit)) + "…" : clean
        }
        if let prompt = report.prompt {
            out += "Prompt\n" + TextWrap.wrap(excerpt(prompt, 300), width: width, indent: "  ").joined(separator: "\n") + "\n"
        }
        let responses = report.responses ?? report.response.map { [$0] } ?? []
        for (index, response) in responses.enumerated() {
            out += (report.responses == nil ? "Response" : "Response \(ResponseLetters.letter(index))") + "\n"
            out += TextWrap.wrap(excerpt(response, 300), width: width, indent: "  ").joined(separator: "\n") + "\n"
        }
        return out
    }

    /// Why the item is waiting for triage: each current flag, its open escalation, a missing model risk.
    static func reasons(_ report: ItemReport) -> [String] {
        var reasons: [String] = []
        for (reviewer, stored) in report.feedback where stored.draft.kind == .flag {
            var line = "flagged \(Sanitize.inline(stored.draft.reason ?? "")) at severity \(stored.draft.severity ?? 0) by \(Sanitize.inline(reviewer))"
            if let note = stored.draft.text, !note.isEmpty {
                let clean = Sanitize.inline(note)
                line += ": " + (clean.count > 120 ? String(clean.prefix(120)) + "…" : clean)
            }
            reasons.append(line)
        }
        for escalation in report.escalations where escalation.status == "open" {
            reasons.append("escalated to \(Sanitize.inline(escalation.tier)) at severity \(escalation.severity) (\(Sanitize.inline(escalation.reason)))")
        }
        if report.risk == nil { reasons.append("no model risk") }
        return reasons
    }
}

/// The triage pass. A mistyped answer or a failed store write prints a sentence and the pass goes on.
final class TriageSession {
    let store: any ReviewStore
    let reviewer: String
    let console: any Console
    let input: any LineInput
    let clock: () -> Instant
    private var done = 0

    init(store: any ReviewStore, reviewer: String, console: any Console, input: any LineInput, clock: @escaping () -> Instant) {
        self.store = store
        self.reviewer = reviewer
        self.console = console
        self.input = input
        self.clock = clock
    }

    private enum Outcome { case stay, next, quit }

    private func fail(_ text: String) { console.write("! " + text + "\n") }

    private static let answers = "Type 0, 1, 2 or 3 (s skips, q quits)."

    func run(queue: [String]) {
        input.completer = { _, _ in ["0", "1", "2", "3", "skip", "show", "help", "quit"] }
        if queue.isEmpty {
            console.write("Nothing is waiting for triage.\n")
            return
        }
        console.write("Triage as \(Sanitize.inline(reviewer)): \(queue.count) \(queue.count == 1 ? "item" : "items"). \(Self.answers)\n")
        items: for (index, id) in queue.enumerated() {
            let report: ItemReport
            do { report = try store.itemReport(id: id) } catch {
                fail("\(error) Skipping \(Sanitize.inline(id)).")
                continue
            }
            let screen = TriageView.text(report, position: index + 1, of: queue.count, width: console.width)
            console.write("\n" + screen)
            while true {
                switch input.readLine(prompt: "severity 0-3, s skip, q quit> ") {
                case .interrupt: continue
                case .end: break items  // the line input ends the prompt's line itself
                case .line(let line):
                    input.remember(line)
                    let outcome: Outcome
                    do { outcome = try handle(line, item: id, screen: screen) } catch {
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
        console.write("\nTriaged \(done) \(done == 1 ? "item" : "items").\n")
    }

    private func handle(_ line: String, item: String, screen: String) throws -> Outcome {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let word = words.first?.lowercased() else { return .stay }
        if let severity = Int(word) {
            guard (0...3).contains(severity), words.count == 1 else {
                fail("\(Sanitize.inline(line.trimmingCharacters(in: .whitespaces))) is not a severity. \(Self.answers)")
                return .stay
            }
            try store.triage(item: item, severity: severity, by: reviewer, at: clock())
            done += 1
            console.write("Triaged \(Sanitize.inline(item)): severity \(severity).\n")
            return .next
        }
        guard let command = LeadSessionCommand.named(word, in: LeadSessionCommand.triage) else {
            fail(LeadSessionCommand.unknown(words[0], in: LeadSessionCommand.triage) + " " + Self.answers)
            return .stay
        }
        switch command.name {
        case "skip":
            console.write("Skipped \(Sanitize.inline(item)).\n")
            return .next
        case "show": console.write(screen); return .stay
        case "help": console.write(LeadSessionCommand.helpText(LeadSessionCommand.triage)); return .stay
        case "quit": return .quit
        default: return .stay
        }
    }
}
