import DocketCore

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL backend: one database holds one project, for teams whose reviewers work on
/// many machines. The queries are `SQLStore`'s; what differs is here: writers are ordered by a
/// transaction-scoped advisory lock (so the selection step, its exploration draw and its
/// recorded propensity stay exactly what one writer at a time would produce), reads see one
/// REPEATABLE READ snapshot, a lost connection is made again, and the schema is
/// `Schema/postgres/`, whose constraints and triggers hold Docket's invariants in the server.
public final class PostgresStore: SQLStore {
    let link: PostgresLink
    /// The key of the advisory lock every write transaction takes: "DOCK".
    static let writeLockKey: Int64 = 0x444F_434B
    /// How long a lost connection is retried before a command gives up.
    public static let reconnectSeconds = 60.0
    /// Told, once per loss, that the connection was lost and is being made again.
    var waitNotice: ((String) -> Void)?

    init(link: PostgresLink, readOnly: Bool) {
        self.link = link
        super.init(db: link, path: link.location.display, isReadOnly: readOnly)
    }

    override func beginWrite() throws {
        try link.execute("BEGIN")
        _ = try link.query("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))", [])
    }

    override func beginRead() throws {
        try link.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    public override func setWaitNotice(_ notice: @escaping (String) -> Void) { waitNotice = notice }

    /// A transaction that failed because the connection was lost before COMMIT was sent is run
    /// again on a new connection (the server rolled it back); one lost during COMMIT is
    /// reported, since it may or may not have been recorded.
    override func retryingOnLostConnection<T>(_ body: () throws -> T) throws -> T {
        while true {
            do {
                return try body()
            } catch let failure as PostgresFailure where failure.isConnectionLost {
                if failure.duringCommit {
                    throw StoreError.serverUnreachable(
                        server: link.location.server,
                        reason: "the connection was lost while the last change was being committed, so it may not have been recorded; look with `docket show` before repeating it")
                }
                try reconnect(after: failure)
            }
        }
    }

    /// Makes the connection again, waiting up to `reconnectSeconds` with growing pauses.
    func reconnect(after failure: PostgresFailure) throws {
        waitNotice?("Lost the connection to the PostgreSQL server at \(link.location.server) (\(failure.message)); reconnecting for up to \(Int(Self.reconnectSeconds)) s…")
        var waited = 0.0
        var pause = 0.1
        var last = failure
        while waited < Self.reconnectSeconds {
            do {
                try link.connect()
                waitNotice?("Reconnected to the PostgreSQL server at \(link.location.server).")
                return
            } catch {
                last = error
            }
            var request = timespec(tv_sec: Int(pause), tv_nsec: Int((pause - Double(Int(pause))) * 1e9))
            _ = nanosleep(&request, nil)
            waited += pause
            pause = min(pause * 2, 2)
        }
        throw StoreError.serverUnreachable(server: link.location.server, reason: last.message)
    }

    /// The triggers Docket's PostgreSQL migrations create: each must be present and enabled.
    override func backendViolations() throws -> [Violation] {
        var expected: Set<String> = []
        for migration in EmbeddedSchema.postgresMigrations {
            for statement in PostgresSQL.split(migration.sql) {
                let words = Self.words(statement)
                let upper = words.map { $0.uppercased() }
                guard upper.count > 2 else { continue }
                if upper[0] == "CREATE", upper[1] == "TRIGGER" || (upper[1] == "OR" && upper.count > 4 && upper[3] == "TRIGGER") {
                    let at = upper[1] == "TRIGGER" ? 1 : 3
                    expected.insert(words[at + 1])
                } else if upper[0] == "DROP", upper[1] == "TRIGGER" {
                    let name: String = upper.count > 4 && upper[2] == "IF" ? words[4] : words[2]
                    expected.remove(name)
                }
            }
        }
        var present: [String: String] = [:]
        let statement = try db.statement(
            """
            SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
            """)
        while try statement.step() { present[statement.text(0)] = statement.text(1) }
        var violations: [Violation] = []
        for name in expected.sorted() {
            switch present[name] {
            case nil: violations.append(Violation(rule: "trigger-missing", detail: "the trigger \(name) is missing"))
            case "D"?: violations.append(Violation(rule: "trigger-disabled", detail: "the trigger \(name) is disabled"))
            default: break
            }
        }
        return violations
    }

    /// The words of a statement, its comment lines left out.
    static func words(_ statement: String) -> [String] {
        statement.split(separator: "\n").filter { !$0.trimmingWhitespace().hasPrefix("--") }.joined(separator: "\n")
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }).map(String.init)
    }

    public override func backup(to target: String, through temporary: String) throws(StoreError) {
        try ProjectCopy.toSQLiteFile(from: self, target: target, temporary: temporary)
    }

    // MARK: Opening, creating, migrating

    static func connect(_ url: String) throws(StoreError) -> PostgresLink {
        let location = try PostgresLocation(parsing: url, environment: PostgresLocation.processEnvironment())
        do { return try PostgresLink(location) } catch { throw error.storeError }
    }

    /// The schema version recorded in `docket_schema`, or nil when the database has no Docket schema.
    static func schemaVersion(_ link: PostgresLink) throws -> Int? {
        let exists = try link.query("SELECT to_regclass('docket_schema') IS NOT NULL", [])
        guard case .integer(1)? = exists.first?.first else { return nil }
        let rows = try link.query("SELECT coalesce(max(version), 0) FROM docket_schema", [])
        if case .integer(let version)? = rows.first?.first { return Int(version) }
        return 0
    }

    /// Tables in the current schema that are not Docket's.
    static func foreignTables(_ link: PostgresLink) throws -> [String] {
        let rows = try link.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename", [])
        var ours: Set<String> = ["docket_schema"]
        for migration in EmbeddedSchema.postgresMigrations {
            for statement in PostgresSQL.split(migration.sql) {
                let words = Self.words(statement)
                if words.count > 2, words[0].uppercased() == "CREATE", words[1].uppercased() == "TABLE" { ours.insert(words[2]) }
            }
        }
        return rows.compactMap { row in
            if case .text(let name)? = row.first, !ours.contains(name) { return name }
            return nil
        }
    }

    /// Applies the embedded PostgreSQL migrations newer than the recorded version, inside the
    /// caller's transaction (which holds the write lock); returns the versions before and after.
    static func applyMigrations(_ link: PostgresLink) throws -> (from: Int, to: Int) {
        try link.execute("CREATE TABLE IF NOT EXISTS docket_schema (version INTEGER NOT NULL CHECK (version >= 0))")
        let current = try schemaVersion(link) ?? 0
        let latest = EmbeddedSchema.postgresMigrations.last?.version ?? 0
        if current > latest { throw StoreError.newerSchema(found: current, supported: latest) }
        for migration in EmbeddedSchema.postgresMigrations where migration.version > current {
            do {
                try link.execute(migration.sql)
            } catch {
                let failure: PostgresFailure = error
                if failure.isConnectionLost { throw failure }
                throw StoreError.migrationFailed(name: "postgres/\(migration.name)", reason: failure.message)
            }
        }
        if latest > current {
            _ = try link.query("DELETE FROM docket_schema", [])
            _ = try link.query("INSERT INTO docket_schema (version) VALUES ($1)", [.integer(Int64(latest))])
        }
        return (current, max(current, latest))
    }

    static func inWriteTransaction<T>(_ link: PostgresLink, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            try link.execute("BEGIN")
            _ = try link.query("SELECT pg_advisory_xact_lock(\(writeLockKey))", [])
            let result = try body()
            try link.execute("COMMIT")
            return result
        } catch {
            if link.isInTransaction { try? link.execute("ROLLBACK") }
            throw SQLStore.map(error)
        }
    }

    public static func open(url: String, access: DatabaseAccess, acceptingOlderSchema: Bool = false) throws(StoreError) -> PostgresStore {
        let link = try connect(url)
        let location = link.location.display
        let latest = EmbeddedSchema.postgresMigrations.last?.version ?? 0
        let version: Int?
        do { version = try schemaVersion(link) } catch { throw SQLStore.map(error) }
        guard let version else { throw .noProject(path: location) }
        if version > latest { throw .newerSchema(found: version, supported: latest) }
        if version < latest {
            if access == .write {
                _ = try inWriteTransaction(link) { try applyMigrations(link) }
            } else if !acceptingOlderSchema {
                throw .olderSchema(path: location, found: version, current: latest)
            }
        }
        let store = PostgresStore(link: link, readOnly: access == .read)
        guard try store.hasProject() else { throw .noProject(path: location) }
        return store
    }

    /// Creates the schema and the project in one transaction; a database that holds a project,
    /// or tables that are not Docket's, is refused and left unchanged.
    public static func createProject(url: String, settings: ProjectSettings, at now: Instant) throws(StoreError) -> PostgresStore {
        try createDatabase(url: url) { store in try store.insertProject(settings, at: now) }
    }

    /// Migrates an empty database and fills it (`fill` runs in the same transaction).
    static func createDatabase(url: String, fill: (PostgresStore) throws -> Void) throws(StoreError) -> PostgresStore {
        let link = try connect(url)
        let location = link.location.display
        let store = PostgresStore(link: link, readOnly: false)
        try inWriteTransaction(link) {
            let foreign = try foreignTables(link)
            if !foreign.isEmpty {
                throw StoreError.notDocket(
                    path: location,
                    reason: "the database already holds tables that are not Docket's (\(foreign.prefix(5).joined(separator: ", "))\(foreign.count > 5 ? ", …" : "")); give each project a database of its own")
            }
            if try schemaVersion(link) != nil, try link.query("SELECT to_regclass('project') IS NOT NULL", []).first?.first == .integer(1),
               case .integer(let count)? = try link.query("SELECT count(*) FROM project", []).first?.first, count > 0 {
                throw StoreError.projectExists(path: location)
            }
            _ = try applyMigrations(link)
            try fill(store)
        }
        return store
    }

    /// Upgrades the schema to this binary's; returns the versions before and after.
    public static func migrate(url: String) throws(StoreError) -> (from: Int, to: Int) {
        let link = try connect(url)
        guard (try? schemaVersion(link)) != nil else { throw .noProject(path: link.location.display) }
        return try inWriteTransaction(link) { try applyMigrations(link) }
    }
}

extension PostgresLocation {
    /// The variables a PostgreSQL location reads, from the process's environment.
    static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for key in ["PGPASSWORD", "PGPASSFILE", "PGUSER", "USER", "HOME"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        return environment
    }
}
