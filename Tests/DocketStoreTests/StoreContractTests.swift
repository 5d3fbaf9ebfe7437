import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

// The store contract: every behaviour Docket's commands rely on from a store, stated once against
// `any ReviewStore` and run on every backend in `StoreKind`. Only `StoreKind` knows a backend:
// how to create an empty project, and the few checks that must go behind the store's back (raw
// writes to the append-only tables). A second backend (PostgreSQL) adds a case there, answers
// its two switches, and runs every test below unchanged. Tests of one backend's machinery (WAL,
// locking, triggers, migrations, query plans) stay in that backend's own tests.

/// The backends the contract runs on.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    /// SQLite in memory.
    case memory
    /// SQLite in a file: WAL and the writers' lock take part.
    case disk
    /// PostgreSQL: a new database in the run's throwaway cluster (`TestPostgres`).
    case postgres

    var description: String { rawValue }

    /// Every backend this run can reach: PostgreSQL when `scripts/test` started a cluster.
    static var allCases: [StoreKind] { TestPostgres.isAvailable ? [.memory, .disk, .postgres] : [.memory, .disk] }

    /// A new project with `settings` and no items.
    func create(settings: ProjectSettings, in sandbox: Sandbox) throws -> any ReviewStore {
        switch self {
        case .memory: try SQLiteStore.create(path: ":memory:", settings: settings, at: t0)
        case .disk: try SQLiteStore.create(path: sandbox.databasePath, settings: settings, at: t0)
        case .postgres: try PostgresStore.createProject(url: try TestPostgres.newDatabase(), settings: settings, at: t0)
        }
    }

    /// Tries, behind the store's back, to change or delete what the store keeps append-only
    /// (the audit log, feedback, withdrawals, supersessions, decisions, assignments); returns
    /// the attempts the backend let through (none, by the contract).
    func rewritesAllowed(_ store: any ReviewStore) -> [String] {
        switch self {
        case .memory, .disk, .postgres:
            let sqlite = store as! SQLStore
            let attempts = [
                "UPDATE events SET kind = 'x'", "DELETE FROM events",
                "UPDATE feedback SET label = 'x'", "DELETE FROM feedback",
                "UPDATE withdrawals SET at = 0", "DELETE FROM withdrawals",
                "UPDATE supersessions SET by = 0", "DELETE FROM supersessions",
                "UPDATE decisions SET value = 'x'", "DELETE FROM decisions",
                "DELETE FROM assignments",
            ]
            return attempts.filter { (try? sqlite.db.execute($0)) != nil }
        }
    }

    /// A project with `items` whose task asks `asks` (a rating on a 1–5 scale when asked), with
    /// reviewers ana, bo, cy and dee and the lead lee.
    func project(
        _ sandbox: Sandbox, settings: ProjectSettings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 2, explore: 0, leaseSeconds: 60, seed: 3),
        asks: [FeedbackKind] = [.label], goldRate: Double? = nil, items: [ItemDraft]
    ) throws -> any ReviewStore {
        let store = try create(settings: settings, in: sandbox)
        _ = try store.importItems(update: false, source: "fixture", at: t0) { sink in
            for item in items { _ = try sink.add(item) }
            return .commit(rejected: 0)
        }
        var definition = try store.taskDefinition().definition
        definition.asks = asks
        if asks.contains(.rating) { definition.rating = RatingScale(name: "helpfulness", minimum: 1, maximum: 5) }
        if let goldRate { definition.calibration = CalibrationSettings(goldRate: goldRate, bar: 0.7) }
        _ = try store.applyTaskDefinition(definition, at: t0)
        for name in ["ana", "bo", "cy", "dee"] { _ = try store.addReviewer(name: name, role: .reviewer, at: t0) }
        _ = try store.addReviewer(name: "lee", role: .lead, at: t0)
        return store
    }
}

/// The audit log, oldest first, optionally of one item.
func events(_ store: any ReviewStore, item: String? = nil) throws -> [EventRecord] {
    var events: [EventRecord] = []
    try store.forEachEvent(item: item, reviewer: nil, since: nil) { events.append($0) }
    return events
}

