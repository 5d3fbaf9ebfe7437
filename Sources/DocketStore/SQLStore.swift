import CSQLite
import DocketCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The queries every SQL backend shares: each role of `ReviewStore`, written once in the SQL
/// SQLite and PostgreSQL have in common, over an `SQLConnection`. A backend subclasses it with
/// how it opens, begins transactions, orders writers, backs up and checks itself
/// (`SQLiteStore`, `PostgresStore`). With the schemas in `Schema/`, the only code that speaks SQL.
public class SQLStore: ReviewStore {
    let db: any SQLConnection
    /// Where the project is, as named: a file path, or a URL without its password.
    public let path: String
    /// Embeddings of the items selected so far, by selection step. The selected set only grows,
    /// so the cache is extended with the steps other processes added, never rebuilt.
    var selectedEmbeddings = DiversityIndex()
    var selectedThroughStep = 0
    /// The parsed task definition of the current rubric; rubric rows never change, so it is
    /// valid while the project points at the same rubric id.
    var definitionCache: (rubricID: Int64, definition: TaskDefinition, rubric: RubricVersion)?
    /// The last link the current write transaction added to the audit chain (`chain(_:)`).
    var chainHead: (event: Int64, link: String)?
    /// True when the database holds this connection's login to a reviewer's rights (PostgreSQL
    /// row-level security, migration 4): it reads only its own answers and not the gold labels,
    /// so the escalation policy waits for a staff login (`applyEscalationBacklog`) and the
    /// queue learns which items are gold from the database (`goldCondition`).
    var heldToReviewer = false
    /// Whether the schema has `escalation_backlog` as `catchUp` reads it (PostgreSQL, migration 5).
    var keepsEscalationBacklog = false

    /// The SQL condition that an item (its `seq` and `gold` columns as named) is a gold item, or
    /// with `isGold` false that it is not: from the gold label, or for a login that may not read
    /// it, from the list of gold items the database gives (`docket_gold_items()`).
    func goldCondition(isGold: Bool, seq: String = "seq", gold: String = "gold") -> String {
        if heldToReviewer { return "\(seq) \(isGold ? "IN" : "NOT IN") (SELECT unnest(docket_gold_items()))" }
        return isGold ? "\(gold) IS NOT NULL" : "\(gold) IS NULL"
    }

    /// True when the store was opened for a command that only reads: nothing was migrated and
    /// a write is refused (`StoreError.readOnly`).
    public let isReadOnly: Bool
    /// Who the command acts as (`recordActor`): events of anyone else, or of no one, name them as "actor".
    var actor: Actor?
    /// The acting person's reviewer id, when they are registered.
    var actorReviewerID: Int64?

    init(db: any SQLConnection, path: String, isReadOnly: Bool) {
        self.db = db
        self.path = path
        self.isReadOnly = isReadOnly
    }

