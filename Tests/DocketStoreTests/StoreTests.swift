import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// SQLite backend tests run on an in-memory database and on a file, since WAL and locking bugs
/// only show on disk. (The store contract runs on `StoreKind`, which names every backend.)
enum Storage: String, CaseIterable, CustomStringConvertible {
    case memory, disk
    var description: String { rawValue }

    func path(in sandbox: Sandbox) -> String { self == .memory ? ":memory:" : sandbox.databasePath }

    /// The same mode as a backend of the store contract.
    var kind: StoreKind { self == .memory ? .memory : .disk }
}

let t0 = Instant(milliseconds: 1_795_000_000_000)

func item(_ id: String, risk: Double, uncertainty: Double = 0, diversity: Double = 0, embedding: [Float]? = nil) -> ItemDraft {
    ItemDraft(id: id, prompt: "p \(id)", response: "r \(id)", risk: risk, uncertainty: uncertainty, diversity: embedding == nil ? diversity : nil, embedding: embedding)
}

func claimedID(_ outcome: ClaimOutcome) -> String? {
    if case .claimed(let assignment) = outcome { return assignment.itemID }
    return nil
}

@Suite struct ProjectStoreTests {
    @Test(arguments: Storage.allCases)
    func createsAProjectAndRefusesASecond(storage: Storage) throws {
        let sandbox = Sandbox()
        let settings = ProjectSettings(labels: ["a", "b"], level: .ordinal, overlap: 3, budget: 10, explore: 0.2, leaseSeconds: 60, seed: 5)
        let store = try SQLiteStore.create(path: storage.path(in: sandbox), settings: settings, at: t0)
        #expect(try store.projectSettings() == settings)
        if storage == .disk {
            #expect(throws: StoreError.projectExists(path: sandbox.databasePath)) {
                try SQLiteStore.create(path: sandbox.databasePath, settings: ProjectSettings(), at: t0)
            }
            #expect(try SQLiteStore.open(path: sandbox.databasePath).projectSettings() == settings)
        }
    }

    @Test func openingAMissingFileIsAClearError() {
        let sandbox = Sandbox()
        #expect(throws: StoreError.noDatabase(path: sandbox.path("none.db"))) { try SQLiteStore.open(path: sandbox.path("none.db")) }
        #expect(StoreError.noDatabase(path: "x.db").description == "No Docket database at x.db. Create a project with `docket init`, or point to one with --db or DOCKET_DB.")
    }

    @Test func databaseIsInWALModeWithForeignKeysAndTheLatestSchema() throws {
        let sandbox = Sandbox()
        let store = try SQLiteStore.create(path: sandbox.databasePath, settings: ProjectSettings(), at: t0)
        #expect(try store.db.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try store.db.int("PRAGMA foreign_keys") == 1)
        #expect(try store.db.int("PRAGMA user_version") == Int64(SchemaInfo.latestVersion))
    }

    @Test func embeddedSchemaMatchesTheSchemaFolder() throws {
        let schemaDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Schema").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: schemaDirectory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == SchemaInfo.embedded.map(\.name), "run scripts/embed-schema")
        for (name, sql) in SchemaInfo.embedded {
            var text = try String(contentsOf: schemaDirectory.appendingPathComponent(name), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }
            #expect(text == sql, "\(name) differs from the embedded copy: run scripts/embed-schema")
        }
        let postgresDirectory = schemaDirectory.appendingPathComponent("postgres")
        let postgresFiles = try FileManager.default.contentsOfDirectory(atPath: postgresDirectory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(postgresFiles == EmbeddedSchema.postgresMigrations.map(\.name), "run scripts/embed-schema")
        for migration in EmbeddedSchema.postgresMigrations {
            var text = try String(contentsOf: postgresDirectory.appendingPathComponent(migration.name), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }
            #expect(text == migration.sql, "postgres/\(migration.name) differs from the embedded copy: run scripts/embed-schema")
        }
    }
}

/// What SQLite stores of a claim; what every backend owes is in StoreContractTests.
@Suite struct ClaimStorageTests {
    @Test func embeddingDiversitySpreadsSelectionsAndPersistsBounds() throws {
        let sandbox = Sandbox()
        let weights = UtilityWeights(risk: 0.5, uncertainty: 0, diversity: 0.5)
        let items = [
            item("a1", risk: 0.9, embedding: [1, 0]), item("a2", risk: 0.89, embedding: [0.9999, 0.0141]),
            item("b1", risk: 0.5, embedding: [0, 1]),
        ]
        let store = try Fixtures.store(path: sandbox.databasePath, settings: ProjectSettings(overlap: 1, weights: weights, explore: 0), items: items)
        _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
        #expect(try store.queuePreview(limit: 3).entries.map(\.id) == ["a1", "b1", "a2"])
        var order: [String] = []
        for _ in 0..<3 {
            guard case .claimed(let a) = try store.claimNext(for: "ana", at: t0) else { break }
            order.append(a.itemID)
            try store.finish(assignment: a.id, at: t0)
        }
        #expect(order == ["a1", "b1", "a2"])
        let diversity = try store.db.scalar("SELECT diversity FROM items WHERE id = 'b1'")
        guard case .real(let value)? = diversity else { Issue.record("no diversity"); return }
        #expect(abs(value - 2.0.squareRoot() / 2) < 1e-6)
    }
}

@Suite struct MaintenanceTests {
    @Test func checkFindsBrokenInvariants() throws {
        let store = try Fixtures.store(path: ":memory:", items: [item("a", risk: 0.5)])
        _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
        _ = try store.claimNext(for: "ana", at: t0)
        #expect(try store.check() == [])
        try store.db.execute("PRAGMA ignore_check_constraints = 1")
        try store.db.execute("UPDATE items SET taken = 2, overlap = 1")
        try store.db.execute("UPDATE project SET served = 3, item_count = 4")
        let rules = try store.check().map(\.rule)
        #expect(rules == ["taken-counter", "served-counter", "item-counter"])
        try store.db.execute("DROP INDEX assignments_one_per_reviewer")
        try store.db.execute("INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at) VALUES (1, 1, 'open', 0, 0)")
        #expect(try store.check().map(\.rule).prefix(2) == ["overlap-exceeded", "reviewer-twice"])
    }

    @Test func backupIsAConsistentCopyWhileAWriterWorks() throws {
        let sandbox = Sandbox()
        let store = try Fixtures.store(path: sandbox.databasePath, items: (0..<200).map { item("i\($0)", risk: 0.5) })
        _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
        // Another connection holds an open write transaction while the backup runs.
        let other = try SQLiteStore.open(path: sandbox.databasePath)
        try other.db.execute("BEGIN IMMEDIATE")
        try other.db.execute("UPDATE reviewers SET role = 'lead'")
        try store.backup(to: sandbox.path("copy.db"))
        try other.db.execute("COMMIT")
        let copy = try SQLiteStore.open(path: sandbox.path("copy.db"))
        #expect(try copy.status(at: t0).items == 200)
        #expect(try copy.reviewer(named: "ana").role == .reviewer)
        #expect(try copy.check() == [])
        #expect(throws: StoreError.backupTargetExists(path: sandbox.path("copy.db"))) { try store.backup(to: sandbox.path("copy.db")) }
    }
}
