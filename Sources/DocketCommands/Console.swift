import DocketCore
import DocketStore
import Foundation

/// The terminal behind a seam: commands write through this, and tests script it.
public protocol Console: AnyObject {
    /// Writes to standard output.
    func write(_ text: String)
    /// Writes to standard error.
    func writeError(_ text: String)
    var isOutputTerminal: Bool { get }
    var isErrorTerminal: Bool { get }
    /// Columns available for output.
    var width: Int { get }
    /// Rows available for output.
    var height: Int { get }
    /// Writes long text through a pager when standard output is a terminal.
    func page(_ text: String)
    /// A progress line on standard error that redraws itself (carriage return, clear to end of
    /// line): the only control sequences Docket sends on purpose. `text` is Docket's own.
    func writeStatus(_ text: String)
    /// Why writing to standard output failed, if it did (a closed pipe, a full disk).
    var outputFailure: OutputFailure? { get }
}

/// A failed write to standard output.
public enum OutputFailure: Equatable, Sendable {
    /// The reader went away (EPIPE): the command ends quietly.
    case readerGone
    /// Any other error, with its errno text.
    case failed(String)
}

extension Console {
    public var height: Int { 24 }
    public func page(_ text: String) { write(text) }
    public func writeStatus(_ text: String) { writeError(text) }
    public var outputFailure: OutputFailure? { nil }
}

/// Everything a command reads from the outside world, passed in so commands are testable.
public struct CommandContext {
    public var console: any Console
    public var environment: [String: String]
    public var clock: () -> Instant
    /// Opens standard input for reading (`import items -`).
    public var openStandardInput: () throws -> LineReader
    /// The start of the day an instant falls in, for "done today": local midnight in the live
    /// process, midnight UTC by default.
    public var dayStart: (Instant) -> Instant = { ReviewSession.utcDayStart($0) }
    /// A session's input: readline on a terminal, plain lines otherwise. The scope names whose
    /// history the session keeps (nil: none). Commands call `makeLineInput(_:)`.
    public var lineInputFactory: (_ history: HistoryScope?) -> any LineInput
    /// Who runs the command, when a test says so; nil in the live process, where the caller is the
    /// PostgreSQL login role or the OS account of the real user id (see `Authority`).
    public var caller: Caller?
    /// The project the shared-machine install opened with its group before giving the group up
    /// (see `SharedMode`); `DatabaseOptions` uses it instead of opening the path again.
    public var preopened: (any ReviewStore)?

    public init(
        console: any Console, environment: [String: String], clock: @escaping () -> Instant,
        openStandardInput: @escaping () throws -> LineReader,
        makeLineInput: @escaping (_ history: HistoryScope?) -> any LineInput = { _ in PlainLineInput() }
    ) {
        self.console = console
        self.environment = environment
        self.clock = clock
        self.openStandardInput = openStandardInput
        self.lineInputFactory = makeLineInput
    }

    /// A session's input, keeping its readline history in the file of `history` (per project,
    /// reviewer and kind of session; see `HistoryScope`), or no history file when nil.
    public func makeLineInput(_ history: HistoryScope? = nil) -> any LineInput {
        lineInputFactory(history)
    }

    /// The real process: stdout, stderr, the system clock and stdin.
    public static func live() -> CommandContext {
        var context = CommandContext(
            console: TerminalConsole(),
            environment: ProcessInfo.processInfo.environment,
            clock: { Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) },
            openStandardInput: { LineReader(standardInput: ()) },
            makeLineInput: { history in
                isatty(STDIN_FILENO) == 1
                    ? ReadlineInput(historyPath: history?.path(environment: ProcessInfo.processInfo.environment)) as any LineInput
                    : PlainLineInput() as any LineInput
            })
        context.dayStart = { instant in
            let date = Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000)
            return Instant(milliseconds: Int64((Calendar.current.startOfDay(for: date).timeIntervalSince1970 * 1000).rounded()))
        }
        return context
    }
}