/// Each item's current labels, as `LabelRules.current` reads the label rows as of `asOf`.
func currentLabels(_ store: any ReviewStore, asOf: Instant? = nil) throws -> [String: [String: String]] {
    var result: [String: [String: String]] = [:]
    try store.forEachItemLabelRows(filter: ExportFilter(asOf: asOf)) { item, rows, _ in
        result[item.id] = Dictionary(uniqueKeysWithValues: LabelRules.current(rows).map { ($0.reviewer, $0.value) })
    }
    return result
}

func gold(_ id: String, risk: Double) -> ItemDraft {
    ItemDraft(id: id, prompt: "p \(id)", response: "r \(id)", risk: risk, uncertainty: 0, diversity: 0, gold: "safe")
}

// MARK: Project and imports

@Suite struct ProjectContractTests {
    @Test(arguments: StoreKind.allCases)
    func reviewersAreUniqueAndSuggested(kind: StoreKind) throws {
        let store = try kind.create(settings: ProjectSettings(), in: Sandbox())
        _ = try store.addReviewer(name: "ana", role: .lead, at: t0)
        #expect(throws: StoreError.duplicateReviewer(name: "ana")) { try store.addReviewer(name: "ana", role: .reviewer, at: t0) }
        #expect(throws: StoreError.unknownReviewer(name: "anna", suggestion: "ana")) { try store.reviewer(named: "anna") }
        #expect(try store.reviewers().map(\.name) == ["ana"])
        #expect(try store.reviewer(named: "ana").role == .lead)
    }

    @Test(arguments: StoreKind.allCases)
    func reimportIsANoOpAndConflictsNeedUpdate(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [item("a", risk: 0.5), item("b", risk: 0.1)])
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

    /// An import is all or nothing: rolled back, it leaves neither items nor its event.
    @Test(arguments: StoreKind.allCases)
    func rollbackLeavesNothing(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [])
        let summary = try store.importItems(update: false, source: "bad", at: t0) { sink in
            _ = try sink.add(item("a", risk: 0.5))
            return .rollback
        }
        #expect(!summary.committed)
        #expect(try store.status(at: t0).items == 0)
        let sources = try events(store).filter { $0.kind == "import" }.compactMap { try? JSON.parse($0.detail ?? "")["source"] }
        #expect(sources == [.string("fixture")])
    }

    @Test(arguments: StoreKind.allCases)
    func embeddingsMustShareOneDimension(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [item("a", risk: 0.5, embedding: [1, 0])])
        _ = try store.importItems(update: false, source: "x", at: t0) { sink in
            let outcome = try sink.add(item("b", risk: 0.5, embedding: [1, 0, 0]))
            #expect(outcome == .failure(FieldProblem(field: "embedding", problem: "has 3 numbers; this project's embeddings have 2")))
            return .rollback
        }
    }
}

// MARK: Claims and the overlap

