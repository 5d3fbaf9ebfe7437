import DocketCommandTestSupport
import DocketCommands
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Runs a program with posix_spawn and waits for it with waitpid. Foundation's Process is not
/// used here: on Linux it notices a child's exit through an inherited descriptor, which a
/// daemon the child starts (the tmux server) would hold open forever.
func spawnAndWait(_ arguments: [String], stdoutPath: String) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    // Start with no signals blocked, whatever the test thread has blocked.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status >> 8) & 0xFF
}

/// Waits until `condition` holds, polling; false after `seconds`.
func eventually(seconds: Double = 15, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Reads a pipe in the background so a test can wait for text to appear.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.data.append(chunk)
            self.lock.unlock()
        }
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

func projectForProcesses(items: Int, overlap: Int, reviewers: [String]) throws -> Sandbox {
    let sandbox = Sandbox()
    let db = sandbox.databasePath
    #expect(try runDocket(["init", "--db", db, "--labels", "safe,unsafe", "--overlap", String(overlap), "--explore", "0.2", "--seed", "5"]).status == 0)
    let rows = (0..<items).map { #"{"id":"item-\#($0)","prompt":"p\#($0)","response":"r\#($0)","risk":\#(Double($0 % 7) / 7)}"# }
    sandbox.write("items.jsonl", rows.joined(separator: "\n") + "\n")
    #expect(try runDocket(["import", "items", "--db", db, sandbox.path("items.jsonl")]).status == 0)
    for name in reviewers { #expect(try runDocket(["reviewers", "add", "--db", db, name]).status == 0) }
    return sandbox
}

@Suite(.serialized) struct ReviewProcessTests {
    /// Several scripted reviewers in separate processes on one file: different items until the
    /// overlap allows otherwise, nobody gets an item twice, the overlap is never exceeded.
    @Test func scriptedReviewersInParallel() throws {
        let names = ["r1", "r2", "r3", "r4"]
        let sandbox = try projectForProcesses(items: 20, overlap: 2, reviewers: names)
        let db = sandbox.databasePath
        var running: [(RunningDocket, Pipe)] = []
        for name in names {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
            process.arguments = ["review", "--db", db, "--as", name, "--json"]
            let input = Pipe(), out = Pipe(), err = Pipe()
            process.standardInput = input
            process.standardOutput = out
            process.standardError = err
            try process.run()
            running.append((RunningDocket(process: process, out: out, err: err), input))
        }
        for (_, input) in running {
            input.fileHandleForWriting.write(Data(String(repeating: "safe\n", count: 30).utf8))
            try input.fileHandleForWriting.close()
        }
        var total = 0
        for (index, (process, _)) in running.enumerated() {
            let result = process.finish()
            #expect(result.status == 0, "\(names[index]): \(result.errors)")
            let recorded = result.output.split(separator: "\n").filter { $0.contains(#""type":"recorded""#) }
            total += recorded.count
        }
        #expect(total == 40)
        let store = try SQLiteStore.open(path: db)
        #expect(try store.check() == [])
        #expect(try store.db.int("SELECT count(*) FROM (SELECT item, reviewer FROM feedback GROUP BY item, reviewer HAVING count(*) > 1)") == 0)
        #expect(try store.db.int("SELECT max(n) FROM (SELECT count(*) AS n FROM feedback GROUP BY item)") == 2)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 40)
    }

    /// Killing a session with SIGKILL loses nothing that was committed; the lease expires and the
    /// item returns to the pool.
    @Test func killNineLosesNothingCommitted() throws {
        let sandbox = try projectForProcesses(items: 5, overlap: 1, reviewers: ["ana", "bo"])
        let db = sandbox.databasePath
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
        process.arguments = ["review", "--db", db, "--as", "ana"]
        let input = Pipe(), out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = Pipe()
        let collector = OutputCollector(out)
        try process.run()
        input.fileHandleForWriting.write(Data("label safe\nnote half way through\nlabel unsafe\n".utf8))
        // Three submissions recorded and the third item claimed and shown (its header drawn).
        #expect(eventually { collector.text.components(separatedBy: "Recorded").count == 4 && collector.text.components(separatedBy: "── ").count == 4 },
                "output so far: \(collector.text)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let store = try SQLiteStore.open(path: db)
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 3)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 2)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'open'") == 1)
        #expect(try store.check() == [])
        // The third item was leased to ana when she was killed; once the lease expires bo gets it.
        let held = try store.db.scalar("SELECT i.id FROM assignments a JOIN items i ON i.seq = a.item WHERE a.state = 'open'")
        let later = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 21 * 60 * 1000)
        #expect(try store.expireLeases(at: later) == 1)
        guard case .claimed(let lease) = try store.claimNext(for: "bo", at: later) else { Issue.record("no claim"); return }
        #expect(held == .text(lease.itemID))
    }

    /// Drives the real binary in tmux, as a person would: tab completion, history recall across
    /// sessions, and Ctrl-C abandoning the line but not the session.
    @Test func readlineInTmux() throws {
        let sandbox = try projectForProcesses(items: 5, overlap: 1, reviewers: ["ana"])
        let socket = "docket-test-\(getpid())"
        // Output goes through a file, not a pipe: the tmux server the first call starts would
        // inherit a pipe and hold it open forever.
        let capture = sandbox.path("tmux-out.txt")
        func tmux(_ arguments: [String]) throws -> String {
            let status = spawnAndWait(["/usr/bin/env", "tmux", "-L", socket] + arguments, stdoutPath: capture)
            #expect(status == 0, "tmux \(arguments) exited with \(status)")
            return sandbox.read("tmux-out.txt") ?? ""
        }
        /// The screen's text; tmux drops trailing spaces from each line.
        func screen() -> String { (try? tmux(["capture-pane", "-p", "-t", "review"])) ?? "" }
        /// The line the cursor is on (the last non-empty one).
        func promptLine() -> String { screen().split(separator: "\n").last.map(String.init) ?? "" }
        defer { _ = try? tmux(["kill-server"]) }
        let command = "cd \(sandbox.directory) && unset XDG_STATE_HOME && HOME=\(sandbox.directory) TERM=xterm exec \(Fixtures.docketBinary) review --db \(sandbox.databasePath) --as ana 2>\(sandbox.path("stderr.txt"))"
        _ = try tmux(["new-session", "-d", "-s", "review", "-x", "100", "-y", "40", command])
        _ = try tmux(["set-option", "-t", "review", "remain-on-exit", "on"])
        #expect(eventually { promptLine() == "docket>" }, "screen: \(screen())")

        // Tab completes the command, then the label.
        _ = try tmux(["send-keys", "-t", "review", "lab", "Tab"])
        #expect(eventually { promptLine() == "docket> label" }, "screen: \(screen())")
        _ = try tmux(["send-keys", "-t", "review", "uns", "Tab", "Enter"])
        #expect(eventually { screen().contains("Recorded label unsafe.") }, "screen: \(screen())")

        // Ctrl-C abandons a half-typed line; the session goes on.
        _ = try tmux(["send-keys", "-t", "review", "note never sent"])
        #expect(eventually { promptLine() == "docket> note never sent" }, "screen: \(screen())")
        _ = try tmux(["send-keys", "-t", "review", "C-c"])
        #expect(eventually { promptLine() == "docket>" }, "screen: \(screen()) stderr: \(sandbox.read("stderr.txt") ?? "")")
        _ = try tmux(["send-keys", "-t", "review", "Up"])
        #expect(eventually { promptLine() == "docket> label unsafe" }, "screen: \(screen())")
        _ = try tmux(["send-keys", "-t", "review", "C-u", "quit", "Enter"])
        #expect(eventually { screen().contains("Session ended: 1 item reviewed.") }, "screen: \(screen())")

        // History is kept across sessions, per project and reviewer, under ~/.local/state/docket/history.
        let historyPath = HistoryScope(database: sandbox.databasePath, reviewer: "ana").path(environment: ["HOME": sandbox.directory]) ?? ""
        #expect(historyPath.hasPrefix(sandbox.directory + "/.local/state/docket/history/review-ana-"))
        func history() -> String { FileManager.default.contents(atPath: historyPath).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        // Only the lines typed, as typed (completion leaves a space after the label).
        #expect(eventually { history() == "label unsafe \nquit\n" }, "history: \(history())")
        #expect(sandbox.read(".docket_history") == nil)
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM feedback WHERE kind = 'note'") == 0)
    }
}