/// The live console: unbuffered writes to the process's stdout and stderr. Everything written to
/// a terminal, and every message on standard error, goes through one sanitising writer: control characters, escape sequences and
/// invisible characters from stored or input data are shown as visible escapes, so no byte of
/// data can drive the terminal (the progress line's redraw is the one deliberate sequence).
public final class TerminalConsole: Console {
    public init() {
        outputIsTerminal = isatty(STDOUT_FILENO) == 1
        errorIsTerminal = isatty(STDERR_FILENO) == 1
    }

    private let outputIsTerminal: Bool
    private let errorIsTerminal: Bool
    public private(set) var outputFailure: OutputFailure?
    /// Work to do every few seconds while the pager or the editor runs (a session renews its lease).
    public var whileHelperRuns: (() -> Void)?

    public func write(_ text: String) {
        guard outputFailure == nil else { return }
        if let error = Self.writeAll(STDOUT_FILENO, outputIsTerminal ? Sanitize.terminal(text) : text) {
            outputFailure = error == EPIPE ? .readerGone : .failed(String(cString: strerror(error)))
        }
    }

    /// Standard error carries only messages, never data: it is sanitised wherever it goes (a log
    /// file read later with `cat` is a terminal too).
    public func writeError(_ text: String) { Self.writeAll(STDERR_FILENO, Sanitize.terminal(text)) }

    public func writeStatus(_ text: String) {
        guard errorIsTerminal else { return }
        Self.writeAll(STDERR_FILENO, "\r" + Sanitize.inline(text) + "\u{1B}[K")
    }

    /// Unbuffered: each call is one or more write(2)s, so nothing is lost if the process is killed.
    /// Returns the errno of a failed write, or nil.
    @discardableResult
    static func writeAll(_ descriptor: Int32, _ text: String) -> Int32? {
        var text = text
        return text.withUTF8 { bytes -> Int32? in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }

    public var isOutputTerminal: Bool { outputIsTerminal }
    public var isErrorTerminal: Bool { errorIsTerminal }

    public var height: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 { return Int(size.ws_row) }
        return 24
    }

    /// Text taller than the terminal goes through `$PAGER` (default `less -FRX`), run in the
    /// terminal's foreground (see `ForegroundChild`). When the pager cannot start, fails, is
    /// killed, or quits without reading any of the text (`PAGER=true`), the text is written
    /// plainly instead; a pager the reviewer quits part way (`q` in `less`) is the reader having
    /// gone, not an error.
    public func page(_ text: String) {
        let lines = text.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        guard isOutputTerminal, lines > height - 2 else { return write(text) }
        let pager = ProcessInfo.processInfo.environment["PAGER"].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? "less -FRX"
        let result = ForegroundChild.run(shell: ForegroundChild.script(pager), input: Array(Sanitize.terminal(text).utf8), whileWaiting: whileHelperRuns)
        if !result.outcome.succeeded {
            // After a killed pager the cursor may sit after its prompt: start a fresh line.
            let fresh = { if case .signaled = result.outcome { return "\n" } else { return "" } }()
            writeError(fresh + "The pager '\(Sanitize.inline(pager))' \(result.outcome.explanation); showing the text here.\n")
            return write(text)
        }
        if result.consumed == 0 { return write(text) }
    }

    public var width: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(columns), value > 0 { return value }
        return 80
    }
}

/// Reads a file line by line in bounded memory: a line longer than `maxLineBytes` is an error
/// naming the file and line, never an allocation that grows with the input, and a read that
/// fails is an error, never the end of the file.
public final class LineReader {
    /// The longest line read, in bytes (an item with a 384-number embedding and long texts is
    /// tens of kilobytes).
    public static let defaultMaxLineBytes = 64 << 20
    private let descriptor: Int32
    /// The longest line this reader gives (and, for CSV, the longest record over several lines).
    public let maxLineBytes: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Unread bytes are `buffer[start..<end]`; the bytes before `scanned` hold no line break.
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var atEnd = false
    public private(set) var lineNumber = 0
    public let name: String
    /// File size in bytes when known (for progress), else nil.
    public let size: Int64?
    public private(set) var bytesRead: Int64 = 0

