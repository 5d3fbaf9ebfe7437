import DocketCore

#if canImport(Glibc)
import Glibc
#endif

/// Copies a whole project from one store to a new one, row for row with the same ids, in either
/// direction between SQLite and PostgreSQL (`docket migrate --from --to`, and `backup` of a
/// PostgreSQL project). The source is read in one snapshot; the destination is written in one
/// transaction, so a copy is whole or absent. The counters the triggers keep (`items.taken`,
/// `assignments.started`) are copied as stored, with the triggers set aside while the rows go
/// in and put back before the commit; `docket check` on the copy verifies them.
public enum ProjectCopy {
    struct Table {
        var name: String
        var columns: [String]
        var key: String
        /// The identity column PostgreSQL numbers new rows with, if any.
        var identity: String?
    }

    /// Every table of a project, parents before children, with every column of the latest schema
    /// (a test compares these with both schemas, so a new column cannot be left behind).
    static let tables: [Table] = [
        Table(name: "reviewers", columns: ["id", "name", "role", "created_at", "login"], key: "id", identity: "id"),
        Table(name: "rubrics", columns: ["id", "version", "hash", "definition", "applied_at"], key: "id", identity: "id"),
        Table(
            name: "project",
            columns: ["id", "labels", "level", "overlap", "budget", "w_risk", "w_uncertainty", "w_diversity", "explore", "lease_seconds",
                      "seed", "item_count", "served", "embedding_dim", "created_at", "rubric"],
            key: "id", identity: nil),
        Table(
            name: "items",
            columns: ["seq", "id", "prompt", "response", "responses", "category", "risk", "uncertainty", "diversity",
                      "diversity_from_embedding", "embedding", "gold", "meta", "utility", "overlap", "taken", "served_at", "policy",
                      "propensity", "selection_step", "imported_at", "triage"],
            key: "seq", identity: "seq"),
        Table(
            name: "assignments",
            columns: ["id", "item", "reviewer", "state", "claimed_at", "expires_at", "closed_at", "gold", "started"],
            key: "id", identity: "id"),
        Table(
            name: "feedback",
            columns: ["id", "item", "reviewer", "assignment", "kind", "label", "rating", "ranking", "preference", "text", "target",
                      "reason", "severity", "rubric", "created_at", "seconds_spent", "source"],
            key: "id", identity: "id"),
        Table(name: "withdrawals", columns: ["feedback", "reviewer", "at"], key: "feedback", identity: nil),
        Table(name: "supersessions", columns: ["feedback", "by"], key: "feedback", identity: nil),
        Table(
            name: "escalations",
            columns: ["id", "item", "tier", "rule", "reason", "severity", "feedback", "created_at", "status", "closed_at", "closed_by"],
            key: "id", identity: "id"),
        Table(
            name: "decisions",
            columns: ["id", "item", "escalation", "lead", "kind", "value", "rationale", "supersedes", "created_at"],
            key: "id", identity: "id"),
        Table(name: "models", columns: ["id", "method", "model", "created_at"], key: "id", identity: "id"),
        Table(name: "rounds", columns: ["id", "name", "started_at", "closed_at"], key: "id", identity: "id"),
        Table(name: "events", columns: ["id", "at", "kind", "reviewer", "item", "detail"], key: "id", identity: "id"),
        Table(name: "event_links", columns: ["event", "link"], key: "event", identity: nil),
    ]

