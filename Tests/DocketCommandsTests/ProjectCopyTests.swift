import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing
@testable import DocketStore

/// `docket migrate --from --to` and `backup` of a PostgreSQL project: a project copied between
/// backends, both ways, reads the same everywhere, with the same ids, times and statistics.
@Suite struct ProjectCopyTests {
    /// What a person reads of a project; each must print the same bytes on every copy.
    static let reads = [
        "status --json", "queue --json", "reviewers list", "escalations", "export --format labels", "export --format ratings",
        "export --format sft", "export --format escalations", "export --format events", "log --json", "agreement",
        "agreement --json", "aggregate --json", "calibrate --json", "report --json", "show item-01954 --as lee --json",
        "show item-00017 --as lee", "check",
    ]

    /// The sample data with reviews, an undo, a flag, escalations, adjudications and a revision.
    static func reviewedProject(on backend: TestBackend) throws -> Sandbox {
        let sandbox = try escalationProject(backend: backend)
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nunsafe\n")
        sandbox.run(["review", "--as", "bo"], stdin: "borderline\nundo\nsafe\nunsafe\n")
        sandbox.run(["review", "--as", "cy"], stdin: "unsafe\nflag unsafe 3 gives real instructions\nunsafe\n")
        sandbox.run(["adjudicate", "--as", "lee"], stdin: "label unsafe confirmed\nlabel borderline split reading\n")
        sandbox.run(["adjudicate", "--as", "lee", "--item", "item-01954"], stdin: "label safe second look\n")
        sandbox.run("aggregate --method dawid-skene --save")
        return sandbox
    }

    static func snapshot(_ sandbox: Sandbox, at location: String) -> [String: String] {
        var out: [String: String] = [:]
        for command in reads {
            let run = sandbox.run(command.split(separator: " ").map(String.init) + ["--db", location], useDatabase: false)
            out[command] = "\(run.status)\n" + run.output.replacingOccurrences(of: location, with: "LOCATION") + run.errors.replacingOccurrences(of: location, with: "LOCATION")
        }
        return out
    }

    static func expectSame(_ a: [String: String], _ b: [String: String], _ what: String) {
        for command in reads where a[command] != b[command] {
            let difference = firstDifference(a[command] ?? "", b[command] ?? "")
            Issue.record("\(what): `\(command)` differs from line \(difference.line): \(difference.a) | \(difference.b)")
        }
    }

    @Test(.enabled(if: TestPostgres.isAvailable, "needs the run's PostgreSQL cluster (scripts/test)"), arguments: TestBackend.allCases)
    func aProjectCopiedBetweenBackendsBothWaysReadsTheSame(origin: TestBackend) throws {
        let sandbox = try Self.reviewedProject(on: origin)
        let before = Self.snapshot(sandbox, at: sandbox.databasePath)
        #expect(before["check"]?.hasPrefix("0\n") == true)
        // SQLite → PostgreSQL → SQLite, or PostgreSQL → SQLite → PostgreSQL.
        let middle = origin == .sqlite ? try TestPostgres.newDatabase() : sandbox.path("middle.db")
        let last = origin == .sqlite ? sandbox.path("last.db") : try TestPostgres.newDatabase()
        let first = sandbox.run(["migrate", "--from", sandbox.databasePath, "--to", middle], useDatabase: false)
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains(" 2000 items, "))
        #expect(first.output.hasSuffix("docket check passes on the copy.\n"))
        let second = sandbox.run(["migrate", "--from", middle, "--to", last], useDatabase: false)
        #expect(second.status == 0, "\(second.errors)")
        Self.expectSame(before, Self.snapshot(sandbox, at: middle), "first copy")
        Self.expectSame(before, Self.snapshot(sandbox, at: last), "second copy")

