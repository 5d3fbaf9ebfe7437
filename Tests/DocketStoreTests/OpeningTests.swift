import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// The error `body` throws, if it is a StoreError.
private func storeError(_ body: () throws -> Void) -> StoreError? {
    do { try body() } catch let error as StoreError { return error } catch { return nil }
    return nil
}

private func isNotDocket(_ error: StoreError?) -> Bool {
    if case .notDocket? = error { return true }
    return false
}

/// Every entry of a directory with the SHA-256 of its bytes (a directory entry as "dir"), so a
/// changed byte or a new `-wal`, `-shm` or `.lock` file shows.
func directorySnapshot(_ directory: String) -> [String: String] {
    var result: [String: String] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
        let path = directory + "/" + name
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { result[name] = "dir"; continue }
        var hash = SHA256()
        hash.update(Array(FileManager.default.contents(atPath: path) ?? Data()))
        result[name] = hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
    return result
}

/// Another application's SQLite file, in rollback-journal or WAL mode, closed cleanly.
func foreignDatabase(at path: String, wal: Bool) throws {
    let connection = try Connection(path: path, flags: [.readWrite, .create])
    if wal { _ = try connection.scalar("PRAGMA journal_mode = WAL") }
    try connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')")
}

/// A Docket database at the schema version before this binary's, holding a project.
func olderDocketDatabase(at path: String) throws {
    let older = SchemaInfo.latestVersion - 1
    let connection = try Connection(path: path, flags: [.readWrite, .create])
    _ = try connection.scalar("PRAGMA journal_mode = WAL")
    for migration in EmbeddedSchema.migrations {
        try connection.execute(migration.sql)
        try connection.execute("PRAGMA user_version = \(migration.version)")
    }
    let store = try SQLiteStore(connection: connection, path: path, setup: SQLiteStore.Setup(wal: true, migrate: false, readOnly: false), lockDescriptor: -1)
    try store.write { () throws in try store.insertProject(ProjectSettings(labels: ["a", "b"]), at: t0) }
    // Back to the version before the latest: what the latest migration added goes.
    #expect(older == OlderSchema.version, "update OlderSchema when a migration is added")
    try connection.execute(OlderSchema.undoLatest)
}

@Suite struct DatabaseOpeningTests {
    @Test(arguments: [false, true])
    func anotherApplicationsDatabaseIsRefusedAndLeftUnchanged(wal: Bool) throws {
        let sandbox = Sandbox()
        let path = sandbox.path("other.db")
        try foreignDatabase(at: path, wal: wal)
        let before = directorySnapshot(sandbox.directory)
        #expect(before.keys.sorted() == ["other.db"])
        #expect(isNotDocket(storeError { _ = try SQLiteStore.open(path: path, access: .read) }))
        #expect(isNotDocket(storeError { _ = try SQLiteStore.open(path: path, access: .write) }))
        #expect(isNotDocket(storeError { _ = try SQLiteStore.migrate(path: path) }))
        #expect(isNotDocket(storeError { try SQLiteStore.createProject(path: path, settings: ProjectSettings(labels: ["a"]), at: t0) }))
        #expect(directorySnapshot(sandbox.directory) == before)
        let message = storeError { _ = try SQLiteStore.open(path: path, access: .read) }?.description ?? ""
        #expect(message == "\(path) is not a Docket database: it is an SQLite database of another application (1 table: notes). Docket left it unchanged; point --db at a Docket database, or give `docket init` a new path.")
    }

    @Test func aFileOfAnotherApplicationIdIsRefusedEvenWithDocketsTables() throws {
        let sandbox = Sandbox()
        _ = try SQLiteStore.create(path: sandbox.databasePath, settings: ProjectSettings(labels: ["a"]), at: t0)
        let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
        try connection.execute("PRAGMA application_id = 42")
        #expect(isNotDocket(storeError { _ = try SQLiteStore.open(path: sandbox.databasePath, access: .read) }))
    }

