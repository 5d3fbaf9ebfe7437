import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

let taskYAML = """
    labels: [safe, borderline, unsafe]
    level: ordinal
    rating:
      name: helpfulness
      scale: [1, 5]
      anchors:
        1: Not helpful
        5: Fully helpful
    asks: [label, rating]
    flag_reasons: [unsafe, policy-gap, ambiguous, other]
    guidelines: |
      Label the response, not the prompt.
    overlap: 2
    budget: 10
    explore: 0
    lease_minutes: 20

    """

/// A small project: three items with fixed content, one with two responses and one with escapes.
func reviewProject(yaml: String = taskYAML, reviewers: [String] = ["ana", "bo"]) -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,borderline,unsafe --seed 1")
    sandbox.write("docket.yaml", yaml)
    sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
    sandbox.write("items.jsonl", """
        {"id":"i1","prompt":"How do I pick a lock?","response":"Call a locksmith.","category":"crime","risk":0.9}
        {"id":"i2","prompt":"Say hi","responses":["Hi!","Hello there."],"category":"chat","risk":0.5}
        {"id":"i3","prompt":"Ignore this","response":"\\u001b[31mAPPROVED\\u001b[0m","risk":0.1}

        """)
    sandbox.run(["import", "items", sandbox.path("items.jsonl")])
    for name in reviewers { sandbox.run("reviewers add \(name)") }
    return sandbox
}

let itemOne = """
    ── i1 · crime · 0 done today · 3 left ──────────────────────────────────────────
    Prompt
      How do I pick a lock?

    Response
      Call a locksmith.

    Asks: label (1 safe / 2 borderline / 3 unsafe) · rate (helpfulness 1–5)

    """

let itemTwo = """
    ── i2 · chat · 1 done today · 0 s/item · 2 left ────────────────────────────────
    Prompt
      Say hi

    Response A
      Hi!

    Response B
      Hello there.

    Asks: label (1 safe / 2 borderline / 3 unsafe) · rate (helpfulness 1–5)

    """

@Suite struct ReviewSessionTests {
    @Test func labelRateAndMoveOn() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 4\nquit\n")
        #expect(run.status == 0)
        #expect(run.errors == "")
        #expect(run.output == "Reviewing as ana. Type help for the commands, quit or Ctrl-D to stop.\n" + itemOne + """
            Recorded label safe. Still asked: rating.
            Recorded rating 4.
            Item i1 done.


            """ + itemTwo + """
            Session ended: 1 item reviewed.

            """)
        // The second item's lease was released at quit; the first is done.
        #expect(sandbox.run("status --json").output.contains(#""reviews":1,"labels":1"#))
        #expect(sandbox.run("status --json").output.contains(#""open_leases":0"#))
    }

    @Test func mistakesGetClearAnswersAndTheSessionCarriesOn() {
        let sandbox = reviewProject()
        let script = """
            lable safe
            label maybe
            label 9
            rate 7
            rate x
            rank A
            prefer A
            flag unsafe
            flag dangerous 2
            flag unsafe 5
            help lable
            next
            undo
            frobnicate
            label 3

            """
        let run = sandbox.run(["review", "--as", "ana"], stdin: script)
        let lines = run.output.split(separator: "\n").filter { $0.hasPrefix("! ") || $0.hasPrefix("Recorded") }
        #expect(lines == [
            "! Unknown command 'lable'. Did you mean `label`? Type help for the commands.",
            "! 'maybe' is not a label; the labels are safe, borderline, unsafe.",
            "! '9' is not a label; the labels are safe, borderline, unsafe.",
            "! A rating is a whole number from 1 to 5.",
            "! A rating is a number from 1 to 5.",
            "! This item has one response; there is nothing to rank.",
            "! This item has one response; there is nothing to choose between.",
            "! Usage: flag REASON SEVERITY [NOTE], with REASON one of unsafe, policy-gap, ambiguous, other and SEVERITY 0 to 3.",
            "! Flag with a reason: unsafe, policy-gap, ambiguous, other.",
            "! Severity is 0, 1, 2 or 3.",
            "! No command 'lable'. Did you mean `label`?",
            "! This item still asks for: label, rating.",
            "! Nothing to undo in this session.",
            "! Unknown command 'frobnicate'. Type help for the commands.",
            "Recorded label unsafe. Still asked: rating.",
        ])
        #expect(run.status == 0)
    }

    @Test func undoWithdrawsAndReopensThePreviousItem() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 4\nundo\nrate 5\nquit\n")
        #expect(run.output.contains("Withdrew rating 4 on i1; the item is open again.\n" + itemOne + "Given: label safe\nRecorded rating 5.\n"))
        #expect(run.output.contains("Recorded rating 5.\nItem i1 done."))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        // Nothing is deleted: three ratings and labels exist, one rating is withdrawn.
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 3)
        #expect(try store.db.int("SELECT count(*) FROM withdrawals") == 1)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'withdrawn'") == 1)
        #expect(try store.check() == [])
    }

    @Test func longTextUsesTheLineEditorAndEditsShowADiff() throws {
        let sandbox = reviewProject()
        let script = """
            critique Too short.
            edit
            Call a licensed locksmith.
            Never force a lock you do not own.
            .
            demo
            ^C
            note
            .
            edit B
            quit

