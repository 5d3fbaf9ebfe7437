import DocketCore
import DocketStore
import Foundation

/// One command of the reviewer session: its name, aliases, usage and help. This table is the
/// single source for parsing, `help`, tab completion and "did you mean" suggestions.
struct SessionCommand {
    var name: String
    var aliases: [String]
    var usage: String
    var help: String

    static let all: [SessionCommand] = [
        .init(name: "label", aliases: ["l"], usage: "label LABEL", help: "Give the item a label: a declared label, or its number (1 is the first). A bare label name works too."),
        .init(name: "rate", aliases: ["r"], usage: "rate N", help: "Rate the item on the declared scale."),
        .init(name: "rank", aliases: ["rk"], usage: "rank B A C", help: "Order every response from best to worst by its letter."),
        .init(name: "prefer", aliases: ["p"], usage: "prefer A|B|tie", help: "Choose between responses A and B, or call it a tie."),
        .init(name: "edit", aliases: ["e"], usage: "edit [LETTER]", help: "Correct a response (A by default) in $VISUAL/$EDITOR, or by typing lines ending with a lone '.'; the change is shown as a diff."),
        .init(name: "demo", aliases: ["d"], usage: "demo", help: "Write the response you would have wanted (a demonstration)."),
        .init(name: "critique", aliases: ["c"], usage: "critique [TEXT]", help: "Write a critique of the response, inline or in the editor."),
        .init(name: "flag", aliases: ["f"], usage: "flag REASON SEVERITY [NOTE]", help: "Flag the item for escalation with a declared reason, a severity from 0 to 3 and an optional note."),
        .init(name: "skip", aliases: ["s"], usage: "skip [REASON]", help: "Pass this item on to other reviewers."),
        .init(name: "note", aliases: ["n"], usage: "note TEXT", help: "Add a note to the item."),
        .init(name: "next", aliases: ["x", "done"], usage: "next", help: "Finish the item when nothing it asks for is missing (items finish by themselves once every asked feedback is given)."),
        .init(name: "undo", aliases: ["u"], usage: "undo", help: "Withdraw your last submission of this session and reopen its item. Nothing is deleted: the withdrawal is recorded."),
        .init(name: "show", aliases: ["sh"], usage: "show", help: "Show the item again."),
        .init(name: "guide", aliases: ["g"], usage: "guide", help: "Show the guidelines, labels, rating anchors and flag reasons."),
        .init(name: "progress", aliases: ["pr"], usage: "progress", help: "Show what you have done and how much of the budget is used."),
        .init(name: "help", aliases: ["h", "?"], usage: "help [COMMAND]", help: "List the commands, or explain one."),
        .init(name: "quit", aliases: ["q", "exit"], usage: "quit", help: "End the session and give the current item back (Ctrl-D does the same)."),
    ]

    static func named(_ word: String) -> SessionCommand? {
        all.first { $0.name == word || $0.aliases.contains(word) }
    }
}

/// The reviewer session: serves items from the queue and records feedback, one commit per submission.
final class ReviewSession {
    let store: SQLiteStore
    let reviewer: String
    let console: any Console
    let input: any LineInput
    let editor: any TextEditor
    let clock: () -> Instant
    let json: Bool

    private var definition = TaskDefinition()
    private var current: ReviewItem?
    /// When the current item was shown or last received feedback: time spent is measured from here.
    private var mark = Instant(milliseconds: 0)
    /// This session's submissions, newest last, for `undo`.
    private var submissions: [(feedback: Int64, assignment: Int64, summary: String)] = []
    private var reviewed = 0
    private var ended = false

    init(store: SQLiteStore, reviewer: String, console: any Console, input: any LineInput, editor: any TextEditor, clock: @escaping () -> Instant, json: Bool) {
        self.store = store
        self.reviewer = reviewer
        self.console = console
        self.input = input
        self.editor = editor
        self.clock = clock
        self.json = json
    }

    // MARK: Output

    private func emit(_ type: String, _ members: [(String, JSONValue)]) {
        console.write(JSONValue.object([("type", .string(type))] + members).encoded() + "\n")
    }

