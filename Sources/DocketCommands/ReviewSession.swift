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
        .init(name: "label", aliases: ["l"], usage: "label LABEL", help: "Give the item a label: a declared label, or its number (1 is the first). Labelling again replaces your earlier label."),
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
        .init(name: "progress", aliases: ["pr"], usage: "progress", help: "Show what you have done today, your pace and what is left for you."),
        .init(name: "keys", aliases: ["k"], usage: "keys", help: "Switch to single-key mode: each ask is answered with one key, no Enter (Tab switches back)."),
        .init(name: "help", aliases: ["h", "?"], usage: "help [COMMAND]", help: "List the commands, or explain one."),
        .init(name: "quit", aliases: ["q", "exit"], usage: "quit", help: "End the session (Ctrl-D does the same). An item you have started stays yours and your next session resumes it; one you have not goes back to the pool."),
    ]

    static func named(_ word: String) -> SessionCommand? {
        all.first { $0.name == word || $0.aliases.contains(word) }
    }

    /// The first sentence of the help text, for the command list.
    var summary: String {
        guard let end = help.range(of: ". ") else { return help }
        return String(help[..<end.lowerBound]) + "."
    }
}

/// The reviewer session: serves items from the queue and records feedback, one commit per submission.
///
/// Two ways to answer: line mode (readline; commands, or the bare answers in the order the item
/// asks, `3 4` for label 3 and rating 4) and single-key mode (`--keys`, or `keys`; each ask is
/// answered with one keypress and the session moves on by itself; `:` opens the command line for
/// one command, Tab goes back to line mode).
final class ReviewSession {
    let store: any ReviewStore
    let reviewer: String
    let console: any Console
    let input: any LineInput
    let editor: any TextEditor
    let clock: () -> Instant
    let json: Bool
    /// Where the reviewer's day starts, for "done today" (the local midnight before an instant).
    let dayStart: (Instant) -> Instant

    private var definition = TaskDefinition()
    /// The rubric `definition` came from: answers are recorded under it, the one the reviewer saw,
    /// even when a config change came while the session ran.
    private var rubric: RubricVersion?
    private var current: ReviewItem?
    /// When the current item was shown or last received feedback: time spent is measured from here.
    private var mark = Instant(milliseconds: 0)
    /// This session's submissions, newest last, for `undo`.
    private var submissions: [(feedback: Int64, assignment: Int64, summary: String)] = []
    private var reviewed = 0
    private var ended = false
    /// Why the session could not go on to a next item, thrown when the session ends.
    private var failure: (any Error)?
    /// Single-key mode: each ask is answered with one keypress.
    private(set) var keyMode: Bool
    /// Response letters pressed so far for a ranking in single-key mode.
    private var rankingSoFar: [String] = []

    init(
        store: any ReviewStore, reviewer: String, console: any Console, input: any LineInput, editor: any TextEditor,
        clock: @escaping () -> Instant, json: Bool, keyMode: Bool = false, dayStart: @escaping (Instant) -> Instant = ReviewSession.utcDayStart
    ) {
        self.store = store
        self.reviewer = reviewer
        self.console = console
        self.input = input
        self.editor = editor
        self.clock = clock
        self.json = json
        self.keyMode = keyMode && !json
        self.dayStart = dayStart
    }

    /// Midnight UTC before `instant`: the default day for tests and scripts.
    static func utcDayStart(_ instant: Instant) -> Instant {
        let day: Int64 = 86_400_000
        let ms = instant.milliseconds
        return Instant(milliseconds: ms - ((ms % day) + day) % day)
    }

    // MARK: Output

    private func emit(_ type: String, _ members: [(String, JSONValue)]) {
        console.write(JSONValue.object([("type", .string(type))] + members).encoded() + "\n")
    }

    private func say(_ text: String) {
        // Messages can quote declared labels and reasons (data): inert on any output, not only a terminal.
        if json { emit("info", [("message", .string(text))]) } else { console.write(wrapped(Sanitize.terminal(text)) + "\n") }
    }

