import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Storage tests run on an in-memory database and on a file, since WAL and locking bugs only show on disk.
enum Storage: String, CaseIterable, CustomStringConvertible {
    case memory, disk
    var description: String { rawValue }

    func path(in sandbox: Sandbox) -> String { self == .memory ? ":memory:" : sandbox.databasePath }
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
    }

    @Test func reviewersAreUniqueAndSuggested() throws {
        let store = try SQLiteStore.create(path: ":memory:", settings: ProjectSettings(), at: t0)
        _ = try store.addReviewer(name: "ana", role: .lead, at: t0)
        #expect(throws: StoreError.duplicateReviewer(name: "ana")) { try store.addReviewer(name: "ana", role: .reviewer, at: t0) }
        #expect(throws: StoreError.unknownReviewer(name: "anna", suggestion: "ana")) { try store.reviewer(named: "anna") }
        #expect(try store.reviewers().map(\.name) == ["ana"])
        #expect(try store.reviewer(named: "ana").role == .lead)
    }

    @Test func eventsAndAssignmentsAreAppendOnly() throws {
        let store = try Fixtures.store(path: ":memory:", items: [item("a", risk: 0.5)])
        _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
        _ = try store.claimNext(for: "ana", at: t0)
        #expect(try store.db.int("SELECT count(*) FROM events") >= 3)
        #expect(throws: SQLiteError.self) { try store.db.execute("UPDATE events SET kind = 'x'") }
        #expect(throws: SQLiteError.self) { try store.db.execute("DELETE FROM events") }
        #expect(throws: SQLiteError.self) { try store.db.execute("DELETE FROM assignments") }
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'x'") == 0)
    }
}

@Suite struct ImportStoreTests {
    @Test(arguments: Storage.allCases)
    func reimportIsANoOpAndConflictsNeedUpdate(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try Fixtures.store(path: storage.path(in: sandbox), items: [item("a", risk: 0.5), item("b", risk: 0.1)])
        var outcomes: [Result<ItemAddOutcome, FieldProblem>] = []
        let summary = try store.importItems(update: false, source: "again", at: t0) { sink in
            outcomes.append(try sink.add(item("a", risk: 0.5)))
            outcomes.append(try sink.add(item("b", risk: 0.2)))
            outcomes.append(try sink.add(item("c", risk: 0.3)))
            return .commit(rejected: 1)
        }
        #expect(outcomes == [
            .success(.unchanged),
            .failure(FieldProblem(field: "risk", problem: "item 'b' already exists with different risk (use --update to replace it)")),
            .success(.inserted),
        ])
        #expect(summary.inserted == 1 && summary.unchanged == 1 && summary.committed)
        let updated = try store.importItems(update: true, source: "update", at: t0) { sink in
            let outcome = try sink.add(item("b", risk: 0.2))
            #expect(outcome == .success(.updated))
            return .commit(rejected: 0)
        }
        #expect(updated.updated == 1)
        #expect(try store.status(at: t0).items == 3)
        #expect(try store.check() == [])
    }

    @Test func rollbackLeavesNothing() throws {
        let store = try Fixtures.store(path: ":memory:", items: [])
        let summary = try store.importItems(update: false, source: "bad", at: t0) { sink in
            _ = try sink.add(item("a", risk: 0.5))
            return .rollback
        }
        #expect(!summary.committed)
        #expect(try store.status(at: t0).items == 0)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'import' AND detail ->> 'source' = 'bad'") == 0)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'import' AND detail ->> 'source' = 'fixture'") == 1)
    }

    @Test func embeddingsMustShareOneDimension() throws {
        let store = try Fixtures.store(path: ":memory:", items: [item("a", risk: 0.5, embedding: [1, 0])])
        _ = try store.importItems(update: false, source: "x", at: t0) { sink in
            let outcome = try sink.add(item("b", risk: 0.5, embedding: [1, 0, 0]))
            #expect(outcome == .failure(FieldProblem(field: "embedding", problem: "has 3 numbers; this project's embeddings have 2")))
            return .rollback
        }
    }
}

