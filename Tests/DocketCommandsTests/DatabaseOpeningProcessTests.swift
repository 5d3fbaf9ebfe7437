import DocketCommandTestSupport
import DocketCore
import DocketStore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Every entry of a directory with the SHA-256 of its bytes, so a changed byte or a new `-wal`,
/// `-shm`, `.lock` or temporary file shows.
private func snapshot(_ directory: String) -> [String: String] {
    var result: [String: String] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
        var hash = SHA256()
        hash.update(Array(FileManager.default.contents(atPath: directory + "/" + name) ?? Data()))
        result[name] = hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
    return result
}

/// Commands that only read, each with the arguments it needs (`--db` is added).
private let readCommands: [[String]] = [
    ["status"], ["status", "--json"], ["queue"], ["check"], ["show", "i1", "--as", "ana"], ["log"], ["export", "--format", "labels"],
    ["export", "--format", "events"], ["agreement"], ["aggregate"], ["calibrate"], ["drift"], ["report"], ["escalations"],
    ["reviewers", "list"], ["config", "show"],
]

/// Commands that write, each refused on a file that is not a Docket project.
private func writeCommands(_ sandbox: Sandbox) -> [[String]] {
    [
        ["init", "--labels", "a,b"], ["import", "items", sandbox.path("items.jsonl")], ["reviewers", "add", "bob"],
        ["config", "apply", sandbox.path("docket.yaml")], ["round", "start", "r1"], ["migrate"], ["aggregate", "--save"],
        ["backup", sandbox.path("copy.db")], ["review", "--as", "ana"], ["triage", "--as", "ana"],
    ]
}

