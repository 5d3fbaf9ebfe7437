import DocketCore
import DocketStore

/// Errors of the command layer, rendered as sentences at the boundary.
public enum CommandError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// Reading an input failed part way: nothing read from it is kept.
    case cannotRead(path: String, reason: String)
    /// A line of an input is longer than a reader keeps in memory.
    case lineTooLong(path: String, line: Int, limit: Int)
    /// A CSV record (a quoted cell over several lines) is longer than a reader keeps in memory.
    case recordTooLong(path: String, line: Int, limit: Int)
    /// The reader of a pipe the command was writing to went away (`| head`): ends quietly.
    case readerGone(path: String)
    case unknownFormat(path: String)
    /// Input rows had problems, so nothing was imported.
    case importRejected(file: String, problems: Int)
    /// The CSV header line had problems (unknown, duplicated, missing or undecodable columns).
    case importHeaderRejected(file: String, problems: Int)
    case checkFailed(violations: Int)
    case invalidOption(name: String, value: String, reason: String)
    case invalidDefinition(file: String, problems: [String])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "Cannot open \(path): \(reason)."
        case let .cannotWrite(path, reason): return "Cannot write \(Sanitize.inline(path)): \(reason)."
        case let .cannotRead(path, reason):
            return "Cannot read \(Sanitize.inline(path)): \(reason); nothing read from it was kept."
        case let .lineTooLong(path, line, limit):
            return "\(Sanitize.inline(path)):\(line): the line is longer than \(Self.size(limit)), the longest Docket reads; nothing was imported from it."
        case let .recordTooLong(path, line, limit):
            return "\(Sanitize.inline(path)):\(line): the record that starts here is longer than \(Self.size(limit)) (a quoted cell that is never closed?); nothing was imported from it."
        case .readerGone(let path): return "The reader of \(Sanitize.inline(path)) went away."
        case .unknownFormat(let path):
            return "Cannot tell the format of \(path): name it .jsonl or .csv, or pass --format jsonl|csv."
        case let .importRejected(file, problems):
            return "Nothing was imported from \(file): \(problems) \(problems == 1 ? "problem" : "problems") (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside."
        case let .importHeaderRejected(file, problems):
            return "Nothing was imported from \(file): \(problems) \(problems == 1 ? "problem" : "problems") (listed above). Every row depends on the header line, so fix it first; --rejects sets aside bad rows, not a bad header."
        case .checkFailed(let violations):
            return "The check found \(violations) \(violations == 1 ? "violation" : "violations")."
        case let .invalidOption(name, value, reason):
            return "Invalid \(name) '\(value)': \(reason)."
        case let .invalidDefinition(file, problems):
            return "\(file) was not applied: \(problems.count) \(problems.count == 1 ? "problem" : "problems")\(problems.count == 1 && !problems[0].contains(": line") && problems[0].hasPrefix(file + ": ") ? " (" + problems[0].dropFirst(file.count + 2) + ")" : " (listed above)")."

        }
    }

    /// A reader's limit as a sentence gives it: whole MiB, else bytes.
    static func size(_ limit: Int) -> String { limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit) bytes" }

    /// Exit codes follow sysexits(3) where one fits.
    var exitCode: Int32 {
        switch self {
        case .importRejected, .importHeaderRejected, .invalidDefinition: return 65  // EX_DATAERR
        case .cannotOpen: return 66  // EX_NOINPUT
        case .cannotRead: return 74  // EX_IOERR
        case .lineTooLong, .recordTooLong: return 65  // EX_DATAERR
        case .cannotWrite: return 73  // EX_CANTCREAT
        case .readerGone: return 141  // as SIGPIPE would
        case .unknownFormat, .invalidOption: return 64  // EX_USAGE
        case .checkFailed: return 1
        }
    }
}
