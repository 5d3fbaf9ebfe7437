import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing
@testable import DocketStore

/// Tampering by hand around Docket: an event changed or deleted after its protective trigger was
/// dropped (or disabled). `docket check` names the missing trigger and the first broken link, and
/// exits 1; `backup` and `migrate --to` keep the chain verifiable.
@Suite struct TamperTests {
    static func project(_ backend: TestBackend) throws -> Sandbox {
        let sandbox = try escalationProject(backend: backend)
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nunsafe\n")
        #expect(sandbox.run("check").status == 0)
        return sandbox
    }

    /// Raw SQL on the project's database, the way someone with the file or a login would.
    static func tamper(_ sandbox: Sandbox, _ backend: TestBackend, sqlite: String, postgres: String) throws {
        switch backend {
        case .sqlite:
            // A plain connection, as the sqlite3 shell makes: foreign keys off, no Docket in the way.
            let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
            try connection.execute(sqlite)
        case .postgres:
            try TestPostgres.psql(sandbox.databasePath, postgres)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func aChangedEventAndADroppedTriggerAreNamed(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        try Self.tamper(
            sandbox, backend,
            sqlite: "DROP TRIGGER events_no_update; UPDATE events SET detail = '{\"name\":\"mallory\",\"role\":\"admin\"}' WHERE id = 5",
            postgres: "DROP TRIGGER events_no_update ON events; UPDATE events SET detail = '{\"name\":\"mallory\",\"role\":\"admin\"}' WHERE id = 5")
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("trigger-missing: the trigger events_no_update is missing"), "\(run.errors)")
        #expect(run.errors.contains("audit-chain: the chain breaks at event 5: it, or an event before it, was changed, removed or inserted after it was written"), "\(run.errors)")
    }

    /// Protection that is still there in name only: a guard re-created with an empty body, a
    /// trigger set to fire on replicas only, a refusing function replaced by one that lets
    /// everything through, a guard pointed at another function.
    @Test(arguments: TestBackend.allCases)
    func aGuardThatNoLongerGuardsIsNamed(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        // While the guards hold, reviewers are never deleted, on either backend.
        #expect(throws: (any Error).self) {
            try Self.tamper(sandbox, backend, sqlite: "DELETE FROM reviewers WHERE name = 'ana'", postgres: "DELETE FROM reviewers WHERE name = 'ana'")
        }
        try Self.tamper(
            sandbox, backend,
            sqlite: """
                DROP TRIGGER feedback_no_update;
                CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback BEGIN SELECT 1; END;
                UPDATE feedback SET label = 'unsafe' WHERE id = 1
                """,
            postgres: """
                ALTER TABLE feedback ENABLE REPLICA TRIGGER feedback_no_update;
                CREATE OR REPLACE FUNCTION docket_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$;
                DROP TRIGGER decisions_no_update ON decisions;
                CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions FOR EACH ROW EXECUTE FUNCTION docket_json_kind_ok();
                """.replacingOccurrences(of: "docket_json_kind_ok()", with: "docket_assignments_taken()"))
        let run = sandbox.run("check")
        #expect(run.status == 1)
        switch backend {
        case .sqlite:
            #expect(run.errors.contains("trigger-altered: the trigger feedback_no_update is not the one the migrations create"), "\(run.errors)")
        case .postgres:
            #expect(run.errors.contains("trigger-disabled: the trigger feedback_no_update is disabled"), "\(run.errors)")
            #expect(run.errors.contains("function-altered: the function docket_refuse() is not the one the migrations create"), "\(run.errors)")
            #expect(run.errors.contains("trigger-altered: the trigger decisions_no_update is not the one the migrations create"), "\(run.errors)")
        }
    }

