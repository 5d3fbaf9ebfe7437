import DocketCommandTestSupport
import DocketCommands
import DocketTestSupport
import Foundation
import Testing

/// A tmux server of its own, driving real `docket` sessions in its windows as a person would.
final class TmuxDriver {
    let sandbox: Sandbox
    let socket: String
    private let capture: String

    init(sandbox: Sandbox, name: String) {
        self.sandbox = sandbox
        self.socket = "docket-\(name)-\(getpid())"
        // Output goes through a file, not a pipe: the tmux server would inherit a pipe and hold it open.
        self.capture = sandbox.path("tmux-\(name).txt")
    }

    deinit { _ = run(["kill-server"]) }

    @discardableResult
    func run(_ arguments: [String]) -> String {
        let status = spawnAndWait(["/usr/bin/env", "tmux", "-L", socket] + arguments, stdoutPath: capture)
        guard status == 0 else { return "" }
        return FileManager.default.contents(atPath: capture).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Starts `command` in a new session (window) called `name`, kept on screen after it exits.
    func start(_ name: String, _ command: String) {
        run(["new-session", "-d", "-s", name, "-x", "100", "-y", "40", command])
        run(["set-option", "-t", name, "remain-on-exit", "on"])
    }

    func keys(_ name: String, _ keys: String...) { run(["send-keys", "-t", name] + keys) }

    /// The window's text; tmux drops trailing spaces from each line.
    func screen(_ name: String) -> String { run(["capture-pane", "-p", "-t", name]) }

    /// The non-empty lines of the window.
    func lines(_ name: String) -> [String] { screen(name).split(separator: "\n").map(String.init) }

    /// The line the cursor is on (the last non-empty one).
    func promptLine(_ name: String) -> String { lines(name).last ?? "" }
}

@Suite(.serialized) struct TerminalProcessTests {
    /// Two sessions of one reviewer and one of another, at once under one OS account: each
    /// reviewer's lines go to their own file, appended as typed, none lost, none shared; each
    /// session recalls its own lines; a later session recalls the reviewer's lines only.
    @Test func historyPerReviewerAppendedInTmux() throws {
        let sandbox = try projectForProcesses(items: 6, overlap: 2, reviewers: ["ana", "bo"])
        let tmux = TmuxDriver(sandbox: sandbox, name: "history")
        let state = sandbox.path("state")
        func command(_ reviewer: String) -> String {
            "cd \(sandbox.directory) && HOME=\(sandbox.directory) XDG_STATE_HOME=\(state) TERM=xterm exec \(Fixtures.docketBinary) review --db \(sandbox.databasePath) --as \(reviewer) 2>>\(sandbox.path("stderr.txt"))"
        }
        let environment = ["XDG_STATE_HOME": state]
        let anaPath = try #require(HistoryScope(database: sandbox.databasePath, reviewer: "ana").path(environment: environment))
        let boPath = try #require(HistoryScope(database: sandbox.databasePath, reviewer: "bo").path(environment: environment))
        #expect(anaPath != boPath)
        func read(_ path: String) -> String { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? "" }

        for (window, reviewer) in [("ana1", "ana"), ("ana2", "ana"), ("bo", "bo")] {
            tmux.start(window, command(reviewer))
            #expect(eventually { tmux.promptLine(window) == "docket>" }, "\(window): \(tmux.screen(window))")
        }
        // Interleaved: each line reaches its reviewer's file before the next is typed.
        let typed = [("ana1", "note from ana 1"), ("bo", "note from bo 1"), ("ana2", "note from ana 2"), ("ana1", "note from ana 3"), ("bo", "note from bo 2")]
        for (window, line) in typed {
            tmux.keys(window, line, "Enter")
            let path = window == "bo" ? boPath : anaPath
            #expect(eventually { read(path).contains(line + "\n") }, "\(window): \(tmux.screen(window))")
            #expect(eventually { tmux.promptLine(window) == "docket>" }, "\(window): \(tmux.screen(window))")
        }
        #expect(read(anaPath) == "note from ana 1\nnote from ana 2\nnote from ana 3\n")
        #expect(read(boPath) == "note from bo 1\nnote from bo 2\n")

        // Each session recalls its own last line, not the other session's.
        tmux.keys("ana2", "Up")
        #expect(eventually { tmux.promptLine("ana2") == "docket> note from ana 2" }, "\(tmux.screen("ana2"))")
        tmux.keys("ana1", "Up")
        #expect(eventually { tmux.promptLine("ana1") == "docket> note from ana 3" }, "\(tmux.screen("ana1"))")
        tmux.keys("bo", "Up")
        #expect(eventually { tmux.promptLine("bo") == "docket> note from bo 2" }, "\(tmux.screen("bo"))")
        for window in ["ana1", "ana2", "bo"] {
            tmux.keys(window, "C-u", "C-d")
            #expect(eventually { tmux.screen(window).contains("Session ended") }, "\(window): \(tmux.screen(window))")
        }

        // A new session of ana recalls ana's lines, newest first, and never bo's.
        tmux.start("ana3", command("ana"))
        #expect(eventually { tmux.promptLine("ana3") == "docket>" }, "\(tmux.screen("ana3"))")
        for expected in ["note from ana 3", "note from ana 2", "note from ana 1"] {
            tmux.keys("ana3", "Up")
            #expect(eventually { tmux.promptLine("ana3") == "docket> " + expected }, "\(tmux.screen("ana3"))")
        }
        tmux.keys("ana3", "Up")
        usleep(300_000)
        #expect(tmux.promptLine("ana3") == "docket> note from ana 1")
        tmux.keys("ana3", "C-u", "C-d")
        #expect(eventually { tmux.screen("ana3").contains("Session ended") }, "\(tmux.screen("ana3"))")

        // Nothing but typed lines was appended; the directory and the files are private.
        #expect(read(anaPath) == "note from ana 1\nnote from ana 2\nnote from ana 3\n")
        #expect(read(boPath) == "note from bo 1\nnote from bo 2\n")
        func mode(_ path: String) -> mode_t {
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
        }
        #expect(mode(state + "/docket/history") == 0o700)
        #expect(mode(anaPath) == 0o600)
        #expect(sandbox.read(".docket_history") == nil)
    }

