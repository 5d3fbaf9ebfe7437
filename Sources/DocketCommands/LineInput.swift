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
/// Reads standard input itself (not through stdio), so that while a script or a program driving
/// the session waits, `onIdle` still runs every `idleSeconds` (the lease is renewed as at a
/// terminal). Lines and single keys come from one buffer, so a script can mix them.
public final class PlainLineInput: LineInput {
    public var completer: ((String, Int) -> [String])?
    public var onIdle: (() -> Void)?
    public let isInteractive = false
    let descriptor: Int32
    let idleSeconds: Int32
    private var buffer: [UInt8] = []
    private var atEnd = false

    public init(descriptor: Int32 = STDIN_FILENO, idleSeconds: Int32 = 60) {
        self.descriptor = descriptor
        self.idleSeconds = idleSeconds
    }

    public func readLine(prompt: String) -> InputEvent {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if skipping {
                    skipping = false
                    continue
                }
                if line.last == 0x0D { line.removeLast() }
                // Refused as Ctrl-C is: a command line is not run, a text being typed is abandoned.
                guard let text = Self.text(line) else { return .interrupt }
                return .line(text)
            }
            // A line longer than any command is dropped up to its end, in bounded memory.
            if buffer.count > Self.maxLineBytes {
                buffer.removeAll()
                if !skipping {
                    Self.refuse("a line of input longer than 1 MiB was ignored")
                    skipping = true
                    return .interrupt
                }
            }
            guard fill() else {
                guard !buffer.isEmpty, !skipping else { return .end }
                let line = buffer
                buffer.removeAll()
                guard let text = Self.text(line.last == 0x0D ? Array(line.dropLast()) : line) else { return .interrupt }
                return .line(text)
            }
        }
    }

    static let maxLineBytes = 1 << 20
    private var skipping = false

    /// The line as text, or nil after saying that it was refused: bytes that are not UTF-8 are
    /// never replaced (a note or critique would be stored with U+FFFD in place of what was typed).
    static func text(_ line: [UInt8]) -> String? {
        guard UTF8Check.isValid(line) else {
            refuse("a line of input that is not UTF-8 text was refused; nothing of it was recorded")
            return nil
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Says on standard error why a line was refused (Docket's own sentence, no input in it).
    static func refuse(_ reason: String) {
        TerminalConsole.writeAll(STDERR_FILENO, "docket: \(reason).\n")
    }

    /// The next byte, waiting for input as `readLine` does; nil at the end.
    func nextByte() -> UInt8? {
        while buffer.isEmpty {
            guard fill() else { return nil }
        }
        return buffer.removeFirst()
    }

    /// Reads more input into the buffer, running `onIdle` while none comes; false at the end.
    private func fill() -> Bool {
        guard !atEnd else { return false }
        while true {
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, onIdle == nil ? -1 : idleSeconds * 1000)
            if ready == 0 {
                onIdle?()
                continue
            }
            if ready < 0 {
                if errno == EINTR { continue }
                atEnd = true
                return false
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                atEnd = true
                return false
            }
            buffer.append(contentsOf: chunk[..<count])
            return true
        }
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
        if let rest = pendingKeys {
            pendingKeys = nil
            return .line(String(rest))
        }
        guard !lines.isEmpty else { return .end }
        guard let line = lines.removeFirst() else { return .interrupt }
        return .line(line)
    }

    public func remember(_ line: String) {}

    /// Keys of the script line being read key by key, in single-key mode.
    private var pendingKeys: Substring?
    /// Keys read so far, for tests that count keystrokes.
    public private(set) var keyCount = 0
}

extension ScriptedLineInput: KeyInput {
    /// Single keys come from the script's lines, one character at a time (a line's end is not a
    /// key); a `nil` line stands for Ctrl-C. A line read after `:` takes the rest of that line.
    public func readKey(prompt: String) -> KeyEvent {
        prompts.append(prompt)
        while pendingKeys?.isEmpty ?? true {
            guard !lines.isEmpty else { return .end }
            guard let line = lines.removeFirst() else {
                pendingKeys = nil
                return .interrupt
            }
            pendingKeys = Substring(line)
        }
        let key = pendingKeys!.removeFirst()
        keyCount += 1
        return .key(key)
    }
}

/// The one readline session of the process (readline itself is process-global).
nonisolated(unsafe) private var activeReadline: ReadlineInput?

/// GNU readline: line editing, tab completion, history kept across sessions in a file that each
/// remembered line is appended to (see `HistoryFile`).
public final class ReadlineInput: LineInput {
    public var completer: ((String, Int) -> [String])?
    public var onIdle: (() -> Void)?
    public let isInteractive = true
    let history: HistoryFile?

    /// - Parameter historyPath: the history file (created if missing), or nil for no history.
    public init(historyPath: String?) {
        let history = historyPath.map { HistoryFile(path: $0) }
        self.history = history.flatMap { $0.prepare() ? $0 : nil }
        docket_readline_setup("docket")
        docket_set_idle({ activeReadline?.onIdle?() }, 60)
        docket_clear_history()
        self.history?.load()
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
            // Readline prints the matches and inserts the chosen one into the line as they are,
            // with C1 controls and bidi or zero-width characters raw: a word that would not show
            // as itself (a label holding an escape sequence) is not offered. It can still be
            // typed, or given by its number.
            let words = completer(text, prefix.count).filter { Sanitize.inline($0) == $0 }
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
        if activeReadline === self { activeReadline = nil }
    }

    public func readLine(prompt: String) -> InputEvent {
        var status: Int32 = 0
        // Readline draws the prompt itself, past the console's sanitising writer.
        guard let pointer = docket_readline(Sanitize.inline(prompt), &status) else {
            return status == 1 ? .interrupt : .end
        }
        defer { free(pointer) }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
        // The same refusal as for piped lines.
        guard let text = PlainLineInput.text(Array(bytes)) else { return .interrupt }
        return .line(text)
    }

    public func remember(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        if let history { history.append(line) } else { docket_add_history(line) }
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

/// `$VISUAL` or `$EDITOR` on a private temporary file pre-filled with the initial text, run in
/// the terminal's foreground (see `ForegroundChild`).
public struct ExternalTextEditor: TextEditor {
    public let command: String
    public init(command: String) { self.command = command }

    public func edit(initial: String, console: any Console, input: any LineInput) -> String? {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        // mkstemps creates the file with O_EXCL and mode 0600: nobody else can read the text or
        // plant a link at its name.
        var template = Array((directory + "/docket-edit-XXXXXX.txt").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard descriptor >= 0 else {
            console.writeError("Could not create a temporary file for the editor in \(Sanitize.inline(directory)): \(String(cString: strerror(errno))).\n")
            return nil
        }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Removed afterwards, and by SIGTERM/SIGHUP if the session is ended while the editor is open.
        TemporaryFiles.register(path)
        defer {
            unlink(path)
            TemporaryFiles.unregister(path)
        }
        let bytes = Array(initial.utf8)
        let wrote = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue }; return false }
                offset += written
            }
            return true
        }
        close(descriptor)
        guard wrote else {
            console.writeError("Could not write the temporary file for the editor: \(String(cString: strerror(errno))).\n")
            return nil
        }
        // The session's idle work (renewing the lease) goes on while the reviewer writes.
        let result = ForegroundChild.run(shell: ForegroundChild.script(command, arguments: " \"$1\""), arguments: [path], whileWaiting: (console as? TerminalConsole)?.whileHelperRuns)
        guard result.outcome.succeeded else {
            console.write("The editor '\(Sanitize.inline(command))' \(result.outcome.explanation); nothing was recorded.\n")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            console.write("The editor's file \(Sanitize.inline(path)) could not be read back; nothing was recorded.\n")
            return nil
        }
        // Bytes that are not UTF-8 are refused, never stored with U+FFFD in their place.
        guard UTF8Check.isValid([UInt8](data)) else {
            console.write("The editor's text is not UTF-8 (save it as UTF-8); nothing was recorded.\n")
            return nil
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

// Single keys for ReadlineInput live in this file on purpose: the C shim's signal flags are
// `static`, so each Swift file that calls the shim gets its own copy of them, and the flags the
// handlers set (installed by `docket_readline_setup` above) are only visible from this file.
extension ReadlineInput: KeyInput {
    public func discardTypeahead() {
        if isatty(STDIN_FILENO) == 1 { tcflush(STDIN_FILENO, TCIFLUSH) }
    }

    /// Reads one key from the terminal in non-canonical mode without echo (signals stay on, so
    /// Ctrl-C interrupts); the key is echoed after the prompt. Escape sequences (arrow keys) come
    /// back as a single escape. While waiting, `onIdle` runs every 60 seconds.
    public func readKey(prompt: String) -> KeyEvent {
        // Straight to the terminal, so through the same sanitising as the console's writes.
        TerminalConsole.writeAll(STDOUT_FILENO, Sanitize.terminal(prompt))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return .end }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        defer { _ = tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        docket_clear_interrupt()
        while true {
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 60_000)
            if ready == 0 {
                onIdle?()
                continue
            }
            if ready < 0 {
                if errno == EINTR {
                    _ = docket_take_resized()
                    if docket_take_continued() != 0 {
                        // Back from Ctrl-Z: the shell put the terminal in its own mode.
                        _ = tcsetattr(STDIN_FILENO, TCSANOW, &raw)
                        TerminalConsole.writeAll(STDOUT_FILENO, "\n" + Sanitize.terminal(prompt))
                    }
                    if docket_interrupt_pending() != 0 {
                        docket_clear_interrupt()
                        TerminalConsole.writeAll(STDOUT_FILENO, "^C\n")
                        return .interrupt
                    }
                    continue
                }
                return .end
            }
            guard let key = Self.readKeyBytes(STDIN_FILENO) else { return .end }
            if key == "\u{04}" {  // Ctrl-D
                TerminalConsole.writeAll(STDOUT_FILENO, "\n")
                return .end
            }
            TerminalConsole.writeAll(STDOUT_FILENO, KeyNames.echo(key) + "\n")
            return .key(key)
        }
    }

    /// One key from a descriptor: a UTF-8 character, or an escape sequence collapsed to escape.
    static func readKeyBytes(_ descriptor: Int32) -> Character? {
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 { break }
            if count < 0 && errno == EINTR { continue }
            return nil
        }
        if byte == 0x1B {
            // Swallow the rest of an escape sequence already waiting (arrow keys, function keys).
            var pending = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var rest: UInt8 = 0
            while poll(&pending, 1, 20) > 0, read(descriptor, &rest, 1) == 1 {}
            return "\u{1B}"
        }
        var bytes = [byte]
        let expected = KeyNames.utf8Length(lead: byte)
        while bytes.count < expected {
            var next: UInt8 = 0
            guard read(descriptor, &next, 1) == 1 else { break }
            bytes.append(next)
        }
        return String(decoding: bytes, as: UTF8.self).first
    }
}

