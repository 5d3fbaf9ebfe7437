import DocketCommandTestSupport
import DocketCommands
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Reads one pipe of a child process in the background, so a test can watch what has come so
/// far, and takes the rest once the child has exited (`drain`). Reads never block: the pipe is
/// non-blocking, and every read happens under the lock, so chunks keep their order. (The end of
/// the pipe is not waited for: under load Foundation's Process was seen to leave a copy of a
/// child's write end open in the test process, so an exited child's pipe need not end.)
final class StreamCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let descriptor: Int32

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        descriptor = handle.fileDescriptor
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        handle.readabilityHandler = { [weak self] handle in
            guard let self else { return }
            if self.readAvailable() { handle.readabilityHandler = nil }
        }
    }

    /// Reads what the pipe holds now; true at its end.
    @discardableResult
    private func readAvailable() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                return true
            } else if errno != EINTR {
                return false
            }
        }
    }

    /// After the child has exited: everything it wrote is in the pipe; reads it.
    func drain(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = nil
        readAvailable()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One `docket review --json` process with its scripted standard input.
struct ReviewerProcess {
    let name: String
    let process: Process
    let output: StreamCollector
    let errors: StreamCollector
    let pipes: (out: Pipe, err: Pipe)

    static func start(name: String, database: String, answers: Int) throws -> ReviewerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
        process.arguments = ["review", "--db", database, "--as", name, "--json"]
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        let reviewer = ReviewerProcess(name: name, process: process, output: StreamCollector(out), errors: StreamCollector(err), pipes: (out, err))
        try process.run()
        // Small enough for the pipe's buffer: written whole before the session reads a line.
        input.fileHandleForWriting.write(Data(String(repeating: "safe\n", count: answers).utf8))
        try input.fileHandleForWriting.close()
        return reviewer
    }

    /// The JSON lines of one type the session wrote (`item`, `recorded`, `error`, `end`).
    func lines(_ type: String) -> [String] {
        output.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(#"{"type":"\#(type)""#) }
    }

    /// The feedback ids the session reported as recorded.
    var recordedFeedback: [Int64] {
        lines("recorded").compactMap { line in
            guard let range = line.range(of: #""feedback":"#) else { return nil }
            return Int64(line[range.upperBound...].prefix(while: \.isNumber))
        }
    }
}

/// A throwaway cluster of the test's own (`scripts/pg-cluster`), for a test that restarts its
/// server: restarting the run's shared cluster would cut the connections of every other
/// PostgreSQL test running beside it.
final class OwnCluster {
    let directory: String
    let url: String
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/pg-cluster").path
    }

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/docket-pg-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: made!)
        let capture = directory + ".url"
        defer { unlink(capture) }
        // posix_spawn with output to a file: the server the script starts must not hold a pipe of ours.
        let status = spawnAndWait([Self.script, "start", directory], stdoutPath: capture)
        let printed = (FileManager.default.contents(atPath: capture).map { String(decoding: $0, as: UTF8.self) } ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, printed.hasPrefix("postgres://") else {
            _ = spawnAndWait([Self.script, "stop", directory], stdoutPath: "/dev/null")
            throw ClusterError(message: "scripts/pg-cluster start exited with \(status): \(printed)")
        }
        url = printed
    }

    deinit { _ = spawnAndWait([Self.script, "stop", directory], stdoutPath: "/dev/null") }

    func restart() -> Int32 { spawnAndWait([Self.script, "restart", directory], stdoutPath: "/dev/null") }

    /// A new, empty database in this cluster, by URL.
    func newDatabase(_ name: String) throws -> String {
        try TestPostgres.psql(url, "CREATE DATABASE \(name)")
        return String(url[...url.lastIndex(of: "/")!]) + name
    }

    /// "127.0.0.1 port N", as Docket's sentences name the server.
    var server: String {
        let port = url.split(separator: ":").last!.prefix(while: \.isNumber)
        return "127.0.0.1 port \(port)"
    }
}