private func prepareInputs(_ sandbox: Sandbox) {
    sandbox.write("items.jsonl", #"{"id":"i1","prompt":"p","response":"r"}"# + "\n")
    sandbox.write("docket.yaml", "labels: [a, b]\n")
}

@Suite(.serialized) struct DatabaseOpeningProcessTests {
    /// Another application's SQLite file (rollback journal or WAL) goes through every read command
    /// and every write command, `init` included, byte-for-byte unchanged, with no file added beside it.
    @Test(arguments: [false, true])
    func anotherApplicationsFileIsLeftExactlyAsItWas(wal: Bool) throws {
        let sandbox = Sandbox()
        prepareInputs(sandbox)
        let directory = sandbox.path("foreign")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let db = directory + "/app.db"
        do {
            let connection = try Connection(path: db, flags: [.readWrite, .create])
            if wal { _ = try connection.scalar("PRAGMA journal_mode = WAL") }
            try connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')")
        }
        let before = snapshot(directory)
        #expect(before.keys.sorted() == ["app.db"])
        var tried = 0
        for command in readCommands + writeCommands(sandbox) {
            let run = try runDocket(command + ["--db", db])
            tried += 1
            #expect(run.status == 66, "\(command): \(run.status) \(run.errors)")
            #expect(run.errors.contains("is not a Docket database"), "\(command): \(run.errors)")
            #expect(snapshot(directory) == before, "\(command) changed the foreign file or added one beside it")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("copy.db")))
        print("foreign \(wal ? "WAL" : "rollback-journal") file unchanged after \(tried) commands")
    }

    /// A file of zero bytes holds no project: every command but `init` says so and leaves it empty.
    @Test func anEmptyFileStaysEmpty() throws {
        let sandbox = Sandbox()
        prepareInputs(sandbox)
        let directory = sandbox.path("empty")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let db = directory + "/docket.db"
        _ = FileManager.default.createFile(atPath: db, contents: Data())
        let before = snapshot(directory)
        for command in readCommands + writeCommands(sandbox) where command.first != "init" {
            let run = try runDocket(command + ["--db", db])
            #expect(run.status == 66, "\(command): \(run.status) \(run.errors)")
            #expect(run.errors.contains("holds no project"), "\(command): \(run.errors)")
            #expect(snapshot(directory) == before, "\(command) changed the empty file")
        }
        let created = try runDocket(["init", "--labels", "a,b", "--db", db])
        #expect(created.status == 0, "\(created.errors)")
        #expect(try runDocket(["check", "--db", db]).status == 0)
    }

    /// Read commands open a Docket database read-only: the file's bytes do not change, no event is
    /// recorded, and whatever WAL file SQLite keeps beside it stays empty.
    @Test func readCommandsDoNotChangeADocketDatabase() throws {
        let sandbox = Sandbox()
        prepareInputs(sandbox)
        let db = sandbox.databasePath
        #expect(try runDocket(["init", "--labels", "a,b", "--seed", "1", "--db", db]).status == 0)
        #expect(try runDocket(["import", "items", sandbox.path("items.jsonl"), "--db", db]).status == 0)
        #expect(try runDocket(["reviewers", "add", "ana", "--db", db]).status == 0)
        let before = snapshot(sandbox.directory)["docket.db"]
        let events = try runDocket(["log", "--json", "--db", db]).output
        for command in readCommands {
            let run = try runDocket(command + ["--db", db])
            #expect(run.status == 0, "\(command): \(run.errors)")
            #expect(snapshot(sandbox.directory)["docket.db"] == before, "\(command) changed the database file")
            let walSize = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
            #expect(walSize == 0, "\(command) wrote to the WAL")
        }
        #expect(try runDocket(["log", "--json", "--db", db]).output == events)
    }

    /// A database older than the binary: read commands say so and change nothing; `docket migrate` upgrades it.
    @Test func readCommandsOnAnOlderSchemaAskForMigrate() throws {
        let sandbox = Sandbox()
        let db = sandbox.databasePath
        let older = SchemaInfo.latestVersion - 1
        do {
            let connection = try Connection(path: db, flags: [.readWrite, .create])
            _ = try connection.scalar("PRAGMA journal_mode = WAL")
            for migration in EmbeddedSchema.migrations {
                try connection.execute(migration.sql)
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
            let store = try SQLiteStore(connection: connection, path: db, setup: SQLiteStore.Setup(wal: true, migrate: false, readOnly: false), lockDescriptor: -1)
            try store.write { () throws in try store.insertProject(ProjectSettings(labels: ["a", "b"]), at: Instant(milliseconds: 0)) }
            // Back to the version before the latest: what the latest migration added goes.
            #expect(older == OlderSchema.version, "update OlderSchema when a migration is added")
            try connection.execute(OlderSchema.undoLatest)
        }
        let before = snapshot(sandbox.directory)
        for command in readCommands {
            let run = try runDocket(command + ["--db", db])
            #expect(run.status == 1, "\(command): \(run.status) \(run.errors)")
            #expect(run.errors.contains("has schema version \(older), older than this docket's \(SchemaInfo.latestVersion)"), "\(command): \(run.errors)")
            #expect(run.errors.contains("`docket migrate`"))
            #expect(snapshot(sandbox.directory) == before, "\(command) changed an older database")
        }
        let migrated = try runDocket(["migrate", "--db", db])
        #expect(migrated.status == 0, "\(migrated.errors)")
        #expect(migrated.output == "Migrated \(db) from schema version \(older) to \(SchemaInfo.latestVersion).\n")
        #expect(try runDocket(["migrate", "--db", db]).output.contains("already at schema version \(SchemaInfo.latestVersion)"))
        let status = try runDocket(["status", "--db", db])
        #expect(status.status == 0, "\(status.errors)")
        #expect(try runDocket(["check", "--db", db]).status == 0)
    }

    /// Read commands work in a directory nobody may write to: SQLite gets no `-wal`/`-shm` there
    /// and docket creates no lock file. Root ignores permissions, so as root the commands run as
    /// `nobody` through setpriv.
    @Test func readCommandsWorkInAReadOnlyDirectory() throws {
        let sandbox = Sandbox()
        prepareInputs(sandbox)
        let directory = sandbox.path("ro")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let db = directory + "/docket.db"
        #expect(try runDocket(["init", "--labels", "a,b", "--seed", "1", "--db", db]).status == 0)
        #expect(try runDocket(["import", "items", sandbox.path("items.jsonl"), "--db", db]).status == 0)
        #expect(try runDocket(["reviewers", "add", "ana", "--db", db]).status == 0)
        // The account the read commands run as below (nobody, when root runs the tests) is an admin,
        // so every read command is theirs to run.
        let reader = geteuid() == 0 ? "nobody" : ProcessIdentity.caller().login
        if reader != ProcessIdentity.caller().login {
            #expect(try runDocket(["reviewers", "add", "keeper", "--role", "admin", "--user", reader, "--db", db]).status == 0)
        }
        unlink(db + ".lock")  // left by the writers above; a read-only directory would not have it either

        var prefix: [String] = []
        var binary = Fixtures.docketBinary
        if geteuid() == 0 {
            let setpriv = "/usr/bin/setpriv"
            guard FileManager.default.isExecutableFile(atPath: setpriv) else {
                print("skipped readCommandsWorkInAReadOnlyDirectory: running as root, which ignores directory permissions, and \(setpriv) is missing to run as nobody")
                return
            }
            prefix = ["--reuid=65534", "--regid=65534", "--clear-groups", Fixtures.docketBinary]
            binary = setpriv
            chmod(sandbox.directory, 0o755)
            let probe = try runDocket(prefix + ["--version"], binary: binary)
            guard probe.status == 0 else {
                print("skipped readCommandsWorkInAReadOnlyDirectory: nobody cannot run \(Fixtures.docketBinary) (\(probe.errors))")
                return
            }
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/test"),
               try runDocket(Array(prefix.dropLast()) + ["/usr/bin/test", "-r", db], binary: binary).status != 0 {
                print("skipped readCommandsWorkInAReadOnlyDirectory: nobody cannot reach \(db) (is the temporary directory private?)")
                return
            }
        }
        chmod(directory, 0o555)
        defer { chmod(directory, 0o755) }
        let before = snapshot(directory)
        #expect(before.keys.sorted() == ["docket.db"])
        for command in readCommands {
            let run = try runDocket(prefix + command + ["--db", db], binary: binary)
            #expect(run.status == 0, "\(command): \(run.errors)")
            #expect(snapshot(directory) == before, "\(command) changed the read-only directory")
        }
        let status = try runDocket(prefix + ["status", "--json", "--db", db], binary: binary)
        #expect(status.output.contains(#""items":1"#))
        let refused = try runDocket(prefix + ["reviewers", "add", "bob", "--db", db], binary: binary)
        #expect(refused.status != 0)
    }

    /// Two `init`s started together on one new path: exactly one wins, the other fails with a
    /// sentence, the winner's project passes `docket check`, and no temporary file is left.
    @Test func twoInitsAtOnceOnANewPathMakeExactlyOneProject() throws {
        let sandbox = Sandbox()
        let rounds = 20
        for round in 0..<rounds {
            let directory = sandbox.path("round-\(round)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let db = directory + "/docket.db"
            let running = try (0..<2).map { seed in
                try startDocket(["init", "--db", db, "--labels", "a,b", "--seed", String(seed)])
            }
            let results = running.map { $0.finish() }
            let winners = results.filter { $0.status == 0 }
            #expect(winners.count == 1, "round \(round): \(results.map { "\($0.status) \($0.errors)" })")
            for loser in results where loser.status != 0 {
                #expect(loser.status == 1, "round \(round): \(loser.errors)")
                #expect(loser.errors == "docket: A project already exists in \(db); nothing was changed. Use another --db path for a new project.\n", "round \(round)")
            }
            let check = try runDocket(["check", "--db", db])
            #expect(check.status == 0, "round \(round): \(check.errors)")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !["docket.db", "docket.db-wal", "docket.db-shm", "docket.db.lock"].contains($0) }
            #expect(left.isEmpty, "round \(round) left \(left)")
        }
        print("\(rounds) rounds of two concurrent inits: one project each")
    }
}
