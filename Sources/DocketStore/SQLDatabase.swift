import Glibc
import DocketCore

/// The SQL the store's queries are written in is the common part of SQLite's and PostgreSQL's;
/// the few places that must differ ask the connection which one it speaks.
enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// An error a backend's connection reports, as the store needs to see it: whether a constraint
/// refused the statement, and the neutral `StoreError` it becomes at the seam.
protocol DatabaseError: Error {
    var isConstraint: Bool { get }
    var storeError: StoreError { get }
}

/// A value bound to or read from a statement.
enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue {
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
}

/// A prepared statement and the row it stands on. Parameters are `?` (numbered in order) or
/// `?N`; columns are numbered from 0.
protocol SQLStatement: AnyObject {
    /// Forgets the rows of the last run and the bindings.
    func reset()
    func bind(_ values: [SQLValue]) throws
    func bind(_ value: SQLValue, at index: Int32) throws
    /// Runs the statement on the first call after a reset, then advances; false when done.
    func step() throws -> Bool
    func isNull(_ column: Int32) -> Bool
    func int(_ column: Int32) -> Int64
    func double(_ column: Int32) -> Double
    func text(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]?
    func value(_ column: Int32) -> SQLValue
    /// The UTF-8 bytes of a text column, without making a String.
    func withTextBytes<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R
    /// A text column as a String, the one `interner` already made when it has seen these bytes.
    func text(_ column: Int32, interning interner: inout TextInterner) -> String
}

/// The few distinct texts a scan meets again and again (labels), each made into a String once:
/// a row's bytes are compared with those seen before instead of being decoded again.
struct TextInterner {
    private var known: [(bytes: [UInt8], text: String)] = []
    /// Texts kept at most; others are made each time.
    private static let limit = 64

    mutating func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for entry in known where entry.bytes.count == bytes.count {
            let same = entry.bytes.withUnsafeBufferPointer { kept in
                bytes.count == 0 || memcmp(kept.baseAddress!, bytes.baseAddress!, bytes.count) == 0
            }
            if same { return entry.text }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if known.count < Self.limit { known.append((Array(bytes), text)) }
        return text
    }
}

extension SQLStatement {
    func text(_ column: Int32, interning interner: inout TextInterner) -> String {
        withTextBytes(column) { interner.text($0) }
    }
}

extension SQLStatement {
    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    /// A column holding a JSON array of strings (responses, rankings), or nil.
    func stringArray(_ column: Int32) -> [String]? {
        guard let text = optionalText(column), case .array(let values)? = try? JSON.parse(text) else { return nil }
        return values.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }
}

/// One connection to a project's database, used from one thread by the store that owns it.
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs one or more statements without arguments and without rows.
    func execute(_ sql: String) throws
    /// A statement for `sql`, prepared once per connection and reset before reuse. The rows of a
    /// statement may be read as they come (`cursor`) or all at once, as the backend prefers.
    func prepared(_ sql: String) throws -> any SQLStatement
    /// A statement whose rows are read in batches as they are stepped through, for scans over
    /// a whole table, so memory stays bounded (SQLite always reads that way).
    func preparedCursor(_ sql: String) throws -> any SQLStatement
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { get }
    var isInTransaction: Bool { get }
    /// Resets every cached statement, so none holds a transaction or a snapshot open.
    func resetStatements()
    /// Runs `sql` and reports whether a constraint refused it, leaving the surrounding
    /// transaction usable either way (PostgreSQL: inside a savepoint).
    func runRefusable(_ sql: String, _ arguments: [SQLValue]) throws -> Bool
}

extension SQLConnection {
    func statement(_ sql: String) throws -> any SQLStatement { try prepared(sql) }
    func cursor(_ sql: String) throws -> any SQLStatement { try preparedCursor(sql) }

    /// Runs a statement with arguments and reads no rows.
    func run(_ sql: String, _ arguments: SQLValue...) throws {
        let statement = try prepared(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// The first column of the first row, or nil.
    func scalar(_ sql: String, _ arguments: SQLValue...) throws -> SQLValue? {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return nil }
        return statement.value(0)
    }

    /// The first column of the first row as an integer, or 0.
    func int(_ sql: String, _ arguments: SQLValue...) throws -> Int64 {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// `INSERT … RETURNING id`: the id of the new row.
    func insert(_ sql: String, _ arguments: SQLValue...) throws -> Int64 {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// The larger of two values (SQLite's two-argument max, PostgreSQL's GREATEST).
    func greatest(_ a: String, _ b: String) -> String {
        dialect == .sqlite ? "max(\(a), \(b))" : "GREATEST(\(a), \(b))"
    }

    /// A comma-separated list of the distinct values of `expression` in a group.
    func distinctList(_ expression: String) -> String {
        switch dialect {
        case .sqlite: return "group_concat(DISTINCT \(expression))"
        case .postgres: return "string_agg(DISTINCT \(expression), ',')"
        }
    }
}
