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
        let visible = leadView ? report.feedback : report.feedback.filter { $0.reviewer == viewer }
        out += leadView ? "Feedback\n" : "Your feedback\n"
        if visible.isEmpty { out += "  (none)\n" }
        for (reviewer, stored) in visible {
            var line = "  \(Sanitize.inline(reviewer)): \(Sanitize.inline(stored.draft.summary))"
            if let text = stored.draft.text { line += " — " + Sanitize.inline(String(text.prefix(120))) }
            out += line + "\n"
        }
        guard leadView else { return out }
        let total = report.labelCounts.values.reduce(0, +)
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
            out += "Decision by \(Sanitize.inline(decision.lead)) at \(decision.createdAt.iso8601): \(decision.kind)" + (decision.value.map { " \(Sanitize.inline($0))" } ?? "")
                + " — \(Sanitize.inline(decision.rationale))" + (decision.supersedes != nil ? " (revises the one before)" : "") + "\n"
        }
        out += "Final label: " + (report.finalLabel.map { "\(Sanitize.inline($0)) (\(report.finalSource ?? ""))" } ?? "none yet") + "\n"
        return out
    }
}

struct ShowCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an item, its feedback and its final label with where it came from.",
        discussion: """
            A lead or an admin sees every reviewer's feedback with names, the votes, the Dawid–Skene posterior, gold, escalations, every decision and the final label (adjudicated, else the aggregate named by final_label in docket.yaml, else a single label). A reviewer sees only their own feedback.

            Example: docket show item-00042 --as lee
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The item's id.", valueName: "item")) var item: String
    @Option(name: .customLong("as"), help: ArgumentHelp("Who is looking (decides the view).", valueName: "name")) var viewer: String
    @Flag(help: "Print one JSON object (lead view only).") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.open(in: context)
        let reviewer = try store.reviewer(named: viewer)
        let lead = reviewer.role == .lead || reviewer.role == .admin
        let report = try store.itemReport(id: item)
        if json {
            guard lead else { throw StoreError.notPermitted(reviewer: viewer, role: reviewer.role.rawValue, action: "see every reviewer's feedback") }
            var object = JSONObjectWriter()
            object.set("item", report.id)
            object.set("final_label", report.finalLabel)
            object.set("final_source", report.finalSource)
            object.set("votes", .object(report.labelCounts.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) }))
            object.set("posterior", report.posterior)
            object.set("gold", report.gold)
            object.set("feedback", .array(report.feedback.map { .object([("reviewer", .string($0.reviewer)), ("summary", .string($0.feedback.draft.summary))]) }))
            object.set("escalations", .array(report.escalations.map { .object([("tier", .string($0.tier)), ("status", .string($0.status)), ("reason", .string($0.reason))]) }))
            object.set("decisions", .array(report.decisions.map { .object([("lead", .string($0.lead)), ("kind", .string($0.kind)), ("value", $0.value.map { .string($0) } ?? .null), ("rationale", .string($0.rationale))]) }))
            context.console.write(object.value.encoded() + "\n")
            return
        }
        context.console.write(ItemReportView.text(report, width: context.console.width, leadView: lead, viewer: viewer))
    }
}

struct AdjudicateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "adjudicate",
        abstract: "The lead's session: resolve escalated items, highest severity and oldest first.",
        discussion: """
            Shows every reviewer's feedback side by side with names, the votes, the Dawid–Skene posterior (from aggregate --save), gold, flags and notes. Commands: label LABEL RATIONALE, rate N RATIONALE, choose LETTER RATIONALE (a final decision), return NOTE (another review round: the item's overlap goes up by one), dismiss REASON, skip, show, help, quit. A rationale is required. Decisions can be revised later with --item; every revision is kept. Only leads and admins may adjudicate.

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
        guard actor.role == .lead || actor.role == .admin else {
            throw StoreError.notPermitted(reviewer: lead, role: actor.role.rawValue, action: "adjudicate")
        }
        let definition = try store.taskDefinition().definition
        let input = context.makeLineInput()
        input.completer = { line, start in
            let words = line.prefix(start).split(separator: " ")
            if words.isEmpty { return ["label", "rate", "choose", "return", "dismiss", "skip", "show", "help", "quit"] }
            return words.first == "label" && words.count == 1 ? definition.labels : []
        }
        let console = context.console
        var queue = try item.map { [$0] } ?? store.openEscalations(tier: tier).map(\.itemID)
        var decided = 0
        console.write("Adjudicating as \(Sanitize.inline(lead)): \(queue.count) \(queue.count == 1 ? "item" : "items")\(item == nil ? " in tier \(Sanitize.inline(tier))" : "").\n")
        items: while let current = queue.first {
            var report = try store.itemReport(id: current)
            console.page(ItemReportView.text(report, width: console.width, leadView: true, viewer: nil))
            while true {
                let event = input.readLine(prompt: "lead> ")
                guard case .line(let line) = event else {
                    if event == .interrupt { continue }
                    break items
                }
                input.remember(line)
                let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let command = words.first?.lowercased() else { continue }
                let rest = words.dropFirst()
                func rationale(after count: Int) -> String { rest.dropFirst(count).joined(separator: " ") }
                switch command {
                case "quit", "q", "exit": break items
                case "show": console.page(ItemReportView.text(report, width: console.width, leadView: true, viewer: nil)); continue
                case "skip", "s": queue.removeFirst(); continue items
                case "help", "h", "?":
                    console.write("label LABEL RATIONALE · rate N RATIONALE · choose LETTER RATIONALE · return NOTE · dismiss REASON · skip · show · quit\n")
                    continue
                case "label", "rate", "choose":
                    guard let value = rest.first, !rationale(after: 1).isEmpty else {
                        console.write("! A decision needs a value and a rationale: \(command) \(command == "label" ? "LABEL" : command == "rate" ? "N" : "LETTER") RATIONALE\n")
                        continue
                    }
                    var normalized = value
                    if command == "label", !definition.labels.contains(value) {
                        console.write("! '\(Sanitize.inline(value))' is not a label; the labels are \(definition.labels.joined(separator: ", ")).\n")
                        continue
                    }
                    if command == "rate" {
                        guard let scale = definition.rating, let n = Int(value), (scale.minimum...scale.maximum).contains(n) else {
                            console.write("! A rating is a whole number" + (definition.rating.map { " from \($0.minimum) to \($0.maximum)" } ?? "; this project declares no rating scale") + ".\n")
                            continue
                        }
                    }
                    if command == "choose" {
                        let count = report.responses?.count ?? (report.response == nil ? 0 : 1)
                        normalized = value.uppercased()
                        guard ResponseLetters.letters(count: count).contains(normalized) else {
                            console.write("! Choose one of the responses \(ResponseLetters.letters(count: count).joined(separator: ", ")).\n")
                            continue
                        }
                    }
                    let kind = command == "choose" ? "choice" : command
                    _ = try store.decide(item: current, kind: kind, value: normalized, rationale: rationale(after: 1), by: lead, at: context.clock())
                    console.write("Decided \(kind) \(Sanitize.inline(normalized)) on \(Sanitize.inline(current)).\n\n")
                case "return", "dismiss":
                    guard !rationale(after: 0).isEmpty else {
                        console.write("! \(command == "return" ? "Say what the next reviewers should look at: return NOTE" : "Give a reason: dismiss REASON")\n")
                        continue
                    }
                    _ = try store.decide(item: current, kind: command, value: nil, rationale: rationale(after: 0), by: lead, at: context.clock())
                    console.write(command == "return" ? "Returned \(Sanitize.inline(current)) for another review round.\n\n" : "Dismissed the escalation on \(Sanitize.inline(current)).\n\n")
                default:
                    console.write("! Unknown command '\(Sanitize.inline(command))'. Type help for the commands.\n")
                    continue
                }
                decided += 1
                report = try store.itemReport(id: current)
                queue.removeFirst()
                continue items
            }
        }
        console.write("Adjudication ended: \(decided) \(decided == 1 ? "decision" : "decisions").\n")
    }
}