@Suite struct ClaimTests {
    func store(_ storage: Storage, _ sandbox: Sandbox, settings: ProjectSettings = ProjectSettings(overlap: 2, explore: 0), items: [ItemDraft]) throws -> SQLiteStore {
        let store = try Fixtures.store(path: storage.path(in: sandbox), settings: settings, items: items)
        for name in ["ana", "bo", "cy"] { _ = try store.addReviewer(name: name, role: .reviewer, at: t0) }
        return store
    }

    @Test(arguments: Storage.allCases)
    func servesByUtilityWithTiesByIDAndCompletesOverlapFirst(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try store(storage, sandbox, items: [item("b", risk: 0.5), item("a", risk: 0.5), item("c", risk: 0.9), item("d", risk: 0.1)])
        #expect(try store.queuePreview(limit: 10).entries.map(\.id) == ["c", "a", "b", "d"])
        var served: [String] = []
        for name in ["ana", "bo", "ana", "bo", "cy"] {
            let outcome = try store.claimNext(for: name, at: t0)
            guard case .claimed(let assignment) = outcome else { Issue.record("no claim for \(name)"); return }
            served.append("\(name):\(assignment.itemID)")
            try store.finish(assignment: assignment.id, at: t0)
        }
        // bo gets c (in progress, room left) before any new item; cy gets the best item in progress.
        #expect(served == ["ana:c", "bo:c", "ana:a", "bo:a", "cy:b"])
        #expect(try store.check() == [])
    }