@Suite struct ClaimContractTests {
    @Test(arguments: StoreKind.allCases)
    func servesByUtilityWithTiesByIDAndCompletesOverlapFirst(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [item("b", risk: 0.5), item("a", risk: 0.5), item("c", risk: 0.9), item("d", risk: 0.1)])
        #expect(try store.queuePreview(limit: 10).entries.map(\.id) == ["c", "a", "b", "d"])
        var served: [String] = []
        for name in ["ana", "bo", "ana", "bo", "cy"] {
            guard case .claimed(let assignment) = try store.claimNext(for: name, at: t0) else { Issue.record("no claim for \(name)"); return }
            served.append("\(name):\(assignment.itemID)")
            try store.finish(assignment: assignment.id, at: t0)
        }
        // bo gets c (in progress, room left) before any new item; cy gets the best item in progress.
        #expect(served == ["ana:c", "bo:c", "ana:a", "bo:a", "cy:b"])
        #expect(try store.check() == [])
    }

    @Test(arguments: StoreKind.allCases)
    func neverOverCollectsNorRepeatsAnItemForAReviewer(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: (0..<5).map { item("i\($0)", risk: Double($0) / 10) })
        var seen: [String: Set<String>] = [:]
        var perItem: [String: Int] = [:]
        for _ in 0..<100 {
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
        #expect(try store.check() == [])
    }

    @Test(arguments: StoreKind.allCases)
    func budgetCapsNewItemsButLetsOverlapFinish(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 2, budget: 1, explore: 0)
        let store = try kind.project(Sandbox(), settings: settings, items: [item("a", risk: 0.9), item("b", risk: 0.1)])
        guard case .claimed(let first) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        try store.finish(assignment: first.id, at: t0)
        #expect(try store.claimNext(for: "ana", at: t0) == .budgetSpent)
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "a")
        #expect(try store.queuePreview(limit: 5).entries.isEmpty)
        #expect(try store.status(at: t0).budgetLeft == 0)
    }

    /// Every selection records the policy that chose it and its propensity, and the preview is
    /// exactly what claiming then does.
    @Test(arguments: StoreKind.allCases)
    func recordsPolicyAndPropensityOfEverySelection(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0.3, seed: 7)
        let store = try kind.project(Sandbox(), settings: settings, items: (0..<50).map { item("i\($0)", risk: Double($0) / 50) })
        let preview = try store.queuePreview(limit: 20)
        var claimed: [Assignment] = []
        for _ in 0..<20 {
            guard case .claimed(let a) = try store.claimNext(for: "ana", at: t0) else { break }
            claimed.append(a)
            try store.finish(assignment: a.id, at: t0)
        }
        #expect(preview.entries.map(\.id) == claimed.map(\.itemID))
        #expect(preview.entries.map(\.step) == Array(0..<20))
        for (offset, (entry, assignment)) in zip(preview.entries, claimed).enumerated() {
            #expect(assignment.policy == entry.policy && assignment.propensity == entry.propensity)
            let pool = Double(50 - offset)
            if entry.policy == .exploit {
                #expect(entry.propensity == 0.7 + 0.3 / pool)
            } else {
                #expect(entry.propensity == 0.3 / pool || entry.propensity == 0.7 + 0.3 / pool)
            }
        }
        #expect(claimed.contains { $0.policy == .explore })
    }

    /// A reviewer who labelled an item in an imported file is never handed it; the selection
    /// still stands for the other reviewers.
    @Test(arguments: StoreKind.allCases)
    func importedLabelsCountAsHad(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [item("top", risk: 0.9), item("next", risk: 0.5)])
        _ = try store.importLabels(createItems: false, source: "history", at: t0) { sink in
            _ = try sink.add(LabelRow(item: "top", reviewer: "ana", label: "safe"))
            return .commit(rejected: 0)
        }
        #expect(claimedID(try store.claimNext(for: "ana", at: t0)) == "next")
        // "top" was selected on the way and is in progress for bo.
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "top")
        #expect(try store.check() == [])
    }
}

// MARK: Leases

