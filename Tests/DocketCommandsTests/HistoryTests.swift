import CReadline
import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands

/// Readline's history list is one per process: these tests take turns.
@Suite(.serialized) struct HistoryTests {
    let environment = ["HOME": "/home/ana"]

    @Test func twoReviewersOfOneProjectGetDifferentFiles() throws {
        let ana = try #require(HistoryScope(database: "/srv/docket/project.db", reviewer: "ana").path(environment: environment))
        let bo = try #require(HistoryScope(database: "/srv/docket/project.db", reviewer: "bo").path(environment: environment))
        #expect(ana != bo)
        #expect(ana.hasPrefix("/home/ana/.local/state/docket/history/review-ana-"))
        #expect(bo.hasPrefix("/home/ana/.local/state/docket/history/review-bo-"))
        // The same reviewer on another project, or in another kind of session, has another file.
        #expect(HistoryScope(database: "/srv/other.db", reviewer: "ana").path(environment: environment) != ana)
        #expect(HistoryScope(database: "/srv/docket/project.db", reviewer: "ana", session: "adjudicate").path(environment: environment) != ana)
        // Names that reduce to the same safe characters still get different files.
        let spaced = HistoryScope(database: "/srv/docket/project.db", reviewer: "an a").fileName
        let underscored = HistoryScope(database: "/srv/docket/project.db", reviewer: "an_a").fileName
        #expect(spaced.hasPrefix("review-an_a-") && underscored.hasPrefix("review-an_a-"))
        #expect(spaced != underscored)
    }

    @Test func oneProjectNamedTwoWaysIsOneFile() throws {
        let sandbox = Sandbox()
        let absolute = HistoryScope(database: sandbox.databasePath, reviewer: "ana").fileName
        let roundabout = HistoryScope(database: sandbox.directory + "/./sub/../docket.db", reviewer: "ana").fileName
        #expect(absolute == roundabout)
        let relative = FileManager.default.currentDirectoryPath + "/docket.db"
        #expect(HistoryScope(database: "docket.db", reviewer: "ana").fileName == HistoryScope(database: relative, reviewer: "ana").fileName)
        // Stable: 16 hex digits of SHA-256, so the file is found again by the next session.
        #expect(absolute == HistoryScope(database: sandbox.databasePath, reviewer: "ana").fileName)
        #expect(absolute.split(separator: "-").last?.count == 16)
    }

    @Test func fileNamesHoldOnlySafeCharacters() {
        let name = HistoryScope(database: "/p.db", reviewer: "../../etc/passwd x\u{1B}[31m ünï").fileName
        #expect(name.hasPrefix("review-.._.._etc_passwd_x__31m__n_-"))
        #expect(name.unicodeScalars.allSatisfy { "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".unicodeScalars.contains($0) })
        #expect(HistoryScope(database: "/p.db", reviewer: "").fileName.hasPrefix("review-_-"))
        #expect(HistoryScope(database: "/p.db", reviewer: String(repeating: "x", count: 100)).fileName.count == "review-".count + 40 + 1 + 16)
    }

    @Test func directoryFollowsXDGStateHome() {
        #expect(HistoryScope.directory(environment: ["XDG_STATE_HOME": "/state/", "HOME": "/home/ana"]) == "/state/docket/history")
        // A relative XDG_STATE_HOME is ignored, as the XDG specification says.
        #expect(HistoryScope.directory(environment: ["XDG_STATE_HOME": "state", "HOME": "/home/ana"]) == "/home/ana/.local/state/docket/history")
        #expect(HistoryScope.directory(environment: ["HOME": "/home/ana/"]) == "/home/ana/.local/state/docket/history")
        #expect(HistoryScope.directory(environment: [:]) == nil)
        #expect(HistoryScope(database: "/p.db", reviewer: "ana").path(environment: ["HOME": ""]) == nil)
    }

    @Test func prepareCreatesAPrivateDirectoryAndFile() throws {
        let sandbox = Sandbox()
        let environment = ["XDG_STATE_HOME": sandbox.path("state")]
        let path = try #require(HistoryScope(database: sandbox.databasePath, reviewer: "ana").path(environment: environment))
        #expect(HistoryFile(path: path).prepare())
        func mode(_ path: String) -> mode_t {
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
        }
        #expect(mode(sandbox.path("state")) == 0o700)
        #expect(mode(sandbox.path("state/docket")) == 0o700)
        #expect(mode(sandbox.path("state/docket/history")) == 0o700)
        #expect(mode(path) == 0o600)
        #expect(sandbox.read("state/docket/history/" + (path as NSString).lastPathComponent) == "")
        // A file where the directory should be: no history, no crash.
        sandbox.write("blocked", "")
        #expect(!HistoryFile(path: sandbox.path("blocked/history/file")).prepare())
    }

    /// Two sessions at once on one file, each with its own in-memory history (what it loaded
    /// at its start plus what was typed in it, as in two processes): every line either session
    /// typed reaches the file, in the order typed. Rewriting the file from memory (write_history)
    /// would keep only the last writer's lines.
    @Test func twoSessionsOnOneFileInterleaveWithoutLosingLines() throws {
        let sandbox = Sandbox()
        let path = sandbox.path("history/shared")
        let file = HistoryFile(path: path)
        #expect(file.prepare())
        sandbox.write("history/shared", "from yesterday\n")
        defer { docket_clear_history() }
        var sessions = [["from yesterday"], ["from yesterday"]]
        var typed: [String] = []
        for round in 1...5 {
            for session in sessions.indices {
                // Switch readline's list to this session's own.
                docket_clear_history()
                for line in sessions[session] { docket_add_history(line) }
                let line = "label safe \(session == 0 ? "a" : "b")\(round)"
                #expect(file.append(line))
                sessions[session].append(line)
                typed.append(line)
            }
        }
        #expect(sandbox.read("history/shared") == (["from yesterday"] + typed).joined(separator: "\n") + "\n")
    }

    /// The file keeps its last `keep` lines.
    @Test func appendingTruncatesToTheLastLines() {
        let sandbox = Sandbox()
        let file = HistoryFile(path: sandbox.path("h/file"), keep: 3)
        #expect(file.prepare())
        file.load()
        defer { docket_clear_history() }
        for index in 1...5 { file.append("line \(index)") }
        #expect(sandbox.read("h/file") == "line 3\nline 4\nline 5\n")
    }
}
