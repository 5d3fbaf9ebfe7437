import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

/// A project whose items ask for a label, a preference and a ranking; one item has two
/// responses, one has three.
func pairwiseProject(asks: String = "[label, preference, ranking]") -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,borderline,unsafe --seed 1")
    sandbox.write("docket.yaml", "labels: [safe, borderline, unsafe]\nasks: \(asks)\noverlap: 1\nexplore: 0\n")
    sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
    sandbox.write("items.jsonl", """
        {"id":"two","prompt":"Say hi","responses":["Hi!","Hello there."],"risk":0.9}
        {"id":"three","prompt":"Count","responses":["one","two","three"],"risk":0.5}

        """)
    sandbox.run(["import", "items", sandbox.path("items.jsonl")])
    sandbox.run("reviewers add ana")
    return sandbox
}

/// Runs a session in-process on scripted lines (or keys), returning the session's input and output.
func scriptedSession(_ sandbox: Sandbox, _ lines: [String?], keyMode: Bool = false) throws -> (input: ScriptedLineInput, output: String) {
    let store = try SQLiteStore.open(path: sandbox.databasePath)
    let input = ScriptedLineInput(lines)
    let console = RecordingConsole()
    let session = ReviewSession(
        store: store, reviewer: "ana", console: console, input: input, editor: LineTextEditor(),
        clock: { sandbox.clock.now }, json: false, keyMode: keyMode)
    try session.run()
    return (input, console.output)
}

func recorded(_ output: String) -> [String] {
    output.split(separator: "\n").filter { $0.hasPrefix("! ") || $0.hasPrefix("Recorded") || $0.hasPrefix("Item ") }.map(String.init)
}