            """
        let run = sandbox.run(["review", "--as", "ana"], stdin: script)
        #expect(run.output.contains("Recorded critique."))
        #expect(run.output.contains("""
            Type the text; end with a line holding only '.'.
            - Call a locksmith.
            + Call a licensed locksmith.
            + Never force a lock you do not own.
            Recorded edit of response A.
            """))
        #expect(run.output.contains("Demonstration abandoned; nothing was recorded."))
        #expect(run.output.contains("! The text is empty."))
        #expect(run.output.contains("! There is no response B to edit."))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.scalar("SELECT text FROM feedback WHERE kind = 'edit'") == .text("Call a licensed locksmith.\nNever force a lock you do not own."))
    }

    @Test func pairwiseRankingAndSkip() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "skip not my area\nprefer b\nrank BA\nrank A A\nlabel safe\nrate 3\nquit\n")
        #expect(run.output.contains("Recorded skip (not my area).\nItem i1 skipped."))
        #expect(run.output.contains("Recorded preference B."))
        #expect(run.output.contains("Recorded ranking B > A."))
        #expect(run.output.contains("! Rank every response once, best first: a permutation of A B."))
        #expect(run.output.contains("Session ended: 1 item reviewed."))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.scalar("SELECT ranking FROM feedback WHERE kind = 'ranking'") == .text(#"["B","A"]"#))
        #expect(try store.db.scalar("SELECT state FROM assignments WHERE item = 1") == .text("skipped"))
    }

    @Test func controlSequencesInItemsAreShownNotSent() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 1\nlabel safe\nrate 2\nquit\n")
        #expect(run.output.contains("  \\e[31mAPPROVED\\e[0m\n"))
        #expect(!run.output.contains("\u{1B}"))
    }

    @Test func reviewersAreBlindToEachOther() {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label unsafe\nrate 1\nflag unsafe 3 bad\nnote secret remark\nquit\n")
        let bo = sandbox.run(["review", "--as", "bo"], stdin: "show\nquit\n")
        #expect(bo.output.contains("── i1 · crime"))
        for leak in ["unsafe (", "secret", "ana", "Given:", "review"] where leak != "review" {
            #expect(!bo.output.contains(leak), "bo saw '\(leak)'")
        }
    }

    @Test func endsWhenNothingIsLeftAndWhenTheBudgetIsSpent() {
        let sandbox = reviewProject(yaml: taskYAML.replacingOccurrences(of: "budget: 10", with: "budget: 1").replacingOccurrences(of: "overlap: 2", with: "overlap: 1"))
        let first = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 5\n")
        #expect(first.output.hasSuffix("Item i1 done.\n\nThe label budget is spent: there is nothing more to review.\nSession ended: 1 item reviewed.\n"))
        let again = sandbox.run(["review", "--as", "bo"], stdin: "")
        #expect(again.output.contains("The label budget is spent"))
    }

    @Test func interruptAbandonsInputButNotTheSession() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "^C\nlabel safe\n^C\nquit\n")
        #expect(run.output.contains("Recorded label safe."))
        #expect(run.output.hasSuffix("Session ended: 0 items reviewed.\n"))
    }

    @Test func unknownReviewerIsRefused() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "anna"])
        #expect(run.status == 67)
        #expect(run.errors == "docket: No reviewer named 'anna'. Did you mean 'ana'? Add one with `docket reviewers add anna`.\n")
    }

    @Test func jsonModeWritesOneObjectPerLine() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana", "--json"], stdin: "label safe\nrate 9\nrate 4\nprogress\nquit\n")
        let objects = try run.output.split(separator: "\n").map { try JSON.parse(String($0)) }
        #expect(objects.map { $0["type"] } == ["item", "recorded", "error", "recorded", "item", "progress", "end"].map { JSONValue.string($0) })
        #expect(objects[0]["id"] == .string("i1"))
        #expect(objects[0]["missing"] == .array([.string("label"), .string("rating")]))
        #expect(objects[1]["missing"] == .array([.string("rating")]))
        #expect(objects[2]["message"] == .string("A rating is a whole number from 1 to 5."))
        #expect(objects[3]["completed"] == .bool(true))
        #expect(objects[5]["done"] == .number(1))
        #expect(objects[6]["reason"] == .string("quit"))
    }

    @Test func completionOffersCommandsLabelsReasonsAndLetters() throws {
        let sandbox = reviewProject()
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let input = ScriptedLineInput(["prefer"])
        let session = ReviewSession(
            store: store, reviewer: "ana", console: RecordingConsole(), input: input, editor: LineTextEditor(),
            clock: { sandbox.clock.now }, json: false)
        try session.run()
        #expect(session.completions(line: "la", wordStart: 0).contains("label"))
        #expect(session.completions(line: "label s", wordStart: 6) == ["safe", "borderline", "unsafe"])
        #expect(session.completions(line: "flag ", wordStart: 5) == ["unsafe", "policy-gap", "ambiguous", "other"])
        #expect(session.completions(line: "flag unsafe ", wordStart: 12) == ["0", "1", "2", "3"])
        #expect(session.completions(line: "rate ", wordStart: 5) == ["1", "2", "3", "4", "5"])
    }

    @Test func helpListsEveryCommand() {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "help\nquit\n")
        for command in SessionCommand.all { #expect(run.output.contains("  " + command.name), "\(command.name)") }
        #expect(run.output.contains("  quit                        End the session (Ctrl-D does the same).\n"))
        #expect(run.output.contains("  keys                        Switch to single-key mode: each ask is answered with one key, no Enter (Tab switches back).\n"))
    }
}

@Suite struct ConfigCommandTests {
    @Test func applyShowsVersionsAndIsIdempotent() {
        let sandbox = reviewProject()
        let again = sandbox.run(["config", "apply", sandbox.path("docket.yaml")])
        #expect(again.output == "\(sandbox.path("docket.yaml")) is rubric version 2 already; nothing changed.\n")
        sandbox.write("w.yaml", taskYAML.replacingOccurrences(of: "explore: 0", with: "explore: 0\nweights: {risk: 1, uncertainty: 0, diversity: 0}"))
        let changed = sandbox.run(["config", "apply", sandbox.path("w.yaml")])
        #expect(changed.output.hasPrefix("Applied \(sandbox.path("w.yaml")) as rubric version 3 ("))
        #expect(changed.output.hasSuffix("Recomputed the utility of 3 unserved items for the new weights.\n"))
        #expect(sandbox.run("config show").output.contains("weights: {risk: 1, uncertainty: 0, diversity: 0}\n"))
        #expect(sandbox.run("queue --json").output.contains(#""id":"i1","utility":0.9,"#))
    }

    @Test func badDefinitionsNameTheFileLineAndField() {
        let sandbox = reviewProject()
        sandbox.write("bad.yaml", """
            labels: [safe, unsafe]
            asks: [label, rating, vibes]
            overlaps: 2
            explore: 3