    private func fail(_ text: String) {
        if json { emit("error", [("message", .string(text))]) } else { console.write(wrapped("! " + Sanitize.terminal(text), indent: "  ") + "\n") }
    }

    /// Docket's own messages wrap at word boundaries on a terminal (transcripts stay one line).
    private func wrapped(_ text: String, indent: String = "") -> String {
        guard console.isOutputTerminal else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { fitted(String($0), indent: indent) }.joined(separator: "\n")
    }

    /// One line of Docket's own text: unchanged when it fits, else wrapped with a hanging indent
    /// (`Format.hangingWrap`).
    private func fitted(_ line: String, indent: String) -> String {
        TextWrap.columns(line) <= width ? line : Format.hangingWrap(line, width: width, indent: indent)
    }

    private var width: Int { max(40, min(console.width, 100)) }

    // MARK: Loop

    func run() throws {
        (definition, rubric) = try store.taskDefinition()
        input.completer = { [weak self] line, start in self?.completions(line: line, wordStart: start) ?? [] }
        input.onIdle = { [weak self] in self?.keepAlive(force: true) }
        // An item read in the pager, or answered in the editor, keeps its lease however long that takes.
        (console as? TerminalConsole)?.whileHelperRuns = { [weak self] in self?.keepAlive() }
        if !json {
            say("Reviewing as \(Sanitize.inline(reviewer)). " + (keyMode
                ? "Single-key mode: press a key to answer; ? lists the keys, : types a command, Tab switches to typed commands."
                : "Type help for the commands, quit or Ctrl-D to stop."))
        }
        try advance()
        while !ended {
            // Answers are taken only for what was shown: once standard output fails (a closed
            // pipe, a full disk), the session ends before another answer is read.
            if console.outputFailure != nil {
                finish(reason: "output")
                break
            }
            if keyMode, let keys = input as? any KeyInput {
                keyStep(keys)
                continue
            }
            switch input.readLine(prompt: "docket> ") {
            case .end:
                finish(reason: "quit")
            case .interrupt:
                // A program driving the session with --json gets a reply to every line, a line
                // the input refused (not UTF-8, too long) included; a person's Ctrl-C needs none.
                if json, !input.isInteractive { fail("That line was refused (it is not UTF-8 text, or is longer than 1 MiB); nothing of it was recorded.") }
                continue
            case .line(let line):
                input.remember(line)
                perform(line)
            }
        }
        store.idle()
        if let failure { throw failure }
    }

    /// Checked before each answer (`Authority.stillActs`): an unbinding or a change of role
    /// made while the session runs takes effect at once.
    var recheck: (() throws -> Void)?

    /// False after ending the session when the reviewer may no longer review.
    private func stillAllowed() -> Bool {
        do { try recheck?() } catch {
            fail("\(error)")
            failure = error
            finish(reason: "denied")
            return false
        }
        return true
    }

    /// Runs one command line, printing any error as a sentence; the session goes on.
    private func perform(_ line: String) {
        guard stillAllowed() else { return }
        do { try handle(line) } catch {
            report(error)
        }
    }

    /// Prints an error as a sentence; when the item is no longer this session's (its lease was
    /// lost, or another session of the same reviewer finished it), moves on to the next item.
    private func report(_ error: any Error) {
        guard let error = error as? StoreError else { return fail("\(error)") }
        switch error {
        case .leaseLost:
            fail(error.description)
        case .assignmentNotOpen:
            fail("\(current.map { Sanitize.inline($0.id) } ?? "This item") was finished in another session of yours; here is the next item.")
        default:
            return fail(error.description)
        }
        continueOrEnd()
    }

    /// Moves on to the next item; if that fails, the session ends and the command fails with it.
    private func continueOrEnd() {
        do { try advance() } catch {
            failure = error
            finish(reason: "error")
        }
    }

