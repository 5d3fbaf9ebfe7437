import CSQLite
import DocketCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by SQLite, with its extended result code and the statement that failed.
/// Internal to the SQLite backend: it crosses the store seam only as a neutral `StoreError`
/// (`StoreError.sqlite(_:)`).
struct SQLiteError: DatabaseError, Equatable, Sendable, CustomStringConvertible {
    var code: Int32
    var extendedCode: Int32
    var message: String
    var sql: String?

    var isConstraint: Bool { code == SQLITE_CONSTRAINT }
    var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    var storeError: StoreError { .sqlite(self) }

    var description: String {
        var text = "SQLite error \(extendedCode): \(message)"
        if let sql { text += " (in: \(sql.prefix(120)))" }
        return text
    }
}

extension StoreError {
    /// The neutral error for one SQLite reported: `busy` when it stayed locked, else `backend`
    /// with the message and the extended result code.
    static func sqlite(_ error: SQLiteError) -> StoreError {
        error.isBusy ? .busy(message: error.message) : .backend(message: error.message, code: Int(error.extendedCode))
    }
}

/// One connection to a database file. Not thread-safe: a store owns it and uses it from one thread.
final class Connection: SQLConnection {
    var dialect: SQLDialect { .sqlite }
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]

    struct OpenFlags: OptionSet {
        let rawValue: Int32
        static let readOnly = OpenFlags(rawValue: SQLITE_OPEN_READONLY)
        static let readWrite = OpenFlags(rawValue: SQLITE_OPEN_READWRITE)
        static let create = OpenFlags(rawValue: SQLITE_OPEN_CREATE)
        static let noMutex = OpenFlags(rawValue: SQLITE_OPEN_NOMUTEX)
        static let uri = OpenFlags(rawValue: SQLITE_OPEN_URI)
        /// Refuse to open a path that is a symbolic link.
        static let noFollow = OpenFlags(rawValue: SQLITE_OPEN_NOFOLLOW)
    }

    /// Set once, before SQLite's first open in the process (see the shim).
    private static let configured: Int32 = docket_sqlite_without_memory_statistics()

    init(path: String, flags: OpenFlags) throws(SQLiteError) {
        _ = Self.configured
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags.union(.noMutex).rawValue, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc & 0xFF, extendedCode: rc, message: message, sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // Every connection waits for others' locks, the ones that only inspect a file included
        // (a read that starts while a writer commits must wait, not fail).
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
        walPages.deallocate()
    }

    /// Pages in the write-ahead log after the last commit, as reported by the WAL hook.
    private let walPages: UnsafeMutablePointer<Int32> = {
        let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return pointer
    }()

    var walPageCount: Int { Int(walPages.pointee) }

    /// Replaces SQLite's automatic checkpoint (which runs inside whichever commit crosses 1,000
    /// pages, adding milliseconds to that one claim) with a hook that only records the WAL's size;
    /// callers checkpoint when idle. Past 20,000 pages the hook checkpoints inline, so the
    /// log cannot grow without bound when nobody is idle.
    /// Keeps the -wal and -shm files when the last connection closes (SQLITE_FCNTL_PERSIST_WAL):
    /// in a shared install they were made by the installer, and nobody else may make them again.
    func persistWAL() {
        var on: Int32 = 1
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
    }

    func deferCheckpoints() {
        sqlite3_wal_hook(handle, { context, db, name, pages in
            let counter = context!.assumingMemoryBound(to: Int32.self)
            if pages >= 20_000 {
                sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
            counter.pointee = pages
            return SQLITE_OK
        }, walPages)
        walPages.pointee = 0
    }

    /// A passive checkpoint: copies what it can from the log without blocking readers or writers.
    func checkpoint() {
        sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        walPages.pointee = 0
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// A prepared statement, cached by its text and reset before reuse.
    func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statementCache[sql] {
            cached.reset()
            return cached
        }
        let statement = try Statement(connection: self, sql: sql)
        statementCache[sql] = statement
        return statement
    }

    func prepared(_ sql: String) throws(SQLiteError) -> any SQLStatement { try statement(sql) }
    /// SQLite reads every statement's rows as they are stepped through.
    func preparedCursor(_ sql: String) throws(SQLiteError) -> any SQLStatement { try statement(sql) }

    func runRefusable(_ sql: String, _ arguments: [SQLValue]) throws(SQLiteError) -> Bool {
        let statement = try statement(sql)
        do {
            try statement.bind(arguments)
            while try statement.step() {}
            return true
        } catch where error.isConstraint {
            return false
        }
    }

    /// Runs a statement with arguments and returns no rows.
    func run(_ sql: String, _ arguments: SQLValue...) throws(SQLiteError) {
        let statement = try statement(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// The first column of the first row, or nil.
    func scalar(_ sql: String, _ arguments: SQLValue...) throws(SQLiteError) -> SQLValue? {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return nil }
        return statement.value(0)
    }

    func int(_ sql: String, _ arguments: SQLValue...) throws(SQLiteError) -> Int64 {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// Resets every cached statement, so none holds the transaction (or a read snapshot) open.
    func resetStatements() {
        for statement in statementCache.values { sqlite3_reset(statement.handle) }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    enum TransactionKind: String { case deferred = "DEFERRED", immediate = "IMMEDIATE" }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    func transaction<T, E: Error>(_ kind: TransactionKind = .immediate, _ body: () throws(E) -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        do {
            let result = try body()
            resetStatements()
            try execute("COMMIT")
            return result
        } catch {
            resetStatements()
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Waits on a locked database with short, growing sleeps (50 µs up to 2 ms) instead of
    /// SQLite's default millisecond steps, so contended claims stay fast; gives up after `timeoutMs`.
    func setBusyTimeout(milliseconds timeoutMs: Int32) {
        // The limit travels in the context pointer itself, so nothing is allocated.
        let context = UnsafeMutableRawPointer(bitPattern: Int(max(1, timeoutMs)))
        sqlite3_busy_handler(handle, { context, attempt in
            let limitMs = Int32(truncatingIfNeeded: Int(bitPattern: context))
            let sleepMicros = min(50 * (attempt + 1), 2000)
            // Sum of sleeps so far, bounded above by attempt * 2 ms.
            let spentMs = attempt <= 40 ? (25 * attempt * (attempt + 1)) / 1000 : 41 + (attempt - 40) * 2
            if spentMs >= limitMs { return 0 }
            sqlite3_sleep_micro(sleepMicros)
            return 1
        }, context)
    }
}

@inline(__always) private func sqlite3_sleep_micro(_ micros: Int32) {
    var request = timespec(tv_sec: 0, tv_nsec: Int(micros) * 1000)
    _ = nanosleep(&request, nil)
}

/// A prepared statement.
final class Statement: SQLStatement {
    let handle: OpaquePointer
    unowned let connection: Connection
    let sql: String

    init(connection: Connection, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.error(rc, sql: sql) }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ values: [SQLValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    func bind(_ value: SQLValue, at index: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .real(let v): rc = sqlite3_bind_double(handle, index, v)
        case .text(var v):
            rc = v.withUTF8 { bytes in
                // An empty buffer may have no base address; SQLite needs a non-null pointer for ''.
                let pointer = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
                return sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), docket_sqlite_transient())
            }
        case .blob(let v):
            rc = v.withUnsafeBytes { raw in
                sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(v.count), docket_sqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, sql: sql) }
    }

    /// Advances to the next row; false when done.
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func withTextBytes<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(textBytes(column))
    }

    func text(_ column: Int32, interning interner: inout TextInterner) -> String {
        interner.text(textBytes(column))
    }

    /// The UTF-8 bytes of a text column, valid until the next step; no String is made.
    func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let pointer = sqlite3_column_text(handle, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(int(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return .text(text(column))
        case SQLITE_BLOB: return .blob(blob(column) ?? [])
        default: return .null
        }
    }
}

/// Embeddings are stored as little-endian float32 blobs.
enum EmbeddingCoding {
    static func encode(_ vector: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> [Float] {
        var vector: [Float] = []
        vector.reserveCapacity(bytes.count / 4)
        var offset = 0
        while offset + 4 <= bytes.count {
            let bits = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            vector.append(Float(bitPattern: bits))
            offset += 4
        }
        return vector
    }
}