    /// Ctrl-D at the prompt ends the session with the prompt shown once, whether or not readline
    /// uses bracketed paste (which moves to a new line itself).
    @Test(arguments: [true, false]) func ctrlDShowsThePromptOnce(bracketedPaste: Bool) throws {
        let sandbox = try projectForProcesses(items: 3, overlap: 1, reviewers: ["ana"])
        sandbox.write("inputrc", "set enable-bracketed-paste \(bracketedPaste ? "on" : "off")\n")
        let tmux = TmuxDriver(sandbox: sandbox, name: "eof\(bracketedPaste ? 1 : 0)")
        tmux.start("review", "cd \(sandbox.directory) && HOME=\(sandbox.directory) INPUTRC=\(sandbox.path("inputrc")) TERM=xterm exec \(Fixtures.docketBinary) review --db \(sandbox.databasePath) --as ana")
        #expect(eventually { tmux.promptLine("review") == "docket>" }, "\(tmux.screen("review"))")
        tmux.keys("review", "label safe", "Enter")
        #expect(eventually { tmux.screen("review").contains("Recorded label safe.") && tmux.promptLine("review") == "docket>" }, "\(tmux.screen("review"))")
        tmux.keys("review", "C-d")
        #expect(eventually { tmux.screen("review").contains("Session ended") }, "\(tmux.screen("review"))")
        let lines = tmux.lines("review")
        let end = try #require(lines.lastIndex { $0.hasPrefix("Session ended") })
        #expect(end >= 2)
        #expect(lines[end - 1] == "docket>", "screen: \(tmux.screen("review"))")
        #expect(!lines[end - 2].hasPrefix("docket>"), "screen: \(tmux.screen("review"))")
        #expect(lines.filter { $0.hasPrefix("docket>") }.count == 2, "screen: \(tmux.screen("review"))")
    }

    /// Tab lists the labels in their declared order, not sorted.
    @Test func labelCompletionFollowsTheDeclaredOrder() throws {
        let sandbox = Sandbox()
        let db = sandbox.databasePath
        #expect(try runDocket(["init", "--db", db, "--labels", "unsafe,safe,borderline"]).status == 0)
        sandbox.write("items.jsonl", #"{"id":"item-1","prompt":"p","response":"r","risk":0.5}"# + "\n")
        #expect(try runDocket(["import", "items", "--db", db, sandbox.path("items.jsonl")]).status == 0)
        #expect(try runDocket(["reviewers", "add", "--db", db, "ana"]).status == 0)
        let tmux = TmuxDriver(sandbox: sandbox, name: "complete")
        tmux.start("review", "cd \(sandbox.directory) && HOME=\(sandbox.directory) TERM=xterm exec \(Fixtures.docketBinary) review --db \(db) --as ana")
        #expect(eventually { tmux.promptLine("review") == "docket>" }, "\(tmux.screen("review"))")
        tmux.keys("review", "label ", "Tab", "Tab")
        let listed = #/unsafe\s+safe\s+borderline/#
        #expect(eventually { tmux.lines("review").contains { $0.wholeMatch(of: listed) != nil } }, "\(tmux.screen("review"))")
        #expect(!tmux.lines("review").contains { $0.contains(#/borderline\s+safe\s+unsafe/#) })
        tmux.keys("review", "C-u", "quit", "Enter")
        #expect(eventually { tmux.screen("review").contains("Session ended") }, "\(tmux.screen("review"))")
    }
}