struct ClusterError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// 32 reviewer processes (the real binary) on one PostgreSQL project at overlap 2, with and
/// without a server restart while they work.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable)) struct PostgresProcessTests {
    static let reviewers = (1...32).map { String(format: "r%02d", $0) }
    static let items = 96
    static let overlap = 2
    /// More answers than any one reviewer can give (one per item), so no session runs out of
    /// input: each ends because the queue has nothing left for it.
    static let answers = items + 8

    /// A project on `database` with `items` items and the 32 reviewers.
    static func project(_ database: String) throws {
        let sandbox = Sandbox()
        sandbox.database = database
        // The processes connect as the cluster's login role `docket`, which init makes the
        // project's admin; each acts for its reviewer with --as (recorded as by docket).
        sandbox.caller = Caller(login: "docket", privileged: false)
        #expect(sandbox.run("init --labels safe,unsafe --overlap \(overlap) --explore 0.2 --seed 7").status == 0)
        let rows = (0..<items).map { #"{"id":"item-\#($0)","prompt":"p\#($0)","response":"r\#($0)","risk":\#(Double($0 % 7) / 7)}"# }
        sandbox.write("items.jsonl", rows.joined(separator: "\n") + "\n")
        #expect(sandbox.run(["import", "items", sandbox.path("items.jsonl")]).status == 0)
        let store = try PostgresStore.open(url: database, access: .write)
        for name in reviewers { _ = try store.addReviewer(name: name, role: .reviewer, at: sandbox.clock.now) }
    }

    /// Waits for every process to end (killing them all after `seconds`) and takes the rest of their output.
    static func finish(_ running: [ReviewerProcess], seconds: Double = 120) {
        let ended = eventually(seconds: seconds) { running.allSatisfy { !$0.process.isRunning } }
        if !ended {
            Issue.record("reviewer processes still running after \(seconds) s")
            for reviewer in running where reviewer.process.isRunning { kill(reviewer.process.processIdentifier, SIGKILL) }
        }
        for reviewer in running { reviewer.process.waitUntilExit() }
        for reviewer in running {
            reviewer.output.drain(reviewer.pipes.out)
            reviewer.errors.drain(reviewer.pipes.err)
        }
    }

    /// What every run must end with: each process exited 0 because the queue had nothing left
    /// for it, reported no error, and the feedback each reported is exactly what the database
    /// holds; every one of the items was served and has exactly `overlap` done reviews, each
    /// by a different reviewer with one label; `docket check` passes.
    static func expectCompleteRun(_ running: [ReviewerProcess], database: String) throws {
        var reported: [Int64] = []
        for reviewer in running {
            #expect(reviewer.process.terminationStatus == 0, "\(reviewer.name): \(reviewer.errors.text)")
            #expect(reviewer.lines("error") == [], "\(reviewer.name)")
            #expect(reviewer.lines("end").count == 1, "\(reviewer.name): \(reviewer.output.text.suffix(300))")
            #expect(reviewer.lines("end").first?.contains(#""reason":"empty""#) == true, "\(reviewer.name): \(reviewer.lines("end"))")
            // Every item shown was answered: each session's items and recorded labels pair up.
            #expect(reviewer.lines("recorded").count == reviewer.lines("item").count, "\(reviewer.name)")
            reported += reviewer.recordedFeedback
        }
        let store = try PostgresStore.open(url: database, access: .read)
        let stored = try store.read { () throws -> [Int64] in
            let statement = try store.db.statement("SELECT id FROM feedback ORDER BY id")
            var ids: [Int64] = []
            while try statement.step() { ids.append(statement.int(0)) }
            return ids
        }
        #expect(reported.count == items * overlap)
        #expect(Set(reported).count == reported.count)
        #expect(reported.sorted() == stored)
        func count(_ sql: String) throws -> Int64 { try store.read { try store.db.int(sql) } }
        #expect(try count("SELECT count(*) FROM items WHERE served_at IS NOT NULL") == Int64(items))
        #expect(try count("SELECT count(*) FROM assignments WHERE state = 'done'") == Int64(items * overlap))
        #expect(try count("SELECT count(*) FROM assignments WHERE state <> 'done'") == 0)
        // Every item has exactly its overlap of done reviews…
        #expect(try count("SELECT count(*) FROM (SELECT item FROM assignments WHERE state = 'done' GROUP BY item HAVING count(*) <> \(overlap)) x") == 0)
        #expect(try count("SELECT count(DISTINCT item) FROM assignments WHERE state = 'done'") == Int64(items))
        // …by two different reviewers, each with one label on it.
        #expect(try count("SELECT count(*) FROM (SELECT item, reviewer FROM assignments GROUP BY item, reviewer HAVING count(*) > 1) x") == 0)
        #expect(try count("SELECT count(*) FROM (SELECT item, reviewer FROM feedback GROUP BY item, reviewer HAVING count(*) <> 1) x") == 0)
        #expect(try count("SELECT count(DISTINCT reviewer) FROM feedback") == Int64(reviewers.count))
        #expect(try store.check() == [])
        let check = try runDocket(["check", "--db", database])
        #expect(check.status == 0, "\(check.errors)")
        #expect(check.output == "OK: integrity check passed and every invariant holds.\n")
        #expect(check.errors == "")
    }

    @Test func thirtyTwoReviewersAtOverlapTwo() throws {
        let database = try TestPostgres.newDatabase()
        try Self.project(database)
        let running = try Self.reviewers.map { try ReviewerProcess.start(name: $0, database: database, answers: Self.answers) }
        Self.finish(running)
        try Self.expectCompleteRun(running, database: database)
        for reviewer in running { #expect(reviewer.errors.text == "", "\(reviewer.name)") }
    }

    /// The server is restarted (a fast shutdown: every session's connection is cut, transactions
    /// in flight are rolled back) once every session has shown an item and a third of the
    /// reviews are in. Every session says so on standard error, reconnects and goes on; no
    /// feedback any session reported is missing, none is there twice, and the run ends as
    /// without the restart.
    @Test func thirtyTwoReviewersThroughAServerRestart() throws {
        let cluster = try OwnCluster()
        defer { withExtendedLifetime(cluster) {} }
        let database = try cluster.newDatabase("restart_\(getpid())")
        try Self.project(database)
        let running = try Self.reviewers.map { try ReviewerProcess.start(name: $0, database: database, answers: Self.answers) }
        let third = Self.items * Self.overlap / 3
        let ready = eventually(seconds: 60) {
            running.allSatisfy { !$0.lines("item").isEmpty } && running.reduce(0) { $0 + $1.lines("recorded").count } >= third
        }
        #expect(ready, "sessions did not get going: \(running.map { $0.lines("recorded").count })")
        let recordedBefore = running.reduce(0) { $0 + $1.lines("recorded").count }
        #expect(cluster.restart() == 0)
        Self.finish(running)
        #expect(recordedBefore < Self.items * Self.overlap, "the restart came after the work was done")
        try Self.expectCompleteRun(running, database: database)
        let lost = "docket: Lost the connection to the PostgreSQL server at \(cluster.server) ("
        let back = "docket: Reconnected to the PostgreSQL server at \(cluster.server).\n"
        for reviewer in running {
            let lines = reviewer.errors.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Only the two sentences, as whole lines, each loss followed by its reconnection.
            #expect(lines.last == "", "\(reviewer.name): \(reviewer.errors.text)")
            let notices = lines.dropLast()
            #expect(!notices.isEmpty, "\(reviewer.name) never noticed the restart")
            for (index, line) in notices.enumerated() {
                if index % 2 == 0 {
                    #expect(line.hasPrefix(lost) && line.hasSuffix("); reconnecting for up to 60 s…"), "\(reviewer.name): \(line)")
                } else {
                    #expect(line + "\n" == back, "\(reviewer.name): \(line)")
                }
            }
            #expect(notices.count % 2 == 0, "\(reviewer.name): \(reviewer.errors.text)")
        }
    }
}