@Suite struct LeaseContractTests {
    @Test(arguments: StoreKind.allCases)
    func expiredLeasesReturnTheItemAndHeldLeasesResume(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 60)
        let store = try kind.project(Sandbox(), settings: settings, items: [item("a", risk: 0.9), item("b", risk: 0.1)])
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
        #expect(try events(store).filter { $0.kind == "lease-expired" }.count == 2)
        #expect(try store.check() == [])
    }

    /// Renewing moves the expiry a whole lease from now; only a lease past it ends.
    @Test(arguments: StoreKind.allCases)
    func renewalKeepsTheItemAndExpiryEndsIt(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 60)
        let store = try kind.project(Sandbox(), settings: settings, items: [item("a", risk: 0.9), item("b", risk: 0.1)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(lease.expiresAt == t0.adding(seconds: 60))
        #expect(try store.renew(assignment: lease.id, at: t0.adding(seconds: 50)) == t0.adding(seconds: 110))
        #expect(try store.expireLeases(at: t0.adding(seconds: 100)) == 0)
        #expect(claimedID(try store.claimNext(for: "bo", at: t0.adding(seconds: 100))) == "b")
        #expect(try store.status(at: t0.adding(seconds: 100)).openLeases == 2)
        #expect(try store.expireLeases(at: t0.adding(seconds: 110)) == 1)
        #expect(throws: StoreError.assignmentNotOpen(id: lease.id, state: "expired")) { try store.renew(assignment: lease.id, at: t0.adding(seconds: 111)) }
        #expect(claimedID(try store.claimNext(for: "cy", at: t0.adding(seconds: 111))) == "a")
        #expect(throws: StoreError.unknownAssignment(id: 999)) { try store.renew(assignment: 999, at: t0) }
        #expect(try store.check() == [])
    }

    /// A reviewer who answered part of an item and whose lease was given back or ran out keeps
    /// their place: two more reviewers never make three labels at overlap 2, and their next
    /// claim resumes the item with what they gave.
    @Test(arguments: StoreKind.allCases, [false, true])
    func partialFeedbackKeepsItsPlaceAndResumes(kind: StoreKind, released: Bool) throws {
        let store = try kind.project(Sandbox(), asks: [.label, .rating], items: [item("a", risk: 0.9), item("b", risk: 0.5), item("c", risk: 0.1)])
        guard case .claimed(let first) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(first.itemID == "a")
        #expect(try !store.submit(labelSafe, assignment: first.id, secondsSpent: 1, at: t0).completed)
        if released { try store.release(assignment: first.id, at: t0.adding(seconds: 1)) }
        let later = t0.adding(seconds: 120)
        #expect(try review(store, "bo", at: later) == "a")
        // a is full: ana's label holds the second place.
        #expect(try review(store, "cy", at: later) == "b")
        #expect(try review(store, "dee", at: later) == "b")
        #expect(try currentLabels(store)["a"] == ["ana": "safe", "bo": "safe"])
        #expect(try store.check() == [])

        guard case .claimed(let again) = try store.claimNext(for: "ana", at: later) else { Issue.record("no resume"); return }
        #expect(again.id == first.id && again.itemID == "a" && again.resumed)
        #expect(try store.reviewItem(assignment: again.id).given.map(\.draft) == [labelSafe])
        #expect(try store.submit(ratingFour, assignment: again.id, secondsSpent: 1, at: later).completed)
        #expect(try store.reviewer(named: "ana").reviewsDone == 1)
        #expect(try events(store, item: "a").filter { $0.kind == "lease-resumed" }.count == 1)
        #expect(try store.check() == [])
    }

    /// Feedback sent after the lease lapsed is taken while the item has room, and refused once
    /// others have filled it.
    @Test(arguments: StoreKind.allCases)
    func lateFeedbackIsTakenOnlyWhileTheItemHasRoom(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 60)
        let store = try kind.project(Sandbox(), settings: settings, items: [item("a", risk: 0.9), item("b", risk: 0.5)])
        guard case .claimed(let ana) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(try store.expireLeases(at: t0.adding(seconds: 61)) == 1)
        #expect(try store.submit(labelSafe, assignment: ana.id, secondsSpent: 1, at: t0.adding(seconds: 62)).completed)
        guard case .claimed(let bo) = try store.claimNext(for: "bo", at: t0.adding(seconds: 63)) else { Issue.record("no claim"); return }
        #expect(bo.itemID == "b")
        #expect(try store.expireLeases(at: t0.adding(seconds: 124)) == 1)
        #expect(claimedID(try store.claimNext(for: "cy", at: t0.adding(seconds: 125))) == "b")
        #expect(throws: StoreError.leaseLost(assignment: bo.id)) { try store.submit(labelSafe, assignment: bo.id, secondsSpent: 1, at: t0.adding(seconds: 126)) }
        #expect(try currentLabels(store) == ["a": ["ana": "safe"]])
        #expect(try store.check() == [])
    }
}

// MARK: Gold