    /// Claims and shows the next item, or ends the session when there is none.
    private func advance() throws {
        current = nil
        rankingSoFar = []
        switch try store.claimNext(for: reviewer, at: clock()) {
        case .claimed(let assignment):
            current = try store.reviewItem(assignment: assignment.id)
            mark = clock()
            if assignment.resumed, !json { say("Resuming the item you had open.") }
            show()
            // Keys typed ahead must not answer an item nobody has seen yet.
            if keyMode { (input as? any KeyInput)?.discardTypeahead() }
            store.idle()
        case .budgetSpent:
            say("The label budget is spent: there is nothing more to review.")
            finish(reason: "budget")
        case .nothingLeft:
            say("Nothing is left for you to review. Thank you!")
            finish(reason: "empty")
        }
    }

    /// Ends the session. An item with nothing given goes back to the pool; an item the reviewer
    /// has started keeps its lease, so their next session resumes it with what they gave.
    private func finish(reason: String) {
        guard !ended else { return }
        ended = true
        if let current {
            if current.given.isEmpty {
                // A lease not given back (a lost server) simply expires.
                _ = try? store.withoutWaiting { try store.release(assignment: current.assignment, at: clock()) }
            } else if !json {
                say("\(Sanitize.inline(current.id)) stays yours, with what you gave; your next review session resumes it.")
            }
        }
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
        if force || item.expiresAt.milliseconds(since: now) < half {
            // Never wait for a lost server here: this runs at the prompt, and the next answer reconnects.
            if let end = try? store.withoutWaiting({ try store.renew(assignment: item.assignment, at: now) }) { current?.expiresAt = end }
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
            return try answer(trimmed)
        }
        switch command.name {
        case "help": help(arguments.first)
        case "quit": finish(reason: "quit")
        case "show": show()
        case "guide": guide()
        case "progress": try progress()
        case "undo": try undo()
        case "keys":
            guard !json, input is any KeyInput else { return fail("Single-key mode needs a terminal session.") }
            keyMode = true
            say("Single-key mode: press a key to answer; ? lists the keys, : types a command, Tab switches back.")
        case "next":
            guard let item = current else { return }
            try store.complete(assignment: item.assignment, at: clock())
            completed(item)
        default:
            guard let draft = try draft(for: command, arguments: arguments, rest: rest) else { return }
            try submit(draft)
        }
    }

    // MARK: Bare answers

    /// The asks a bare answer fills, in order: the missing ones among label, rating, ranking and
    /// preference, or all of them when none is missing (answering again changes an answer).
    private func answerTargets(_ item: ReviewItem) -> [FeedbackKind] {
        let missing = item.missing.filter(Self.answerable.contains)
        return missing.isEmpty ? item.asked.filter(Self.answerable.contains) : missing
    }

    /// The asks a bare answer can give.
    static let answerable: Set<FeedbackKind> = [.label, .rating, .ranking, .preference]

    /// A line that is not a command: the answers to the item's asks, in order (`3 4`, `unsafe 4`, `BA`).
    private func answer(_ line: String) throws {
        guard let item = current else { return }
        let tokens = line.split(whereSeparator: \.isWhitespace).map(String.init)
        var targets = answerTargets(item)
        // A label's name is a label wherever it stands, even when the label was already given;
        // one answer alone goes to the first ask it can answer (`tie` while the label is missing).
        if tokens.count == 1, definition.labels.contains(tokens[0]) {
            targets = [.label]
        } else if tokens.count == 1, let fit = targets.firstIndex(where: { looksLikeAnswer(tokens[0], for: $0, item: item) }) {
            targets = Array(targets[fit...])
        } else if targets.isEmpty || !looksLikeAnswer(tokens[0], for: targets[0], item: item) {
            // Answering again changes an answer: a line that starts with an ask already answered
            // (`unsafe 2` once an undo took back only the rating) restates the asks from there.
            let asked = item.asked.filter(Self.answerable.contains)
            if let fit = asked.firstIndex(where: { looksLikeAnswer(tokens[0], for: $0, item: item) }) { targets = Array(asked[fit...]) }
        }
        guard !targets.isEmpty, looksLikeAnswer(tokens[0], for: targets[0], item: item) else {
            let word = tokens[0]
            var message = "Unknown command '\(Sanitize.inline(word))'."
            if let suggestion = Suggestion.nearest(to: word.lowercased(), in: SessionCommand.all.map(\.name) + definition.labels), suggestion != word {
                message += " Did you mean `\(suggestion)`?"
            }
            return fail(message + " Type help for the commands.")
        }
        guard tokens.count <= targets.count else {
            return fail("\(tokens.count) answers, but the item asks for \(targets.count): \(targets.map(askName).joined(separator: ", ")), in that order.")
        }
        var drafts: [FeedbackDraft] = []
        for (token, kind) in zip(tokens, targets) {
            switch parseAnswer(token, as: kind, item: item) {
            case .success(let draft): drafts.append(draft)
            case .failure(let problem): return fail(problem.message)
            }
        }
        // Check every answer before recording any, so a line is taken whole or not at all.
        var given = item.given.map(\.draft)
        for draft in drafts {
            if let problem = FeedbackRules.problem(with: draft, definition: definition, responses: item.responseCount)
                ?? ReviewRules.contradiction(draft, given: given, responses: item.responseCount) {
                return fail(problem)
            }
            given.append(draft)
        }
        for draft in drafts {
            guard current?.assignment == item.assignment else { break }
            try submit(draft)
        }
    }

