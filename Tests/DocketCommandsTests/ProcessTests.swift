import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

/// Runs the built `docket` binary as a separate process.
func runDocket(_ arguments: [String], in directory: String? = nil, binary: String = Fixtures.docketBinary) throws -> (status: Int32, output: String, errors: String) {
    try startDocket(arguments, in: directory, binary: binary).finish()
}

/// Runs a program (its path first) with `stdin` as its standard input, in `directory`, and
/// returns its exit status and what it wrote.
func runProgram(_ arguments: [String], stdin: String = "", in directory: String? = nil) throws -> (status: Int32, output: String, errors: String) {
    try startProgram(arguments, stdin: stdin, in: directory).finish()
}

/// Starts a program (its path first) with `stdin` written to it and closed, in `directory`.
func startProgram(_ arguments: [String], stdin: String = "", in directory: String? = nil) throws -> RunningDocket {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let input = Pipe(), out = Pipe(), err = Pipe()
    process.standardInput = input
    process.standardOutput = out
    process.standardError = err
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
    return RunningDocket(process: process, out: out, err: err)
}

struct RunningDocket {
    let process: Process
    let out: Pipe
    let err: Pipe

    func finish() -> (status: Int32, output: String, errors: String) {
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}

func startDocket(_ arguments: [String], in directory: String? = nil, binary: String = Fixtures.docketBinary) throws -> RunningDocket {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return RunningDocket(process: process, out: out, err: err)
}

@Suite(.serialized) struct ProcessTests {
    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Fixtures.docketBinary), "build the package first (scripts/test does): \(Fixtures.docketBinary)")
    }

    /// The schema is embedded: a binary copied alone into an empty directory creates and migrates a database.
    @Test func aCopiedBinaryRunsAlone() throws {
        let sandbox = Sandbox()
        let copy = sandbox.path("docket")
        // Copied by cp in its own process: a copy written by this process would hold a write
        // descriptor that children forked meanwhile by other tests inherit ("Text file busy").
        #expect(spawnAndWait(["/bin/cp", Fixtures.docketBinary, copy], stdoutPath: "/dev/null") == 0)
        let created = try runDocket(["init", "--labels", "a,b", "--seed", "1"], in: sandbox.directory, binary: copy)
        #expect(created.status == 0, "\(created.errors)")
        #expect(FileManager.default.fileExists(atPath: sandbox.path("docket.db")))
        let checked = try runDocket(["check"], in: sandbox.directory, binary: copy)
        #expect(checked.output == "OK: integrity check passed and every invariant holds.\n")
    }

    /// Several processes claiming at once on one file never over-collect and never hand one
    /// reviewer the same item twice.
    @Test func concurrentClaimersNeverOverCollect() throws {
        let sandbox = Sandbox()
        let db = sandbox.databasePath
        let items = 60, overlap = 2, reviewers = 6
        #expect(try runDocket(["init", "--db", db, "--overlap", String(overlap), "--explore", "0.2", "--seed", "3"]).status == 0)
        let rows = (0..<items).map { #"{"id":"item-\#($0)","risk":\#(Double($0 % 10) / 10)}"# }.joined(separator: "\n")
        sandbox.write("items.jsonl", rows + "\n")
        #expect(try runDocket(["import", "items", "--db", db, sandbox.path("items.jsonl")]).status == 0)
        for r in 0..<reviewers { _ = try runDocket(["reviewers", "add", "--db", db, "r\(r)"]) }

        // Start every claimer before reading any, so they run at once.
        let running = try (0..<reviewers).map { r in
            try startDocket(["claim-loop", "--db", db, "--as", "r\(r)", "--count", String(items)])
        }
        var perItem: [String: Int] = [:]
        for (r, process) in running.enumerated() {
            let result = process.finish()
            #expect(result.status == 0, "r\(r): \(result.errors)")
            let claimed = result.output.split(separator: "\n").filter { $0.hasPrefix("claim ") }.map { String($0.split(separator: " ")[1]) }
            #expect(Set(claimed).count == claimed.count, "r\(r) was handed an item twice")
            for id in claimed { perItem[id, default: 0] += 1 }
        }
        #expect(perItem.count == items)
        #expect(perItem.values.allSatisfy { $0 == overlap })
        let check = try runDocket(["check", "--db", db])
        #expect(check.status == 0, "\(check.errors)")
        let status = try runDocket(["status", "--db", db, "--json"])
        #expect(status.output.contains(#""reviews":\#(items * overlap)"#))
    }
}
