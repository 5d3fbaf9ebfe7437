import CReadline
import DocketCore
import Foundation

/// Whose readline history a session keeps: one file per project, reviewer and kind of session,
/// so two reviewers (or a reviewer and a lead) under one OS account never share lines.
public struct HistoryScope: Equatable, Sendable {
    /// The project database, as given; made absolute (and symlinks resolved) for the file name.
    public var database: String
    public var reviewer: String
    /// The command the history belongs to: `review`, `adjudicate`, `triage`.
    public var session: String

    public init(database: String, reviewer: String, session: String = "review") {
        self.database = database
        self.reviewer = reviewer
        self.session = session
    }

    /// The database's absolute path with symlinks resolved, so every way of naming one project
    /// gives one history file.
    public var absoluteDatabase: String {
        let url = URL(fileURLWithPath: database, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// `SESSION-REVIEWER-HASH`: the session and the reviewer's name reduced to safe characters
    /// (for people looking in the directory), then the first 16 hex digits of the SHA-256 of the
    /// absolute database path and the exact name, which tell projects and names apart.
    public var fileName: String {
        let hash = SHA256.hex(absoluteDatabase + "\u{0}" + reviewer + "\u{0}" + session)
        return Self.safe(session) + "-" + Self.safe(reviewer) + "-" + hash.prefix(16)
    }

    /// The history file's path, or nil when there is neither `$XDG_STATE_HOME` nor a home directory.
    public func path(environment: [String: String]) -> String? {
        Self.directory(environment: environment).map { $0 + "/" + fileName }
    }

    /// `$XDG_STATE_HOME/docket/history` (an absolute `XDG_STATE_HOME` only, as the XDG base
    /// directory specification says), else `$HOME/.local/state/docket/history`.
    public static func directory(environment: [String: String]) -> String? {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return trimmingSlashes(state) + "/docket/history"
        }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return trimmingSlashes(home) + "/.local/state/docket/history"
    }

    /// ASCII letters, digits, `.`, `_` and `-`; anything else becomes `_`; at most 40 characters.
    static func safe(_ text: String) -> String {
        let mapped = text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": Character(scalar)
            default: "_"
            }
        }
        let result = String(mapped.prefix(40))
        return result.isEmpty ? "_" : result
    }

    private static func trimmingSlashes(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path == "/" ? "" : path
    }
}

/// A history file that sessions append to one line at a time (`append_history`), never rewrite
/// whole: two sessions on one file interleave their lines and lose none.
public struct HistoryFile: Sendable {
    public let path: String
    /// How many lines the file keeps (`history_truncate_file`).
    public let keep: Int

    public init(path: String, keep: Int = 1000) {
        self.path = path
        self.keep = keep
    }

    /// Creates the missing directories (mode 0700) and the file (mode 0600). False when that fails.
    public func prepare() -> Bool {
        let directory = (path as NSString).deletingLastPathComponent
        guard Self.makeDirectories(directory) else { return false }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }

    /// Replaces readline's in-memory history with the file's lines.
    public func load() {
        docket_clear_history()
        _ = docket_read_history(path)
    }

    /// Adds `line` to readline's history and appends it, alone, to the file.
    @discardableResult
    public func append(_ line: String) -> Bool {
        docket_add_history(line)
        return docket_append_history(path, Int32(clamping: keep)) == 0
    }

    /// `mkdir -p` with mode 0700 for each directory it creates.
    static func makeDirectories(_ directory: String) -> Bool {
        var info = stat()
        if stat(directory, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != directory, !makeDirectories(parent) { return false }
        return mkdir(directory, 0o700) == 0 || errno == EEXIST
    }
}
