import CSQLite
import DocketCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What lies at a database path, found without changing anything there.
enum DatabaseFile: Equatable {
    case missing
    /// A file of zero bytes, or an SQLite file with no schema, no user_version and no application_id.
    case empty
    /// Docket's: its application_id, or Docket's tables under a user_version Docket set.
    case docket(version: Int, hasProject: Bool)
}

/// The result of looking at a path: its state, and for SQLite files the read-only connection
/// that looked (immutable when the file is in WAL mode without a `-wal` file, so that looking
/// creates no `-wal` or `-shm` file beside someone else's database).
struct DatabaseInspection {
    var state: DatabaseFile
    var connection: Connection?
    var immutable = false
}

extension SQLiteStore {
    /// SQLite's application_id of a Docket database: "DOCK", set by Schema/0008_application_id.sql.
    public static let applicationID: Int32 = 0x444F_434B

    /// The tables of Docket's first migration; a file with all of them under a user_version is Docket's
    /// (databases made before the application_id was set).
    static let firstTables: Set<String> = ["project", "reviewers", "items", "assignments", "events"]

    // MARK: Opening

    /// Opens an existing project database. `.write` migrates a database older than this binary;
    /// `.read` opens it SQLITE_OPEN_READONLY and changes nothing, and refuses an older schema
    /// unless `acceptingOlderSchema` (backup copies whatever version it finds). Either refuses a
    /// file that is neither empty nor a Docket database, without changing it.
    public static func open(path: String, access: DatabaseAccess = .write, acceptingOlderSchema: Bool = false) throws(StoreError) -> SQLiteStore {
        if path == ":memory:" {
            let store = try SQLiteStore(connection: memoryConnection(), path: path, setup: Setup(wal: false, migrate: true, readOnly: false), lockDescriptor: -1)
            guard try store.hasProject() else { throw .noProject(path: path) }
            return store
        }
        var inspection = try inspect(path)
        switch inspection.state {
        case .missing:
            throw .noDatabase(path: path)
        case .empty:
            throw .noProject(path: path)
        case .docket(let version, let hasProject):
            if version > SchemaInfo.latestVersion { throw .newerSchema(found: version, supported: SchemaInfo.latestVersion) }
            guard hasProject else { throw .noProject(path: path) }
            switch access {
            case .read:
                if version < SchemaInfo.latestVersion, !acceptingOlderSchema {
                    throw .olderSchema(path: path, found: version, current: SchemaInfo.latestVersion)
                }
                let connection = try readConnection(path, inspection)
                return try SQLiteStore(connection: connection, path: path, setup: .read, lockDescriptor: -1)
            case .write:
                inspection.connection = nil
                let connection: Connection
                do { connection = try Connection(path: path, flags: [.readWrite]) } catch { throw .sqlite(error) }
                let store = try SQLiteStore(connection: connection, path: path, setup: .write, lockDescriptor: openLockFile(path))
                guard try store.hasProject() else { throw .noProject(path: path) }
                return store
            }
        }
    }

    /// Migrates a Docket database to this binary's schema; returns the versions before and after.
    public static func migrate(path: String) throws(StoreError) -> (from: Int, to: Int) {
        var inspection = try inspect(path)
        switch inspection.state {
        case .missing:
            throw .noDatabase(path: path)
        case .empty:
            throw .noProject(path: path)
        case .docket(let version, _):
            if version > SchemaInfo.latestVersion { throw .newerSchema(found: version, supported: SchemaInfo.latestVersion) }
            inspection.connection = nil
            let connection: Connection
            do { connection = try Connection(path: path, flags: [.readWrite]) } catch { throw .sqlite(error) }
            _ = try SQLiteStore(connection: connection, path: path, setup: .write, lockDescriptor: openLockFile(path))
            return (version, SchemaInfo.latestVersion)
        }
    }

    // MARK: Creating

    /// Creates a project and returns the store open on it (see `createProject`).
    public static func create(path: String, settings: ProjectSettings, at now: Instant) throws(StoreError) -> SQLiteStore {
        if path == ":memory:" {
            let store = try SQLiteStore(connection: memoryConnection(), path: path, setup: Setup(wal: false, migrate: true, readOnly: false), lockDescriptor: -1)
            try store.write { () throws in try store.insertProject(settings, at: now) }
            return store
        }
        try createProject(path: path, settings: settings, at: now)
        return try open(path: path, access: .write)
    }