    private func askName(_ kind: FeedbackKind) -> String {
        switch kind {
        case .rating: return "rating"
        default: return kind.rawValue
        }
    }

    /// Whether a word is meant as an answer at all (so a typo of a command is not taken as one).
    private func looksLikeAnswer(_ token: String, for kind: FeedbackKind, item: ReviewItem) -> Bool {
        if Double(token) != nil { return true }
        switch kind {
        case .label: return definition.labels.contains(token) || definition.labels.contains { $0.lowercased() == token.lowercased() }
        case .rating: return false
        case .ranking, .preference:
            let letters = Set(item.lettered.map(\.letter))
            return token.lowercased() == "tie" || token == "=" || token.uppercased().allSatisfy { letters.contains(String($0)) }
        default: return false
        }
    }

    struct AnswerProblem: Error { var message: String }

    private func parseAnswer(_ token: String, as kind: FeedbackKind, item: ReviewItem) -> Result<FeedbackDraft, AnswerProblem> {
        switch kind {
        case .label:
            if definition.labels.contains(token) { return .success(FeedbackDraft(kind: .label, label: token)) }
            if let match = definition.labels.first(where: { $0.lowercased() == token.lowercased() }) {
                return .success(FeedbackDraft(kind: .label, label: match))
            }
            if let number = Int(token), (1...max(1, definition.labels.count)).contains(number), !definition.labels.isEmpty {
                return .success(FeedbackDraft(kind: .label, label: definition.labels[number - 1]))
            }
            return .failure(AnswerProblem(message: "'\(Sanitize.inline(token))' is not a label: give its number (1 to \(definition.labels.count)) or its name (\(definition.labels.joined(separator: ", ")))."))
        case .rating:
            guard let value = Double(token), value.isFinite else {
                return .failure(AnswerProblem(message: "A rating is a number" + (definition.rating.map { " from \($0.minimum) to \($0.maximum)" } ?? "") + "."))
            }
            return .success(FeedbackDraft(kind: .rating, rating: value))
        case .ranking:
            if item.responseCount == 2, let preference = preference(from: token), preference != .tie {
                let other = preference == .a ? "B" : "A"
                return .success(FeedbackDraft(kind: .ranking, ranking: [preference.rawValue, other]))
            }
            return .success(FeedbackDraft(kind: .ranking, ranking: token.uppercased().map { String($0) }))
        case .preference:
            if let preference = preference(from: token) { return .success(FeedbackDraft(kind: .preference, preference: preference)) }
            return .failure(AnswerProblem(message: "Choose A, B or tie (or type the letters best first, `BA`)."))
        default:
            return .failure(AnswerProblem(message: "Use the \(kind.rawValue) command for this."))
        }
    }

