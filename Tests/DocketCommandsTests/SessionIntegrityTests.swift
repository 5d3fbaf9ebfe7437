import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

/// What a running session may still do once the project changed around it, and what a lead's
/// and a reviewer's views record and show.
@Suite(.serialized) struct SessionIntegrityTests {
    /// A lead demoted while a triage session runs triages no more: the role is checked in the
    /// write, as a decision's is.
    @Test func aDemotedLeadTriagesNoMore() throws {
        let sandbox = try leadProject()
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        try store.triage(item: "i1", severity: 1, by: "lee", at: Instant(milliseconds: 1_795_000_000_000))
        #expect(sandbox.run("reviewers role lee --role reviewer").status == 0)
        #expect(throws: StoreError.notPermitted(reviewer: "lee", role: "reviewer", action: "triage")) {
            try store.triage(item: "i2", severity: 2, by: "lee", at: Instant(milliseconds: 1_795_000_000_001))
        }
        #expect(sandbox.run(["log", "--item", "i2"]).output.contains("triaged") == false)
    }

    /// A revision supersedes the latest decision of its own kind: a rating never revises a
    /// label, nor a label a rating.
    @Test func aRevisionSupersedesOnlyItsOwnKind() throws {
        let sandbox = try leadProject()
        #expect(sandbox.run(["adjudicate", "--as", "lee", "--item", "i1"], stdin: "rate 4 ok\nlabel unsafe clear\nquit\n").status == 0)
        #expect(sandbox.run(["adjudicate", "--as", "lee", "--item", "i1"], stdin: "rate 2 changed\nquit\n").status == 0)
        let decisions = try SQLiteStore.open(path: sandbox.databasePath).itemReport(id: "i1").decisions
        #expect(decisions.map(\.kind) == ["rating", "label", "rating"])
        #expect(decisions.map(\.supersedes) == [nil, nil, decisions[0].id])
        let log = sandbox.run(["log", "--item", "i1"]).output
        #expect(log.components(separatedBy: "adjudicated").count - 1 == 2, "\(log)")
        #expect(log.components(separatedBy: "adjudication-revised").count - 1 == 1, "\(log)")
    }

    /// A reviewer's log never names who else caused an event on their leases.
    @Test func aReviewersLogNamesNobodyElse() throws {
        #expect(LogCommand.blind(#"{"assignment":3,"actor":"cy"}"#, viewer: "ana") == #"{"assignment":3,"actor":"someone else"}"#)
        #expect(LogCommand.blind(#"{"assignment":3,"actor":"ana"}"#, viewer: "ana") == #"{"assignment":3,"actor":"ana"}"#)
        #expect(LogCommand.blind(#"{"assignment":3}"#, viewer: "ana") == #"{"assignment":3}"#)
        #expect(LogCommand.blind(nil, viewer: "ana") == nil)
    }

    /// A writer that waits for another one says so after three seconds, and Ctrl-C stops the wait
    /// with nothing written.
    @Test func aWaitingWriterSaysSoAndStopsAtCtrlC() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let db = sandbox.databasePath
        let docket = "'\(Fixtures.docketBinary)'"
        let line = "{ flock '\(db).lock' sleep 6 & sleep 0.3; timeout --preserve-status -s INT 4 \(docket) reviewers add yy --db '\(db)' 2> err.txt; echo $? > rc.txt; wait; }"
        _ = shell(line, in: sandbox)
        #expect(sandbox.read("err.txt") == """
            docket: Waiting for another docket process that is writing to this project (an import or a backup?); Ctrl-C stops waiting.
            docket: Stopped waiting for the other docket process at Ctrl-C; nothing was written.

            """)
        #expect(sandbox.read("rc.txt") == "130\n")
        #expect(!sandbox.run("reviewers list").output.contains("yy"))
        // Without Ctrl-C it waits, then writes.
        _ = shell("{ flock '\(db).lock' sleep 4 & sleep 0.3; \(docket) reviewers add zz --db '\(db)' 2> err.txt; echo $? > rc.txt; wait; }", in: sandbox)
        #expect(sandbox.read("rc.txt") == "0\n")
        #expect(sandbox.read("err.txt") == "docket: Waiting for another docket process that is writing to this project (an import or a backup?); Ctrl-C stops waiting.\n")
        #expect(sandbox.run("reviewers list").output.contains("zz"))
    }

    /// The pager's and the editor's wait runs the session's idle work (renewing the lease) every
    /// few seconds, however long the helper stays open.
    @Test func aHelperThatStaysOpenLetsTheSessionRenewItsLease() {
        var calls = 0
        let result = ForegroundChild.run(shell: "sleep 5.6", whileWaiting: { calls += 1 })
        #expect(result.outcome == .exited(0))
        #expect(calls == 1)
        var fed = 0
        let paged = ForegroundChild.run(shell: "sleep 5.6; cat > /dev/null", input: Array(repeating: 0x61, count: 1 << 20), whileWaiting: { fed += 1 })
        #expect(paged.outcome == .exited(0))
        #expect(fed == 1)
    }

    /// An item's gold label is a label in use: a new definition must keep it.
    @Test func aGoldLabelInUseStaysDeclared() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --seed 1")
        sandbox.write("g.jsonl", #"{"id":"g1","gold":"borderline"}"# + "\n")
        #expect(sandbox.run(["import", "items", sandbox.path("g.jsonl")]).status == 0)
        let path = sandbox.write("two.yaml", "labels: [safe, unsafe]\n")
        let run = sandbox.run(["config", "apply", path])
        #expect(run.status != 0)
        #expect(run.errors == "docket: The label 'borderline' has been given to items, so the task definition must keep it.\n")
    }
}

/// Lines for a session, with work done just before a given line is read (another command run
/// while the session waits at its prompt).
final class HookedLineInput: LineInput {
    var completer: ((String, Int) -> [String])?
    var onIdle: (() -> Void)?
    let isInteractive = false
    private var lines: [String]
    private let before: [Int: () -> Void]
    private var read = 0

    init(_ lines: [String], before: [Int: () -> Void]) {
        self.lines = lines
        self.before = before
    }

    func readLine(prompt: String) -> InputEvent {
        before[read]?()
        read += 1
        guard !lines.isEmpty else { return .end }
        return .line(lines.removeFirst())
    }

    func remember(_ line: String) {}
}

@Suite(.serialized) struct SessionRecheckTests {
    /// Runs `docket ARGS` in-process as `login`, reading `input`.
    func run(_ sandbox: Sandbox, _ arguments: [String], as login: String, input: HookedLineInput) -> (status: Int32, output: String, errors: String) {
        let console = RecordingConsole()
        let clock = sandbox.clock
        var context = CommandContext(
            console: console, environment: sandbox.environment, clock: { clock.now },
            openStandardInput: { try LineReader(path: "/dev/null", name: "<stdin>") },
            makeLineInput: { _ in input })
        context.caller = Caller(login: login, privileged: false)
        let status = DocketCLI.run(arguments + ["--db", sandbox.databasePath], context: context)
        return (status, console.output, console.errors)
    }

    /// A reviewer unbound from their login while their session runs gives no further answer.
    @Test func anUnboundReviewersSessionEndsAtTheNextAnswer() throws {
        let sandbox = outputProject(items: 40)
        #expect(sandbox.run("reviewers add bo --user bo-login").status == 0)
        let input = HookedLineInput(["safe", "safe", "safe"], before: [1: { sandbox.run("reviewers bind bo --none") }])
        let run = run(sandbox, ["review"], as: "bo-login", input: input)
        #expect(run.status == 77, "\(run.errors)")
        #expect(try reviewCount(sandbox, "bo") == 1)
    }

    /// A lead unbound from their login while adjudicating or triaging decides no more: the
    /// check comes after the answer is read, not before the prompt waits for it.
    @Test func anUnboundLeadsSessionEndsAtTheNextAnswer() throws {
        let sandbox = try leadProject()
        #expect(sandbox.run("reviewers bind lee --user lee-login").status == 0)
        let input = HookedLineInput(["dismiss x", "dismiss y"], before: [1: { sandbox.run("reviewers bind lee --none") }])
        let adjudicated = run(sandbox, ["adjudicate"], as: "lee-login", input: input)
        #expect(adjudicated.status == 77, "\(adjudicated.errors)")
        #expect(sandbox.run("log").output.components(separatedBy: "adjudicated").count - 1 == 1)
        #expect(sandbox.run("reviewers bind lee --user lee-login").status == 0)
        let triage = HookedLineInput(["3", "3"], before: [1: { sandbox.run("reviewers bind lee --none") }])
        let triaged = run(sandbox, ["triage"], as: "lee-login", input: triage)
        #expect(triaged.status == 77, "\(triaged.errors)")
        #expect(sandbox.run("log").output.components(separatedBy: "triaged").count - 1 == 1)
    }

    /// A lead demoted while adjudicating decides no more, and the command says why.
    @Test func aDemotedLeadsSessionEnds() throws {
        let sandbox = try leadProject()
        #expect(sandbox.run("reviewers bind lee --user lee-login").status == 0)
        let input = HookedLineInput(["label unsafe clear", "label unsafe clear"], before: [1: { sandbox.run("reviewers role lee --role reviewer") }])
        let run = run(sandbox, ["adjudicate"], as: "lee-login", input: input)
        #expect(run.status == 77, "\(run.errors)")
        let log = sandbox.run("log").output
        #expect(log.components(separatedBy: "adjudicated").count - 1 == 1, "\(log)")
    }
}

@Suite(.serialized) struct SameReviewerTwoSessionsTests {
    /// Undo in one session after another session of the same reviewer finished the item the
    /// first one holds: the withdrawal is confirmed, not reported as the other item's error.
    @Test func undoAfterTheOtherSessionFinishedTheCurrentItem() throws {
        let sandbox = outputProject(items: 40)
        #expect(sandbox.run("reviewers add bo --user bo-login").status == 0)
        var other: CommandRun?
        let input = HookedLineInput(["safe", "undo", "quit"], before: [1: {
            other = sandbox.run(["review", "--as", "bo"], stdin: "safe\nquit\n")
        }])
        let run = SessionRecheckTests().run(sandbox, ["review"], as: "bo-login", input: input)
        #expect(other?.status == 0)
        #expect(run.status == 0, "\(run.errors)")
        #expect(!run.errors.contains("finished in another session"), "\(run.errors)")
        #expect(run.output.contains("Withdrew label safe on o"), "\(run.output)")
        #expect(run.output.contains("the item is open again."), "\(run.output)")
    }

    /// Text stored before the NUL rule is named when a project moves to PostgreSQL.
    @Test func aNULStoredBeforeTheRuleIsNamedOnTheWayToPostgreSQL() throws {
        guard TestPostgres.isAvailable else { return }
        let sandbox = outputProject(items: 5)
        let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
        try connection.execute("UPDATE items SET prompt = 'a' || char(0) || 'b' WHERE id = 'o3'")
        let seq = try connection.int("SELECT seq FROM items WHERE id = 'o3'")
        let database = try TestPostgres.newDatabase()
        let run = sandbox.run(["migrate", "--to", database])
        #expect(run.status != 0)
        #expect(run.errors == "docket: The items row with seq \(seq) holds a NUL character (U+0000) in prompt, which PostgreSQL cannot store; nothing was copied. Remove it in the SQLite project first.\n", "\(run.errors)")
    }
}

@Suite(.serialized) struct LockWaitTests {
    static let waiting = "docket: Waiting for another docket process that is writing to this project (an import or a backup?); Ctrl-C stops waiting.\n"

    /// A file in rollback mode (a fresh backup) and `init` on an existing empty file wait for
    /// the writers' lock as any writer does: said after three seconds.
    @Test func waitsBeforeAStoreIsOpenAreSaidToo() throws {
        let sandbox = outputProject(items: 5)
        let copy = sandbox.path("copy.db")
        #expect(sandbox.run(["backup", copy]).status == 0)
        let docket = "'\(Fixtures.docketBinary)'"
        _ = shell("{ flock '\(copy).lock' sleep 4 & sleep 0.3; \(docket) reviewers add zz --db '\(copy)' 2> err.txt; echo $? > rc.txt; wait; }", in: sandbox)
        #expect(sandbox.read("rc.txt") == "0\n")
        #expect(sandbox.read("err.txt") == Self.waiting)
        let empty = sandbox.write("empty.db", "")
        _ = shell("{ flock '\(empty).lock' sleep 4 & sleep 0.3; \(docket) init --labels a,b --db '\(empty)' > /dev/null 2> err.txt; echo $? > rc.txt; wait; }", in: sandbox)
        #expect(sandbox.read("rc.txt") == "0\n")
        #expect(sandbox.read("err.txt") == Self.waiting)
    }

    /// Text an editor saves that is not UTF-8 is refused, not stored with U+FFFD.
    @Test func editorTextThatIsNotUTF8IsRefused() throws {
        let sandbox = Sandbox()
        let script = sandbox.write("ed.sh", "#!/bin/sh\nprintf 'bad \\377\\376 text\\n' > \"$1\"\n")
        chmod(script, 0o755)
        let console = RecordingConsole()
        let text = ExternalTextEditor(command: script).edit(initial: "", console: console, input: ScriptedLineInput([]))
        #expect(text == nil)
        #expect(console.output == "The editor's text is not UTF-8 (save it as UTF-8); nothing was recorded.\n")
    }

    /// With --json, a refused input line gets its reply like any other line; a definition whose
    /// every setting is empty is no definition.
    @Test func aRefusedLineIsAnsweredInJSONAndNullSettingsAreNoDefinition() throws {
        let sandbox = outputProject(items: 40)
        sandbox.run("reviewers add bo")
        let docket = "'\(Fixtures.docketBinary)'"
        _ = shell("printf 'note a\\377b\\nquit\\n' | \(docket) review --as bo --json --db '\(sandbox.databasePath)' > out.txt 2> /dev/null", in: sandbox)
        let lines = (sandbox.read("out.txt") ?? "").split(separator: "\n")
        #expect(lines.contains { $0.contains(#""type":"error""#) && $0.contains("That line was refused") }, "\(lines)")
        for text in ["overlap:\n", "labels:\noverlap:\n"] {
            let path = sandbox.write("null.yaml", text)
            let run = sandbox.run(["config", "apply", path])
            #expect(run.status == 65, "\(text)")
            #expect(run.errors.hasPrefix("\(path): the file holds no settings (every setting in it is empty)\n"), "\(run.errors)")
        }
    }

    /// An item with many responses names its ranking's letters by the first and the last.
    @Test func theAsksLineOfAManyResponseRankingIsShort() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let definition = sandbox.write("r.yaml", "labels: [a, b]\nasks: [ranking]\n")
        #expect(sandbox.run(["config", "apply", definition]).status == 0)
        let responses = (0..<30).map { "\"r\($0)\"" }.joined(separator: ",")
        #expect(sandbox.run(["import", "items", sandbox.write("r.jsonl", #"{"id":"many","responses":["# + responses + "]}\n")]).status == 0)
        sandbox.run("reviewers add bo")
        let run = sandbox.run(["review", "--as", "bo"], stdin: "quit\n")
        #expect(run.output.contains("Asks: rank (A … AD, 30 responses)"), "\(run.output)")
    }
}