@Suite struct GoldContractTests {
    /// A gold item mixed into ana's queue is served to her: when the queue later selects it, it
    /// stays selected for the others and ana gets the next item.
    @Test(arguments: StoreKind.allCases)
    func aMixedGoldItemIsNeverOfferedAgainByARegularClaim(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 60, seed: 3)
        let store = try kind.project(Sandbox(), settings: settings, asks: [.label, .rating], goldRate: 1.0, items: [gold("g", risk: 0.95), item("x1", risk: 0.5), item("x2", risk: 0.4)])
        guard case .claimed(let mixed) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(mixed.itemID == "g" && mixed.gold)
        // Half-way through, the lease is given back: still hers, resumed as gold.
        _ = try store.submit(labelSafe, assignment: mixed.id, secondsSpent: 1, at: t0)
        try store.release(assignment: mixed.id, at: t0)
        guard case .claimed(let resumed) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(resumed.id == mixed.id && resumed.gold && resumed.resumed && resumed.policy == nil)
        #expect(try store.submit(ratingFour, assignment: resumed.id, secondsSpent: 1, at: t0).completed)
        // Gold counted toward neither the overlap nor the budget: g is still unserved.
        #expect(try store.status(at: t0).served == 0)
        #expect(try store.goldServed() == ["ana": 1])

        var definition = try store.taskDefinition().definition
        definition.calibration = CalibrationSettings(goldRate: 0, bar: 0.7)
        _ = try store.applyTaskDefinition(definition, at: t0)
        // The queue's top is g: selected for the project, but ana has had it.
        #expect(try review(store, "ana", at: t0) == "x1")
        #expect(try store.status(at: t0).served == 2)
        #expect(try review(store, "ana", at: t0) == "x2")
        #expect(try store.claimNext(for: "ana", at: t0) == .nothingLeft)
        #expect(try store.claimNext(for: "ana", at: t0) == .nothingLeft)
        // bo gets g as a regular item.
        #expect(try review(store, "bo", at: t0) == "g")
        #expect(try store.check() == [])
    }

    /// `gold_rate: 1.0` serves every gold item first, then ordinary items, without an error.
    @Test(arguments: StoreKind.allCases)
    func goldRateOneFallsBackToOrdinaryItems(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 60, seed: 3)
        let items = [gold("g1", risk: 0.99), gold("g2", risk: 0.98), item("x1", risk: 0.5), item("x2", risk: 0.4), item("x3", risk: 0.3)]
        let store = try kind.project(Sandbox(), settings: settings, asks: [.label, .rating], goldRate: 1.0, items: items)
        var anaSaw: [String] = []
        while let id = try review(store, "ana", at: t0) { anaSaw.append(id) }
        #expect(anaSaw.prefix(2).sorted() == ["g1", "g2"])
        #expect(anaSaw.dropFirst(2).sorted() == ["x1", "x2", "x3"])
        #expect(try store.goldServed() == ["ana": 2])
        // g1 and g2 were selected on the way; bo gets both of them mixed as gold, and then none of
        // them again as regular items.
        var boSaw: [String] = []
        while let id = try review(store, "bo", at: t0) { boSaw.append(id) }
        #expect(boSaw.sorted() == ["g1", "g2"])
        #expect(try store.goldServed() == ["ana": 2, "bo": 2])
        #expect(try store.check() == [])
    }
}

// MARK: Withdrawals and supersessions

@Suite struct WithdrawalContractTests {
    /// Answering again supersedes the earlier answer (kept, marked); undoing the change brings
    /// the earlier answer back; nothing is deleted.
    @Test(arguments: StoreKind.allCases)
    func relabellingSupersedesAndUndoRestores(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), asks: [.label, .rating], items: [item("a", risk: 0.9)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        let first = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0)
        let unsafe = FeedbackDraft(kind: .label, label: "unsafe")
        let second = try store.submit(unsafe, assignment: lease.id, secondsSpent: 1, at: t0.adding(seconds: 1))
        #expect(second.replaced == [first.feedback] && !second.completed && second.missing == [.rating])
        #expect(try store.reviewItem(assignment: lease.id).given.map(\.draft) == [unsafe])
        let report = try store.itemReport(id: "a")
        #expect(report.feedback.map { "\($0.reviewer):\($0.feedback.draft.label ?? "")" } == ["ana:unsafe"])
        #expect(report.superseded.map(\.feedback.id) == [first.feedback] && report.superseded.map(\.by) == [second.feedback])
        #expect(try currentLabels(store) == ["a": ["ana": "unsafe"]])