@Suite struct ReviewAnswerTests {
    /// The bare answers fill the item's asks in order: a label's number or name, a rating point.
    @Test func bareAnswersFillTheAsksInOrder() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "3 4\nunsafe 2\nquit\n")
        #expect(recorded(run.output) == [
            "Recorded label unsafe. Still asked: rating.", "Recorded rating 4.", "Item i1 done.",
            "Recorded label unsafe. Still asked: rating.", "Recorded rating 2.", "Item i2 done.",
        ])
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 2)
        #expect(try store.db.scalar("SELECT rating FROM feedback WHERE kind = 'rating' ORDER BY id LIMIT 1") == .real(4))
    }

    /// After an undo took back only the rating, a line with both answers restates them: the label
    /// changes (superseding the earlier one) and the rating is given. A hostile review found it
    /// refused as `Unknown command 'unsafe'. Did you mean `unsafe`?`.
    @Test func bothAnswersAgainAfterAnUndoOfOne() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "safe 3\nundo\nunsafe 2\nquit\n")
        #expect(recorded(run.output) == [
            "Recorded label safe. Still asked: rating.", "Recorded rating 3.", "Item i1 done.",
            "Recorded label unsafe (replaces your label safe). Still asked: rating.", "Recorded rating 2.", "Item i1 done.",
        ], "\(run.output)")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM supersessions") == 1)
    }

    /// One answer at a time works too, and a rating alone answers the rating once the label is in.
    @Test func oneBareAnswerAtATime() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "2\n5\nquit\n")
        #expect(recorded(run.output) == ["Recorded label borderline. Still asked: rating.", "Recorded rating 5.", "Item i1 done."])
    }

    /// A bad line records nothing: every answer is checked before any is stored.
    @Test func aLineIsTakenWholeOrNotAtAll() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "3 9\n7 4\n1 2 3\nsafe x\nlabl\nquit\n")
        #expect(recorded(run.output) == [
            "! A rating is a whole number from 1 to 5.",
            "! '7' is not a label: give its number (1 to 3) or its name (safe, borderline, unsafe).",
            "! 3 answers, but the item asks for 2: label, rating, in that order.",
            "! A rating is a number from 1 to 5.",
            "! Unknown command 'labl'. Did you mean `label`? Type help for the commands.",
        ])
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 0)
    }

    /// Letters best first answer a ranking: `CAB` on a three-response item.
    @Test func lettersAnswerARanking() throws {
        let sandbox = pairwiseProject(asks: "[ranking]")
        let (_, output) = try scriptedSession(sandbox, ["BA", "cab", "quit"])
        #expect(recorded(output) == ["Recorded ranking B > A.", "Item two done.", "Recorded ranking C > A > B.", "Item three done."])
    }

    /// With two responses a ranking and a preference are the same question: only the preference
    /// is asked, a ranking answers it, and a contradicting answer is refused.
    @Test func twoResponsesNeverAskForBothRankingAndPreference() throws {
        let sandbox = pairwiseProject()
        let (_, output) = try scriptedSession(sandbox, ["show", "rank A B", "prefer tie", "prefer B", "prefer A", "safe", "quit"])
        #expect(output.contains("Asks: label (1 safe / 2 borderline / 3 unsafe) · prefer (A / B / tie)\n"))
        #expect(recorded(output) == [
            "Recorded ranking A > B. Still asked: label.",
            "! You ranked A above B, so `prefer tie` contradicts it; `rank` again to change your answer, or undo the ranking first.",
            "! You ranked A above B, so `prefer B` contradicts it; `rank` again to change your answer, or undo the ranking first.",
            "Recorded preference A. Still asked: label.",
            "Recorded label safe.", "Item two done.",
        ])
        // The three-response item asks for both; the line wraps between asks, never inside one.
        #expect(output.contains("Asks: label (1 safe / 2 borderline / 3 unsafe) · prefer (A / B / tie) ·\n      rank (A B C)\n"))
    }

    @Test func aTieRefusesAStrictRanking() throws {
        let sandbox = pairwiseProject()
        let (_, output) = try scriptedSession(sandbox, ["tie", "rank B A", "quit"])
        #expect(recorded(output) == [
            "Recorded preference tie. Still asked: label.",
            "! You called A and B a tie, so `rank B A` contradicts it; `prefer` again to change your answer, or undo the preference first.",
        ])
    }

    /// Labelling again replaces the earlier label: one current label, the old row kept as superseded.
    @Test func relabellingReplacesTheEarlierLabel() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nlabel unsafe\nlabel 2\nrate 3\nquit\n")
        #expect(recorded(run.output) == [
            "Recorded label safe. Still asked: rating.",
            "Recorded label unsafe (replaces your label safe). Still asked: rating.",
            "Recorded label borderline (replaces your label unsafe). Still asked: rating.",
            "Recorded rating 3.", "Item i1 done.",
        ])
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM feedback WHERE kind = 'label'") == 3)
        #expect(try store.db.int("SELECT count(*) FROM feedback f WHERE kind = 'label' AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)") == 1)
        #expect(try store.db.int("SELECT count(*) FROM supersessions") == 2)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'superseded'") == 2)
        #expect(try store.check() == [])
        // show marks the superseded answers, in the order given.
        #expect(sandbox.run("show i1 --as ana").output.contains("""
            Your feedback
              ana: label safe (superseded)
              ana: label unsafe (superseded)
              ana: label borderline
              ana: rating 3

            """))
        // Every command counts the one current label.
        #expect(sandbox.run("status --json").output.contains(#""labels":1"#))
        let export = sandbox.run("export --format labels").output
        #expect(export.contains(#""label":"borderline","label_source":"single""#))
        #expect(export.contains(#""reviewer_labels":[{"reviewer":"ana","label":"borderline","#))
    }

    /// A reviewer who quits mid-item keeps it and, coming back, sees what they gave.
    @Test func resumedItemShowsWhatWasGiven() throws {
        let sandbox = reviewProject()
        let first = sandbox.run(["review", "--as", "ana"], stdin: "unsafe\nflag unsafe 2 scary\nquit\n")
        #expect(first.output.contains("i1 stays yours, with what you gave; your next review session resumes it.\n"))
        let again = sandbox.run(["review", "--as", "ana"], stdin: "4\nquit\n")
        #expect(again.output.contains("Resuming the item you had open.\n── i1 · crime · 0 done today · 3 left "))
        #expect(again.output.contains("Asks: label (1 safe / 2 borderline / 3 unsafe) · rate (helpfulness 1–5)\nGiven: label unsafe, flag unsafe (severity 2)\n"))
        #expect(recorded(again.output) == ["Recorded rating 4.", "Item i1 done."])
    }

    /// The header shows the reviewer's own pace: done today, median seconds per item, items left
    /// and an estimate.
    @Test func headerShowsTheReviewersOwnPace() {
        let sandbox = reviewProject()
        // The clock moves 30 s per item.
        let store = try! SQLiteStore.open(path: sandbox.databasePath)
        let input = TimedInput(["1 4", "2 3", "quit"], clock: sandbox.clock, seconds: 30)
        let console = RecordingConsole()
        let session = ReviewSession(
            store: store, reviewer: "ana", console: console, input: input, editor: LineTextEditor(), clock: { sandbox.clock.now }, json: false)
        try? session.run()
        let headers = console.output.split(separator: "\n").filter { $0.hasPrefix("── ") }
        #expect(headers == [
            "── i1 · crime · 0 done today · 3 left ──────────────────────────────────────────",
            "── i2 · chat · 1 done today · 30 s/item · 2 left · about 1 min ─────────────────",
            "── i3 · 2 done today · 30 s/item · 1 left · about 30 s ─────────────────────────",
        ])
    }

    /// A gold item mixed into the queue looks like any other: the same header fields, no word
    /// of gold, the same prompts.
    @Test func goldItemsLookLikeAnyOther() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 1 --budget 3 --explore 0 --seed 11")
        sandbox.write("docket.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 1\nbudget: 3\nexplore: 0\ncalibration: {gold_rate: 0.5, bar: 0.8}\n")
        sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
        var items = ""
        for i in 1...3 { items += #"{"id":"g\#(i)","gold":"safe","risk":0.01}"# + "\n" }
        for i in 1...6 { items += #"{"id":"x\#(i)","risk":0.\#(i)}"# + "\n" }
        sandbox.write("items.jsonl", items)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        let (input, output) = try scriptedSession(sandbox, Array(repeating: "safe", count: 8))
        let headers = output.split(separator: "\n").filter { $0.hasPrefix("── ") }.map(String.init)
        #expect(headers.contains { $0.hasPrefix("── g") })
        #expect(headers.contains { $0.hasPrefix("── x") })
        let shape = /^── [gx]\d · \d done today( · \d+ s\/item)? · \d+ left( · about .+)? ─+$/
        for header in headers { #expect(header.wholeMatch(of: shape) != nil, "\(header)") }
        #expect(Set(input.prompts) == ["docket> "])
        #expect(!output.lowercased().contains("gold"))
    }

    /// Single-key mode: ten items asking for a label and a rating take exactly twenty keys, and
    /// what is stored is what was pressed.
    @Test func singleKeyModeTakesTwoKeysAnItem() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --seed 1")
        sandbox.write("docket.yaml", taskYAML.replacingOccurrences(of: "overlap: 2", with: "overlap: 1").replacingOccurrences(of: "budget: 10", with: "budget: 100"))
        sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
        sandbox.write("items.jsonl", (0..<10).map { #"{"id":"k\#($0)","response":"r\#($0)","risk":\#(Double(10 - $0) / 10)}"# }.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        let labels = [1, 3, 2, 1, 1, 3, 2, 2, 3, 1], ratings = [4, 1, 5, 3, 2, 2, 4, 5, 1, 3]
        let keys = zip(labels, ratings).map { "\($0)\($1)" }.joined()
        let (input, output) = try scriptedSession(sandbox, [keys], keyMode: true)
        #expect(input.keyCount == 20)
        #expect(output.contains("Session ended: 10 items reviewed."))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let statement = try store.db.statement(
            "SELECT i.id, group_concat(coalesce(f.label, f.rating), ' ') FROM feedback f JOIN items i ON i.seq = f.item GROUP BY i.id ORDER BY i.id")
        var stored: [String] = []
        while try statement.step() { stored.append(statement.text(0) + " " + statement.text(1)) }
        let names = ["safe", "borderline", "unsafe"]
        #expect(stored == (0..<10).map { "k\($0) \(names[labels[$0] - 1]) \(ratings[$0]).0" })
        // The prompt says which keys do what.
        #expect(input.prompts.first == "label: 1 safe  2 borderline  3 unsafe · u undo · s skip · : command · ? keys > ")
        #expect(input.prompts.dropFirst().first == "rating: 1–5 · u undo · s skip · : command · ? keys > ")
    }

    /// In single-key mode `:` runs one full command, u undoes, a stray key is explained, Tab
    /// goes back to line mode and `keys` returns.
    @Test func singleKeyModeCommandsUndoAndToggle() throws {
        let sandbox = reviewProject()
        let (input, output) = try scriptedSession(sandbox, ["3u", "z", ":note looks fine", "2", "\t", "rate 4", "keys", "1q"], keyMode: true)
        #expect(recorded(output) == [
            "Recorded label unsafe. Still asked: rating.",
            "! The key z does nothing here; ? lists the keys.",
            "Recorded note. Still asked: label, rating.",
            "Recorded label borderline. Still asked: rating.",
            "Recorded rating 4.", "Item i1 done.",
            "Recorded label safe. Still asked: rating.",
        ])
        #expect(output.contains("Withdrew label unsafe on i1."))
        #expect(output.contains("Line mode: type commands or answers; `keys` switches back to single keys."))
        #expect(input.prompts.contains("docket> "))
        #expect(input.prompts.contains(": "))
    }

    /// A ranking of three responses takes two keys: the last is implied.
    @Test func singleKeyRanking() throws {
        let sandbox = pairwiseProject(asks: "[ranking]")
        let (_, output) = try scriptedSession(sandbox, ["b", "ca"], keyMode: true)
        #expect(recorded(output) == ["Recorded ranking B > A.", "Item two done.", "Recorded ranking C > A > B.", "Item three done."])
    }

    @Test func helpListsEachCommandWithOneLine() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "help\nquit\n")
        for command in SessionCommand.all {
            #expect(run.output.contains("  " + command.usage.padding(toLength: 28, withPad: " ", startingAt: 0) + command.summary + "\n"), "\(command.name)")
            #expect(!command.summary.contains(". "), "\(command.name): one sentence")
        }
    }
}

@Suite struct ReviewFixTests {
    /// On a narrow terminal Docket's own lines wrap with a hanging indent, and a word wider than
    /// the line is cut, never split by an inserted space.
    @Test func ownLinesWrapWithoutInsertingSpaces() throws {
        let sandbox = Sandbox()
        let long = "http://example.com/" + String(repeating: "a", count: 40)
        sandbox.run(["init", "--labels", "safe,\(long)", "--seed", "1"])
        sandbox.write("items.jsonl", #"{"id":"w1","prompt":"p","response":"r"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let console = RecordingConsole()
        console.isOutputTerminal = true
        console.width = 40
        let session = ReviewSession(
            store: store, reviewer: "ana", console: console, input: ScriptedLineInput(["quit"]), editor: LineTextEditor(),
            clock: { sandbox.clock.now }, json: false)
        try session.run()
        let asks = console.output.split(separator: "\n").drop { !$0.hasPrefix("Asks:") }.prefix { !$0.hasPrefix("Session") && !$0.hasPrefix("w1") }
        #expect(asks.count > 1, "\(console.output)")
        #expect(asks.allSatisfy { TextWrap.columns($0) <= 40 }, "\(console.output)")
        #expect(asks.dropFirst().allSatisfy { $0.hasPrefix("      ") }, "\(console.output)")
        let joined = asks.map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(joined.contains(long), "\(console.output)")
    }

    /// Undoing a change of mind brings the earlier answer back.
    @Test func undoAfterRelabelRestoresTheEarlierLabel() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nlabel unsafe\nundo\nshow\nquit\n")
        #expect(run.output.contains("Withdrew label unsafe on i1. Your label safe stands again.\n"))
        #expect(run.output.contains("Given: label safe\n"))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.scalar("""
            SELECT group_concat(label) FROM feedback f WHERE kind = 'label' AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)
            """) == .text("safe"))
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'restored'") == 1)
        #expect(try store.check() == [])
    }

    /// In single-key mode, u in the middle of a ranking takes back the letter, not an answer.
    @Test func undoKeyInsideARankingTakesBackTheLetter() throws {
        let sandbox = pairwiseProject(asks: "[label, ranking]")
        let (_, output) = try scriptedSession(sandbox, ["1b", "2cuab"], keyMode: true)
        #expect(recorded(output) == [
            "Recorded label safe. Still asked: ranking.", "Recorded ranking B > A.", "Item two done.",
            "Recorded label borderline. Still asked: ranking.", "Recorded ranking A > B > C.", "Item three done.",
        ])
        #expect(!output.contains("Withdrew"))
    }

    /// On three responses a preference about A and B must agree with the ranking's order of A and B.
    @Test func preferenceMustAgreeWithAThreeWayRanking() throws {
        let sandbox = pairwiseProject(asks: "[ranking, preference]")
        let (_, output) = try scriptedSession(sandbox, ["BA", "rank C A B", "prefer B", "prefer A", "quit"])
        #expect(recorded(output) == [
            "Recorded preference B.", "Item two done.",
            "Recorded ranking C > A > B. Still asked: preference.",
            "! You ranked A above B, so `prefer B` contradicts it; `rank` again to change your answer, or undo the ranking first.",
            "Recorded preference A.", "Item three done.",
        ])
    }

    /// A second session of the same reviewer finished the item: the first says so and moves on.
    @Test func anItemFinishedInAnotherSessionMovesOn() throws {
        let sandbox = reviewProject()
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let other = try SQLiteStore.open(path: sandbox.databasePath)
        let input = HookedInput(["label safe", "quit"]) { index in
            guard index == 0 else { return }
            // Meanwhile, another session of ana's finishes i1.
            if case .claimed(let held) = try? other.claimNext(for: "ana", at: sandbox.clock.now) {
                _ = try? other.submit(FeedbackDraft(kind: .label, label: "unsafe"), assignment: held.id, secondsSpent: 1, at: sandbox.clock.now)
                _ = try? other.submit(FeedbackDraft(kind: .rating, rating: 2), assignment: held.id, secondsSpent: 1, at: sandbox.clock.now)
            }
        }
        let console = RecordingConsole()
        let session = ReviewSession(
            store: store, reviewer: "ana", console: console, input: input, editor: LineTextEditor(), clock: { sandbox.clock.now }, json: false)
        try session.run()
        #expect(console.output.contains("! i1 was finished in another session of yours; here is the next item.\n── i2 · chat"), "\(console.output)")
    }

    /// "left" goes down by one after every item, gold or not, and counts the item on screen.
    @Test func leftGoesDownByOneWhetherGoldOrNot() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 1 --explore 0 --seed 11")
        sandbox.write("docket.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 1\nexplore: 0\ncalibration: {gold_rate: 0.5, bar: 0.8}\n")
        sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
        var items = ""
        for i in 0..<4 { items += #"{"id":"g\#(i)","gold":"safe","risk":0.5}"# + "\n" }
        for i in 0..<6 { items += #"{"id":"r\#(i)","risk":0.9\#(i)}"# + "\n" }
        sandbox.write("items.jsonl", items)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        let (_, output) = try scriptedSession(sandbox, Array(repeating: "safe", count: 12))
        let headers = output.split(separator: "\n").filter { $0.hasPrefix("── ") }
        let left = headers.compactMap { header in header.firstMatch(of: /· (\d+) left/).map { Int($0.1)! } }
        #expect(headers.contains { $0.hasPrefix("── g") })
        #expect(left.count == headers.count)
        // Down by one after every item; gold items this reviewer was never mixed stay counted
        // (they could still come), so the last count is their number plus the item on screen.
        #expect(zip(left, left.dropFirst()).allSatisfy { $0 - $1 == 1 }, "\(headers)")
        #expect(left.last == 1 + 4 - headers.filter { $0.hasPrefix("── g") }.count, "\(headers)")
    }
}

/// Scripted lines with a hook that runs before each line is returned.
final class HookedInput: LineInput {
    var completer: ((String, Int) -> [String])?
    var onIdle: (() -> Void)?
    let isInteractive = false
    var lines: [String]
    var index = 0
    let hook: (Int) -> Void
    init(_ lines: [String], hook: @escaping (Int) -> Void) {
        self.lines = lines
        self.hook = hook
    }
    func readLine(prompt: String) -> InputEvent {
        hook(index)
        index += 1
        return lines.isEmpty ? .end : .line(lines.removeFirst())
    }
    func remember(_ line: String) {}
}

/// Input whose clock moves a fixed number of seconds before each line.
final class TimedInput: LineInput {
    var completer: ((String, Int) -> [String])?
    var onIdle: (() -> Void)?
    let isInteractive = false
    var lines: [String]
    let clock: ManualClock
    let seconds: Int
    init(_ lines: [String], clock: ManualClock, seconds: Int) {
        self.lines = lines
        self.clock = clock
        self.seconds = seconds
    }
    func readLine(prompt: String) -> InputEvent {
        clock.advance(seconds: seconds)
        return lines.isEmpty ? .end : .line(lines.removeFirst())
    }
    func remember(_ line: String) {}
}

/// A `config apply` while a session runs: the session's answers are recorded under the rubric it
/// showed (on SQLite; `PostgresRowSecurityTests` does the same on PostgreSQL), not the new one.
@Suite struct AnswersUnderTheSessionsRubricTests {
    @Test func anAnswerGivenAfterAConfigChangeKeepsTheSessionsRubric() throws {
        let sandbox = reviewProject()
        let session = Process(), input = Pipe(), output = Pipe()
        session.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
        session.arguments = ["review", "--as", "ana", "--db", sandbox.databasePath]
        (session.standardInput, session.standardOutput, session.standardError) = (input, output, output)
        try session.run()
        input.fileHandleForWriting.write(Data("safe\n".utf8))
        Thread.sleep(forTimeInterval: 1)
        let narrow = taskYAML.replacingOccurrences(of: "scale: [1, 5]", with: "scale: [1, 3]").replacingOccurrences(of: "5: Fully helpful", with: "3: Fully helpful")
        let applied = try runDocket(["config", "apply", sandbox.write("narrow.yaml", narrow), "--db", sandbox.databasePath])
        #expect(applied.status == 0, "\(applied.errors)")
        input.fileHandleForWriting.write(Data("5\nquit\n".utf8))
        try input.fileHandleForWriting.close()
        session.waitUntilExit()
        let shown = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(shown.contains("Recorded rating 5."), "\(shown)")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        // Both answers under the session's rubric (version 2, applied by reviewProject); the new one is 3.
        #expect(try store.db.int("SELECT max(version) FROM rubrics") == 3)
        #expect(try store.db.int("SELECT count(*) FROM feedback f JOIN rubrics r ON r.id = f.rubric WHERE r.version = 2") == 2)
    }
}
