import CSQLite
import DocketCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals that arrived while a writer waited for the lock: 1 SIGINT, 2 SIGALRM.
nonisolated(unsafe) private var writersLockSignals: sig_atomic_t = 0

/// The SQLite backend: one database file in WAL mode with foreign keys on and a busy timeout;
/// writers queue on an flock beside it. The queries are `SQLStore`'s.
public final class SQLiteStore: SQLStore {
    let connection: Connection
    /// Descriptor of `<db>.lock`, on which writers queue (see `withWriteLock`); -1 in memory.
    let lockDescriptor: Int32

    /// Milliseconds a write waits for another process's lock before giving up.
    public static let busyTimeoutMs: Int32 = 10_000

    /// How a connection is prepared for use.
    struct Setup {
        /// Switch to WAL with synchronous = NORMAL and deferred checkpoints (files on disk that will be written).
        var wal: Bool
        /// Apply the embedded migrations newer than the file's user_version.
        var migrate: Bool
        var readOnly: Bool

        static let write = Setup(wal: true, migrate: true, readOnly: false)
        static let read = Setup(wal: false, migrate: false, readOnly: true)
    }

    /// `lockDescriptor` is an open descriptor of `<db>.lock` that the store adopts (and closes), or -1.
    init(connection: Connection, path: String, setup: Setup, lockDescriptor: Int32) throws(StoreError) {
        self.connection = connection
        self.lockDescriptor = lockDescriptor
        super.init(db: connection, path: path, isReadOnly: setup.readOnly)
        if Self.isShared(path) { connection.persistWAL() }
        connection.setBusyTimeout(milliseconds: Self.busyTimeoutMs)
        if setup.wal {
            // Switching a file kept in rollback mode (a backup, a file made by another tool) to
            // WAL needs an exclusive lock, which two openers racing for it can fail to get at
            // once, without waiting: the switch is made under the writers' lock.
            let mode: SQLValue?
            do { mode = try connection.scalar("PRAGMA journal_mode") } catch { throw .sqlite(error) }
            if mode != .text("wal") {
                if lockDescriptor >= 0 { try Self.lockWriters(lockDescriptor, notice: Self.processWaitNotice) }
                defer { if lockDescriptor >= 0 { flock(lockDescriptor, LOCK_UN) } }
                do { _ = try connection.scalar("PRAGMA journal_mode = WAL") } catch { throw .sqlite(error) }
            }
        }
        do {
            if setup.wal {
                try connection.execute("PRAGMA synchronous = NORMAL")
                connection.deferCheckpoints()
            }
            try connection.execute("PRAGMA foreign_keys = ON")
        } catch { throw .sqlite(error) }
        if setup.migrate {
            try Migrator.migrate(connection) { version throws in
                // The migration that adds the chain links the log written before it, in its own transaction.
                if version == Self.chainMigration { try self.linkWholeLog() }
            }
        }
    }

    // `open(path:access:)`, `create(path:settings:at:)` and `migrate(path:)` are in SQLiteStore+Open.swift.

    /// The SQLite migration that adds the audit chain (Schema/0011_audit_chain.sql).
    static let chainMigration = 11

    /// A project of the shared-machine install (`scripts/install-shared`): in a set-group-id
    /// directory, of that directory's group, and closed to others.
    public static func isShared(_ path: String) -> Bool {
        guard path != ":memory:" else { return false }
        var file = stat(), directory = stat()
        guard lstat(path, &file) == 0, (file.st_mode & S_IFMT) == S_IFREG,
              stat(split(path).directory, &directory) == 0 else { return false }
        return directory.st_mode & S_ISGID != 0 && file.st_gid == directory.st_gid && file.st_mode & 0o007 == 0
    }