        let undo = try store.withdraw(feedback: second.feedback, by: "ana", at: t0.adding(seconds: 2))
        #expect(undo.kind == .label && undo.itemID == "a" && undo.reopened == nil && undo.restored != nil)
        #expect(try store.reviewItem(assignment: lease.id).given.map(\.draft) == [labelSafe])
        #expect(try currentLabels(store) == ["a": ["ana": "safe"]])
        #expect(throws: StoreError.alreadyWithdrawn(id: second.feedback)) { try store.withdraw(feedback: second.feedback, by: "ana", at: t0) }
        #expect(throws: StoreError.unknownFeedback(id: first.feedback)) { try store.withdraw(feedback: first.feedback, by: "bo", at: t0) }
        let kinds = try events(store, item: "a").map(\.kind)
        #expect(kinds.filter { ["feedback", "superseded", "withdrawn", "restored"].contains($0) } == ["feedback", "feedback", "superseded", "withdrawn", "restored"])
        #expect(try store.check() == [])
    }

    /// Withdrawing the answer that completed an item reopens it for the same reviewer.
    @Test(arguments: StoreKind.allCases)
    func withdrawingTheLastAnswerReopensTheItem(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), asks: [.label, .rating], items: [item("a", risk: 0.9)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        _ = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0)
        let rating = try store.submit(ratingFour, assignment: lease.id, secondsSpent: 1, at: t0)
        #expect(rating.completed)
        #expect(try store.progress(of: "ana", at: t0).done == 1)
        let undo = try store.withdraw(feedback: rating.feedback, by: "ana", at: t0)
        #expect(undo.reopened == lease.id && undo.restored == nil)
        #expect(try store.reviewItem(assignment: lease.id).missing == [.rating])
        #expect(try store.progress(of: "ana", at: t0).done == 0 && store.progress(of: "ana", at: t0).open == 1)
        #expect(throws: StoreError.feedbackMissing(kinds: ["rating"])) { try store.complete(assignment: lease.id, at: t0) }
        #expect(try store.submit(ratingFour, assignment: lease.id, secondsSpent: 1, at: t0).completed)
        #expect(try store.check() == [])
    }
}

// MARK: Adjudication

@Suite struct AdjudicationContractTests {
    /// A lead's decisions are revisions: each new one supersedes the latest, all are kept, the
    /// latest is the adjudicated label, and an escalation is resolved by the first.
    @Test(arguments: StoreKind.allCases)
    func decisionsAreRevisionsAndResolveTheEscalation(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), items: [item("a", risk: 0.9)])
        for (name, label) in [("ana", "safe"), ("bo", "unsafe")] {
            guard case .claimed(let lease) = try store.claimNext(for: name, at: t0) else { Issue.record("no claim"); return }
            #expect(try store.submit(FeedbackDraft(kind: .label, label: label), assignment: lease.id, secondsSpent: 1, at: t0).completed)
        }
        // A tie (the default `ties: escalate`) goes to the lead.
        #expect(try store.openEscalations(tier: nil).map(\.itemID) == ["a"])
        #expect(throws: StoreError.notPermitted(reviewer: "cy", role: "reviewer", action: "adjudicate")) {
            try store.decide(item: "a", kind: .label, value: "unsafe", rationale: "", by: "cy", at: t0)
        }
        #expect(throws: StoreError.unknownItem(id: "zz")) { try store.decide(item: "zz", kind: .label, value: "safe", rationale: "", by: "lee", at: t0) }

        let decided = t0.adding(seconds: 10), revised = t0.adding(seconds: 20)
        let first = try store.decide(item: "a", kind: .label, value: "unsafe", rationale: "harmful", by: "lee", at: decided)
        #expect(first.supersedes == nil && first.lead == "lee")
        #expect(try store.openEscalations(tier: nil).isEmpty)
        let second = try store.decide(item: "a", kind: .label, value: "safe", rationale: "on reflection", by: "lee", at: revised)
        #expect(second.supersedes == first.id)

        let report = try store.itemReport(id: "a")
        #expect(report.decisions.map(\.id) == [first.id, second.id])
        #expect(report.finalLabel == "safe" && report.finalSource == "adjudicated")
        #expect(try store.adjudicatedLabels() == ["a": "safe"])
        #expect(try events(store, item: "a").map(\.kind).filter { $0.hasPrefix("adjudica") } == ["adjudicated", "adjudication-revised"])

        // As of a moment between the two, the first decision stands and the escalation is resolved;
        // before both, the escalation is open.
        var decisionsThen: [DecisionEntry] = []
        try store.forEachItemLabelRows(filter: ExportFilter(asOf: decided.adding(seconds: 5))) { item, _, decisions in
            if item.id == "a" { decisionsThen = decisions }
        }
        #expect(LabelRules.adjudication(decisionsThen)?.value == "unsafe")
        for (asOf, status) in [(t0.adding(seconds: 5), "open"), (decided, "resolved"), (nil, "resolved")] {
            var statuses: [String] = []
            try store.forEachEscalation(filter: ExportFilter(asOf: asOf)) { escalation, _ in statuses.append(escalation.status) }
            #expect(statuses == [status], "as of \(String(describing: asOf))")
        }
        #expect(try store.check() == [])
    }
}

