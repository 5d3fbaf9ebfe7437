import DocketCore
#if canImport(Glibc)
import Glibc
#endif

/// Whether a command only reads the project or may change it.
public enum DatabaseAccess: Sendable {
    /// Changes nothing at all (SQLite: SQLITE_OPEN_READONLY, no migration, no WAL switch, no
    /// pragma that writes, no `.lock` file); a write through it is `StoreError.readOnly`.
    case read
    /// Read-write, upgrading an older schema (SQLite: WAL mode, writers queue on `<db>.lock`).
    case write
}

/// The one place that picks a backend: opens, creates and migrates the project a `--db` value
/// names, and hands it out as `any ReviewStore`. A `postgres://` or `postgresql://` URL names a PostgreSQL
/// project; anything else is an SQLite file. No command knows which it has.
public enum StoreFactory {
    /// Where a wait for another writer is said before any store can say it (`setWaitNotice`):
    /// opening a file to switch it to WAL, `init` on an existing file. Set once, at the start
    /// of the process, before any thread runs.
    public static func setProcessWaitNotice(_ notice: @escaping (String) -> Void) {
        SQLiteStore.processWaitNotice = notice
    }

    /// Opens an existing project. `.write` upgrades an older schema; `.read` changes nothing and
    /// refuses an older schema unless `acceptingOlderSchema` (a backup copies whatever it finds).
    public static func open(
        _ location: String, access: DatabaseAccess, acceptingOlderSchema: Bool = false
    ) throws(StoreError) -> any ReviewStore {
        if PostgresLocation.isURL(location) {
            return try PostgresStore.open(url: location, access: access, acceptingOlderSchema: acceptingOlderSchema)
        }
        return try SQLiteStore.open(path: location, access: access, acceptingOlderSchema: acceptingOlderSchema)
    }

    /// Creates a project at `location`; an existing project or a foreign file is an error that changes nothing.
    /// Creates a project whose first admin is `admin`, else the caller: the PostgreSQL login role
    /// the connection acts as, or for SQLite the process's OS account (`ProcessIdentity`).
    public static func createProject(_ location: String, settings: ProjectSettings, at now: Instant, admin: Caller? = nil) throws(StoreError) {
        if PostgresLocation.isURL(location) {
            _ = try PostgresStore.createProject(url: location, settings: settings, at: now, admin: admin.map { .caller($0) } ?? .session)
            return
        }
        try SQLiteStore.createProject(path: location, settings: settings, at: now, admin: .caller(admin ?? ProcessIdentity.caller()))
    }

    /// An SQLite project of the shared-machine install: a Docket database (SQLite's header and
    /// Docket's application id; not one of the side files) in a set-group-id directory, of that
    /// directory's group, closed to others.
    public static func isSharedProject(_ path: String) -> Bool {
        guard !PostgresLocation.isURL(path), SQLiteStore.isShared(path),
              !["-wal", "-shm", "-journal", ".lock"].contains(where: { path.hasSuffix($0) }) else { return false }
        let descriptor = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: 72)
        guard read(descriptor, &header, header.count) == header.count else { return false }
        let applicationID = header[68..<72].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Array(header[0..<16]) == Array("SQLite format 3\0".utf8) && applicationID == UInt32(bitPattern: SQLiteStore.applicationID)
    }

    /// Upgrades the project's schema to this binary's; returns the versions before and after.
    public static func migrate(_ location: String) throws(StoreError) -> (from: Int, to: Int) {
        if PostgresLocation.isURL(location) { return try PostgresStore.migrate(url: location) }
        return try SQLiteStore.migrate(path: location)
    }
}