    private func say(_ text: String) {
        if json { emit("info", [("message", .string(text))]) } else { console.write(text + "\n") }
    }

    private func fail(_ text: String) {
        if json { emit("error", [("message", .string(text))]) } else { console.write("! " + text + "\n") }
    }

    // MARK: Loop

    func run() throws {
        definition = try store.taskDefinition().definition
        input.completer = { [weak self] line, start in self?.completions(line: line, wordStart: start) ?? [] }
        input.onIdle = { [weak self] in self?.keepAlive(force: true) }
        if !json {
            say("Reviewing as \(Sanitize.inline(reviewer)). Type help for the commands, quit or Ctrl-D to stop.")
        }
        try advance()
        while !ended {
            switch input.readLine(prompt: "docket> ") {
            case .end:
                finish(reason: "quit")
            case .interrupt:
                continue
            case .line(let line):
                input.remember(line)
                do { try handle(line) } catch let error as StoreError {
                    fail(error.description)
                    if case .leaseLost = error { try advance() }
                } catch {
                    fail("\(error)")
                }
            }
        }
        store.idle()
    }

    /// Claims and shows the next item, or ends the session when there is none.
    private func advance() throws {
        current = nil
        switch try store.claimNext(for: reviewer, at: clock()) {
        case .claimed(let assignment):
            current = try store.reviewItem(assignment: assignment.id)
            mark = clock()
            if assignment.resumed, !json { say("Resuming the item you had open.") }
            show()
            store.idle()
        case .budgetSpent:
            say("The label budget is spent: there is nothing more to review.")
            finish(reason: "budget")
        case .nothingLeft:
            say("Nothing is left for you to review. Thank you!")
            finish(reason: "empty")
        }
    }

    private func finish(reason: String) {
        guard !ended else { return }
        ended = true
        if let current { try? store.release(assignment: current.assignment, at: clock()) }
        current = nil
        if json {
            emit("end", [("reason", .string(reason)), ("reviewed", .number(Double(reviewed)))])
        } else {
            say("Session ended: \(reviewed) \(reviewed == 1 ? "item" : "items") reviewed.")
        }
    }

    /// Renews the lease when half of it has passed, so an open session keeps its item.
    private func keepAlive(force: Bool = false) {
        guard let item = current else { return }
        let now = clock()
        let half = Int64(definition.leaseSeconds) * 500
        if force || item.expiresAt.milliseconds - now.milliseconds < half {
            if let end = try? store.renew(assignment: item.assignment, at: now) { current?.expiresAt = end }
        }
        store.idle()
    }

    // MARK: Commands