    /// The table and column names the copy carries, for the test that compares them with the schemas.
    public static var columnsByTable: [String: [String]] {
        Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.columns) })
    }

    /// Rows copied per table, in `tables` order.
    public struct Summary: Equatable, Sendable {
        public var rows: [(table: String, count: Int)]
        public static func == (a: Summary, b: Summary) -> Bool {
            a.rows.map(\.table) == b.rows.map(\.table) && a.rows.map(\.count) == b.rows.map(\.count)
        }
    }

    /// Copies `source` to `destination`, a location that holds no project yet (a new SQLite
    /// file, or an empty PostgreSQL database).
    public static func copy(from source: any ReviewStore, to destination: String) throws(StoreError) -> Summary {
        guard let source = source as? SQLStore else { throw .backend(message: "this store cannot be copied", code: 1) }
        var summary = Summary(rows: [])
        if PostgresLocation.isURL(destination) {
            _ = try PostgresStore.createDatabase(url: destination) { store in summary = try copyRows(from: source, into: store) }
        } else {
            // Checked first, so nothing is built beside a path that can never be the copy (a
            // device, a directory, an existing file); the publishing below checks again.
            var info = stat()
            if lstat(destination, &info) == 0 { throw .copyTargetExists(path: destination) }
            let published = try SQLiteStore.publishNewDatabase(path: destination) { store in summary = try copyRows(from: source, into: store) }
            if !published { throw .projectExists(path: destination) }
        }
        return summary
    }

    /// A PostgreSQL project as a new SQLite file: `backup` on PostgreSQL.
    static func toSQLiteFile(from source: SQLStore, target: String, temporary: String) throws(StoreError) {
        if access(target, F_OK) == 0 {
            SQLiteStore.removeFiles(temporary)
            throw .backupTargetExists(path: target)
        }
        do {
            try SQLiteStore.buildDatabase(in: temporary) { store in _ = try copyRows(from: source, into: store) }
            // Like SQLite's own backups: a single file in rollback-journal mode.
            let file = try Connection(path: temporary, flags: [.readWrite, .noFollow])
            try file.execute("PRAGMA journal_mode = DELETE")
        } catch let error as SQLiteError {
            SQLiteStore.removeFiles(temporary)
            throw .sqlite(error)
        } catch {
            SQLiteStore.removeFiles(temporary)
            throw SQLStore.map(error)
        }
        try SQLiteStore.publishBackup(temporary, at: target)
    }

    /// Inside the destination's write transaction: every row of every table, read from one
    /// snapshot of the source.
    static func copyRows(from source: SQLStore, into destination: SQLStore) throws -> Summary {
        let target = destination.db
        var setAside: [String] = []
        switch target.dialect {
        case .sqlite:
            let triggers = try target.statement("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            var found: [(String, String)] = []
            while try triggers.step() { found.append((triggers.text(0), triggers.text(1))) }
            triggers.reset()
            for (name, sql) in found {
                try target.execute("DROP TRIGGER \(name)")
                setAside.append(sql)
            }
        case .postgres:
            for table in tables { try target.execute("ALTER TABLE \(table.name) DISABLE TRIGGER USER") }
        }
        var summary = Summary(rows: [])
        try source.read { () throws in
            for table in tables {
                let columns = table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                let rows = try source.db.cursor("SELECT \(columns) FROM \(table.name) ORDER BY \(table.key)")
                var count = 0
                var batch: [[SQLValue]] = []
                let width = Int32(table.columns.count)
                func flush() throws {
                    guard !batch.isEmpty else { return }
                    if let link = target as? PostgresLink {
                        try link.copy(into: table.name, columns: table.columns, rows: batch)
                    } else {
                        let placeholders = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                        let insert = try target.statement("INSERT INTO \(table.name) (\(columns)) VALUES (\(placeholders))")
                        for row in batch {
                            insert.reset()
                            try insert.bind(row)
                            while try insert.step() {}
                        }
                    }
                    batch.removeAll(keepingCapacity: true)
                }
                let toServer = target.dialect == .postgres
                while try rows.step() {
                    var row: [SQLValue] = []
                    row.reserveCapacity(Int(width))
                    for column in 0..<width { row.append(rows.value(column)) }
                    // Text stored before the NUL rule (`StoredText`) cannot go to PostgreSQL:
                    // named here, before the server's bare "invalid byte sequence".
                    if toServer, let index = row.firstIndex(where: { if case .text(let text) = $0 { return StoredText.hasNUL(text) } else { return false } }) {
                        let key: String
                        switch row[0] {
                        case .integer(let value): key = "\(table.key) \(value)"
                        case .text(let value): key = "\(table.key) '\(value)'"
                        default: key = "\(table.key) \(row[0])"
                        }
                        throw StoreError.textHoldsNUL(table: table.name, key: key, column: table.columns[index])
                    }
                    batch.append(row)
                    count += 1
                    if batch.count == 5000 { try flush() }
                }
                try flush()
                rows.reset()
                summary.rows.append((table.name, count))
            }
        }
        switch target.dialect {
        case .sqlite:
            for sql in setAside { try target.execute(sql) }
        case .postgres:
            for table in tables { try target.execute("ALTER TABLE \(table.name) ENABLE TRIGGER USER") }
            for table in tables {
                guard let column = table.identity else { continue }
                try target.execute(
                    """
                    SELECT setval(pg_get_serial_sequence('\(table.name)', '\(column)'),
                                  coalesce((SELECT max(\(column)) FROM \(table.name)), 1),
                                  (SELECT max(\(column)) FROM \(table.name)) IS NOT NULL)
                    """)
            }
        }
        return summary
    }
}