    /// - Parameter name: how messages name the input (default: the path).
    public convenience init(path: String, name: String? = nil, maxLineBytes: Int = LineReader.defaultMaxLineBytes) throws(CommandError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw .cannotOpen(path: path, reason: "it is a directory")
        }
        self.init(descriptor: descriptor, name: name ?? path, size: (info.st_mode & S_IFMT) == S_IFREG ? Int64(info.st_size) : nil, maxLineBytes: maxLineBytes)
    }

    public convenience init(standardInput: Void, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
        self.init(descriptor: dup(STDIN_FILENO), name: "<stdin>", size: nil, maxLineBytes: maxLineBytes)
    }

    private init(descriptor: Int32, name: String, size: Int64?, maxLineBytes: Int) {
        self.descriptor = descriptor
        self.name = name
        self.size = size
        self.maxLineBytes = max(1, maxLineBytes)
        self.capacity = min(Self.chunk, self.maxLineBytes + 1)
        self.buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    private static let chunk = 1 << 16

    /// Calls `body` with the next line's bytes (without `\n` or `\r\n`); nil at the end of the
    /// file. Throws when the file cannot be read or a line is longer than the limit.
    public func nextLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
        var lineEnd: Int
        while true {
            if scanned < end, let found = memchr(buffer + scanned, 0x0A, end - scanned) {
                lineEnd = UnsafeMutableRawPointer(found).assumingMemoryBound(to: UInt8.self) - buffer
                break
            }
            scanned = end
            if end - start > maxLineBytes { throw CommandError.lineTooLong(path: name, line: lineNumber + 1, limit: maxLineBytes) }
            if atEnd {
                guard start < end else { return nil }
                lineEnd = end
                break
            }
            try fill()
        }
        lineNumber += 1
        let next = min(lineEnd + 1, end)
        bytesRead += Int64(next - start)
        var first = start
        var length = lineEnd - start
        start = next
        scanned = next
        if length > maxLineBytes { throw CommandError.lineTooLong(path: name, line: lineNumber, limit: maxLineBytes) }
        if length > 0, buffer[first + length - 1] == 0x0D { length -= 1 }
        // A UTF-8 byte order mark on the first line is not data.
        if lineNumber == 1, length >= 3, buffer[first] == 0xEF, buffer[first + 1] == 0xBB, buffer[first + 2] == 0xBF {
            first += 3
            length -= 3
        }
        return try body(UnsafeBufferPointer(start: buffer + first, count: length))
    }

    /// Reads more bytes after `end`, first moving the unread bytes to the front or growing the
    /// buffer (never past the longest line allowed and its line break).
    private func fill() throws(CommandError) {
        if start > 0 {
            let unread = end - start
            if unread > 0 { (buffer).update(from: buffer + start, count: unread) }
            scanned -= start
            end = unread
            start = 0
        }
        if end == capacity {
            let grown = min(capacity * 2, maxLineBytes + 1)
            guard grown > capacity else { throw .lineTooLong(path: name, line: lineNumber + 1, limit: maxLineBytes) }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity = grown
        }
        while true {
            let count = read(descriptor, buffer + end, capacity - end)
            if count > 0 {
                end += count
                return
            }
            if count == 0 {
                atEnd = true
                return
            }
            if errno == EINTR { continue }
            throw .cannotRead(path: name, reason: String(cString: strerror(errno)))
        }
    }
}

/// Progress on standard error, drawn only when it is a terminal, at most a few times a second.
final class ProgressBar {
    let console: any Console
    let label: String
    let enabled: Bool
    private var lastDrawn: UInt64 = 0
    private var drew = false

    init(console: any Console, label: String) {
        self.console = console
        self.label = label
        self.enabled = console.isErrorTerminal
    }

    func update(done: Int64, total: Int64?, rows: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDrawn > 100_000_000 else { return }
        lastDrawn = now
        drew = true
        var text = "\(label) "
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let cells = 30
            let filled = Int(fraction * Double(cells))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: cells - filled) + "] "
            text += String(format: "%3.0f%% ", fraction * 100)
        }
        text += "\(Format.count(rows)) rows"
        console.writeStatus(text)
    }

    func finish() {
        guard enabled, drew else { return }
        console.writeStatus("")
    }
}