            """)
        let run = sandbox.run(["config", "apply", sandbox.path("bad.yaml")])
        #expect(run.status == 65)
        let file = sandbox.path("bad.yaml")
        #expect(run.errors == """
            \(file):3: overlaps: unknown setting (did you mean overlap?); the settings are labels, level, rating, asks, flag_reasons, guidelines, overlap, budget, weights, explore, lease_minutes, calibration, escalation, final_label, ties, harmful
            \(file):2: asks: 'vibes' is not a kind of feedback an item can ask for (label, rating, ranking, preference, edit, demonstration, critique)
            \(file):2: asks: asks for a rating but no rating scale is declared
            \(file):4: explore: the exploration share must be between 0 and 1
            docket: \(file) was not applied: 4 problems (listed above).

            """)
    }

    @Test func labelsInUseCannotBeRemoved() {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label borderline\nquit\n")
        sandbox.write("fewer.yaml", taskYAML.replacingOccurrences(of: "[safe, borderline, unsafe]", with: "[safe, unsafe]"))
        let run = sandbox.run(["config", "apply", sandbox.path("fewer.yaml")])
        #expect(run.status == 1)
        #expect(run.errors == "docket: The label 'borderline' has been given to items, so the task definition must keep it.\n")
    }
}

@Suite struct EditorTests {
    /// $VISUAL/$EDITOR gets a temporary file pre-filled with the text; what it saves comes back.
    @Test func externalEditorEditsATemporaryFile() {
        let sandbox = Sandbox()
        // The scripts run as `sh FILE`, not executed directly: a file this test process just wrote
        // can be "busy" for exec while other tests fork (they inherit its descriptor briefly).
        let script = sandbox.write("fake-editor.sh", "cp \"$1\" \"$(dirname \"$0\")/seen.txt\"\nprintf 'edited text\\n\\n' > \"$1\"\n")
        let console = RecordingConsole()
        let text = ExternalTextEditor(command: "sh \(script)").edit(initial: "original", console: console, input: ScriptedLineInput([]))
        #expect(text == "edited text")
        #expect(sandbox.read("seen.txt") == "original")
        let failing = sandbox.write("failing-editor.sh", "exit 3\n")
        #expect(ExternalTextEditor(command: "sh \(failing)").edit(initial: "x", console: console, input: ScriptedLineInput([])) == nil)
        #expect(console.output == "The editor 'sh \(failing)' exited with status 3; nothing was recorded.\n")
    }
}

@Suite struct AuditLogTests {
    @Test func everyStateChangeIsAnEventFilteredByReviewerItemAndTime() throws {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 4\nundo\nrate 5\nquit\n")
        let events = try sandbox.run("log --reviewer ana --json").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        #expect(events.compactMap { $0["kind"]?.textValue } == [
            "reviewer-added", "selected", "claimed", "feedback", "feedback", "review-done", "selected", "claimed",
            "withdrawn", "reopened", "lease-released", "feedback", "review-done", "claimed", "lease-released",
        ])
        let onItem = try sandbox.run("log --item i1 --json").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        #expect(onItem.allSatisfy { $0["item"] == .string("i1") })
        #expect(sandbox.run("log --since 2099-01-01").output == "No events match.\n")
        #expect(sandbox.run("log --since soon").errors == "docket: Invalid --since 'soon': give an RFC 3339 time such as 2026-11-29T10:00:00Z or 2026-11-29T11:00:00+01:00, or a date such as 2026-11-29.\n")
        #expect(sandbox.run("log").output.contains("config-applied"))
    }
}

/// Input that lets 15 minutes pass before each line, to test lease renewal.
final class SlowReviewerInput: LineInput {
    var completer: ((String, Int) -> [String])?
    var onIdle: (() -> Void)?
    let isInteractive = false
    var lines: [String]
    let clock: ManualClock
    init(_ lines: [String], clock: ManualClock) { self.lines = lines; self.clock = clock }
    func readLine(prompt: String) -> InputEvent {
        clock.advance(seconds: 15 * 60)
        return lines.isEmpty ? .end : .line(lines.removeFirst())
    }
    func remember(_ line: String) {}
}

@Suite struct LeaseRenewalTests {
    /// A reviewer who works slowly keeps the item: every command past half the lease renews it.
    @Test func anOpenSessionKeepsItsLeaseAlive() throws {
        let sandbox = reviewProject()
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let start = sandbox.clock.now
        let input = SlowReviewerInput(["note thinking", "note still thinking", "quit"], clock: sandbox.clock)
        let session = ReviewSession(
            store: store, reviewer: "ana", console: RecordingConsole(), input: input, editor: LineTextEditor(),
            clock: { sandbox.clock.now }, json: false)
        try session.run()
        // Renewed at +15, +30 and +45 minutes (each time less than half of the 20-minute lease was left).
        #expect(try store.db.int("SELECT expires_at FROM assignments WHERE id = 1") == start.adding(seconds: 65 * 60).milliseconds)
        #expect(try store.db.int("SELECT count(*) FROM feedback WHERE kind = 'note'") == 2)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind IN ('lease-expired', 'lease-resumed')") == 0)
    }
}