    /// Creates a project at `path`. A new path gets a database built whole in a private temporary
    /// file beside it and then hard-linked into place, which fails if anything appeared at the
    /// path meanwhile: of several `init`s at once exactly one wins, and nobody ever sees a half-made
    /// database. An existing empty file (or a Docket database without a project) is initialised in
    /// place under the writers' lock. An existing project, another application's file or a file
    /// that is not SQLite is an error that changes nothing.
    public static func createProject(path: String, settings: ProjectSettings, at now: Instant, admin: FirstAdmin = .none) throws(StoreError) {
        let admin: Caller? = switch admin {
        case .none, .session: nil
        case .caller(let caller): caller
        }
        for _ in 0..<4 {
            let state = try inspect(path).state
            switch state {
            case .missing:
                if try publishNewProject(path: path, settings: settings, at: now, admin: admin) { return }
            // else something appeared at the path meanwhile: look at it again.
            case .docket(_, true):
                throw .projectExists(path: path)
            case .docket(let version, false) where version > SchemaInfo.latestVersion:
                throw .newerSchema(found: version, supported: SchemaInfo.latestVersion)
            case .empty, .docket(_, false):
                if try initialiseInPlace(path: path, settings: settings, at: now, admin: admin) { return }
            }
        }
        throw .cannotOpen(path: path, reason: "the file kept appearing and disappearing while docket created the project")
    }

    /// Builds the project in a temporary file and links it to `path`. False when `path` exists by then.
    private static func publishNewProject(path: String, settings: ProjectSettings, at now: Instant, admin: Caller?) throws(StoreError) -> Bool {
        try publishNewDatabase(path: path) { store throws in try store.insertProject(settings, at: now, admin: admin) }
    }