    @Test func filesThatAreNotSQLiteAreRefused() throws {
        let sandbox = Sandbox()
        let text = sandbox.write("notes.db", "just some text, long enough to have a header of one hundred bytes or so, but not SQLite's magic string.\n")
        #expect(storeError { _ = try SQLiteStore.open(path: text, access: .read) } == .notDocket(path: text, reason: "it is not an SQLite database"))
        #expect(storeError { try SQLiteStore.createProject(path: text, settings: ProjectSettings(), at: t0) } == .notDocket(path: text, reason: "it is not an SQLite database"))
        #expect(storeError { _ = try SQLiteStore.open(path: sandbox.directory, access: .read) } == .notDocket(path: sandbox.directory, reason: "it is a directory"))
        #expect(sandbox.read("notes.db")?.hasPrefix("just some text") == true)
        #expect(directorySnapshot(sandbox.directory).keys.sorted() == ["notes.db"])
    }

    @Test func anEmptyFileHoldsNoProjectStaysEmptyAndInitFillsIt() throws {
        let sandbox = Sandbox()
        let path = sandbox.write("empty.db", "")
        for access in [DatabaseAccess.read, .write] {
            #expect(storeError { _ = try SQLiteStore.open(path: path, access: access) } == .noProject(path: path))
        }
        #expect(storeError { _ = try SQLiteStore.migrate(path: path) } == .noProject(path: path))
        #expect(directorySnapshot(sandbox.directory).keys.sorted() == ["empty.db"])
        #expect(sandbox.read("empty.db") == "")
        try SQLiteStore.createProject(path: path, settings: ProjectSettings(labels: ["a", "b"]), at: t0)
        #expect(try SQLiteStore.open(path: path, access: .read).projectSettings().labels == ["a", "b"])
        #expect(storeError { try SQLiteStore.createProject(path: path, settings: ProjectSettings(), at: t0) } == .projectExists(path: path))
    }

    @Test func anSQLiteFileWithNothingInItCountsAsEmpty() throws {
        let sandbox = Sandbox()
        let path = sandbox.path("blank.db")
        do {
            let connection = try Connection(path: path, flags: [.readWrite, .create])
            try connection.execute("CREATE TABLE t (x); DROP TABLE t")
        }
        #expect(storeError { _ = try SQLiteStore.open(path: path, access: .read) } == .noProject(path: path))
        try SQLiteStore.createProject(path: path, settings: ProjectSettings(labels: ["x"]), at: t0)
        #expect(try SQLiteStore.open(path: path).projectSettings().labels == ["x"])
    }

    @Test func aNewProjectIsMarkedWithDocketsApplicationIdAndLeavesNoTemporary() throws {
        let sandbox = Sandbox()
        try SQLiteStore.createProject(path: sandbox.databasePath, settings: ProjectSettings(labels: ["a"]), at: t0)
        #expect(directorySnapshot(sandbox.directory).keys.sorted() == ["docket.db"])
        let store = try SQLiteStore.open(path: sandbox.databasePath, access: .read)
        #expect(try store.db.int("PRAGMA application_id") == Int64(SQLiteStore.applicationID))
        #expect(try store.db.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try store.db.int("PRAGMA user_version") == Int64(SchemaInfo.latestVersion))
        #expect(try store.check() == [])
    }

    @Test func anExistingProjectIsRefusedByInitWithoutTouchingIt() throws {
        let sandbox = Sandbox()
        try SQLiteStore.createProject(path: sandbox.databasePath, settings: ProjectSettings(labels: ["a"]), at: t0)
        let before = directorySnapshot(sandbox.directory)
        #expect(storeError { try SQLiteStore.createProject(path: sandbox.databasePath, settings: ProjectSettings(), at: t0) } == .projectExists(path: sandbox.databasePath))
        #expect(directorySnapshot(sandbox.directory) == before)
    }