    static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", ".lock"] { unlink(path + suffix) }
    }

    deinit {
        if connection.walPageCount > 0 { connection.checkpoint() }
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    /// Serialises writers across processes on an advisory lock (flock) beside the database.
    /// SQLite's own lock makes a waiting writer poll and sleep, which is unfair and adds
    /// milliseconds under contention; flock waiters sleep in the kernel and wake as soon as the
    /// holder is done. SQLite's locking still guards the data; this only orders Docket's writers.
    override func withWriteLock<T>(_ body: () throws -> T) throws -> T {
        guard lockDescriptor >= 0 else { return try body() }
        try takeWritersLock()
        defer { flock(lockDescriptor, LOCK_UN) }
        return try body()
    }

    /// Work that must not wait for another writer (`withoutWaiting`: renewing a lease while the
    /// pager is open) fails at once instead.
    private var notWaiting = false
    public override func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T {
        let before = notWaiting
        notWaiting = true
        defer { notWaiting = before }
        return try body()
    }

    private func takeWritersLock() throws(StoreError) {
        try Self.lockWriters(lockDescriptor, notWaiting: notWaiting, notice: waitNotice ?? Self.processWaitNotice)
    }

    /// Where a wait for the writers' lock is said when no store says it yet (opening a file that
    /// must be switched to WAL, `init` on an existing file): set once by the command layer.
    nonisolated(unsafe) static var processWaitNotice: ((String) -> Void)?

    /// Seconds a writer waits for the writers' lock before saying so: far above the waits of
    /// writers taking turns (milliseconds, tens under contention), below a long import's.
    static let waitNoticeSeconds: UInt32 = 3

    /// Takes the writers' lock on `descriptor`: at once when it is free. Otherwise it waits in the
    /// kernel, says so after `waitNoticeSeconds` (a reviewer's session would else sit silent
    /// behind a long import), and stops waiting at Ctrl-C. Both come as signals that interrupt the wait
    /// (SIGALRM, SIGINT), which a process's main thread, the one that writes, receives.
    static func lockWriters(_ descriptor: Int32, notWaiting: Bool = false, notice: ((String) -> Void)?) throws(StoreError) {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return }
        if notWaiting { throw .busy(message: "another docket process is writing to this project") }
        writersLockSignals = 0
        var flagging = sigaction()
        flagging.__sigaction_handler.sa_handler = { signal in writersLockSignals |= (signal == SIGINT ? 1 : 2) }
        sigemptyset(&flagging.sa_mask)
        flagging.sa_flags = 0  // no SA_RESTART: the signal ends the wait, which looks at the flags
        var oldInterrupt = sigaction(), oldAlarm = sigaction()
        sigaction(SIGINT, &flagging, &oldInterrupt)
        sigaction(SIGALRM, &flagging, &oldAlarm)
        let oldTimer = alarm(Self.waitNoticeSeconds)
        defer {
            alarm(oldTimer)
            sigaction(SIGINT, &oldInterrupt, nil)
            sigaction(SIGALRM, &oldAlarm, nil)
        }
        var told = false
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .busy(message: "the writers' lock beside the database failed: \(String(cString: strerror(errno)))") }
            if writersLockSignals & 1 != 0 { throw .waitStopped }
            if writersLockSignals & 2 != 0, !told {
                told = true
                notice?("Waiting for another docket process that is writing to this project (an import or a backup?); Ctrl-C stops waiting.")
            }
        }
    }

    /// IMMEDIATE: the write lock is taken up front, so concurrent writers queue instead of failing on upgrade.
    override func beginWrite() throws { try connection.execute("BEGIN IMMEDIATE") }
    override func beginRead() throws { try connection.execute("BEGIN DEFERRED") }

    /// A larger page cache while the indexes grow keeps big imports from spilling pages.
    override func prepareForBulkLoad() throws { try connection.execute("PRAGMA cache_size = -65536") }
    override func finishBulkLoad() { try? connection.execute("PRAGMA cache_size = -2000") }

    /// The database file and the sidecars SQLite and Docket keep beside it; none for a store in memory.
    public override var ownedFiles: [String] {
        path == ":memory:" ? [] : ["", "-wal", "-shm", "-journal", ".lock"].map { path + $0 }
    }

    /// Work to do while nobody waits: a passive WAL checkpoint once the log holds 1,000 pages.
    /// The reviewer session calls it after showing an item; closing the store does it too.
    public override func idle() {
        if connection.walPageCount >= 1000 { connection.checkpoint() }
    }

    /// SQLite's integrity and foreign-key checks.
    override func backendViolations() throws -> [Violation] {
        var violations: [Violation] = []
        let integrity = try connection.statement("PRAGMA integrity_check")
        while try integrity.step() {
            let line = integrity.text(0)
            if line != "ok" { violations.append(Violation(rule: "sqlite-integrity", detail: line)) }
        }
        let foreignKeys = try connection.statement("PRAGMA foreign_key_check")
        while try foreignKeys.step() {
            violations.append(Violation(rule: "foreign-key", detail: "row \(foreignKeys.int(1)) of \(foreignKeys.text(0)) points to a missing \(foreignKeys.text(2))"))
        }
        // Every trigger the migrations leave in place (the counters and the append-only guards).
        // Each must be there, and be the one the migrations wrote: a trigger dropped and created
        // again with another body (one that lets a change through) is named too.
        let triggers = try connection.statement("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        var present: [String: String] = [:]
        while try triggers.step() { present[triggers.text(0)] = triggers.optionalText(1) ?? "" }
        let statements = Self.expectedTriggerStatements(EmbeddedSchema.migrations)
        for (name, statement) in statements {
            guard let stored = present[name] else {
                violations.append(Violation(rule: "trigger-missing", detail: "the trigger \(name) is missing"))
                continue
            }
            if Self.normalisedSQL(stored) != Self.normalisedSQL(statement) {
                violations.append(Violation(rule: "trigger-altered", detail: "the trigger \(name) is not the one the migrations create"))
            }
        }
        let expected = Set(statements.map(\.name))
        for name in present.keys.sorted() where !expected.contains(name) {
            violations.append(Violation(rule: "trigger-unexpected", detail: "the trigger \(name) is not one the migrations create"))
        }
        return violations
    }

    /// Writes a consistent copy with SQLite's online backup API into `temporary` (an empty file
    /// the caller created with O_EXCL|O_NOFOLLOW beside the target), then renames it into place,
    /// so readers and writers carry on and a failed backup leaves nothing behind.
    public override func backup(to target: String, through temporary: String) throws(StoreError) {
        if access(target, F_OK) == 0 {
            Self.removeFiles(temporary)
            throw .backupTargetExists(path: target)
        }
        let destination: Connection
        do { destination = try Connection(path: temporary, flags: [.readWrite, .noFollow]) } catch {
            Self.removeFiles(temporary)
            throw .sqlite(error)
        }
        guard let backup = sqlite3_backup_init(destination.handle, "main", connection.handle, "main") else {
            let error = destination.error(sqlite3_errcode(destination.handle), sql: nil)
            Self.removeFiles(temporary)
            throw .sqlite(error)
        }
        var rc: Int32
        repeat {
            rc = sqlite3_backup_step(backup, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(5) }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            let error = destination.error(rc, sql: nil)
            Self.removeFiles(temporary)
            throw .sqlite(error)
        }
        do { try destination.execute("PRAGMA journal_mode = DELETE") } catch { Self.removeFiles(temporary); throw .sqlite(error) }
        try Self.publishBackup(temporary, at: target)
    }

    /// Puts a finished backup file in place: `temporary` gets the permissions a new file would
    /// and is linked to `target`, which must not exist; the directory is synced.
    static func publishBackup(_ temporary: String, at target: String) throws(StoreError) {
        // link(2) instead of rename(2): it fails when the target appeared meanwhile, so a file
        // created since the check above is never replaced.
        // The copy gets the permissions a new file would (the temporary was private while written).
        let mask = umask(0)
        umask(mask)
        chmod(temporary, 0o666 & ~mask)
        guard link(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            Self.removeFiles(temporary)
            if errno == EEXIST { throw .backupTargetExists(path: target) }
            throw .backend(message: "could not put the backup at \(target): \(reason)", code: 14)
        }
        Self.removeFiles(temporary)
        // Make the new name durable.
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[..<$0]) } ?? "."
        let descriptor = Glibc.open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

}