struct TriageCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "A fast pass assigning severity 0–3 to flagged and newly imported items.",
        discussion: """
            Flagged or escalated items come first, then items without a model risk, in import order. Type 0, 1, 2 or 3 and Enter (s skips, q quits); it can be scripted on standard input. The severity feeds the utility's risk term (as severity / 3) when the model gave none.

            Example: docket triage --as ana --limit 50
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as"), help: ArgumentHelp("A registered reviewer.", valueName: "name")) var reviewer: String
    @Option(help: "How many items at most.") var limit: Int = 100

    func run(in context: CommandContext) throws {
        let store = try database.open(in: context)
        _ = try store.reviewer(named: reviewer)
        let input = context.makeLineInput()
        input.completer = { _, _ in ["0", "1", "2", "3", "s", "q"] }
        let console = context.console
        let queue = try store.triageQueue(limit: limit)
        var done = 0
        items: for id in queue {
            let report = try store.itemReport(id: id)
            var text = "── \(Sanitize.inline(id))" + (report.category.map { " · \(Sanitize.inline($0))" } ?? "") + "\n"
            if let prompt = report.prompt { text += "  " + Sanitize.inline(String(prompt.prefix(200))) + "\n" }
            if let response = report.response ?? report.responses?.first { text += "  → " + Sanitize.inline(String(response.prefix(300))) + "\n" }
            console.write(text)
            while true {
                guard case .line(let line) = input.readLine(prompt: "severity 0-3, s skip, q quit> ") else { break items }
                let answer = line.trimmingCharacters(in: .whitespaces)
                if answer == "q" { break items }
                if answer == "s" { continue items }
                guard let severity = Int(answer), (0...3).contains(severity) else {
                    console.write("! Type 0, 1, 2 or 3 (s skips, q quits).\n")
                    continue
                }
                try store.triage(item: id, severity: severity, by: reviewer, at: context.clock())
                done += 1
                continue items
            }
        }
        console.write("Triaged \(done) \(done == 1 ? "item" : "items").\n")
    }
}
