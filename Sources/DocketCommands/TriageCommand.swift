import ArgumentParser
import DocketCore
import DocketStore
import Foundation

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
    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this reviewer: only an admin may name someone else (default: the reviewer bound to your login).", valueName: "name")) var reviewer: String?
    @Option(help: "How many items at most, 1 to 100000.") var limit: Int = 100

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--limit", limit, OptionBounds.triageLimit, "items")
        let (store, actor) = try database.open(for: .triage, as: reviewer, in: context)
        let reviewer = actor.name  // normalised (NFC)
        let queue = try store.triageQueue(limit: limit)
        let session = TriageSession(store: store, reviewer: reviewer, console: context.console, input: context.makeLineInput(HistoryScope(database: store.location, reviewer: reviewer, session: "triage")), clock: context.clock)
        let asked = self.reviewer
        session.recheck = { try Authority.stillActs(reviewer, for: .triage, as: asked, store: store, context: context) }
        session.run(queue: queue)
        if let denied = session.denied { throw denied }
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
        for (letter, response) in report.content.lettered {
            out += report.content.heading(letter) + "\n"
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
    /// Checked before each answer (`Authority.stillActs`); `denied` holds why it failed.
    var recheck: (() throws -> Void)?
    private(set) var denied: (any Error)?
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
                // Decisions are taken only on what was shown: once standard output fails (a
                // closed pipe, a full disk), no further answer is read.
                if console.outputFailure != nil { break items }
                switch input.readLine(prompt: "severity 0-3, s skip, q quit> ") {
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