    func handle(_ line: String) throws {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return }
        keepAlive()
        let word = String(trimmed.prefix(while: { !$0.isWhitespace }))
        let rest = String(trimmed.dropFirst(word.count)).trimmingCharacters(in: .whitespaces)
        let arguments = rest.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let command = SessionCommand.named(word.lowercased()) else {
            if definition.labels.contains(word), arguments.isEmpty { return try submit(FeedbackDraft(kind: .label, label: word)) }
            let names = SessionCommand.all.flatMap { [$0.name] }
            var message = "Unknown command '\(Sanitize.inline(word))'."
            if let suggestion = Suggestion.nearest(to: word.lowercased(), in: names + definition.labels) {
                message += " Did you mean `\(suggestion)`?"
            }
            return fail(message + " Type help for the commands.")
        }
        switch command.name {
        case "help": help(arguments.first)
        case "quit": finish(reason: "quit")
        case "show": show()
        case "guide": guide()
        case "progress": try progress()
        case "undo": try undo()
        case "next":
            guard let item = current else { return }
            try store.complete(assignment: item.assignment, at: clock())
            completed(item)
        default:
            guard let draft = try draft(for: command, arguments: arguments, rest: rest) else { return }
            try submit(draft)
        }
    }

    /// Builds the feedback a command describes, or reports why it cannot.
    private func draft(for command: SessionCommand, arguments: [String], rest: String) throws -> FeedbackDraft? {
        guard let item = current else { return nil }
        func usage() -> FeedbackDraft? {
            fail("Usage: \(command.usage)")
            return nil
        }
        switch command.name {
        case "label":
            guard arguments.count == 1 else { return usage() }
            var label = arguments[0]
            if let number = Int(label), !definition.labels.contains(label), (1...max(1, definition.labels.count)).contains(number), !definition.labels.isEmpty {
                label = definition.labels[number - 1]
            }
            return FeedbackDraft(kind: .label, label: label)
        case "rate":
            guard arguments.count == 1 else { return usage() }
            guard let value = Double(arguments[0]) else {
                fail("A rating is a number" + (definition.rating.map { " from \($0.minimum) to \($0.maximum)" } ?? "") + ".")
                return nil
            }
            return FeedbackDraft(kind: .rating, rating: value)
        case "rank":
            let letters = arguments.count == 1 && arguments[0].count > 1 && arguments[0].allSatisfy(\.isLetter)
                ? arguments[0].map { String($0) } : arguments
            guard !letters.isEmpty else { return usage() }
            return FeedbackDraft(kind: .ranking, ranking: letters.map { $0.uppercased() })
        case "prefer":
            guard arguments.count == 1 else { return usage() }
            let value = arguments[0].lowercased() == "tie" ? "tie" : arguments[0].uppercased()
            guard let preference = Preference(rawValue: value) else { return usage() }
            return FeedbackDraft(kind: .preference, preference: preference)
        case "edit":
            guard arguments.count <= 1 else { return usage() }
            let target = arguments.first?.uppercased() ?? "A"
            guard let original = item.lettered.first(where: { $0.letter == target })?.text else {
                fail("There is no response \(Sanitize.inline(target)) to edit.")
                return nil
            }
            guard let text = editor.edit(initial: original, console: console, input: input) else {
                say("Edit abandoned; nothing was recorded.")
                return nil
            }
            guard text != original else {
                say("No change; nothing was recorded.")
                return nil
            }
            if !json { console.write(diff(original, text)) }
            return FeedbackDraft(kind: .edit, text: text, target: target)
        case "demo":
            guard arguments.isEmpty else { return usage() }
            guard let text = editor.edit(initial: "", console: console, input: input) else {
                say("Demonstration abandoned; nothing was recorded.")
                return nil
            }
            return FeedbackDraft(kind: .demonstration, text: text)
        case "critique", "note":
            let kind: FeedbackKind = command.name == "note" ? .note : .critique
            if !rest.isEmpty { return FeedbackDraft(kind: kind, text: rest) }
            guard let text = editor.edit(initial: "", console: console, input: input) else {
                say("\(command.name.capitalized) abandoned; nothing was recorded.")
                return nil
            }
            return FeedbackDraft(kind: kind, text: text)
        case "flag":
            guard arguments.count >= 2, let severity = Int(arguments[1]) else {
                fail("Usage: \(command.usage), with REASON one of \(definition.flagReasons.joined(separator: ", ")) and SEVERITY 0 to 3.")
                return nil
            }
            let note = arguments.count > 2 ? arguments[2...].joined(separator: " ") : nil
            return FeedbackDraft(kind: .flag, text: note, reason: arguments[0], severity: severity)
        case "skip":
            return FeedbackDraft(kind: .skip, reason: rest.isEmpty ? nil : rest)
        default:
            return nil
        }
    }

    private func submit(_ draft: FeedbackDraft) throws {
        guard let item = current else { return }
        let responses = item.responses?.count ?? (item.response == nil ? 0 : 1)
        if let problem = FeedbackRules.problem(with: draft, definition: definition, responses: responses) {
            return fail(problem)
        }
        let now = clock()
        let seconds = Double(now.milliseconds - mark.milliseconds) / 1000
        let submission = try store.submit(draft, assignment: item.assignment, secondsSpent: max(0, seconds), at: now)
        mark = now
        submissions.append((submission.feedback, item.assignment, draft.summary))
        current?.given.append(StoredFeedback(id: submission.feedback, draft: draft, createdAt: now))
        if json {
            emit("recorded", [
                ("feedback", .number(Double(submission.feedback))), ("item", .string(item.id)), ("kind", .string(draft.kind.rawValue)),
                ("summary", .string(draft.summary)), ("completed", .bool(submission.completed)),
                ("missing", .array(submission.missing.map { .string($0.rawValue) })),
            ])
        } else {
            var text = "Recorded \(Sanitize.inline(draft.summary))."
            if !submission.completed, !submission.missing.isEmpty {
                text += " Still asked: \(submission.missing.map(\.rawValue).joined(separator: ", "))."
            }
            say(text)
        }
        if submission.completed { completed(item, skipped: draft.kind == .skip) }
    }

    private func completed(_ item: ReviewItem, skipped: Bool = false) {
        if !skipped { reviewed += 1 }
        if !json { say("Item \(Sanitize.inline(item.id)) \(skipped ? "skipped" : "done").\n") }
        do { try advance() } catch { fail("\(error)") }
    }

    private func undo() throws {
        guard let last = submissions.popLast() else { return fail("Nothing to undo in this session.") }
        let withdrawal = try store.withdraw(feedback: last.feedback, by: reviewer, at: clock())
        if let reopened = withdrawal.reopened, reopened != current?.assignment {
            if let current { try store.release(assignment: current.assignment, at: clock()) }
            if last.summary.hasPrefix("skip") == false { reviewed = max(0, reviewed - 1) }
            current = try store.reviewItem(assignment: reopened)
            mark = clock()
            say("Withdrew \(Sanitize.inline(last.summary)) on \(Sanitize.inline(withdrawal.itemID)); the item is open again.")
            show()
        } else {
            current?.given.removeAll { $0.id == last.feedback }
            say("Withdrew \(Sanitize.inline(last.summary)) on \(Sanitize.inline(withdrawal.itemID)).")
        }
    }

    // MARK: Views

    func show() {
        guard let item = current else { return }
        let given = item.given.map { $0.draft.summary }
        if json {
            emit("item", [
                ("assignment", .number(Double(item.assignment))), ("id", .string(item.id)),
                ("category", item.category.map { .string($0) } ?? .null), ("prompt", item.prompt.map { .string($0) } ?? .null),
                ("responses", .array(item.lettered.map { .object([("letter", .string($0.letter)), ("text", .string($0.text))]) })),
                ("position", .number(Double(item.position))), ("budget", item.budget.map { .number(Double($0)) } ?? .null),
                ("asks", .array(item.asked.map { .string($0.rawValue) })), ("missing", .array(item.missing.map { .string($0.rawValue) })),
                ("given", .array(given.map { .string($0) })),
            ])
            return
        }
        let width = max(40, min(console.width, 100))
        var header = "── \(Sanitize.inline(item.id))"
        if let category = item.category { header += " · \(Sanitize.inline(category))" }
        header += " · item \(item.position)" + (item.budget.map { " of \($0)" } ?? "") + " "
        var out = header + String(repeating: "─", count: max(3, width - header.count)) + "\n"
        if let prompt = item.prompt {
            out += "Prompt\n" + TextWrap.wrap(Sanitize.block(prompt), width: width, indent: "  ").joined(separator: "\n") + "\n\n"
        }
        let lettered = item.lettered
        for (letter, text) in lettered {
            out += (lettered.count == 1 && item.responses == nil ? "Response" : "Response \(letter)") + "\n"
            out += TextWrap.wrap(Sanitize.block(text), width: width, indent: "  ").joined(separator: "\n") + "\n\n"
        }
        out += "Asks: " + (item.asked.isEmpty ? "nothing required (use next when done)" : item.asked.map(askDescription).joined(separator: " · ")) + "\n"
        if !given.isEmpty { out += "Given: " + given.map(Sanitize.inline).joined(separator: ", ") + "\n" }
        console.page(out)
    }

    private func askDescription(_ kind: FeedbackKind) -> String {
        switch kind {
        case .label: return "label (" + definition.labels.joined(separator: " / ") + ")"
        case .rating: return definition.rating.map { "rate (\($0.name) \($0.minimum)–\($0.maximum))" } ?? "rate"
        case .ranking: return "rank (" + (current?.lettered.map(\.letter).joined(separator: " ") ?? "") + ")"
        case .preference: return "prefer (A / B / tie)"
        case .edit: return "edit"
        case .demonstration: return "demo"
        case .critique: return "critique"
        default: return kind.rawValue
        }
    }

    private func guide() {
        var out = ""
        if !definition.guidelines.isEmpty { out += "Guidelines\n" + TextWrap.wrap(Sanitize.block(TextWrap.reflow(definition.guidelines)), width: max(40, min(console.width, 100)), indent: "  ").joined(separator: "\n") + "\n\n" }
        if !definition.labels.isEmpty {
            out += "Labels: " + definition.labels.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: ", ") + "\n"
        }
        if let rating = definition.rating {
            out += "Rating: \(rating.name), \(rating.minimum) to \(rating.maximum)\n"
            for (point, text) in rating.anchors.sorted(by: { $0.key < $1.key }) { out += "  \(point): \(Sanitize.inline(text))\n" }
        }
        out += "Flag reasons: \(definition.flagReasons.joined(separator: ", ")); severity 0 to 3\n"
        if json { return say(out) }
        console.page(out)
    }

    private func progress() throws {
        let progress = try store.progress(of: reviewer, at: clock())
        if json {
            emit("progress", [
                ("done", .number(Double(progress.done))), ("skipped", .number(Double(progress.skipped))),
                ("session", .number(Double(reviewed))), ("served", .number(Double(progress.served))),
                ("budget", progress.budget.map { .number(Double($0)) } ?? .null),
            ])
            return
        }
        let budget = progress.budget.map { "\(Format.count(progress.served)) of \(Format.count($0)) items handed out" } ?? "\(Format.count(progress.served)) items handed out, no cap"
        say("You have reviewed \(Format.count(progress.done)) \(progress.done == 1 ? "item" : "items") (\(reviewed) this session) and skipped \(Format.count(progress.skipped)). Budget: \(budget).")
    }

    private func help(_ topic: String?) {
        if let topic {
            guard let command = SessionCommand.named(topic.lowercased()) else {
                let suggestion = Suggestion.nearest(to: topic.lowercased(), in: SessionCommand.all.map(\.name))
                return fail("No command '\(Sanitize.inline(topic))'." + (suggestion.map { " Did you mean `\($0)`?" } ?? ""))
            }
            let aliases = command.aliases.isEmpty ? "" : " (also: \(command.aliases.joined(separator: ", ")))"
            return say("\(command.usage)\(aliases)\n  \(command.help)")
        }
        let rows = SessionCommand.all.map { command -> String in
            let name = ([command.name] + command.aliases).joined(separator: ", ")
            return "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0) + command.usage
        }
        say("Commands (help COMMAND for more):\n" + rows.joined(separator: "\n"))
    }

    private func diff(_ old: String, _ new: String) -> String {
        LineDiff.diff(old, new).map { line -> String in
            switch line {
            case .same(let text): return "  " + Sanitize.inline(text)
            case .removed(let text): return "- " + Sanitize.inline(text)
            case .added(let text): return "+ " + Sanitize.inline(text)
            }
        }.joined(separator: "\n") + "\n"
    }

    // MARK: Completion

    func completions(line: String, wordStart: Int) -> [String] {
        let before = String(line.prefix(wordStart))
        let words = before.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first else {
            return SessionCommand.all.map(\.name) + definition.labels
        }
        switch SessionCommand.named(first.lowercased())?.name {
        case "label": return definition.labels
        case "flag": return words.count == 1 ? definition.flagReasons : (words.count == 2 ? ["0", "1", "2", "3"] : [])
        case "prefer": return ["A", "B", "tie"]
        case "rank", "edit": return current?.lettered.map(\.letter) ?? []
        case "help": return SessionCommand.all.map(\.name)
        case "rate": return definition.rating.map { ($0.minimum...$0.maximum).map(String.init) } ?? []
        default: return []
        }
    }
}