    /// What else changes a write without touching Docket's guards: an extra trigger that drops
    /// or rewrites rows, a guard that never fires (WHEN false), a rule that does nothing instead.
    @Test(arguments: TestBackend.allCases)
    func anExtraTriggerOrRuleIsNamed(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        try Self.tamper(
            sandbox, backend,
            sqlite: "CREATE TRIGGER zz BEFORE INSERT ON feedback WHEN new.label = 'unsafe' BEGIN SELECT RAISE(IGNORE); END",
            postgres: """
                DROP TRIGGER feedback_no_update ON feedback;
                CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback FOR EACH ROW WHEN (false)
                EXECUTE FUNCTION docket_refuse('feedback is append-only; withdraw it instead');
                CREATE TRIGGER zz BEFORE INSERT ON feedback FOR EACH ROW EXECUTE FUNCTION docket_assignments_taken();
                CREATE RULE quiet AS ON UPDATE TO decisions DO INSTEAD NOTHING;
                """)
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("trigger-unexpected: the trigger zz is not one the migrations create"), "\(run.errors)")
        if backend == .postgres {
            #expect(run.errors.contains("trigger-altered: the trigger feedback_no_update is not the one the migrations create"), "\(run.errors)")
            #expect(run.errors.contains("rule-unexpected: the rule quiet on decisions is not one the migrations create"), "\(run.errors)")
        }
    }

    /// Links removed by hand stay missing: no later write links the events again (which would
    /// make an edited event verify).
    @Test(arguments: TestBackend.allCases)
    func removedLinksAreNeverMadeAgain(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        try Self.tamper(
            sandbox, backend,
            sqlite: """
                DROP TRIGGER events_no_update; DROP TRIGGER event_links_no_delete;
                UPDATE events SET detail = '{"name":"ana","role":"admin"}' WHERE id = 5; DELETE FROM event_links WHERE event >= 5
                """,
            postgres: """
                ALTER TABLE events DISABLE TRIGGER events_no_update; ALTER TABLE event_links DISABLE TRIGGER event_links_no_delete;
                UPDATE events SET detail = '{"name":"ana","role":"admin"}' WHERE id = 5; DELETE FROM event_links WHERE event >= 5;
                ALTER TABLE events ENABLE TRIGGER events_no_update; ALTER TABLE event_links ENABLE TRIGGER event_links_no_delete
                """)
        #expect(sandbox.run("check").errors.contains("audit-chain: "))
        sandbox.run(["review", "--as", "bo"], stdin: "quit\n")  // a later write by someone else
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("audit-chain: "), "\(run.errors)")
        // Every link removed, from the first: still never made again.
        try Self.tamper(
            sandbox, backend,
            sqlite: "DELETE FROM event_links",
            postgres: "ALTER TABLE event_links DISABLE TRIGGER event_links_no_delete; DELETE FROM event_links; ALTER TABLE event_links ENABLE TRIGGER event_links_no_delete")
        sandbox.run(["review", "--as", "bo"], stdin: "quit\n")
        #expect(sandbox.run("check").errors.contains("audit-chain: event 1 has no link in the chain"), "\(sandbox.run("check").errors)")
    }

    /// A role, a login or feedback changed around Docket, where the guards allow it: each is
    /// named against what the chained log says.
    @Test(arguments: TestBackend.allCases)
    func rolesLoginsAndFeedbackAreComparedWithTheLog(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        try Self.tamper(
            sandbox, backend,
            sqlite: """
                UPDATE reviewers SET role = 'admin' WHERE name = 'bo'; UPDATE reviewers SET login = 'mallory' WHERE name = 'ana';
                INSERT INTO feedback (item, reviewer, kind, label, created_at) SELECT 1, id, 'label', 'unsafe', 0 FROM reviewers WHERE name = 'bo'
                """,
            postgres: """
                UPDATE reviewers SET role = 'admin' WHERE name = 'bo'; UPDATE reviewers SET login = 'mallory' WHERE name = 'ana';
                INSERT INTO feedback (item, reviewer, kind, label, created_at) SELECT 1, id, 'label', 'unsafe', 0 FROM reviewers WHERE name = 'bo'
                """)
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("role-without-event: bo is admin but the log last made them reviewer"), "\(run.errors)")
        #expect(run.errors.contains("login-without-event: ana is bound to mallory but the log last bound them to ana"), "\(run.errors)")
        #expect(run.errors.contains("feedback-without-event: feedback "), "\(run.errors)")
    }

    /// Rows forged with ids below the log's newest, and labels forged as imported, are named too.
    @Test(arguments: TestBackend.allCases)
    func rowsForgedWithLowIdsOrAsImportsAreNamed(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        let sql = """
            INSERT INTO reviewers (id, name, role, login, created_at) VALUES (0, 'eve', 'admin', 'eve', 0);
            INSERT INTO feedback (id, item, reviewer, kind, label, created_at) VALUES (-1, 1, 0, 'label', 'safe', 0);
            INSERT INTO feedback (item, reviewer, kind, label, created_at, source) VALUES (1, 0, 'label', 'safe', 0, 'import')
            """
        try Self.tamper(sandbox, backend, sqlite: sql, postgres: sql)
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("reviewer-without-event: reviewer eve was added around Docket"), "\(run.errors)")
        #expect(run.errors.contains("feedback-without-event: feedback -1 was written around Docket"), "\(run.errors)")
        #expect(run.errors.contains("imported-labels-without-event: 1 imported labels are stored but the log's imports inserted 0"), "\(run.errors)")
    }

    /// Row-level security other than what the migrations set up (forced, off, on where they never
    /// turn it on, another policy) is named. And a check that cannot compare the definitions whole
    /// says so instead of passing.
    @Test func rowSecurityAndAnUnverifiableCheckAreNamed() throws {
        guard TestPostgres.isAvailable else { return }
        let sandbox = try Self.project(.postgres)
        try TestPostgres.psql(sandbox.databasePath, """
            ALTER TABLE feedback ENABLE ROW LEVEL SECURITY; ALTER TABLE feedback FORCE ROW LEVEL SECURITY;
            CREATE POLICY hide ON feedback USING (assignment IS NOT NULL)
            """)
        var run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.contains("policy-unexpected: the policy hide on feedback is not one the migrations create"), "\(run.errors)")
        #expect(run.errors.contains("row-security-altered: row-level security for feedback is forced, not on as the migrations set it"), "\(run.errors)")
        try TestPostgres.psql(sandbox.databasePath, "DROP POLICY hide ON feedback; ALTER TABLE feedback NO FORCE ROW LEVEL SECURITY")
        #expect(sandbox.run("check").status == 0)
        try TestPostgres.psql(sandbox.databasePath, "ALTER TABLE feedback DISABLE ROW LEVEL SECURITY; ALTER TABLE docket_schema ENABLE ROW LEVEL SECURITY")
        run = sandbox.run("check")
        #expect(run.errors.contains("row-security-missing: row-level security is off for feedback, which the migrations turn it on for"), "\(run.errors)")
        #expect(run.errors.contains("row-security-unexpected: row-level security is on for docket_schema, which the migrations never turn on"), "\(run.errors)")
        try TestPostgres.psql(sandbox.databasePath, "ALTER TABLE feedback ENABLE ROW LEVEL SECURITY; ALTER TABLE docket_schema DISABLE ROW LEVEL SECURITY")
        #expect(sandbox.run("check").status == 0)
        let database = String(sandbox.databasePath.split(separator: "/").last ?? "")
        try TestPostgres.psql(sandbox.databasePath, "REVOKE CREATE ON DATABASE \(database) FROM docket, PUBLIC")
        run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.hasPrefix("violation: trigger-definitions-unverified: the triggers', policies' and grants' whole definitions could not be compared (permission denied for database \(database)); check needs a login that may create a schema, in a transaction it rolls back\ndocket: The check found 1 violation"), "\(run.errors)")
    }

    @Test(arguments: TestBackend.allCases)
    func aDeletedEventIsNamed(backend: TestBackend) throws {
        let sandbox = try Self.project(backend)
        try Self.tamper(
            sandbox, backend,
            sqlite: "DROP TRIGGER events_no_delete; DELETE FROM events WHERE id = 4",
            postgres: """
                ALTER TABLE events DISABLE TRIGGER events_no_delete; ALTER TABLE event_links DISABLE TRIGGER event_links_no_delete;
                DELETE FROM event_links WHERE event = 4; DELETE FROM events WHERE id = 4
                """)
        let run = sandbox.run("check")
        #expect(run.status == 1)
        switch backend {
        case .sqlite:
            #expect(run.errors.contains("trigger-missing: the trigger events_no_delete is missing"), "\(run.errors)")
            #expect(run.errors.contains("audit-chain: the chain links event 4, which the log no longer holds (it was deleted)"), "\(run.errors)")
        case .postgres:
            #expect(run.errors.contains("trigger-disabled: the trigger events_no_delete is disabled"), "\(run.errors)")
            #expect(run.errors.contains("trigger-disabled: the trigger event_links_no_delete is disabled"), "\(run.errors)")
        }
        #expect(run.errors.contains("audit-chain: the chain breaks at event 5"), "\(run.errors)")
    }

    @Test func anOlderDatabaseIsChainedWhenFirstOpenedToWrite() throws {
        let sandbox = try Self.project(.sqlite)
        // As a database made before migration 11: no links, schema version 10.
        let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
        try connection.execute(OlderSchema.undoLatestTwo)
        #expect(sandbox.run("migrate").output.contains("from schema version 10 to \(SchemaInfo.latestVersion)"))
        let check = sandbox.run("check")
        #expect(check.status == 0, "\(check.output)")
        let store = try SQLiteStore.open(path: sandbox.databasePath, access: .read)
        #expect(try store.db.int("SELECT count(*) FROM event_links") == store.db.int("SELECT count(*) FROM events"))
    }
}