        // The copy is a working project: ids go on from where the source stopped.
        let source = try StoreFactory.open(sandbox.databasePath, access: .read) as! SQLStore
        let lastReviewer = try source.db.int("SELECT max(id) FROM reviewers"), lastEvent = try source.db.int("SELECT max(id) FROM events")
        let added = sandbox.run(["reviewers", "add", "zed", "--db", middle], useDatabase: false)
        #expect(added.status == 0, "\(added.errors)")
        let store = try StoreFactory.open(middle, access: .read) as! SQLStore
        #expect(try store.db.int("SELECT id FROM reviewers WHERE name = 'zed'") == lastReviewer + 1)
        #expect(try store.db.int("SELECT max(id) FROM events") == lastEvent + 1)
        #expect(try store.check() == [])
    }

    @Test(.enabled(if: TestPostgres.isAvailable, "needs the run's PostgreSQL cluster (scripts/test)"))
    func backupOfAPostgreSQLProjectIsAnSQLiteFileThatReadsTheSame() throws {
        let sandbox = try Self.reviewedProject(on: .postgres)
        let file = sandbox.path("backup.db")
        let run = sandbox.run(["backup", file])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "Backed up \(sandbox.databasePath) to \(file).\n")
        Self.expectSame(Self.snapshot(sandbox, at: sandbox.databasePath), Self.snapshot(sandbox, at: file), "backup")
        // Only the backup is left in the directory: no temporary, journal or log.
        let names = try FileManager.default.contentsOfDirectory(atPath: sandbox.directory).filter { $0.hasPrefix("backup") || $0.hasPrefix(".backup") }
        #expect(names == ["backup.db"])
        #expect(sandbox.run(["backup", file]).status != 0, "an existing file is never replaced")
    }

    @Test func copyRefusesDestinationsThatHoldSomething() throws {
        let sandbox = try Self.reviewedProject(on: .sqlite)
        sandbox.write("taken.db", "")
        sandbox.run(["init", "--labels", "a,b", "--db", sandbox.path("other.db")], useDatabase: false)
        let onto = sandbox.run(["migrate", "--from", sandbox.databasePath, "--to", sandbox.path("other.db")], useDatabase: false)
        #expect(onto.status != 0)
        #expect(onto.errors == "docket: \(sandbox.path("other.db")) already exists; name a new file for the copy. Nothing was written.\n")
        let itself = sandbox.run(["migrate", "--to", sandbox.databasePath])
        #expect(itself.status != 0)
        #expect(itself.errors.contains("it is the project being copied"))
        let missing = sandbox.run(["migrate", "--from", sandbox.path("nothing.db"), "--to", sandbox.path("new.db")], useDatabase: false)
        #expect(missing.status != 0)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("new.db")))
        let half = sandbox.run(["migrate", "--from", sandbox.databasePath])
        #expect(half.status == 64)
        #expect(half.errors.contains("say where with --to"))
        if TestPostgres.isAvailable {
            let database = try TestPostgres.newDatabase()
            try TestPostgres.psql(database, "CREATE TABLE someone_elses (x int)")
            let foreign = sandbox.run(["migrate", "--to", database])
            #expect(foreign.status != 0)
            #expect(foreign.errors.contains("already holds tables that are not Docket's (someone_elses)"))
            #expect(try TestPostgres.psql(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "1", "nothing was created")
        }
    }

    /// The copy carries every column of every table: a new column in a migration must be added to it.
    @Test func theCopyNamesEveryColumnOfTheSchema() throws {
        let store = try SQLiteStore.create(path: ":memory:", settings: ProjectSettings(labels: ["a", "b"]), at: t0)
        var tables: [String: [String]] = [:]
        let names = try store.connection.statement("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        var found: [String] = []
        while try names.step() { found.append(names.text(0)) }
        for table in found {
            let columns = try store.connection.statement("PRAGMA table_info(\(table))")
            var list: [String] = []
            while try columns.step() { list.append(columns.text(1)) }
            tables[table] = list
        }
        #expect(tables == ProjectCopy.columnsByTable)
    }
}

private let t0 = Instant(milliseconds: 1_795_000_000_000)
