import DocketCore

/// Errors of the store layer. Each renders as a sentence that names the value and the fix.
/// Backend-neutral: no case carries a backend's own error type, so commands match on these cases
/// (or render `description`) whichever backend is behind `ReviewStore`.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case noDatabase(path: String)
    case projectExists(path: String)
    case noProject(path: String)
    case newerSchema(found: Int, supported: Int)
    /// A read command on a database whose schema is older than this binary's: reads never migrate.
    case olderSchema(path: String, found: Int, current: Int)
    /// The file is neither empty nor a Docket database (another application's SQLite file, or not SQLite at all).
    case notDocket(path: String, reason: String)
    /// The file could not be opened or read at all (permissions, a path that is not a file).
    case cannotOpen(path: String, reason: String)
    /// A write attempted through a store opened read-only (a command that should only read).
    case readOnly(path: String)
    /// A schema migration the backend could not apply; `reason` is the backend's message.
    case migrationFailed(name: String, reason: String)
    case duplicateReviewer(name: String)
    case unknownReviewer(name: String, suggestion: String?)
    case invalidReviewerName(ReviewerNameError)
    case unknownAssignment(id: Int64)
    case assignmentNotOpen(id: Int64, state: String)
    case backupTargetExists(path: String)
    /// `migrate --to FILE` names something that exists (a file, a directory, a device).
    case copyTargetExists(path: String)
    /// A row to copy to PostgreSQL holds text with a NUL character (stored before the rule).
    case textHoldsNUL(table: String, key: String, column: String)
    case labelInUse(label: String)
    case budgetBelowServed(budget: Int, served: Int)
    case leaseLost(assignment: Int64)
    case unknownFeedback(id: Int64)
    case alreadyWithdrawn(id: Int64)
    case itemFull(item: String)
    case feedbackMissing(kinds: [String])
    case corrupt(detail: String)
    case roundOpen(name: String)
    case duplicateRound(name: String)
    case noOpenRound
    case notPermitted(reviewer: String, role: String, action: String)
    /// The access rules (DocketCore's `Access`) refuse the action.
    case denied(AccessDenial)
    case invalidLogin(login: String, reason: String)
    case duplicateLogin(login: String, reviewer: String)
    case unknownItem(id: String)
    /// The database stayed locked by another process past the backend's wait; trying again may work.
    case busy(message: String)
    /// Ctrl-C while waiting for another writer: nothing was written.
    case waitStopped
    /// A `--db` value that looks like a PostgreSQL URL but cannot be used.
    case badLocation(location: String, reason: String)
    /// The PostgreSQL server could not be reached, or the connection to it was lost and could not be made again.
    case serverUnreachable(server: String, reason: String)
    /// A failure the backend reported that has no sentence of its own: `message` is the backend's
    /// text and `code` its own error number (SQLite's extended result code), for bug reports.
    case backend(message: String, code: Int)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            return "No Docket database at \(path). Create a project with `docket init`, or point to one with --db or DOCKET_DB."
        case .projectExists(let path):
            return "A project already exists in \(path); nothing was changed. Use another --db path for a new project."
        case .noProject(let path):
            return "The database \(path) holds no project. Run `docket init` first."
        case let .newerSchema(found, supported):
            return "The database has schema version \(found), newer than this docket supports (\(supported)). Use a newer docket."
        case let .olderSchema(path, found, current):
            return "The database \(path) has schema version \(found), older than this docket's \(current). Read commands never change the file: run `docket migrate` (or any command that writes) to upgrade it first."
        case let .notDocket(path, reason):
            return "\(path) is not a Docket database: \(reason). Docket left it unchanged; point --db at a Docket database, or give `docket init` a new path."
        case let .cannotOpen(path, reason):
            return "Cannot open the database \(path): \(reason)."
        case .readOnly(let path):
            return "This command opened \(path) read-only and cannot change it."
        case let .migrationFailed(name, reason):
            return "Migration \(name) failed: \(reason)."
        case .duplicateReviewer(let name):
            return "A reviewer named '\(name)' already exists."
        case let .unknownReviewer(name, suggestion):
            var text = "No reviewer named '\(name)'."
            if let suggestion { text += " Did you mean '\(suggestion)'?" }
            return text + " Add one with `docket reviewers add \(name)`."
        case .invalidReviewerName(let error):
            return "\(error)."
        case .unknownAssignment(let id):
            return "No assignment \(id)."
        case let .assignmentNotOpen(id, state):
            return "Assignment \(id) is \(state), not open."
        case .backupTargetExists(let path):
            return "\(path) already exists; choose a new file for the backup."
        case let .textHoldsNUL(table, key, column):
            return "The \(table) row with \(key) holds a NUL character (U+0000) in \(column), which PostgreSQL cannot store; nothing was copied. Remove it in the SQLite project first."
        case .copyTargetExists(let path):
            return "\(path) already exists; name a new file for the copy. Nothing was written."
        case .labelInUse(let label):
            return "The label '\(label)' has been given to items, so the task definition must keep it."
        case let .budgetBelowServed(budget, served):
            return "The budget cannot be \(budget): \(served) items have already been handed out."
        case .leaseLost:
            return "Your lease on this item expired and other reviewers have filled it; your feedback was not recorded."
        case .unknownFeedback(let id):
            return "No feedback \(id) of yours."
        case .alreadyWithdrawn(let id):
            return "Feedback \(id) is already withdrawn."
        case .itemFull(let item):
            return "Item \(item) cannot be reopened: other reviewers have filled its overlap."
        case .feedbackMissing(let kinds):
            return "This item still asks for: \(kinds.joined(separator: ", "))."
        case .roundOpen(let name):
            return "Round '\(name)' is still open; close it with `docket round close` first."
        case .duplicateRound(let name):
            return "A round named '\(name)' already exists."
        case .noOpenRound:
            return "No round is open. Start one with `docket round start NAME`."
        case let .notPermitted(reviewer, role, action):
            return "\(reviewer) is a \(role); only a lead or an admin may \(action). Nothing was changed."
        case .denied(let denial):
            return "\(denial). Nothing was changed."
        case let .invalidLogin(login, reason):
            return "Cannot bind the login '\(login.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined())': \(reason)."
        case let .duplicateLogin(login, reviewer):
            return "The login '\(login)' already acts as \(reviewer); each login is one reviewer."
        case .unknownItem(let id):
            return "No item '\(id)'."
        case .corrupt(let detail):
            return "The database is inconsistent: \(detail). Run `docket check`."
        case let .badLocation(location, reason):
            return "The database location \(location) cannot be used: \(reason). A PostgreSQL project is named postgres://USER@HOST:PORT/DATABASE."
        case let .serverUnreachable(server, reason):
            return "Cannot reach the PostgreSQL server at \(server): \(reason). Check that it is running and that --db names the right host and port."
        case .waitStopped:
            return "Stopped waiting for the other docket process at Ctrl-C; nothing was written."
        case .busy(let message):
            return "The database stayed locked by another docket process; try again (\(message))."
        case .backend(let message, let code) where code & 0xFF == 8:  // SQLITE_READONLY and its extended codes
            return "Database error: \(message). The database, or its -wal or -shm file beside it, cannot be written by you: "
                + "check their owner and permissions (a read by another user, or of a read-only file, can leave a -shm file "
                + "only its owner can write; it may be removed while no docket is running)."
        case .backend(let message, _):
            return "Database error: \(message)."
        }
    }
}
