import CReadline
import DocketCore
import Foundation

/// What reading one line of input gave.
public enum InputEvent: Equatable, Sendable {
    case line(String)
    /// Ctrl-C: the current input is abandoned.
    case interrupt
    /// Ctrl-D or the end of a script.
    case end
}

/// Where the session's input lines come from: readline on a terminal, plain lines otherwise.
public protocol LineInput: AnyObject {
    func readLine(prompt: String) -> InputEvent
    /// Remembers a line for history recall (readline only).
    func remember(_ line: String)
    /// Words offered by tab completion, given the line so far and where the current word starts.
    var completer: ((_ line: String, _ wordStart: Int) -> [String])? { get set }
    /// Called every `idleInterval` seconds while waiting for input (readline only), e.g. to renew a lease.
    var onIdle: (() -> Void)? { get set }
    var isInteractive: Bool { get }
}

/// Plain lines from standard input, for scripts and transcripts: no editing, no prompt echo.
public final class PlainLineInput: LineInput {
    public var completer: ((String, Int) -> [String])?
    public var onIdle: (() -> Void)?
    public let isInteractive = false
    public init() {}
    public func readLine(prompt: String) -> InputEvent {
        guard let line = Swift.readLine(strippingNewline: true) else { return .end }
        return .line(line.hasSuffix("\r") ? String(line.dropLast()) : line)
    }
    public func remember(_ line: String) {}
}

/// Scripted lines, for tests. `nil` in the script stands for Ctrl-C.
public final class ScriptedLineInput: LineInput {
    public var completer: ((String, Int) -> [String])?
    public var onIdle: (() -> Void)?
    public let isInteractive = false
    private var lines: [String?]
    public private(set) var prompts: [String] = []

    public init(_ lines: [String?]) { self.lines = lines }

    public func readLine(prompt: String) -> InputEvent {
        prompts.append(prompt)
        guard !lines.isEmpty else { return .end }
        guard let line = lines.removeFirst() else { return .interrupt }
        return .line(line)
    }

    public func remember(_ line: String) {}
}

/// The one readline session of the process (readline itself is process-global).
nonisolated(unsafe) private var activeReadline: ReadlineInput?

/// GNU readline: line editing, tab completion, history kept across sessions in a file.
public final class ReadlineInput: LineInput {
    public var completer: ((String, Int) -> [String])?
    public var onIdle: (() -> Void)?
    public let isInteractive = true
    let historyPath: String?

    public init(historyPath: String?) {
        self.historyPath = historyPath
        docket_readline_setup("docket")
        docket_set_idle({ activeReadline?.onIdle?() }, 60)
        if let historyPath { _ = docket_read_history(historyPath) }
        activeReadline = self
        docket_set_completion_provider { line, start, _ in
            guard let line, let input = activeReadline, let completer = input.completer else {
                docket_set_completions(nil, 0)
                return
            }
            let text = String(cString: line)
            // readline gives a byte offset; convert it to a character offset.
            let bytes = Array(text.utf8)
            let prefix = String(decoding: bytes.prefix(Int(start)), as: UTF8.self)
            let words = completer(text, prefix.count)
            var pointers = words.map { strdup($0) }
            pointers.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                    docket_set_completions($0, Int32(buffer.count))
                }
            }
            for pointer in pointers { free(pointer) }
        }
    }

    deinit {
        if let historyPath { _ = docket_write_history(historyPath, 1000) }
        if activeReadline === self { activeReadline = nil }
    }

    public func readLine(prompt: String) -> InputEvent {
        var status: Int32 = 0
        guard let pointer = docket_readline(prompt, &status) else {
            return status == 1 ? .interrupt : .end
        }
        defer { free(pointer) }
        return .line(String(cString: pointer))
    }

    public func remember(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        docket_add_history(line)
        if let historyPath { _ = docket_write_history(historyPath, 1000) }
    }

    /// `~/.docket_history`, or nil when there is no home directory.
    public static func defaultHistoryPath(environment: [String: String]) -> String? {
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.docket_history"
    }
}

/// Long text entry: an external editor on a temporary file, or lines typed until a lone ".".
public protocol TextEditor {
    /// Returns the text, or nil when the reviewer abandoned it.
    func edit(initial: String, console: any Console, input: any LineInput) -> String?
}

/// Lines typed at the prompt, ending with a line holding only ".". Ctrl-C abandons the text.
public struct LineTextEditor: TextEditor {
    public init() {}
    public func edit(initial: String, console: any Console, input: any LineInput) -> String? {
        if !initial.isEmpty && input.isInteractive {
            console.write("Current text:\n" + Sanitize.block(initial) + "\n")
        }
        console.write("Type the text; end with a line holding only '.'" + (input.isInteractive ? " (Ctrl-C abandons it)" : "") + ".\n")
        var lines: [String] = []
        while true {
            switch input.readLine(prompt: "... ") {
            case .line(let line):
                if line == "." { return lines.joined(separator: "\n") }
                lines.append(line)
            case .interrupt, .end:
                return nil
            }
        }
    }
}

/// `$VISUAL` or `$EDITOR` on a temporary file pre-filled with the initial text.
public struct ExternalTextEditor: TextEditor {
    public let command: String
    public init(command: String) { self.command = command }

    public func edit(initial: String, console: any Console, input: any LineInput) -> String? {
        let path = NSTemporaryDirectory() + "/docket-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).txt"
        guard FileManager.default.createFile(atPath: path, contents: Data(initial.utf8)) else { return nil }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " \"$1\"", "sh", path]
        do { try process.run() } catch {
            console.writeError("Could not start the editor '\(command)': \(error.localizedDescription)\n")
            return nil
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: path) else {
            console.write("The editor exited with status \(process.terminationStatus); nothing was recorded.\n")
            return nil
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