    @Test func aReadOnlyStoreNeverWrites() throws {
        let sandbox = Sandbox()
        do {
            let store = try Fixtures.store(
                path: sandbox.databasePath, settings: ProjectSettings(labels: ["a", "b"], overlap: 1, explore: 0, leaseSeconds: 60),
                items: [item("i1", risk: 0.9), item("i2", risk: 0.5)])
            _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
            _ = try store.addReviewer(name: "bob", role: .reviewer, at: t0)
            guard case .claimed(let first) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
            _ = try store.submit(FeedbackDraft(kind: .label, label: "a"), assignment: first.id, secondsSpent: 1, at: t0)
            _ = try store.claimNext(for: "bob", at: t0)  // a lease that will lapse
        }
        let mainFile = directorySnapshot(sandbox.directory)["docket.db"]
        let later = t0.adding(seconds: 600)
        let store = try SQLiteStore.open(path: sandbox.databasePath, access: .read)
        #expect(store.isReadOnly)
        let events = try store.db.int("SELECT count(*) FROM events")
        let status = try store.status(at: later)
        #expect(status.openLeases == 0)
        #expect(status.itemsComplete == 1)
        #expect(try store.status(at: t0).openLeases == 1)
        #expect(try store.db.int("SELECT count(*) FROM events") == events, "status recorded nothing")
        #expect(storeError { _ = try store.addReviewer(name: "cy", role: .reviewer, at: later) } == .readOnly(path: sandbox.databasePath))
        #expect(throws: SQLiteError.self) { try store.db.execute("INSERT INTO reviewers (name, role, created_at) VALUES ('cy', 'reviewer', 0)") }
        #expect(directorySnapshot(sandbox.directory)["docket.db"] == mainFile)
        #expect(directorySnapshot(sandbox.directory)["docket.db.lock"] != nil, "left by the writer above, not created by the reader")
        // Recording the expiry changes no count: status already treated the lease as ended.
        let writer = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try writer.expireLeases(at: later) == 1)
        #expect(try writer.status(at: later) == status)
    }

    @Test func anOlderSchemaIsReadOnlyUntilMigrated() throws {
        let sandbox = Sandbox()
        let path = sandbox.databasePath
        try olderDocketDatabase(at: path)
        let before = directorySnapshot(sandbox.directory)
        let older = SchemaInfo.latestVersion - 1
        #expect(storeError { _ = try SQLiteStore.open(path: path, access: .read) } == .olderSchema(path: path, found: older, current: SchemaInfo.latestVersion))
        #expect(directorySnapshot(sandbox.directory) == before)
        // backup reads whatever version it finds
        #expect(try SQLiteStore.open(path: path, access: .read, acceptingOlderSchema: true).projectSettings().labels == ["a", "b"])
        #expect(try SQLiteStore.migrate(path: path) == (older, SchemaInfo.latestVersion))
        #expect(try SQLiteStore.migrate(path: path) == (SchemaInfo.latestVersion, SchemaInfo.latestVersion))
        let store = try SQLiteStore.open(path: path, access: .read)
        #expect(try store.db.int("PRAGMA application_id") == Int64(SQLiteStore.applicationID))
        #expect(try store.check() == [])
    }

    @Test func aNewerSchemaIsRefusedByEveryOpening() throws {
        let sandbox = Sandbox()
        try SQLiteStore.createProject(path: sandbox.databasePath, settings: ProjectSettings(labels: ["a"]), at: t0)
        do {
            let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
            try connection.execute("PRAGMA user_version = \(SchemaInfo.latestVersion + 1)")
        }
        let before = directorySnapshot(sandbox.directory)
        let newer = StoreError.newerSchema(found: SchemaInfo.latestVersion + 1, supported: SchemaInfo.latestVersion)
        #expect(storeError { _ = try SQLiteStore.open(path: sandbox.databasePath, access: .read) } == newer)
        #expect(storeError { _ = try SQLiteStore.open(path: sandbox.databasePath, access: .write) } == newer)
        #expect(storeError { _ = try SQLiteStore.migrate(path: sandbox.databasePath) } == newer)
        #expect(directorySnapshot(sandbox.directory) == before)
    }

    @Test func immutableURIsEncodeEveryUnusualByte() {
        #expect(SQLiteStore.immutableURI("/tmp/a b?c#d%e.db") == "file:///tmp/a%20b%3Fc%23d%25e.db?immutable=1")
        #expect(SQLiteStore.split("docket.db") == (".", "docket.db"))
        #expect(SQLiteStore.split("/docket.db") == ("/", "docket.db"))
        #expect(SQLiteStore.split("a/b/docket.db") == ("a/b", "docket.db"))
    }
}