// MARK: As-of reads

@Suite struct AsOfContractTests {
    /// Exports read the data as it stood at `asOf`: feedback given by then and not withdrawn by
    /// then, so a later undo or change of mind does not rewrite an earlier export.
    @Test(arguments: StoreKind.allCases)
    func exportsReadTheDataAsItStood(kind: StoreKind) throws {
        let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 1, explore: 0, leaseSeconds: 600)
        let store = try kind.project(Sandbox(), settings: settings, items: [item("a", risk: 0.9)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        let safe = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0.adding(seconds: 10))
        #expect(safe.completed)
        _ = try store.withdraw(feedback: safe.feedback, by: "ana", at: t0.adding(seconds: 20))
        _ = try store.submit(FeedbackDraft(kind: .label, label: "unsafe"), assignment: lease.id, secondsSpent: 1, at: t0.adding(seconds: 30))

        func exported(asOf: Instant?) throws -> [String] {
            var labels: [String] = []
            try store.forEachItemFeedback(kinds: [.label], filter: ExportFilter(asOf: asOf)) { item, feedback, _ in
                labels += feedback.map { "\(item.id):\($0.reviewer):\($0.draft.label ?? "")" }
            }
            return labels
        }
        #expect(try exported(asOf: t0.adding(seconds: 5)) == [])
        #expect(try exported(asOf: t0.adding(seconds: 15)) == ["a:ana:safe"])
        #expect(try exported(asOf: t0.adding(seconds: 25)) == [])
        #expect(try exported(asOf: nil) == ["a:ana:unsafe"])
        #expect(try currentLabels(store, asOf: t0.adding(seconds: 15)) == ["a": ["ana": "safe"]])
        #expect(try currentLabels(store, asOf: t0.adding(seconds: 25)) == ["a": [:]])
        #expect(try currentLabels(store) == ["a": ["ana": "unsafe"]])
    }
}

// MARK: The audit log

@Suite struct EventContractTests {
    /// Every change is an event, in order, and what is recorded stays: the backend refuses
    /// changes and deletions made behind the store's back.
    @Test(arguments: StoreKind.allCases)
    func eventsAreAppendOnly(kind: StoreKind) throws {
        let store = try kind.project(Sandbox(), asks: [.label, .rating], items: [item("a", risk: 0.5)])
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        _ = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0)
        let change = try store.submit(FeedbackDraft(kind: .label, label: "unsafe"), assignment: lease.id, secondsSpent: 1, at: t0)
        _ = try store.withdraw(feedback: change.feedback, by: "ana", at: t0)
        _ = try store.decide(item: "a", kind: .label, value: "safe", rationale: "clear", by: "lee", at: t0)
        let before = try events(store)
        #expect(before.map(\.id) == before.map(\.id).sorted() && Set(before.map(\.id)).count == before.count)
        #expect(Set(before.map(\.kind)).isSuperset(of: ["init", "import", "reviewer-added", "feedback", "superseded", "withdrawn", "adjudicated"]))
        #expect(kind.rewritesAllowed(store) == [])
        #expect(try events(store) == before)
        #expect(try store.itemReport(id: "a").decisions.count == 1)
        #expect(try store.check() == [])
    }
}