    /// `A`, `B`, `tie` (`t`, `=`), or two letters best first (`BA`).
    private func preference(from token: String) -> Preference? {
        switch token.uppercased() {
        case "A", "AB": return .a
        case "B", "BA": return .b
        case "TIE", "T", "=": return .tie
        default: return nil
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
            guard let value = Double(arguments[0]), value.isFinite else {
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
        if let problem = FeedbackRules.problem(with: draft, definition: definition, responses: item.responseCount)
            ?? ReviewRules.contradiction(draft, given: item.given.map(\.draft), responses: item.responseCount) {
            return fail(problem)
        }
        let now = clock()
        let seconds = Double(now.milliseconds(since: mark)) / 1000
        let submission = try store.submit(draft, assignment: item.assignment, secondsSpent: max(0, seconds), underRubric: rubric?.id, at: now)
        mark = now
        submissions.append((submission.feedback, item.assignment, draft.summary))
        let replacedSummaries = item.given.filter { submission.replaced.contains($0.id) }.map(\.draft.summary)
        current?.given.removeAll { submission.replaced.contains($0.id) }
        current?.given.append(StoredFeedback(id: submission.feedback, draft: draft, createdAt: now))
        if json {
            emit("recorded", [
                ("feedback", .number(Double(submission.feedback))), ("item", .string(item.id)), ("kind", .string(draft.kind.rawValue)),
                ("summary", .string(draft.summary)), ("completed", .bool(submission.completed)),
                ("missing", .array(submission.missing.map { .string($0.rawValue) })),
                ("replaced", .array(submission.replaced.map { .number(Double($0)) })),
            ])
        } else {
            var text = "Recorded \(Sanitize.inline(draft.summary))"
            if !replacedSummaries.isEmpty { text += " (replaces your \(replacedSummaries.map(Sanitize.inline).joined(separator: ", ")))" }
            text += "."
            if !submission.completed, !submission.missing.isEmpty {
                text += " Still asked: \(submission.missing.map(askName).joined(separator: ", "))."
            }
            say(text)
        }
        if submission.completed { completed(item, skipped: draft.kind == .skip) }
    }

    private func completed(_ item: ReviewItem, skipped: Bool = false) {
        if !skipped { reviewed += 1 }
        if !json { say("Item \(Sanitize.inline(item.id)) \(skipped ? "skipped" : "done").\n") }
        continueOrEnd()
    }

    private func undo() throws {
        guard let last = submissions.popLast() else { return fail("Nothing to undo in this session.") }
        let withdrawal = try store.withdraw(feedback: last.feedback, by: reviewer, at: clock())
        rankingSoFar = []
        // The answer brought back is a new row: the next undo takes back that row, not the
        // original it copies (which stays withdrawn).
        if let restored = withdrawal.restored, let original = withdrawal.restoredFrom,
           let index = submissions.lastIndex(where: { $0.feedback == original }) {
            submissions[index].feedback = restored
        }
        if let reopened = withdrawal.reopened, reopened != current?.assignment {
            if let current {
                // An item another session of this reviewer finished has nothing to give back.
                do { try store.release(assignment: current.assignment, at: clock()) } catch {
                    guard case .assignmentNotOpen = error else { throw error }
                }
            }
            if last.summary.hasPrefix("skip") == false { reviewed = max(0, reviewed - 1) }
            current = try store.reviewItem(assignment: reopened)
            mark = clock()
            say("Withdrew \(Sanitize.inline(last.summary)) on \(Sanitize.inline(withdrawal.itemID)); the item is open again.")
            show()
        } else {
            if let item = current { current?.given = (try? store.reviewItem(assignment: item.assignment).given) ?? item.given.filter { $0.id != last.feedback } }
            var text = "Withdrew \(Sanitize.inline(last.summary)) on \(Sanitize.inline(withdrawal.itemID))."
            if let restored = withdrawal.restored, let back = current?.given.first(where: { $0.id == restored }) {
                text += " Your \(Sanitize.inline(back.draft.summary)) stands again."
            }
            say(text)
        }
    }

    // MARK: Single-key mode

    /// The key that answers each choice of an ask, or nil when the ask cannot be one key
    /// (more than nine labels or rating points, or a text ask).
    private func keyChoices(for kind: FeedbackKind, item: ReviewItem) -> [(key: Character, meaning: String)]? {
        switch kind {
        case .label:
            guard (1...9).contains(definition.labels.count) else { return nil }
            return definition.labels.enumerated().map { (Character(String($0.offset + 1)), Sanitize.inline($0.element)) }
        case .rating:
            guard let scale = definition.rating, scale.minimum >= 0, scale.maximum <= 9, scale.minimum <= scale.maximum else { return nil }
            return (scale.minimum...scale.maximum).map { (Character(String($0)), String($0)) }
        case .preference:
            return [("a", "A"), ("b", "B"), ("t", "tie")]
        case .ranking:
            let remaining = item.lettered.map(\.letter).filter { !rankingSoFar.contains($0) }
            guard item.responseCount <= 9 else { return nil }
            return remaining.map { (Character($0.lowercased()), $0) }
        default:
            return nil
        }
    }

    /// The single-key prompt: what the next ask is and which keys do what.
    func keyPrompt(for item: ReviewItem) -> String {
        let common = "u undo · s skip · : command · ? keys"
        guard let ask = item.missing.first else { return "Enter next · \(common) > " }
        if let choices = keyChoices(for: ask, item: item) {
            let name = ask == .ranking ? "rank best first" + (rankingSoFar.isEmpty ? "" : " (\(rankingSoFar.joined(separator: " > ")) > …)") : askName(ask)
            let keys = ask == .rating && choices.count > 3
                ? "\(choices.first!.key)–\(choices.last!.key)"
                : choices.map { "\($0.key) \($0.meaning)" }.joined(separator: "  ")
            return "\(name): \(keys) · \(common) > "
        }
        switch ask {
        case .edit, .demonstration, .critique: return "\(askName(ask)): Enter opens the editor · \(common) > "
        default: return "\(askName(ask)): press : and type it · \(common) > "
        }
    }

    private func keyStep(_ keys: any KeyInput) {
        guard let item = current else {
            finish(reason: "quit")
            return
        }
        switch keys.readKey(prompt: keyPrompt(for: item)) {
        case .end:
            finish(reason: "quit")
        case .interrupt:
            rankingSoFar = []
        case .key(let key):
            guard stillAllowed() else { return }
            do { try handleKey(key, item: item) } catch {
                report(error)
            }
        }
    }

    private func handleKey(_ key: Character, item: ReviewItem) throws {
        keepAlive()
        let ask = item.missing.first
        if let ask, let choices = keyChoices(for: ask, item: item), let choice = choices.first(where: { $0.key == Character(key.lowercased()) }) {
            switch ask {
            case .label: return try submit(FeedbackDraft(kind: .label, label: definition.labels[Int(String(choice.key))! - 1]))
            case .rating: return try submit(FeedbackDraft(kind: .rating, rating: Double(String(choice.key))!))
            case .preference: return try submit(FeedbackDraft(kind: .preference, preference: Preference(rawValue: choice.meaning)))
            case .ranking:
                rankingSoFar.append(choice.meaning)
                let rest = item.lettered.map(\.letter).filter { !rankingSoFar.contains($0) }
                guard rest.count <= 1 else { return }
                let ranking = rankingSoFar + rest
                rankingSoFar = []
                return try submit(FeedbackDraft(kind: .ranking, ranking: ranking))
            default: break
            }
        }
        switch key {
        case ":":
            rankingSoFar = []
            switch input.readLine(prompt: ": ") {
            case .line(let line):
                input.remember(line)
                perform(line)
            case .interrupt, .end:
                break
            }
        case "\t":
            keyMode = false
            rankingSoFar = []
            say("Line mode: type commands or answers; `keys` switches back to single keys.")
        case "u", "\u{7F}", "\u{08}":
            // In the middle of a ranking, undo takes back the last letter pressed, not an answer.
            if !rankingSoFar.isEmpty {
                rankingSoFar.removeLast()
                return
            }
            try undo()
        case "\u{0C}":  // Ctrl-L redraws the item
            show()
        case "s":
            try submit(FeedbackDraft(kind: .skip))
        case "q":
            finish(reason: "quit")
        case "?":
            keyHelp(item)
        case "\r", "\n":
            switch ask {
            case .edit?: perform("edit")
            case .demonstration?: perform("demo")
            case .critique?: perform("critique")
            case nil:
                try store.complete(assignment: item.assignment, at: clock())
                completed(item)
            case let kind?:
                fail("The item still asks for a \(askName(kind)); press its key (? lists the keys).")
            }
        case " ", "\u{1B}":
            break
        default:
            fail("The key \(KeyNames.echo(key)) does nothing here; ? lists the keys.")
        }
    }

    private func keyHelp(_ item: ReviewItem) {
        var lines = ["Keys (no Enter needed):"]
        for kind in item.asked {
            if let choices = keyChoices(for: kind, item: item) {
                lines.append("  \(askName(kind)): " + choices.map { "\($0.key) \($0.meaning)" }.joined(separator: ", "))
            }
        }
        lines += [
            "  u or Backspace: undo your last answer", "  s: skip the item", "  Enter: open the editor for a text ask, or finish an item that asks nothing",
            "  :  type one command (flag, note, critique, show, guide, progress, …)", "  Tab: back to typed commands", "  q: quit",
        ]
        say(lines.joined(separator: "\n"))
    }

    // MARK: Views

    func show() {
        guard let item = current else { return }
        let given = item.given.map { $0.draft.summary }
        let pace = try? store.pace(of: reviewer, dayStart: dayStart(clock()))
        if json {
            emit("item", [
                ("assignment", .number(Double(item.assignment))), ("id", .string(item.id)),
                ("category", item.category.map { .string($0) } ?? .null), ("prompt", item.prompt.map { .string($0) } ?? .null),
                ("responses", .array(item.lettered.map { .object([("letter", .string($0.letter)), ("text", .string($0.text))]) })),
                ("done_today", pace.map { .number(Double($0.doneToday)) } ?? .null), ("left", pace.map { .number(Double($0.left)) } ?? .null),
                ("median_seconds", pace?.medianSeconds.map { .number($0) } ?? .null),
                ("asks", .array(item.asked.map { .string($0.rawValue) })), ("missing", .array(item.missing.map { .string($0.rawValue) })),
                ("given", .array(given.map { .string($0) })),
            ])
            return
        }
        let width = self.width
        var header = "── \(Sanitize.inline(item.id))"
        if let category = item.category { header += " · \(Sanitize.inline(category))" }
        if let pace { header += " · " + pace.summary }
        header += " "
        var out = header + String(repeating: "─", count: max(3, width - TextWrap.columns(header))) + "\n"
        if let prompt = item.prompt {
            out += "Prompt\n" + TextWrap.wrap(Sanitize.block(prompt), width: width, indent: "  ").joined(separator: "\n") + "\n\n"
        }
        let lettered = item.lettered
        for (letter, text) in lettered {
            out += item.content.heading(letter) + "\n"
            out += TextWrap.wrap(Sanitize.block(text), width: width, indent: "  ").joined(separator: "\n") + "\n\n"
        }
        // What the item asks and what was given are written after the pager, so they stand
        // above the prompt however the reviewer leaves the pager.
        // Each ask stays whole on a line (its spaces do not break) when the line wraps.
        let asks = "Asks: " + (item.asked.isEmpty ? "nothing required (use next when done)"
            : item.asked.map { askDescription($0).replacingOccurrences(of: " ", with: "\u{A0}") }.joined(separator: " · "))
        var footer = ownLine(asks, indent: "      ").replacingOccurrences(of: "\u{A0}", with: " ")
        if !given.isEmpty { footer += ownLine("Given: " + given.map(Sanitize.inline).joined(separator: ", "), indent: "       ") }
        if console.isOutputTerminal, console.height > 0, lineCount(out) + lineCount(footer) > console.height - 2 {
            console.page(out)
            console.write(footer)
        } else {
            console.write(out + footer)
        }
    }

    private func lineCount(_ text: String) -> Int { text.reduce(0) { $1 == "\n" ? $0 + 1 : $0 } }

    /// A line of Docket's own text, wrapped at word boundaries with a hanging indent.
    private func ownLine(_ text: String, indent: String) -> String { fitted(text, indent: indent) + "\n" }

    private func askDescription(_ kind: FeedbackKind) -> String {
        switch kind {
        case .label: return "label (" + definition.labels.enumerated().map { "\($0.offset + 1) \(Sanitize.inline($0.element))" }.joined(separator: " / ") + ")"
        case .rating: return definition.rating.map { "rate (\(Sanitize.inline($0.name)) \($0.minimum)–\($0.maximum))" } ?? "rate"
        case .ranking:
            // Every letter while they fit on a line; past that, the first and the last.
            let letters = current?.lettered.map(\.letter) ?? []
            if letters.count > 12, let first = letters.first, let last = letters.last {
                return "rank (\(first) … \(last), \(letters.count) responses)"
            }
            return "rank (" + letters.joined(separator: " ") + ")"
        case .preference: return "prefer (A / B / tie)"
        case .edit: return "edit"
        case .demonstration: return "demo"
        case .critique: return "critique"
        default: return kind.rawValue
        }
    }

    private func guide() {
        var out = ""
        if !definition.guidelines.isEmpty { out += "Guidelines\n" + TextWrap.wrap(Sanitize.block(TextWrap.reflow(definition.guidelines)), width: width, indent: "  ").joined(separator: "\n") + "\n\n" }
        if !definition.labels.isEmpty {
            out += "Labels: " + definition.labels.enumerated().map { "\($0.offset + 1) \(Sanitize.inline($0.element))" }.joined(separator: ", ") + "\n"
        }
        if let rating = definition.rating {
            out += "Rating: \(Sanitize.inline(rating.name)), \(rating.minimum) to \(rating.maximum)\n"
            for (point, text) in rating.anchors.sorted(by: { $0.key < $1.key }) { out += "  \(point): \(Sanitize.inline(text))\n" }
        }
        out += "Flag reasons: \(definition.flagReasons.map(Sanitize.inline).joined(separator: ", ")); severity 0 to 3\n"
        if json { return say(out) }
        console.page(out)
    }

    private func progress() throws {
        let progress = try store.progress(of: reviewer, at: clock())
        let pace = try store.pace(of: reviewer, dayStart: dayStart(clock()))
        if json {
            emit("progress", [
                ("done", .number(Double(progress.done))), ("skipped", .number(Double(progress.skipped))),
                ("session", .number(Double(reviewed))), ("done_today", .number(Double(pace.doneToday))),
                ("left", .number(Double(pace.left))), ("median_seconds", pace.medianSeconds.map { .number($0) } ?? .null),
            ])
            return
        }
        var text = "You have reviewed \(Format.count(progress.done)) \(progress.done == 1 ? "item" : "items") (\(reviewed) this session, \(pace.doneToday) today) and skipped \(Format.count(progress.skipped))."
        if let median = pace.medianSeconds { text += " Your median is \(ReviewerPace.duration(median, compact: false)) an item." }
        text += " \(Format.count(pace.left)) \(pace.left == 1 ? "item is" : "items are") left for you"
        if let eta = pace.etaSeconds, eta >= 1, pace.left > 0 { text += ", about \(ReviewerPace.duration(eta, compact: false)) at your pace" }
        say(String(ownLine(text + ".", indent: "").dropLast()))
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
            "  " + command.usage.padding(toLength: 28, withPad: " ", startingAt: 0) + command.summary
        }
        say("Commands (help COMMAND for more; a bare answer such as `1 4` answers the asks in order):\n" + rows.joined(separator: "\n"))
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
