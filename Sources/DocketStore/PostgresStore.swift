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
    /// False while the store is being opened: a server lost then is reported at once (one
    /// sentence within the connect timeout), not retried for `reconnectSeconds`.
    var reconnects = false
    /// Whether the schema has `docket_waiting()` (migration 8), which also says when the login
    /// stopped being staff.
    var asksWhatWaits = false
    /// The login the connection acts as, as `open` found it.
    var openedAs: Caller?
    /// The transaction id of the open write transaction (`txid_current()`, taken with the write
    /// lock), so a COMMIT whose answer was lost can be looked up after reconnecting.
    var transactionID: Int64?

    /// Each trigger's, policy's, grant's and function's definition as this server writes them for
    /// Docket's migrations run afresh (`referenceDefinitions`), normalised; nil when it could not be built.
    var reference: SchemaDefinitions?
    /// Why the reference could not be built, when it could not.
    var referenceProblem: String?

    init(link: PostgresLink, readOnly: Bool) {
        self.link = link
        super.init(db: link, path: link.location.display, isReadOnly: readOnly)
    }

    override func beginWrite() throws {
        transactionID = nil
        try link.execute("BEGIN")
        let rows = try link.query("SELECT pg_advisory_xact_lock(\(Self.writeLockKey)), txid_current()", [])
        if case .integer(let id)? = rows.first?.last { transactionID = id }
        // A login that reads every answer first catches up with what held logins left for it. In
        // a statement of its own: one that also took the lock would read with the snapshot from
        // before it waited, and miss what the writer it waited for committed.
        if try somethingWaits() { try catchUp() }
    }

    /// Whether a login that reads every answer has anything to catch up with (`catchUp`). From
    /// migration 8 the database also says when the login is no longer staff (a lead demoted and
    /// REVOKEd while their session ran): the store goes on as a reviewer's login from then on.
    func somethingWaits() throws -> Bool {
        guard keepsEscalationBacklog && !heldToReviewer else { return false }
        guard asksWhatWaits else {
            return try link.query("SELECT EXISTS (SELECT 1 FROM escalation_backlog) OR EXISTS (SELECT 1 FROM event_backlog)", []).first?.first == .integer(1)
        }
        switch try link.query("SELECT docket_waiting(current_user::text)", []).first?.first {
        case .integer(1)?: return true
        case .integer(0)?: return false
        default:
            heldToReviewer = true
            return false
        }
    }

    /// A cheap look first, in a read: most commands find nothing waiting and take no write lock.
    public override func applyEscalationBacklog() throws(StoreError) {
        guard try read({ try somethingWaits() }) else { return }
        try writeEvenIfOpenedToRead {}  // beginWrite catches up
    }

    override func beginRead() throws {
        transactionID = nil
        try link.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }


    /// A transaction run again after its COMMIT was found not to have been recorded.
    struct CommitNotRecorded: Error {}
    /// A COMMIT whose outcome could not be learnt: reported, never run again.
    struct OutcomeUnknown: Error { var error: StoreError }

    /// As `SQLStore.transaction`, and when the connection is lost while COMMIT is under way, the
    /// outcome is looked up after reconnecting (`txid_status` of the transaction's id): a
    /// recorded change returns its result, one that was not is run again (`CommitNotRecorded`),
    /// and only an outcome that stays unknown is reported. A read's result stands either way.
    override func transaction<T>(begin: () throws -> Void, _ body: () throws -> T) throws -> T {
        chainHead = nil
        defer { chainHead = nil }
        let result: T
        do {
            try begin()
            result = try body()
        } catch {
            db.resetStatements()
            if db.isInTransaction { try? db.execute("ROLLBACK") }
            throw error
        }
        db.resetStatements()
        do {
            try db.execute("COMMIT")
        } catch let failure as PostgresFailure where failure.isConnectionLost && failure.duringCommit && reconnects {
            guard let id = transactionID else { return result }  // a read: nothing to record
            transactionID = nil
            let committed: Bool
            do { committed = try wasCommitted(id, after: failure) } catch { throw OutcomeUnknown(error: Self.map(error)) }
            if committed { return result }
            throw CommitNotRecorded()
        } catch {
            if db.isInTransaction { try? db.execute("ROLLBACK") }
            throw error
        }
        return result
    }

    /// Whether the write transaction `id`, whose COMMIT lost its answer, was committed: asked
    /// (`txid_status`) on a new connection, made again as often as needed until
    /// `reconnectSeconds` have passed; while the old session is still finishing it, asked again.
    /// An outcome that cannot be learnt is reported as such, never run a second time.
    func wasCommitted(_ id: Int64, after failure: PostgresFailure) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(Self.reconnectSeconds)
        var unknown = failure
        unknown.duringCommit = true
        var lost: PostgresFailure? = failure
        while true {
            if let loss = lost {
                do { try reconnect(after: loss, until: deadline) } catch { throw unknown.storeError }
                lost = nil
            }
            let rows: [[SQLValue]]
            do {
                rows = try link.query("SELECT txid_status($1)", [.integer(id)])
            } catch where error.isConnectionLost && ContinuousClock.now < deadline {
                lost = error
                continue
            } catch {
                throw unknown.storeError
            }
            switch rows.first?.first {
            case .text("committed")?: return true
            case .text("aborted")?: return false
            case .text("in progress")? where ContinuousClock.now < deadline: Self.pause(seconds: 0.1)
            default: throw unknown.storeError
            }
        }
    }

    /// A transaction that failed because the connection was lost is run again on a new
    /// connection (the server rolled it back; one lost during COMMIT was found not recorded, see
    /// `transaction`). The loss is the one the link saw during the attempt (`lastLoss`), so it
    /// counts however the error reached here: a nested read inside a write has already turned
    /// it into a `StoreError`. Reconnecting is given up `reconnectSeconds` after the first loss.
    public override func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T {
        let before = reconnects
        reconnects = false
        defer { reconnects = before }
        return try body()
    }

    override func retryingOnLostConnection<T>(_ body: () throws -> T) throws -> T {
        var deadline: ContinuousClock.Instant?
        while true {
            link.lastLoss = nil
            do {
                return try body()
            } catch is CommitNotRecorded {
                continue
            } catch let unknown as OutcomeUnknown {
                throw unknown.error
            } catch {
                guard reconnects, let loss = link.lastLoss else { throw error }
                if loss.duringCommit { throw loss.storeError }  // a COMMIT not of `transaction`: unknown
                let end = deadline ?? ContinuousClock.now + .seconds(Self.reconnectSeconds)
                deadline = end
                try reconnect(after: loss, until: end)
            }
        }
    }

    /// Makes the connection again with growing pauses until `deadline`, telling `waitNotice`
    /// why nothing happens meanwhile and when it goes on. A refused login (the role or the
    /// password changed) is not tried again.
    func reconnect(after failure: PostgresFailure, until deadline: ContinuousClock.Instant) throws {
        let server = link.location.server
        waitNotice?("Lost the connection to the PostgreSQL server at \(server) (\(failure.message)); reconnecting for up to \(Int(Self.reconnectSeconds)) s…")
        var pause = 0.1
        var last = failure
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            do {
                try link.connect(timeout: Int(left.components.seconds) + 1)
                waitNotice?("Reconnected to the PostgreSQL server at \(server).")
                return
            } catch {
                last = error
                if error.kind == .refused { throw error.storeError }
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            Self.pause(seconds: min(pause, Self.seconds(remaining)))
            pause = min(pause * 2, 2)
        }
        throw StoreError.serverUnreachable(
            server: server, reason: "\(last.message), and it could not be made again within \(Int(Self.reconnectSeconds)) s")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    static func pause(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
    }

    /// Checks with the definitions as this server writes them (see `referenceDefinitions`).
    public override func check() throws(StoreError) -> [Violation] {
        // Ownership first: a table or function given to another role puts row-level security
        // between the check and the rows (or makes the policies call themselves), so nothing
        // else it read could be trusted.
        let owners: [Violation]
        do { owners = try ownershipViolations() } catch { throw SQLStore.map(error) }
        if !owners.isEmpty {
            return owners + [Violation(
                rule: "check-incomplete",
                detail: "the other checks were not run: while Docket's schema has more than one owner, row-level security can hide rows from the check itself; give every object back to its owner (ALTER … OWNER TO) and run check again")]
        }
        do { reference = try referenceDefinitions() } catch {
            referenceProblem = (error as? PostgresFailure)?.message ?? "\(error)"
        }
        defer { reference = nil; referenceProblem = nil }
        return try super.check()
    }

    /// What `check` compares, by name, each definition normalised and without schema names.
    struct SchemaDefinitions {
        /// Triggers: pg_get_triggerdef.
        var triggers: [String: String] = [:]
        /// Row-level security policies, by "table.policy": command, permissive, roles, USING and WITH CHECK.
        var policies: [String: String] = [:]
        /// Tables with row-level security on (and whether forced), by table.
        var rowSecurity: [String: String] = [:]
        /// Privileges granted to anyone but the owner, by "table" or "table.column": grantee and privileges.
        var grants: [String: String] = [:]
        /// Docket's functions' rights and settings: SECURITY DEFINER, LEAKPROOF, volatility, who
        /// may run them and the pinned search_path.
        var functionSettings: [String: String] = [:]
        /// Column defaults, by "table.column".
        var defaults: [String: String] = [:]
    }

    /// Reads the definitions `check` compares from the tables, policies, grants and functions of `schema`.
    func definitions(in schema: String) throws -> SchemaDefinitions {
        let namespace = "'\(schema)'::regnamespace"
        func pairs(_ sql: String) throws -> [String: String] {
            var result: [String: String] = [:]
            for row in try link.query(sql, []) {
                if case .text(let name)? = row.first, case .text(let value)? = row.last {
                    result[name] = Self.normalisedSQL(value).replacingOccurrences(of: schema + ".", with: "")
                        .replacingOccurrences(of: "search_path=\(schema),", with: "search_path=SCHEMA,")
                }
            }
            return result
        }
        var found = SchemaDefinitions()
        found.triggers = try pairs(
            """
            SELECT t.tgname::text, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = \(namespace)
            """)
        found.policies = try pairs(
            """
            SELECT c.relname::text || '.' || p.polname::text,
                   p.polcmd::text || ' ' || CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END || ' to '
                   || array_to_string(ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END FROM unnest(p.polroles) r ORDER BY 1), ',')
                   || ' using ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-') || ' check ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
            FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = \(namespace)
            """)
        found.rowSecurity = try pairs(
            """
            SELECT relname::text, CASE WHEN relforcerowsecurity THEN 'forced' ELSE 'on' END || CASE WHEN relrowsecurity THEN '' ELSE ' (not enabled)' END
            FROM pg_class WHERE relnamespace = \(namespace) AND relkind = 'r' AND (relrowsecurity OR relforcerowsecurity)
            """)
        found.grants = try pairs(
            """
            SELECT name, string_agg(grantee || ' ' || privileges, '; ' ORDER BY grantee) FROM (
                SELECT c.relname::text AS name, CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
                       string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) AS privileges
                FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = \(namespace) AND c.relkind IN ('r', 'S') AND a.grantee <> c.relowner AND c.relname <> 'docket_schema'
                GROUP BY 1, 2
                UNION ALL
                SELECT c.relname::text || '.' || t.attname::text, CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END,
                       string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
                FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid, aclexplode(t.attacl) a
                WHERE c.relnamespace = \(namespace) AND c.relkind = 'r' AND t.attnum > 0 AND NOT t.attisdropped AND a.grantee <> c.relowner
                GROUP BY 1, 2) g
            GROUP BY name
            """)
        found.functionSettings = try pairs(
            """
            SELECT p.proname::text, CASE WHEN p.prosecdef THEN 'security definer' ELSE 'security invoker' END
                   || CASE WHEN p.proleakproof THEN ' leakproof' ELSE '' END || ' volatility ' || p.provolatile::text
                   || ' executed by ' || CASE WHEN p.proacl IS NULL THEN 'public' ELSE coalesce(
                          (SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END, ',' ORDER BY 1)
                           FROM aclexplode(p.proacl) a WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE'), 'its owner alone') END
                   || ' ' || coalesce(array_to_string(p.proconfig, ' '), '')
            FROM pg_proc p WHERE p.pronamespace = \(namespace) AND p.proname LIKE 'docket\\_%'
            """)
        found.defaults = try pairs(
            """
            SELECT c.relname::text || '.' || a.attname::text, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE c.relnamespace = \(namespace) AND c.relname <> 'docket_schema'
            """)
        return found
    }

    /// Runs Docket's migrations in a scratch schema inside a transaction that is rolled back, and
    /// returns its definitions (triggers by pg_get_triggerdef, policies, row-level security,
    /// grants and functions' settings, normalised, without schema names): what the project's
    /// must equal, written by the same server's deparser, so a different timing, event, WHEN
    /// clause, level, policy expression or grant is seen whatever the server's version.
    func referenceDefinitions() throws -> SchemaDefinitions {
        let scratch = "docket_check_\(UInt32.random(in: 0...UInt32.max))"
        try link.execute("BEGIN")
        defer { try? link.execute("ROLLBACK") }
        try link.execute("CREATE SCHEMA \(scratch)")
        try link.execute("SET LOCAL search_path TO \(scratch)")
        for migration in EmbeddedSchema.postgresMigrations { try link.execute(migration.sql) }
        return try definitions(in: scratch)
    }

    /// "EXECUTE FUNCTION name(arguments)" of a trigger's definition, normalised: what it runs.
    static func executedFunction(_ definition: String) -> String {
        let text = normalisedSQL(definition)
        guard let range = text.range(of: "EXECUTE FUNCTION ", options: .caseInsensitive) ?? text.range(of: "EXECUTE PROCEDURE ", options: .caseInsensitive) else { return text }
        return text[range.upperBound...].replacingOccurrences(of: "public.", with: "")
    }

    /// The triggers Docket's PostgreSQL migrations create: each must be present, enabled and run
    /// the function (with the argument) the migrations gave it, and each function must be unchanged.
    override func backendViolations() throws -> [Violation] {
        let expectedStatements = Self.expectedTriggerStatements(EmbeddedSchema.postgresMigrations)
        let expected = expectedStatements.map(\.name)
        var present: [String: String] = [:]
        var calls: [String: String] = [:]
        let statement = try db.statement(
            """
            SELECT t.tgname, t.tgenabled::text, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
            """)
        var definitions: [String: String] = [:]
        let schema = try db.scalar("SELECT current_schema()::text").flatMap { if case .text(let name) = $0 { return name } else { return nil } } ?? "public"
        while try statement.step() {
            present[statement.text(0)] = statement.text(1)
            calls[statement.text(0)] = Self.executedFunction(statement.text(2))
            definitions[statement.text(0)] = Self.normalisedSQL(statement.text(2)).replacingOccurrences(of: schema + ".", with: "")
        }
        statement.reset()
        var violations: [Violation] = []
        let statements = Dictionary(expectedStatements.map { ($0.name, $0.statement) }, uniquingKeysWith: { $1 })
        for name in expected.sorted() {
            switch present[name] {
            case nil: violations.append(Violation(rule: "trigger-missing", detail: "the trigger \(name) is missing"))
            // O fires in every session, A always; D is disabled and R fires only on replicas.
            case "D"?, "R"?: violations.append(Violation(rule: "trigger-disabled", detail: "the trigger \(name) is disabled"))
            default:
                let altered = if let reference = reference?.triggers[name] {
                    definitions[name] != reference
                } else {
                    statements[name].map(Self.executedFunction) != calls[name]
                }
                if altered {
                    violations.append(Violation(rule: "trigger-altered", detail: "the trigger \(name) is not the one the migrations create"))
                }
            }
        }
        if reference == nil {
            // Only the function each trigger runs, and the policies' names, were compared: say
            // so, never pass quietly.
            violations.append(Violation(
                rule: "trigger-definitions-unverified",
                detail: "the triggers', policies' and grants' whole definitions could not be compared (\(referenceProblem ?? "no reference")); check needs a login that may create a schema, in a transaction it rolls back"))
        }
        let project = try self.definitions(in: schema)
        violations += rowSecurityViolations(project)
        // A trigger or a rule Docket never made can change what a write does just as well.
        for name in present.keys.sorted() where !expected.contains(name) {
            violations.append(Violation(rule: "trigger-unexpected", detail: "the trigger \(name) is not one the migrations create"))
        }
        let rules = try db.statement("SELECT rulename::text, tablename::text FROM pg_rules WHERE schemaname = current_schema() ORDER BY rulename")
        while try rules.step() {
            violations.append(Violation(rule: "rule-unexpected", detail: "the rule \(rules.text(0)) on \(rules.text(1)) is not one the migrations create"))
        }
        rules.reset()
        // The functions the triggers run: a docket_refuse() replaced by one that lets changes
        // through would leave every trigger in place and enabled.
        let functions = try db.statement(
            "SELECT p.proname, p.prosrc FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'docket\\_%'")
        var bodies: [String: String] = [:]
        while try functions.step() { bodies[functions.text(0)] = functions.text(1) }
        functions.reset()
        let settings = project.functionSettings
        for (name, body) in Self.expectedFunctionBodies(EmbeddedSchema.postgresMigrations) {
            guard let stored = bodies[name] else {
                violations.append(Violation(rule: "function-missing", detail: "the function \(name)() is missing"))
                continue
            }
            if Self.normalisedSQL(stored) != Self.normalisedSQL(body) {
                violations.append(Violation(rule: "function-altered", detail: "the function \(name)() is not the one the migrations create"))
            } else if let reference, settings[name] != reference.functionSettings[name] {
                violations.append(Violation(
                    rule: "function-altered", detail: "the function \(name)() does not run with the rights or settings the migrations give it (\(settings[name] ?? "none"))"))
            }
        }
        violations += try staffReviewerViolations()
        violations += try schemaCreateViolations()
        return violations
    }

    /// Row-level security, its policies and the grants, compared with the migrations run afresh
    /// (or, without that reference, the policies' names and the tables the migrations turn it on
    /// for): a policy dropped or loosened, row-level security turned off, or a grant added (say,
    /// SELECT on the gold labels for everyone) would let a reviewer's login read or write what
    /// the role table keeps from it.
    func rowSecurityViolations(_ project: SchemaDefinitions) -> [Violation] {
        var violations: [Violation] = []
        let expected = reference ?? Self.expectedRowSecurity(EmbeddedSchema.postgresMigrations)
        for key in Set(expected.rowSecurity.keys).union(project.rowSecurity.keys).sorted() {
            switch (expected.rowSecurity[key], project.rowSecurity[key]) {
            case (nil, _?):
                violations.append(Violation(rule: "row-security-unexpected", detail: "row-level security is on for \(key), which the migrations never turn on"))
            case (_?, nil):
                violations.append(Violation(rule: "row-security-missing", detail: "row-level security is off for \(key), which the migrations turn it on for"))
            case let (wanted?, found?) where reference != nil && wanted != found:
                violations.append(Violation(rule: "row-security-altered", detail: "row-level security for \(key) is \(found), not \(wanted) as the migrations set it"))
            default: break
            }
        }
        for key in Set(expected.policies.keys).union(project.policies.keys).sorted() {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            let named = parts.count == 2 ? "the policy \(parts[1]) on \(parts[0])" : "the policy \(key)"
            switch (expected.policies[key], project.policies[key]) {
            case (nil, _?): violations.append(Violation(rule: "policy-unexpected", detail: "\(named) is not one the migrations create"))
            case (_?, nil): violations.append(Violation(rule: "policy-missing", detail: "\(named) is missing"))
            case let (wanted?, found?) where reference != nil && wanted != found:
                violations.append(Violation(rule: "policy-altered", detail: "\(named) is not the one the migrations create"))
            default: break
            }
        }
        if let reference {
            for key in Set(reference.defaults.keys).union(project.defaults.keys).sorted() where reference.defaults[key] != project.defaults[key] {
                violations.append(Violation(
                    rule: "column-default-altered",
                    detail: "the default of \(key) is \(project.defaults[key] ?? "none"), not \(reference.defaults[key] ?? "none") as the migrations make it"))
            }
            for key in Set(reference.grants.keys).union(project.grants.keys).sorted() where reference.grants[key] != project.grants[key] {
                violations.append(Violation(
                    rule: "grant-altered",
                    detail: "the privileges on \(key) are \(project.grants[key] ?? "none but the owner's"), not \(reference.grants[key] ?? "none but the owner's") as the migrations grant them"))
            }
        }
        return violations
    }

    /// The policies (by "table.policy") and the tables with row-level security that the
    /// migrations' text creates, for a check that cannot build the reference: names only.
    static func expectedRowSecurity(_ migrations: [Migration]) -> SchemaDefinitions {
        var found = SchemaDefinitions()
        for migration in migrations {
            for statement in PostgresSQL.split(migration.sql) {
                let words = statementWords(statement)
                let upper = words.map { $0.uppercased() }
                if upper.count > 4, upper[0] == "CREATE", upper[1] == "POLICY", upper[3] == "ON" {
                    found.policies["\(words[4]).\(words[2])"] = ""
                } else if upper.count > 4, upper[0] == "DROP", upper[1] == "POLICY", upper[3] == "ON" {
                    found.policies["\(words[4].trimmingCharacters(in: [";"])).\(words[2])"] = nil
                } else if upper.count > 5, upper[0] == "ALTER", upper[1] == "TABLE", Array(upper[3...5]) == ["ENABLE", "ROW", "LEVEL"] {
                    found.rowSecurity[words[2]] = "on"
                }
            }
        }
        return found
    }

    /// Who owns Docket's tables, sequences and functions: an owner is not held by row-level
    /// security (a table given to a reviewer's login shows it every answer), and a function's
    /// owner can rewrite what every policy calls.
    func ownershipViolations() throws -> [Violation] {
        let rows = try link.query(
            """
            SELECT kind, name, owner FROM (
                SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner
                FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'S') AND c.relname <> 'docket_schema'
                UNION ALL
                SELECT 'function', p.proname::text || '()', pg_get_userbyid(p.proowner)::text
                FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'docket\\_%') o
            ORDER BY kind, name
            """, [])
        var owned: [(kind: String, name: String, owner: String)] = []
        for row in rows where row.count == 3 {
            if case .text(let kind) = row[0], case .text(let name) = row[1], case .text(let owner) = row[2] { owned.append((kind, name, owner)) }
        }
        // The owner is the one that owns the most of them (the login that ran the migrations).
        let counts = Dictionary(owned.map { ($0.owner, 1) }, uniquingKeysWith: +)
        guard let owner = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key else { return [] }
        return owned.filter { $0.owner != owner }.map {
            Violation(rule: "owner-altered", detail: "the \($0.kind) \($0.name) is owned by \($0.owner), not by \(owner) as the rest of Docket's schema is")
        }
    }

    /// Logins other than the schema's owner (and its members) that may create objects in it.
    func schemaCreateViolations() throws -> [Violation] {
        var violations: [Violation] = []
        let creators = try link.query(
            """
            SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END, ', ' ORDER BY 1)
            FROM pg_namespace n, aclexplode(n.nspacl) a
            WHERE n.oid = current_schema()::regnamespace AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
              AND (a.grantee = 0 OR NOT pg_has_role(a.grantee, n.nspowner, 'USAGE'))
            """, [])
        if case .text(let names)? = creators.first?.first {
            violations.append(Violation(
                rule: "schema-open",
                detail: "\(names) may create objects in Docket's schema, and so add functions, operators or tables the migrations never made; the schema's owner runs REVOKE CREATE ON SCHEMA … FROM them"))
        }
        return violations
    }

    /// A reviewer whose login is a member of the database's owner is not held to a reviewer's
    /// rights by the database: their login reads every answer.
    func staffReviewerViolations() throws -> [Violation] {
        let rows = try link.query(
            """
            SELECT r.name::text, r.login::text, pg_get_userbyid(c.relowner)::text FROM reviewers r
            JOIN pg_roles g ON g.rolname = r.login
            JOIN pg_class c ON c.relname = 'items' AND c.relnamespace = current_schema()::regnamespace
            WHERE r.role = 'reviewer' AND c.relrowsecurity AND \(Self.staffSQL("g.rolname"))
            ORDER BY r.name
            """, [])
        return rows.compactMap { row in
            guard row.count == 3, case .text(let name) = row[0], case .text(let login) = row[1], case .text(let owner) = row[2] else { return nil }
            return Violation(
                rule: "reviewer-login-unrestricted",
                detail: "\(name) is a reviewer, but their login \(login) is a member of the database's owner \(owner) (or bypasses row-level security), so the database lets it read every answer; a database superuser runs REVOKE \(owner) FROM \(login)")
        }
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
                let words = Self.statementWords(statement)
                if words.count > 2, words[0].uppercased() == "CREATE", words[1].uppercased() == "TABLE" { ours.insert(words[2]) }
            }
        }
        return rows.compactMap { row in
            if case .text(let name)? = row.first, !ours.contains(name) { return name }
            return nil
        }
    }

    /// The PostgreSQL migration that adds the audit chain (Schema/postgres/0002_audit_chain.sql).
    static let chainMigration = 2
    /// The PostgreSQL migration that holds reviewers' logins to their rights (0004_row_security.sql).
    static let rowSecurityMigration = 4
    /// The PostgreSQL migration that records the item's feedback with each backlog entry (0005_row_security_holds.sql).
    static let backlogStateMigration = 5
    /// The PostgreSQL migration that adds `docket_waiting()` (0008_rubric_of_the_answer.sql).
    static let waitingMigration = 8

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
        if current > 0, current < chainMigration, latest >= chainMigration {
            // The migration that adds the chain links the log written before it, in this transaction.
            try PostgresStore(link: link, readOnly: false).linkWholeLog()
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
        let current = access == .write ? latest : version
        // Who the connection is, asked once: the command's authority reads it next (`sessionCaller`).
        let caller = try store.read { try store.currentLogin() }
        store.openedAs = caller
        if current >= rowSecurityMigration {
            store.keepsEscalationBacklog = current >= backlogStateMigration
            store.asksWhatWaits = current >= waitingMigration
            store.heldToReviewer = caller.heldToReviewerUnder != nil
        }
        store.reconnects = true
        return store
    }

    /// Creates the schema and the project in one transaction; a database that holds a project,
    /// or tables that are not Docket's, is refused and left unchanged.
    /// `admin` is the first admin; `session` makes it the login role the connection acts as.
    public static func createProject(url: String, settings: ProjectSettings, at now: Instant, admin: FirstAdmin = .none) throws(StoreError) -> PostgresStore {
        try createDatabase(url: url) { store in
            switch admin {
            case .none: try store.insertProject(settings, at: now)
            case .caller(let caller): try store.insertProject(settings, at: now, admin: caller)
            case .session: try store.insertProject(settings, at: now, admin: try store.currentLogin())
            }
        }
    }

    /// The login role this connection acts as (current_user), privileged when a superuser, and
    /// held to a reviewer's rights when row-level security is on (migration 4) and the role is
    /// not a member of the database's owner (nor one that bypasses row-level security).
    func currentLogin() throws -> Caller {
        let statement = try db.statement(
            """
            SELECT current_user::text, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
                   (SELECT pg_get_userbyid(c.relowner)::text FROM pg_class c
                    WHERE c.relname = 'items' AND c.relnamespace = current_schema()::regnamespace AND c.relrowsecurity
                      AND NOT \(Self.staffSQL("current_user")))
            """)
        defer { statement.reset() }
        guard try statement.step() else { throw StoreError.corrupt(detail: "current_user is unknown") }
        return Caller(login: statement.text(0), privileged: statement.int(1) != 0, heldToReviewerUnder: statement.optionalText(2))
    }

    override public func databaseHold(onLogin login: String) throws(StoreError) -> LoginHold? {
        guard keepsEscalationBacklog || heldToReviewer else { return nil }
        return try read { () throws -> LoginHold? in
            let statement = try db.statement(
                """
                SELECT pg_get_userbyid(c.relowner)::text, \(Self.staffSQL("g.rolname"))
                FROM pg_roles g JOIN pg_class c ON c.relname = 'items' AND c.relnamespace = current_schema()::regnamespace
                WHERE g.rolname = ?
                """)
            defer { statement.reset() }
            try statement.bind([.text(login)])
            guard try statement.step() else { return nil }
            return LoginHold(owner: statement.text(0), heldToReviewer: statement.int(1) == 0)
        }
    }

    override public func sessionCaller() throws(StoreError) -> Caller? {
        if let openedAs { return openedAs }
        return try read { try currentLogin() }
    }

    /// "`role` (a role's name, as SQL) is staff": a member of the owner of the table `c` (a
    /// superuser is a member of every role), or a role that bypasses row-level security. The one
    /// form of the question for every query here that asks it.
    static func staffSQL(_ role: String) -> String {
        "(pg_has_role(\(role), c.relowner, 'USAGE') OR coalesce((SELECT s.rolbypassrls FROM pg_roles s WHERE s.rolname = \(role)), false))"
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
        store.reconnects = true
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