    @Test(arguments: Storage.allCases)
    func neverOverCollectsNorRepeatsAnItemForAReviewer(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try store(storage, sandbox, items: (0..<5).map { item("i\($0)", risk: Double($0) / 10) })
        var seen: [String: Set<String>] = [:]
        var perItem: [String: Int] = [:]
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            var progressed = false
            for name in ["ana", "bo", "cy"] {
                guard case .claimed(let a) = try store.claimNext(for: name, at: t0) else { continue }
                progressed = true
                #expect(seen[name, default: []].insert(a.itemID).inserted, "\(name) got \(a.itemID) twice")
                perItem[a.itemID, default: 0] += 1
                try store.finish(assignment: a.id, at: t0)
            }
            if !progressed { break }
        }
        #expect(perItem.count == 5)
        #expect(perItem.values.allSatisfy { $0 == 2 })
        #expect(try store.claimNext(for: "ana", at: t0) == .nothingLeft)
        #expect(try store.status(at: t0).itemsComplete == 5)
    }

    @Test func budgetCapsNewItemsButLetsOverlapFinish() throws {
        let sandbox = Sandbox()
        let store = try store(.memory, sandbox, settings: ProjectSettings(overlap: 2, budget: 1, explore: 0), items: [item("a", risk: 0.9), item("b", risk: 0.1)])
        guard case .claimed(let first) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        try store.finish(assignment: first.id, at: t0)
        #expect(try store.claimNext(for: "ana", at: t0) == .budgetSpent)
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "a")
        #expect(try store.queuePreview(limit: 5).entries.isEmpty)
        #expect(try store.status(at: t0).budgetLeft == 0)
    }

    @Test func expiredLeasesReturnTheItemAndHeldLeasesResume() throws {
        let sandbox = Sandbox()
        let store = try store(.disk, sandbox, settings: ProjectSettings(overlap: 1, explore: 0, leaseSeconds: 60), items: [item("a", risk: 0.9), item("b", risk: 0.1)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(lease.itemID == "a" && !lease.resumed)
        // Claiming again while the lease is open resumes it.
        guard case .claimed(let again) = try store.claimNext(for: "ana", at: t0.adding(seconds: 30)) else { Issue.record("no claim"); return }
        #expect(again.id == lease.id && again.resumed && again.expiresAt == t0.adding(seconds: 90))
        // bo cannot have a (overlap 1, leased): gets b.
        #expect(claimedID(try store.claimNext(for: "bo", at: t0.adding(seconds: 31))) == "b")
        // After expiry, a returns to the pool for cy.
        #expect(claimedID(try store.claimNext(for: "cy", at: t0.adding(seconds: 91))) == "a")
        #expect(throws: StoreError.assignmentNotOpen(id: lease.id, state: "expired")) { try store.finish(assignment: lease.id, at: t0.adding(seconds: 92)) }
        // a's lease (from t0 + 30) and bo's (from t0 + 31) both ended by t0 + 91.
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'lease-expired'") == 2)
        #expect(try store.check() == [])
    }

    @Test func recordsPolicyAndPropensityOfEverySelection() throws {
        let sandbox = Sandbox()
        let items = (0..<50).map { item("i\($0)", risk: Double($0) / 50) }
        let store = try store(.memory, sandbox, settings: ProjectSettings(overlap: 1, explore: 0.3, seed: 7), items: items)
        let preview = try store.queuePreview(limit: 20)
        var claimed: [String] = []
        for _ in 0..<20 {
            guard case .claimed(let a) = try store.claimNext(for: "ana", at: t0) else { break }
            claimed.append(a.itemID)
            try store.finish(assignment: a.id, at: t0)
        }
        // The preview is exactly what claiming then does.
        #expect(preview.entries.map(\.id) == claimed)
        let statement = try store.db.statement("SELECT id, policy, propensity, selection_step FROM items WHERE served_at IS NOT NULL ORDER BY selection_step")
        var rows: [(String, String, Double, Int64)] = []
        while try statement.step() { rows.append((statement.text(0), statement.text(1), statement.double(2), statement.int(3))) }
        #expect(rows.map(\.0) == claimed)
        #expect(rows.map(\.3) == Array(0..<20))
        for (offset, row) in rows.enumerated() {
            let entry = preview.entries[offset]
            #expect(row.1 == entry.policy.rawValue && row.2 == entry.propensity)
            let pool = Double(50 - offset)
            if row.1 == "exploit" { #expect(row.2 == 0.7 + 0.3 / pool) } else { #expect(row.2 == 0.3 / pool || row.2 == 0.7 + 0.3 / pool) }
        }
        #expect(rows.contains { $0.1 == "explore" })
    }

    @Test func embeddingDiversitySpreadsSelectionsAndPersistsBounds() throws {
        let sandbox = Sandbox()
        let weights = UtilityWeights(risk: 0.5, uncertainty: 0, diversity: 0.5)
        let items = [
            item("a1", risk: 0.9, embedding: [1, 0]), item("a2", risk: 0.89, embedding: [0.9999, 0.0141]),
            item("b1", risk: 0.5, embedding: [0, 1]),
        ]
        let store = try store(.disk, sandbox, settings: ProjectSettings(overlap: 1, weights: weights, explore: 0), items: items)
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

@Suite struct ImportedLabelClaimTests {
    /// A reviewer who labelled an item in an imported file is never handed it; the selection
    /// still stands for the other reviewers.
    @Test func importedLabelsCountAsHad() throws {
        let store = try Fixtures.store(path: ":memory:", settings: ProjectSettings(labels: ["safe", "unsafe"], overlap: 2, explore: 0), items: [item("top", risk: 0.9), item("next", risk: 0.5)])
        _ = try store.importLabels(createItems: false, source: "history", at: t0) { sink in
            _ = try sink.add(LabelRow(item: "top", reviewer: "ana", label: "safe"))
            return .commit(rejected: 0)
        }
        _ = try store.addReviewer(name: "bo", role: .reviewer, at: t0)
        #expect(claimedID(try store.claimNext(for: "ana", at: t0)) == "next")
        // "top" was selected on the way and is in progress for bo.
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "top")
        #expect(try store.check() == [])
    }
}