    /// Builds a database in a temporary file beside `path` (migrated, then filled by `fill` in
    /// one transaction) and links it to `path`. False when `path` exists by then.
    static func publishNewDatabase(path: String, fill: (SQLiteStore) throws -> Void) throws(StoreError) -> Bool {
        let (directory, name) = split(path)
        var temporary = ""
        var descriptor: Int32 = -1
        for _ in 0..<16 {
            temporary = "\(directory)/.\(name).init-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            descriptor = Glibc.open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw .cannotOpen(path: path, reason: "no file can be created in \(directory) (\(String(cString: strerror(errno))))")
        }
        close(descriptor)
        defer { for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) } }
        try buildDatabase(in: temporary, fill: fill)
        if access(temporary + "-wal", F_OK) == 0 {
            throw .cannotOpen(path: path, reason: "the new database's write-ahead log was not folded into it")
        }
        if link(temporary, path) == 0 {
            syncDirectory(directory)
            return true
        }
        let code = errno
        if code == EEXIST { return false }
        // A file system without hard links: rename under the writers' lock, which `init`s on an
        // existing path also take, after checking again that the path is free.
        let lock = openLockFile(path)
        guard lock >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(code))) }
        defer { close(lock) }
        try lockWriters(lock, notice: processWaitNotice)
        if access(path, F_OK) == 0 { return false }
        guard rename(temporary, path) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        syncDirectory(directory)
        return true
    }

    /// Migrates `temporary` (rollback journal, synchronous = FULL: each step durable), fills it (the
    /// project, or a copy of one) in one transaction, then switches the file to WAL, so it is a WAL database from its first moment at
    /// its real path. The connection is closed when this returns.
    static func buildDatabase(in temporary: String, fill: (SQLiteStore) throws -> Void) throws(StoreError) {
        let connection: Connection
        do {
            connection = try Connection(path: temporary, flags: [.readWrite, Connection.OpenFlags(rawValue: SQLITE_OPEN_NOFOLLOW)])
        } catch { throw .sqlite(error) }
        let store = try SQLiteStore(connection: connection, path: temporary, setup: Setup(wal: false, migrate: true, readOnly: false), lockDescriptor: -1)
        try store.write { () throws in try fill(store) }
        let mode: SQLValue?
        do { mode = try store.connection.scalar("PRAGMA journal_mode = WAL") } catch { throw .sqlite(error) }
        guard mode == .text("wal") else {
            throw .sqlite(SQLiteError(code: SQLITE_ERROR, extendedCode: SQLITE_ERROR, message: "the new database could not be switched to WAL mode", sql: nil))
        }
    }

    /// `init` on an existing empty file or a Docket database without a project: under the
    /// writers' lock, looks again and creates the project in place. False when the file vanished.
    private static func initialiseInPlace(path: String, settings: ProjectSettings, at now: Instant, admin: Caller?) throws(StoreError) -> Bool {
        let lock = openLockFile(path)
        guard lock >= 0 else { throw .cannotOpen(path: path, reason: "\(path).lock cannot be created (\(String(cString: strerror(errno))))") }
        do { try lockWriters(lock, notice: processWaitNotice) } catch {
            close(lock)
            throw error
        }
        let state: DatabaseFile
        do { state = try inspect(path).state } catch {
            close(lock)
            throw error
        }
        switch state {
        case .missing:
            close(lock)
            return false
        case .docket(_, true):
            close(lock)
            throw .projectExists(path: path)
        case .docket(let version, false) where version > SchemaInfo.latestVersion:
            close(lock)
            throw .newerSchema(found: version, supported: SchemaInfo.latestVersion)
        case .empty, .docket(_, false):
            break
        }
        let connection: Connection
        do { connection = try Connection(path: path, flags: [.readWrite]) } catch {
            close(lock)
            throw .sqlite(error)
        }
        // The store adopts the locked descriptor: migrations run while it is held, and the write
        // below takes it again (a no-op) and releases it when the project row is committed.
        let store = try SQLiteStore(connection: connection, path: path, setup: .write, lockDescriptor: lock)
        try store.write { () throws in
            if try store.hasProject() { throw StoreError.projectExists(path: path) }
            try store.insertProject(settings, at: now, admin: admin)
        }
        return true
    }

    // MARK: Looking at a file without changing it

    /// Classifies what is at `path`. Reads the header itself, then asks SQLite through a read-only
    /// connection; throws `.notDocket` for anything that is neither empty nor Docket's.
    static func inspect(_ path: String) throws(StoreError) -> DatabaseInspection {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            var linkInfo = stat()
            if code == ENOENT, lstat(path, &linkInfo) == 0 {
                throw .cannotOpen(path: path, reason: "it is a symbolic link to a file that does not exist")
            }
            if code == ENOENT { return DatabaseInspection(state: .missing) }
            throw .cannotOpen(path: path, reason: String(cString: strerror(code)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .notDocket(path: path, reason: "it is a directory")
        default: throw .notDocket(path: path, reason: "it is not a regular file")
        }
        if info.st_size == 0 { return DatabaseInspection(state: .empty) }

        // Careful: closing this descriptor drops every POSIX lock this process holds on the file,
        // including an open SQLite connection's. No connection of this process may be open on the
        // file while it is inspected (a store opened to decide who acts is closed first).
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 100, 0) }
        close(descriptor)
        guard count == 100, header.prefix(16).elementsEqual("SQLite format 3\u{0}".utf8) else {
            throw .notDocket(path: path, reason: "it is not an SQLite database")
        }
        // Bytes 18 and 19 are 2 in WAL mode. Without a -wal file, a read-only connection would
        // create the -wal and -shm files (and could not remove them); an immutable one creates
        // nothing, and only looks at a few pages here.
        let wal = header[18] == 2 || header[19] == 2
        let immutable = wal && !exists(path + "-wal")
        let connection: Connection
        do {
            connection = immutable
                ? try Connection(path: immutableURI(path), flags: [.readOnly, .uri])
                : try Connection(path: path, flags: [.readOnly])
        } catch { throw unreadable(path, error) }

        let applicationID: Int32
        let version: Int
        var tables: [String] = []
        var objects = 0
        do {
            applicationID = Int32(truncatingIfNeeded: try connection.int("PRAGMA application_id"))
            version = Int(try connection.int("PRAGMA user_version"))
            let statement = try connection.statement("SELECT type, name FROM sqlite_schema")
            while try statement.step() {
                objects += 1
                if statement.text(0) == "table" { tables.append(statement.text(1)) }
            }
            statement.reset()
        } catch { throw unreadable(path, error) }

        if applicationID != 0 && applicationID != Self.applicationID {
            throw .notDocket(path: path, reason: "its header names another application (application_id \(applicationID))")
        }
        if applicationID == 0 && version == 0 && objects == 0 {
            return DatabaseInspection(state: .empty, connection: connection, immutable: immutable)
        }
        guard applicationID == Self.applicationID || (version >= 1 && firstTables.isSubset(of: tables)) else {
            let shown = tables.sorted().prefix(3).map(printable).joined(separator: ", ") + (tables.count > 3 ? ", …" : "")
            let reason = tables.isEmpty
                ? "it is an SQLite database of another application (user_version \(version), no tables)"
                : "it is an SQLite database of another application (\(tables.count) \(tables.count == 1 ? "table" : "tables"): \(shown))"
            throw .notDocket(path: path, reason: reason)
        }
        var hasProject = false
        if tables.contains("project") {
            do { hasProject = try connection.int("SELECT count(*) FROM project") > 0 } catch { throw unreadable(path, error) }
        }
        return DatabaseInspection(state: .docket(version: version, hasProject: hasProject), connection: connection, immutable: immutable)
    }

    /// The connection a read-only store uses. An immutable connection is kept only where nobody
    /// can start writing (a directory that cannot be written holds no `-wal` file and can get
    /// none); elsewhere the reader takes part in WAL's locking, as it must to see writers' commits,
    /// and SQLite creates the `-wal`/`-shm` files it needs.
    static func readConnection(_ path: String, _ inspection: DatabaseInspection) throws(StoreError) -> Connection {
        if let connection = inspection.connection, !inspection.immutable || !effectivelyWritable(split(path).directory) {
            return connection
        }
        do { return try Connection(path: path, flags: [.readOnly]) } catch { throw .sqlite(error) }
    }

    /// SQLite's "not a database" and "malformed" mean the file is not one Docket can use.
    private static func unreadable(_ path: String, _ error: SQLiteError) -> StoreError {
        if error.code == SQLITE_NOTADB || error.code == SQLITE_CORRUPT {
            return .notDocket(path: path, reason: "SQLite cannot read it (\(error.message))")
        }
        return .sqlite(error)
    }

    // MARK: Helpers

    private static func memoryConnection() throws(StoreError) -> Connection {
        do { return try Connection(path: ":memory:", flags: [.readWrite, .create]) } catch { throw .sqlite(error) }
    }

    /// Whether `path` exists for this process's effective ids (stat), not its real ones (access(2)
    /// would ask for the real ids: under the shared install's set-group-id binary a reviewer
    /// cannot search the project's directory, so access() would say the -wal file is missing and
    /// the project would be read as an immutable file, stale and torn under writers).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether this process may write in `directory` with its effective ids (faccessat, AT_EACCESS).
    static func effectivelyWritable(_ directory: String) -> Bool {
        faccessat(AT_FDCWD, directory, W_OK, AT_EACCESS) == 0
    }

    /// Opens (creating it if needed) `<db>.lock`, on which writers queue; -1 if it cannot be.
    static func openLockFile(_ path: String) -> Int32 {
        Glibc.open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
    }

    /// The directory part ("." for a bare name) and the last component of a path.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func syncDirectory(_ directory: String) {
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// `file://ABSOLUTE-PATH?immutable=1`, every byte but unreserved ones and '/' percent-encoded.
    static func immutableURI(_ path: String) -> String {
        var absolute = path
        if !path.hasPrefix("/"), let cwd = getcwd(nil, 0) {
            absolute = String(cString: cwd) + "/" + path
            free(cwd)
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes = Array("file://".utf8)
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self) + "?immutable=1"
    }

    /// A table name from someone else's file, safe to print: printable ASCII only, at most 40 characters.
    private static func printable(_ name: String) -> String {
        let scalars = name.unicodeScalars.prefix(40).map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" }
        return String(scalars) + (name.unicodeScalars.count > 40 ? "…" : "")
    }
}
