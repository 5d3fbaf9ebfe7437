import DocketCommands
import DocketCore
import DocketTestSupport
import Foundation

// Test support for the command tests: a console that records, and running docket command lines
// in-process against a `Sandbox`.

/// A console that records what a command writes, for transcript tests.
public final class RecordingConsole: Console, @unchecked Sendable {
    public private(set) var output = ""
    public private(set) var errors = ""
    public var isOutputTerminal = false
    public var isErrorTerminal = false
    public var width = 80

    public init() {}
    public func write(_ text: String) { output += text }
    public func writeError(_ text: String) { errors += text }
}

/// Result of running one command line.
public struct CommandRun {
    public var status: Int32
    public var output: String
    public var errors: String
}

extension Sandbox {
    /// Runs `docket ARGS --db <sandbox db>` in-process.
    @discardableResult
    public func run(_ arguments: [String], stdin: String? = nil, useDatabase: Bool = true, caller: Caller? = nil) -> CommandRun {
        let console = RecordingConsole()
        let clock = self.clock
        var args = arguments
        if useDatabase { args += ["--db", databasePath] }
        let stdinPath = stdin.map { write("stdin-\(UUID().uuidString)", $0) }
        // In the session, a script line "^C" stands for Ctrl-C.
        let scripted = (stdin ?? "").split(separator: "\n", omittingEmptySubsequences: false).dropLast(stdin?.hasSuffix("\n") == true ? 1 : 0)
            .map { $0 == "^C" ? nil : String($0) }
        var context = CommandContext(
            console: console, environment: environment, clock: { clock.now },
            openStandardInput: { try LineReader(path: stdinPath ?? "/dev/null", name: "<stdin>") },
            makeLineInput: { _ in ScriptedLineInput(scripted) })
        context.caller = caller ?? self.caller
        let status = DocketCLI.run(args, context: context)
        return CommandRun(status: status, output: console.output, errors: console.errors)
    }

    @discardableResult
    public func run(_ line: String, stdin: String? = nil, caller: Caller? = nil) -> CommandRun {
        run(line.split(separator: " ").map(String.init), stdin: stdin, caller: caller)
    }
}

/// Where two outputs first differ: the 1-based line and each side's text there ("(end)" past its last line).
public func firstDifference(_ a: String, _ b: String) -> (line: Int, a: String, b: String) {
    let linesA = a.split(separator: "\n", omittingEmptySubsequences: false)
    let linesB = b.split(separator: "\n", omittingEmptySubsequences: false)
    let first = (0..<min(linesA.count, linesB.count)).first { linesA[$0] != linesB[$0] } ?? min(linesA.count, linesB.count)
    return (first + 1, first < linesA.count ? String(linesA[first]) : "(end)", first < linesB.count ? String(linesB[first]) : "(end)")
}