    /// Inside a write transaction on a migrated database: inserts the project row, rubric version 1
    /// (the definition the init settings imply) and the init event.
    func insertProject(_ settings: ProjectSettings, at now: Instant, admin: Caller? = nil) throws {
        try db.run(
            """
            INSERT INTO project (id, labels, level, overlap, budget, w_risk, w_uncertainty, w_diversity, explore, lease_seconds, seed, created_at)
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .text(JSONValue.array(settings.labels.map { .string($0) }).encoded()), .text(settings.level.rawValue),
            .integer(Int64(settings.overlap)), SQLValue(settings.budget),
            .real(settings.weights.risk), .real(settings.weights.uncertainty), .real(settings.weights.diversity),
            .real(settings.explore), .integer(Int64(settings.leaseSeconds)), .integer(Int64(bitPattern: settings.seed)),
            .integer(now.milliseconds))
        let definition = TaskDefinition(settings: settings)
        let rubric = try db.insert(
            "INSERT INTO rubrics (version, hash, definition, applied_at) VALUES (1, ?, ?, ?) RETURNING id",
            .text(definition.contentHash), .text(definition.canonicalJSON.encoded(sortedKeys: true)), .integer(now.milliseconds))
        try db.run("UPDATE project SET rubric = ? WHERE id = 1", .integer(rubric))
        try logEvent(kind: "init", at: now, detail: .object([
            ("labels", .array(settings.labels.map { .string($0) })), ("level", .string(settings.level.rawValue)),
            ("overlap", .number(Double(settings.overlap))), ("budget", settings.budget.map { .number(Double($0)) } ?? .null),
            ("weights", .string(settings.weights.description)), ("explore", .number(settings.explore)),
        ]))
        if let admin {
            // The caller who creates the project is its first admin, bound to their own login.
            let name = try Self.reviewerName(admin.login)
            let id = try db.insert(
                "INSERT INTO reviewers (name, role, created_at, login) VALUES (?, 'admin', ?, ?) RETURNING id",
                .text(name), .integer(now.milliseconds), .text(admin.login))
            try logEvent(kind: "reviewer-added", at: now, reviewer: id, detail: .object([
                ("name", .string(name)), ("role", .string(Role.admin.rawValue)), ("login", .string(admin.login)),
            ]))
        }
    }


    // MARK: What a backend decides

    /// The project's location as given (`--db`).
    public var location: String { path }
    /// Files on this machine the backend keeps for the project; none for a server.
    public var ownedFiles: [String] { [] }

    /// Orders writers across processes around a whole write transaction (SQLite: an flock).
    func withWriteLock<T>(_ body: () throws -> T) throws -> T { try body() }
    /// Starts a write transaction in which this process is the only writer of the project's
    /// shared state (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock).
    func beginWrite() throws { try db.execute("BEGIN") }
    /// Starts a read transaction that sees one consistent snapshot.
    func beginRead() throws { try db.execute("BEGIN") }
    /// Before and after a bulk load in a write transaction (SQLite: a larger page cache).
    func prepareForBulkLoad() throws {}
    func finishBulkLoad() {}
    /// Housekeeping while nobody waits.
    public func idle() {}
    /// Runs a whole transaction again when the backend lost its connection before committing
    /// it (PostgreSQL); SQLite has no connection to lose.
    func retryingOnLostConnection<T>(_ body: () throws -> T) throws -> T { try body() }
    /// Where a backend says that it is waiting: for its server (PostgreSQL: once per lost
    /// connection, and again when it is back), for another writer (SQLite).
    var waitNotice: ((String) -> Void)?
    public func setWaitNotice(_ notice: @escaping (String) -> Void) { waitNotice = notice }
    public func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T { try body() }
    /// The backend's own integrity checks, before Docket's invariants.
    func backendViolations() throws -> [Violation] { [] }

    /// Writes a copy of the project as a new SQLite file through `temporary` (see `MaintenanceStore`).
    public func backup(to target: String, through temporary: String) throws(StoreError) {
        throw .backend(message: "this backend cannot write a backup", code: 1)
    }

    func hasProject() throws(StoreError) -> Bool {
        try read { try db.int("SELECT count(*) FROM project") > 0 }
    }

    // MARK: Transactions and error mapping

    /// Runs `body` in a write transaction (`beginWrite`), committed if it returns and rolled back
    /// if it throws, and maps errors to `StoreError`.
    func write<T>(_ body: () throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        return try writeEvenIfOpenedToRead(body)
    }

    /// `write` for the upkeep a command that only reads still does on a server (PostgreSQL:
    /// `applyEscalationBacklog`); never on an SQLite file opened read-only.
    func writeEvenIfOpenedToRead<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try retryingOnLostConnection { try withWriteLock { try transaction(begin: beginWrite, body) } }
        } catch { throw Self.map(error) }
    }

    /// Runs `body` in a read transaction, so everything it reads is one consistent snapshot.
    func read<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            if db.isInTransaction { return try body() }
            return try retryingOnLostConnection { try transaction(begin: beginRead, body) }
        } catch { throw Self.map(error) }
    }

    /// A read whose body hands rows to the caller as it goes (exports): never run twice, so a
    /// lost connection fails it rather than repeating what was already handed out.
    func readStreaming<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            if db.isInTransaction { return try body() }
            return try transaction(begin: beginRead, body)
        } catch { throw Self.map(error) }
    }

    func transaction<T>(begin: () throws -> Void, _ body: () throws -> T) throws -> T {
        chainHead = nil
        defer { chainHead = nil }
        try begin()
        do {
            let result = try body()
            db.resetStatements()
            try db.execute("COMMIT")
            return result
        } catch {
            db.resetStatements()
            if db.isInTransaction { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    static func map(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: return error
        case let error as any DatabaseError: return error.storeError
        default: return .backend(message: "\(error)", code: 1)
        }
    }

    /// Appends an event to the audit log and links it into the chain (`AuditChain`), in the caller's transaction.
    func logEvent(kind: String, at: Instant, reviewer: Int64? = nil, item: Int64? = nil, detail: JSONValue? = nil) throws {
        var detail = detail
        // Who did it, when the event does not say so itself: every event an admin causes acting
        // for someone else (`--as`, "by admin X for Y"), and events about someone else or about
        // no one (a reviewer added, an import, a role changed, an escalation a review raised).
        let by: String? = if let actor {
            actor.onBehalfBy ?? (reviewer == nil || reviewer != actorReviewerID ? actor.name : nil)
        } else {
            nil
        }
        if let by {
            var fields: [(String, JSONValue)] = []
            if case .object(let existing)? = detail { fields = existing }
            fields.append(("actor", .string(by)))
            detail = .object(fields)
        }
        let text = detail?.encoded()
        let id = try db.insert(
            "INSERT INTO events (at, kind, reviewer, item, detail) VALUES (?, ?, ?, ?, ?) RETURNING id",
            .integer(at.milliseconds), .text(kind), SQLValue(reviewer), SQLValue(item), SQLValue(text))
        // A login held to a reviewer's rights may not read the chain: it lists the event for a
        // staff login's next write to link (`catchUp`).
        if heldToReviewer {
            try db.run("INSERT INTO event_backlog (event) VALUES (?)", .integer(id))
            return
        }
        try chain(AuditChain.Event(id: id, at: at.milliseconds, kind: kind, reviewer: reviewer, item: item, detail: text))
    }

    // MARK: Project and reviewers

    public func projectSettings() throws(StoreError) -> ProjectSettings {
        try read {
            let statement = try db.statement(
                "SELECT labels, level, overlap, budget, w_risk, w_uncertainty, w_diversity, explore, lease_seconds, seed FROM project WHERE id = 1")
            guard try statement.step() else { throw StoreError.noProject(path: path) }
            var labels: [String] = []
            if case .array(let values) = try JSON.parse(statement.text(0)) {
                labels = values.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            }
            return ProjectSettings(
                labels: labels, level: MeasurementLevel(rawValue: statement.text(1)) ?? .nominal,
                overlap: Int(statement.int(2)), budget: statement.optionalInt(3).map(Int.init),
                weights: UtilityWeights(risk: statement.double(4), uncertainty: statement.double(5), diversity: statement.double(6)),
                explore: statement.double(7), leaseSeconds: Int(statement.int(8)), seed: UInt64(bitPattern: statement.int(9)))
        }
    }

    /// A reviewer name by the one rule of `ReviewerName` (NFC, no surrounding whitespace, no
    /// control or invisible characters), for every write and lookup.
    static func reviewerName(_ raw: String) throws(StoreError) -> String {
        do { return try ReviewerName.normalised(raw) } catch { throw .invalidReviewerName(error) }
    }

    public func addReviewer(name raw: String, role: Role, login rawLogin: String? = nil, at now: Instant) throws(StoreError) -> Reviewer {
        let name = try Self.reviewerName(raw)
        // Bound to the login of their name when that is a login at all (else to none, until
        // `reviewers bind`); a login given with --user must be one.
        let login: String? = rawLogin ?? (Self.loginProblem(name) == nil ? name : nil)
        if let rawLogin, let reason = Self.loginProblem(rawLogin) { throw StoreError.invalidLogin(login: rawLogin, reason: reason) }
        return try write {
            if try db.scalar("SELECT id FROM reviewers WHERE name = ?", .text(name)) != nil {
                throw StoreError.duplicateReviewer(name: name)
            }
            if let login, case .text(let holder)? = try db.scalar("SELECT name FROM reviewers WHERE login = ?", .text(login)) {
                throw StoreError.duplicateLogin(login: login, reviewer: holder)
            }
            let id = try db.insert(
                "INSERT INTO reviewers (name, role, created_at, login) VALUES (?, ?, ?, ?) RETURNING id",
                .text(name), .text(role.rawValue), .integer(now.milliseconds), SQLValue(login))
            try logEvent(kind: "reviewer-added", at: now, reviewer: id, detail: .object([
                ("name", .string(name)), ("role", .string(role.rawValue)), ("login", login.map { .string($0) } ?? .null),
            ]))
            return Reviewer(id: id, name: name, role: role, createdAt: now, reviewsDone: 0, login: login)
        }
    }

    /// Binds a reviewer to another login, or to none (nil): after an upgrade bound them to the
    /// account of their name, or when someone's account changes. One transaction, one event.
    @discardableResult
    public func bindLogin(of raw: String, to login: String?, at now: Instant) throws(StoreError) -> Bool {
        if let login, let reason = Self.loginProblem(login) { throw StoreError.invalidLogin(login: login, reason: reason) }
        return try write {
            let target = try reviewerIdentity(named: raw)
            if let login, case .text(let holder)? = try db.scalar("SELECT name FROM reviewers WHERE login = ? AND id <> ?", .text(login), .integer(target.id)) {
                throw StoreError.duplicateLogin(login: login, reviewer: holder)
            }
            let before = try db.scalar("SELECT login FROM reviewers WHERE id = ?", .integer(target.id))
            if before == SQLValue(login) { return false }  // already so: nothing to record
            try db.run("UPDATE reviewers SET login = ? WHERE id = ?", SQLValue(login), .integer(target.id))
            var from: JSONValue = .null
            if case .text(let old)? = before { from = .string(old) }
            try logEvent(kind: "login-bound", at: now, reviewer: target.id, detail: .object([
                ("reviewer", .string(target.name)), ("from", from), ("to", login.map { .string($0) } ?? .null),
            ]))
            return true
        }
    }

    /// Why a login cannot be bound (nil: it can): an account or login role name as POSIX and
    /// PostgreSQL both take it unquoted: 1 to 63 ASCII letters, digits, '_', '.', '@' or '-',
    /// not starting with '-' or '.'.
    static func loginProblem(_ login: String) -> String? {
        if login.isEmpty { return "it is empty" }
        if login.utf8.count > 63 { return "it is longer than 63 characters" }
        let allowed = login.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.@-".unicodeScalars.contains($0)) }
        if !allowed { return "use only ASCII letters, digits, '_', '.', '@' and '-'" }
        if login.hasPrefix("-") || login.hasPrefix(".") { return "it starts with '\(login.prefix(1))'" }
        return nil
    }

    /// The login this connection acts as, when the backend has one of its own (PostgreSQL:
    /// current_user, privileged when a superuser); nil for SQLite, whose caller is the OS account.
    public func sessionCaller() throws(StoreError) -> Caller? { nil }

    /// The registered reviewer bound to `login`, if any.
    public func person(boundTo login: String) throws(StoreError) -> Person? {
        func find(_ column: String) throws(StoreError) -> Person? {
            try read {
                let statement = try db.statement("SELECT name, role FROM reviewers WHERE \(column) = ?")
                try statement.bind([.text(login)])
                defer { statement.reset() }
                guard try statement.step() else { return nil }
                return Person(name: statement.text(0), role: Role(rawValue: statement.text(1)) ?? .reviewer)
            }
        }
        do { return try find("login") } catch {
            // A schema older than migration 12 (backup reads one as it is) has no logins yet:
            // every reviewer is bound to the login of their own name, as the migration will bind them.
            guard case .backend = error else { throw error }
            return try find("name")
        }
    }

    /// The registered reviewer named `name` (an unknown name is an error with a suggestion).
    public func person(named name: String) throws(StoreError) -> Person {
        let found = try reviewerIdentity(named: name)
        return Person(name: found.name, role: found.role)
    }

    /// From now on, events this store writes name `actor` where the event does not (see `logEvent`).
    public func recordActor(_ actor: Actor) throws(StoreError) {
        self.actor = actor
        actorReviewerID = try actor.person.map { person throws(StoreError) in try reviewerIdentity(named: person.name).id }
    }

    /// SQLite has no logins of its own; `PostgresStore` answers.
    public func databaseHold(onLogin login: String) throws(StoreError) -> LoginHold? { nil }

    /// SQLite has no logins held to a reviewer's rights, so nothing ever waits; `PostgresStore` catches up.
    public func applyEscalationBacklog() throws(StoreError) {}

    public func reviewers() throws(StoreError) -> [Reviewer] {
        try queryReviewers(filter: "", [])
    }

    /// Reviewers with their counts of reviews done and current labels (`LabelRules.CurrentLabelCount`,
    /// the count every other command agrees with; for one reviewer only their labels are scanned).
    func queryReviewers(filter: String, _ arguments: [SQLValue]) throws(StoreError) -> [Reviewer] {
        try read {
            let statement = try db.statement(
                """
                SELECT r.id, r.name, r.role, r.created_at,
                       (SELECT count(*) FROM assignments a WHERE a.reviewer = r.id AND a.state = 'done'), r.login
                FROM reviewers r \(filter) ORDER BY r.name
                """)
            try statement.bind(arguments)
            var result: [Reviewer] = []
            while try statement.step() {
                result.append(Reviewer(
                    id: statement.int(0), name: statement.text(1), role: Role(rawValue: statement.text(2)) ?? .reviewer,
                    createdAt: Instant(milliseconds: statement.int(3)), reviewsDone: Int(statement.int(4)), labels: 0,
                    login: statement.optionalText(5)))
            }
            statement.reset()
            guard !result.isEmpty else { return result }
            let counts = try currentLabelCount(reviewer: result.count == 1 ? result[0].id : nil)
            // A login held to a reviewer's rights counts its own labels only: the others' are unknown to it.
            let own = heldToReviewer ? try db.scalar("SELECT docket_reviewer_of(current_user::text)") : nil
            for index in result.indices {
                result[index].labels = heldToReviewer && own != .integer(result[index].id) ? nil : counts.byReviewer[result[index].id] ?? 0
            }
            return result
        }
    }

    /// The reviewer's id, name and role without counting their reviews (for hot paths).
    func reviewerIdentity(named raw: String) throws(StoreError) -> (id: Int64, name: String, role: Role) {
        let name = try Self.reviewerName(raw)
        let found: (Int64, String, Role)? = try read {
            let statement = try db.statement("SELECT id, name, role FROM reviewers WHERE name = ?")
            try statement.bind([.text(name)])
            guard try statement.step() else { return nil }
            return (statement.int(0), statement.text(1), Role(rawValue: statement.text(2)) ?? .reviewer)
        }
        if let found { return found }
        throw .unknownReviewer(name: name, suggestion: Suggestion.nearest(to: name, in: try reviewers().map(\.name)))
    }

    public func reviewer(named raw: String) throws(StoreError) -> Reviewer {
        let name = try Self.reviewerName(raw)
        if let found = try queryReviewers(filter: "WHERE r.name = ?", [.text(name)]).first { return found }
        throw .unknownReviewer(name: name, suggestion: Suggestion.nearest(to: name, in: try reviewers().map(\.name)))
    }

    // MARK: Status, backup, check

    /// The project's counts as of `now`. A pure read (status runs on read-only stores): a lease
    /// past its expiry counts as ended whether or not a writer has recorded the expiry yet.
    public func status(at now: Instant) throws(StoreError) -> StatusSnapshot {
        try read {
            let statement = try db.statement(
                """
                SELECT p.item_count, p.served, p.budget, p.overlap,
                       (SELECT count(*) FROM assignments WHERE state = 'done'),
                       (SELECT count(*) FROM items WHERE served_at IS NOT NULL
                            AND taken - (SELECT count(*) FROM assignments a WHERE a.item = items.seq AND a.state = 'open' AND a.gold = 0 AND a.expires_at <= ?1) >= overlap
                            AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item = items.seq AND a.state = 'open' AND a.expires_at > ?1)),
                       (SELECT count(*) FROM assignments WHERE state = 'open' AND expires_at > ?1),
                       (SELECT count(*) FROM reviewers)
                FROM project p WHERE p.id = 1
                """)
            try statement.bind([.integer(now.milliseconds)])
            guard try statement.step() else { throw StoreError.noProject(path: path) }
            var snapshot = StatusSnapshot(
                items: Int(statement.int(0)), served: Int(statement.int(1)), budget: statement.optionalInt(2).map(Int.init),
                overlap: Int(statement.int(3)), reviewsDone: Int(statement.int(4)), itemsComplete: Int(statement.int(5)),
                openLeases: Int(statement.int(6)), reviewers: Int(statement.int(7)))
            statement.reset()
            // Current labels as the core counts them (one per reviewer and item), as every command does.
            let labels = try currentLabelCount()
            snapshot.labels = labels.labels
            snapshot.labelledItems = labels.items
            snapshot.labelsAreOwnOnly = heldToReviewer
            return snapshot
        }
    }

    /// Writes a consistent copy to `target` through a private temporary beside it (see
    /// `backup(to:through:)`).
    public func backup(to target: String) throws(StoreError) {
        var temporary = ""
        var created = false
        for _ in 0..<16 where !created {
            temporary = "\(target).partial-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                close(fd)
                created = true
            } else if errno != EEXIST {
                break
            }
        }
        guard created else {
            throw .backend(message: "could not create a temporary file beside \(target): \(String(cString: strerror(errno)))", code: 14)
        }
        try backup(to: target, through: temporary)
    }

    /// The backend's own checks (`backendViolations`), then Docket's invariants. The overlap rules are
    /// the core's (`OverlapRule`), applied to the assignments and their current feedback as
    /// stored: no item has more counted reviews than its overlap, no reviewer is on an item twice,
    /// and the `taken` counter and `started` flags the triggers keep agree with the rule.
    public func check() throws(StoreError) -> [Violation] {
        try read {
            var violations: [Violation] = []
            violations += try backendViolations()
            // A damaged file: what SQLite found is the answer; Docket's invariants read the same
            // damaged pages and would end the check with SQLite's bare "malformed" instead.
            if violations.contains(where: { $0.rule == "sqlite-integrity" }) { return violations }
            violations += try auditChainViolations()
            violations += try identityViolations()
            let overlap = try overlapViolations()
            violations += overlap.exceeded + overlap.twice
            let rules: [(String, String, (any SQLStatement) -> String)] = [
                ("lease-without-item",
                 "SELECT a.id FROM assignments a LEFT JOIN items i ON i.seq = a.item WHERE a.state = 'open' AND i.seq IS NULL",
                 { "open lease \($0.int(0)) points to no item" }),
                ("lease-on-unserved-item",
                 "SELECT a.id, i.id FROM assignments a JOIN items i ON i.seq = a.item WHERE i.served_at IS NULL AND a.gold = 0",
                 { "assignment \($0.int(0)) is on item \($0.text(1)), which was never served" }),
            ]
            let counters: [(String, String, (any SQLStatement) -> String)] = [
                ("served-counter",
                 "SELECT served, actual FROM (SELECT p.served, (SELECT count(*) FROM items WHERE served_at IS NOT NULL) AS actual FROM project p) c WHERE served <> actual",
                 { "the project counts \($0.int(0)) items served but \($0.int(1)) are" }),
                ("item-counter",
                 "SELECT item_count, actual FROM (SELECT p.item_count, (SELECT count(*) FROM items) AS actual FROM project p) c WHERE item_count <> actual",
                 { "the project counts \($0.int(0)) items but holds \($0.int(1))" }),
                ("budget-exceeded",
                 "SELECT served, budget FROM project WHERE budget IS NOT NULL AND served > budget",
                 { "\($0.int(0)) items served, over the budget of \($0.int(1))" }),
            ]
            for (rule, sql, describe) in rules {
                let statement = try db.statement(sql)
                while try statement.step() { violations.append(Violation(rule: rule, detail: describe(statement))) }
            }
            violations += overlap.counters
            for (rule, sql, describe) in counters {
                let statement = try db.statement(sql)
                while try statement.step() { violations.append(Violation(rule: rule, detail: describe(statement))) }
            }
            return violations
        }
    }

    /// Walks every assignment with its current feedback, item by item, and applies
    /// `OverlapRule`: items over their overlap, reviewers twice on an item, and `taken` counters
    /// or `started` flags that disagree with the rule.
    func overlapViolations() throws -> (exceeded: [Violation], twice: [Violation], counters: [Violation]) {
        var exceeded: [Violation] = [], twice: [Violation] = [], taken: [Violation] = [], flags: [Violation] = []
        let statement = try db.cursor(
            """
            SELECT a.item, i.id, i.overlap, i.taken, a.id, a.reviewer, coalesce(r.name, '#' || a.reviewer), a.state, a.gold, a.started,
                   (SELECT \(db.distinctList("f.kind")) FROM feedback f
                    WHERE f.assignment = a.id AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id))
            FROM assignments a JOIN items i ON i.seq = a.item LEFT JOIN reviewers r ON r.id = a.reviewer
            ORDER BY a.item, a.id
            """)
        var current: (seq: Int64, id: String, overlap: Int, taken: Int)?
        var facts: [AssignmentFacts] = []
        var names: [Int64: String] = [:]
        func close() {
            guard let item = current else { return }
            let found = OverlapRule.violations(itemID: item.id, overlap: item.overlap, assignments: facts, names: names)
            if let over = found.overlap { exceeded.append(Violation(rule: "overlap-exceeded", detail: over)) }
            twice += found.twice.map { Violation(rule: "reviewer-twice", detail: $0) }
            let places = OverlapRule.placesTaken(facts)
            if places != item.taken {
                taken.append(Violation(rule: "taken-counter", detail: "item \(item.id) counts \(item.taken) places taken but its assignments take \(places)"))
            }
            facts = []
            names = [:]
        }
        while try statement.step() {
            let seq = statement.int(0)
            if current?.seq != seq {
                close()
                current = (seq, statement.text(1), Int(statement.int(2)), Int(statement.int(3)))
            }
            let assignment = statement.int(4), reviewer = statement.int(5)
            names[reviewer] = statement.text(6)
            guard let state = AssignmentState(rawValue: statement.text(7)) else {
                flags.append(Violation(rule: "assignment-state", detail: "assignment \(assignment) has the unknown state '\(statement.text(7))'"))
                continue
            }
            let kinds = Set((statement.optionalText(10) ?? "").split(separator: ",").compactMap { FeedbackKind(rawValue: String($0)) })
            let fact = AssignmentFacts(reviewer: reviewer, state: state, gold: statement.int(8) != 0, currentKinds: kinds)
            if (statement.int(9) != 0) != fact.started {
                flags.append(Violation(
                    rule: "started-flag",
                    detail: "assignment \(assignment) on item \(current!.id) is marked \(statement.int(9) != 0 ? "started" : "not started") but its current feedback says otherwise"))
            }
            facts.append(fact)
        }
        close()
        let orphans = try db.statement(
            // NOT IN over the whole table (one pass): assignments have no index on the item alone.
            "SELECT id, taken FROM items WHERE taken <> 0 AND seq NOT IN (SELECT item FROM assignments) ORDER BY seq")
        while try orphans.step() {
            taken.append(Violation(rule: "taken-counter", detail: "item \(orphans.text(0)) counts \(orphans.int(1)) places taken but its assignments take 0"))
        }
        return (exceeded, twice, taken + flags)
    }
}
