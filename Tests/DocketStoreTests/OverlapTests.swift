import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// A project asking a label and a rating, so a reviewer can stop half-way, with four reviewers
/// (and a lead), as the store contract builds it.
func twoAskStore(
    _ storage: Storage, _ sandbox: Sandbox, overlap: Int = 2, goldRate: Double? = nil, leaseSeconds: Int = 60, items: [ItemDraft]
) throws -> SQLiteStore {
    let settings = ProjectSettings(labels: ["safe", "unsafe"], overlap: overlap, explore: 0, leaseSeconds: leaseSeconds, seed: 3)
    return try storage.kind.project(sandbox, settings: settings, asks: [.label, .rating], goldRate: goldRate, items: items) as! SQLiteStore
}

func claimed(_ outcome: ClaimOutcome) -> Assignment? {
    if case .claimed(let assignment) = outcome { return assignment }
    return nil
}

let labelSafe = FeedbackDraft(kind: .label, label: "safe")
let ratingFour = FeedbackDraft(kind: .rating, rating: 4)

/// Reviewers with current labels given in review sessions outside gold mixes, per item id.
func sessionLabellers(_ store: SQLiteStore) throws -> [String: Set<String>] {
    let statement = try store.db.statement(
        """
        SELECT i.id, r.name FROM feedback f JOIN items i ON i.seq = f.item JOIN reviewers r ON r.id = f.reviewer
        JOIN assignments a ON a.id = f.assignment
        WHERE f.kind = 'label' AND a.gold = 0 AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)
        """)
    var result: [String: Set<String>] = [:]
    while try statement.step() { result[statement.text(0), default: []].insert(statement.text(1)) }
    return result
}

/// Claims the next item for `name` and answers everything a label-and-rating task asks.
func review(_ store: any ReviewStore, _ name: String, at now: Instant) throws -> String? {
    guard let lease = claimed(try store.claimNext(for: name, at: now)) else { return nil }
    _ = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: now)
    let done = try store.submit(ratingFour, assignment: lease.id, secondsSpent: 1, at: now)
    #expect(done.completed)
    return lease.itemID
}

/// The overlap rule as the SQLite backend keeps it (counters, flags, triggers, `check`); what
/// every backend owes (partial feedback keeps its place and resumes, gold mixing) is in
/// StoreContractTests.
@Suite struct OverlapRuleStoreTests {
    /// Undoing every answer of an ended assignment frees its place for someone else.
    @Test(arguments: Storage.allCases)
    func undoingPartialFeedbackFreesThePlace(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try twoAskStore(storage, sandbox, overlap: 1, items: [item("a", risk: 0.9), item("b", risk: 0.5)])
        guard let lease = claimed(try store.claimNext(for: "ana", at: t0)) else { Issue.record("no claim"); return }
        let label = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0)
        let note = try store.submit(FeedbackDraft(kind: .note, text: "later"), assignment: lease.id, secondsSpent: 1, at: t0)
        try store.release(assignment: lease.id, at: t0)
        // Held by ana's partial review: bo gets b.
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "b")
        _ = try store.withdraw(feedback: label.feedback, by: "ana", at: t0)
        // A note is still current feedback: the place stays taken.
        #expect(try store.db.int("SELECT taken FROM items WHERE id = 'a'") == 1)
        _ = try store.withdraw(feedback: note.feedback, by: "ana", at: t0)
        #expect(try store.db.int("SELECT taken FROM items WHERE id = 'a'") == 0)
        #expect(try store.check() == [])
        #expect(claimedID(try store.claimNext(for: "cy", at: t0)) == "a")
        #expect(try store.check() == [])
    }

    /// A skip alone passes the item on; answers given before a skip keep their place.
    @Test(arguments: Storage.allCases)
    func aSkipAloneTakesNoPlace(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try twoAskStore(storage, sandbox, overlap: 1, items: [item("a", risk: 0.9), item("b", risk: 0.5), item("c", risk: 0.1)])
        guard let skipped = claimed(try store.claimNext(for: "ana", at: t0)) else { Issue.record("no claim"); return }
        #expect(try store.submit(FeedbackDraft(kind: .skip), assignment: skipped.id, secondsSpent: 1, at: t0).completed)
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "a")
        guard let answered = claimed(try store.claimNext(for: "cy", at: t0)) else { Issue.record("no claim"); return }
        #expect(answered.itemID == "b")
        _ = try store.submit(labelSafe, assignment: answered.id, secondsSpent: 1, at: t0)
        _ = try store.submit(FeedbackDraft(kind: .skip), assignment: answered.id, secondsSpent: 1, at: t0)
        // cy's label on b still holds b's only place.
        #expect(claimedID(try store.claimNext(for: "dee", at: t0)) == "c")
        #expect(try store.check() == [])
    }

    /// `docket check` applies the rule to the rows: an item made over-collected by hand in SQL
    /// (the old rule's result: a label under an expired lease plus two complete reviews) is
    /// reported with its id, and so are counters and flags that disagree with the rows.
    @Test(arguments: Storage.allCases)
    func checkCatchesAnOverCollectedItemMadeByHand(storage: Storage) throws {
        let sandbox = Sandbox()
        let store = try twoAskStore(storage, sandbox, items: [item("a", risk: 0.9), item("b", risk: 0.5)])
        #expect(try review(store, "bo", at: t0) == "a")
        #expect(try review(store, "cy", at: t0) == "a")
        #expect(try store.check() == [])
        try store.db.execute("PRAGMA ignore_check_constraints = 1")
        try store.db.execute(
            """
            INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at, closed_at)
            SELECT i.seq, r.id, 'expired', 0, 1, 1 FROM items i, reviewers r WHERE i.id = 'a' AND r.name = 'ana';
            INSERT INTO feedback (item, reviewer, assignment, kind, label, created_at)
            SELECT a.item, a.reviewer, a.id, 'label', 'unsafe', 1 FROM assignments a JOIN reviewers r ON r.id = a.reviewer WHERE r.name = 'ana';
            """)
        let violations = try store.check()
        #expect(violations == [
            // Written by hand, past the last feedback the log records.
            Violation(rule: "feedback-without-event", detail: "feedback 5 was written around Docket (no feedback event)"),
            Violation(rule: "overlap-exceeded", detail: "item a has 3 counted reviews (2 done, 0 open, 1 ended with feedback), over its overlap of 2"),
        ])

        // The same rows written past the triggers (as an older build would have): the counter and
        // the flag disagree with the rule too.
        try store.db.execute(
            """
            DROP TRIGGER assignments_taken_update;
            UPDATE assignments SET started = 0 WHERE reviewer = (SELECT id FROM reviewers WHERE name = 'ana');
            UPDATE items SET taken = 2 WHERE id = 'a';
            """)
        let rules = try store.check().map(\.rule)
        #expect(rules == ["trigger-missing", "feedback-without-event", "overlap-exceeded", "taken-counter", "started-flag"])
        #expect(try store.check()[0].detail == "the trigger assignments_taken_update is missing")
        #expect(try store.check()[2].detail.contains("item a "))
    }

    /// A reviewer who holds two places on one item (a second lease beside a started one) is
    /// reported as on the item twice.
    @Test func checkFindsAReviewerWithTwoPlaces() throws {
        let store = try twoAskStore(.memory, Sandbox(), overlap: 3, items: [item("a", risk: 0.9)])
        guard let lease = claimed(try store.claimNext(for: "ana", at: t0)) else { Issue.record("no claim"); return }
        _ = try store.submit(labelSafe, assignment: lease.id, secondsSpent: 1, at: t0)
        try store.release(assignment: lease.id, at: t0)
        try store.db.execute(
            "INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at) SELECT item, reviewer, 'open', 0, 99 FROM assignments")
        #expect(try store.check().map(\.detail) == ["reviewer ana holds item a 2 times"])
    }

    /// The claim's resume query walks the partial index of started, ended assignments, so a
    /// reviewer with a long history pays nothing for it.
    @Test func resumingUsesItsPartialIndex() throws {
        let store = try twoAskStore(.memory, Sandbox(), items: [item("a", risk: 0.9)])
        let holding = OverlapRule.holdingStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let plan = try store.db.statement(
            """
            EXPLAIN QUERY PLAN SELECT a.id FROM assignments a JOIN items i ON i.seq = a.item
            WHERE a.reviewer = ?1 AND \(SQLiteStore.resumableSQL)
              AND NOT EXISTS (SELECT 1 FROM assignments b WHERE b.item = a.item AND b.reviewer = ?1 AND b.state IN (\(holding)))
            ORDER BY a.claimed_at, a.id LIMIT 1
            """)
        var details: [String] = []
        while try plan.step() { details.append(plan.text(3)) }
        #expect(details.contains { $0.contains("assignments_resumable") }, "\(details)")
    }
}

@Suite struct OverlapConsistencyTests {
    /// Seeded random sessions of four reviewers (claims, labels, ratings, notes, skips, undos,
    /// releases, leases running out, gold mixes): after every step the triggers' counters agree
    /// with the core's rule (`check`), no item has more labellers than its overlap, and the
    /// claim's SQL notion of "had" agrees with `OverlapRule.hasHad`.
    @Test(arguments: Storage.allCases, [UInt64(1), 2, 3])
    func countersAndClaimsFollowTheCoreRule(storage: Storage, seed: UInt64) throws {
        let sandbox = Sandbox()
        var items = (0..<6).map { item("i\($0)", risk: Double($0) / 10) }
        items.append(ItemDraft(id: "g", prompt: "p", response: "r", risk: 0.55, gold: "unsafe"))
        let store = try twoAskStore(storage, sandbox, goldRate: 0.3, items: items)
        let names = ["ana", "bo", "cy", "dee"]
        var random = SplitMix64(seed: seed)
        var now = t0
        var current: [String: Int64] = [:]
        var given: [String: [Int64]] = [:]
        for step in 0..<300 {
            let name = names[Int(random.next(below: 4))]
            do {
                switch random.next(below: 9) {
                case 0, 1:
                    if let lease = claimed(try store.claimNext(for: name, at: now)) { current[name] = lease.id } else { current[name] = nil }
                case 2, 3:
                    if let lease = current[name] {
                        let draft = random.next(below: 2) == 0 ? labelSafe : FeedbackDraft(kind: .label, label: "unsafe")
                        let submission = try store.submit(draft, assignment: lease, secondsSpent: 1, at: now)
                        given[name, default: []].append(submission.feedback)
                        if submission.completed { current[name] = nil }
                    }
                case 4:
                    if let lease = current[name] {
                        let submission = try store.submit(ratingFour, assignment: lease, secondsSpent: 1, at: now)
                        given[name, default: []].append(submission.feedback)
                        if submission.completed { current[name] = nil }
                    }
                case 5:
                    if let lease = current[name] {
                        let kind: FeedbackKind = random.next(below: 2) == 0 ? .note : .skip
                        let submission = try store.submit(FeedbackDraft(kind: kind, text: kind == .note ? "n" : nil), assignment: lease, secondsSpent: 1, at: now)
                        given[name, default: []].append(submission.feedback)
                        if submission.completed { current[name] = nil }
                    }
                case 6:
                    if let last = given[name]?.popLast() {
                        if let reopened = try store.withdraw(feedback: last, by: name, at: now).reopened { current[name] = reopened }
                    }
                case 7:
                    if let lease = current[name] {
                        try store.release(assignment: lease, at: now)
                        current[name] = nil
                    }
                default:
                    now = now.adding(seconds: Int(random.next(below: 90)))
                    try store.expireLeases(at: now)
                }
            } catch {
                switch error {
                case .leaseLost, .assignmentNotOpen, .alreadyWithdrawn, .itemFull, .unknownFeedback: current[name] = nil
                default: Issue.record("step \(step): \(error)")
                }
            }
            let violations = try store.check()
            #expect(violations == [], "step \(step): \(violations)")
            if !violations.isEmpty { return }
            let overlaps = try overlapByItem(store)
            for (itemID, labellers) in try sessionLabellers(store) {
                #expect(labellers.count <= overlaps[itemID]!, "step \(step): \(itemID) has \(labellers.sorted())")
            }
            if step % 10 == 0 { try expectHadAgrees(store) }
        }
        try expectHadAgrees(store)
        // The run went through the cases that matter: resumed partial reviews, undos, gold mixes.
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'lease-resumed'") > 0)
        #expect(try store.db.int("SELECT count(*) FROM withdrawals") > 0)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'gold-mixed'") > 0)
    }

    func overlapByItem(_ store: SQLiteStore) throws -> [String: Int] {
        let statement = try store.db.statement("SELECT id, overlap FROM items")
        var result: [String: Int] = [:]
        while try statement.step() { result[statement.text(0)] = Int(statement.int(1)) }
        return result
    }

    /// For every item and reviewer: the claim's SQL condition equals `OverlapRule.hasHad` over
    /// the fetched assignments; for every assignment, the resume condition equals
    /// `OverlapRule.isResumable`.
    func expectHadAgrees(_ store: SQLiteStore) throws {
        let resumable = try store.db.statement(
            """
            SELECT a.id, a.state, \(SQLiteStore.resumableSQL), (SELECT group_concat(DISTINCT f.kind) FROM feedback f
                WHERE f.assignment = a.id AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id))
            FROM assignments a
            """)
        while try resumable.step() {
            let kinds = (resumable.optionalText(3) ?? "").split(separator: ",").compactMap { FeedbackKind(rawValue: String($0)) }
            let core = OverlapRule.isResumable(state: AssignmentState(rawValue: resumable.text(1))!, started: OverlapRule.isStarted(currentKinds: kinds))
            #expect((resumable.int(2) != 0) == core, "assignment \(resumable.int(0))")
        }
        let pairs = try store.db.statement("SELECT i.seq, i.id, r.id FROM items i, reviewers r")
        var rows: [(Int64, String, Int64)] = []
        while try pairs.step() { rows.append((pairs.int(0), pairs.text(1), pairs.int(2))) }
        for (seq, id, reviewer) in rows {
            let sql = try store.db.int("SELECT \(SQLiteStore.hadSQL(item: "?2", reviewer: "?1"))", .integer(reviewer), .integer(seq)) != 0
            let facts = try store.db.statement(
                """
                SELECT a.state, a.gold, (SELECT group_concat(DISTINCT f.kind) FROM feedback f
                    WHERE f.assignment = a.id AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id))
                FROM assignments a WHERE a.item = ? AND a.reviewer = ?
                """)
            try facts.bind([.integer(seq), .integer(reviewer)])
            var assignments: [AssignmentFacts] = []
            while try facts.step() {
                let kinds = Set((facts.optionalText(2) ?? "").split(separator: ",").compactMap { FeedbackKind(rawValue: String($0)) })
                assignments.append(AssignmentFacts(reviewer: reviewer, state: AssignmentState(rawValue: facts.text(0))!, gold: facts.int(1) != 0, currentKinds: kinds))
            }
            let imported = try store.db.int("SELECT count(*) FROM feedback WHERE item = ? AND reviewer = ? AND source = 'import'", .integer(seq), .integer(reviewer)) > 0
            #expect(sql == OverlapRule.hasHad(assignments, importedLabel: imported), "item \(id), reviewer \(reviewer)")
        }
    }

    /// Every stored utility is the core's `Utility.score` of the item's stored parts, the triage
    /// severity standing in for a missing risk: at import, after a triage, after new weights.
    @Test(arguments: Storage.allCases)
    func storedUtilitiesAreTheCoresOnRandomInputs(storage: Storage) throws {
        let sandbox = Sandbox()
        var random = SplitMix64(seed: 12)
        func maybe() -> Double? { random.next(below: 4) == 0 ? nil : random.nextUnit() }
        let items = (0..<200).map { ItemDraft(id: "i\($0)", prompt: "p", risk: maybe(), uncertainty: maybe(), diversity: maybe()) }
        let store = try Fixtures.store(path: storage.path(in: sandbox), settings: ProjectSettings(labels: ["safe"], explore: 0), items: items)
        _ = try store.addReviewer(name: "lee", role: .lead, at: t0)
        for index in stride(from: 0, to: 200, by: 3) {
            try store.triage(item: "i\(index)", severity: Int(random.next(below: 4)), by: "lee", at: t0)
        }
        func expectAgreement() throws {
            let weights = try store.projectSettings().weights
            let rows = try store.db.statement("SELECT id, risk, triage, uncertainty, diversity, utility FROM items WHERE served_at IS NULL")
            var checked = 0
            while try rows.step() {
                let expected = Utility.score(
                    risk: rows.optionalDouble(1), triage: rows.optionalInt(2).map(Int.init), uncertainty: rows.optionalDouble(3),
                    diversity: rows.optionalDouble(4), weights: weights)
                #expect(rows.double(5) == expected, "\(rows.text(0))")
                checked += 1
            }
            #expect(checked == 200)
            // The queue reads the same parts through the same function.
            for entry in try store.queuePreview(limit: 200).entries {
                #expect(entry.utility == Utility.score(risk: entry.risk, uncertainty: entry.uncertainty, diversity: entry.diversity, weights: weights))
            }
        }
        try expectAgreement()
        // Replacing items (--update) keeps a triage standing in for their missing risk.
        _ = try store.importItems(update: true, source: "again", at: t0) { sink in
            for index in stride(from: 0, to: 200, by: 6) {
                _ = try sink.add(ItemDraft(id: "i\(index)", prompt: "p", risk: nil, uncertainty: 0.25, diversity: 0.5))
            }
            return .commit(rejected: 0)
        }
        try expectAgreement()
        for _ in 0..<5 {
            var definition = try store.taskDefinition().definition
            definition.weights = UtilityWeights(risk: random.nextUnit() * 3, uncertainty: random.nextUnit(), diversity: random.nextUnit() * 0.7)
            #expect(try store.applyTaskDefinition(definition, at: t0).rescored == 200)
            try expectAgreement()
        }
    }
}

@Suite struct OverlapMigrationTests {
    /// A database made before migration 10 whose item collected three labels at overlap 2 (a
    /// label under an expired lease, then two complete reviews) is upgraded to the new rule: the
    /// item keeps what it has (its overlap is raised to 3, with an event), the counters are
    /// recomputed and `check` passes; claims go on.
    @Test func upgradingCountsPartialFeedbackAndRaisesOverCollectedItems() throws {
        let sandbox = Sandbox()
        let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite, .create])
        for migration in EmbeddedSchema.migrations where migration.version < 10 {
            try connection.execute(migration.sql)
            try connection.execute("PRAGMA user_version = \(migration.version)")
        }
        try connection.execute(
            """
            INSERT INTO project (id, labels, level, overlap, w_risk, w_uncertainty, w_diversity, explore, lease_seconds, seed, item_count, served, created_at)
            VALUES (1, '["safe","unsafe"]', 'nominal', 2, 0.5, 0.35, 0.15, 0, 60, 1, 2, 1, 0);
            INSERT INTO reviewers (id, name, role, created_at) VALUES (1, 'ana', 'reviewer', 0), (2, 'bo', 'reviewer', 0), (3, 'cy', 'reviewer', 0);
            INSERT INTO items (seq, id, utility, overlap, imported_at, served_at, policy, propensity, selection_step)
            VALUES (1, 'a', 0.5, 2, 0, 0, 'exploit', 1, 0);
            INSERT INTO items (seq, id, utility, overlap, imported_at) VALUES (2, 'b', 0.1, 2, 0);
            INSERT INTO assignments (id, item, reviewer, state, claimed_at, expires_at, closed_at) VALUES (1, 1, 1, 'open', 0, 60, NULL);
            INSERT INTO feedback (item, reviewer, assignment, kind, label, created_at) VALUES (1, 1, 1, 'label', 'unsafe', 1);
            UPDATE assignments SET state = 'expired', closed_at = 60 WHERE id = 1;
            INSERT INTO assignments (id, item, reviewer, state, claimed_at, expires_at, closed_at) VALUES (2, 1, 2, 'done', 61, 120, 62), (3, 1, 3, 'done', 61, 120, 62);
            INSERT INTO feedback (item, reviewer, assignment, kind, label, created_at) VALUES (1, 2, 2, 'label', 'safe', 62), (1, 3, 3, 'label', 'safe', 62);
            """)
        #expect(try connection.int("SELECT taken FROM items WHERE id = 'a'") == 2)
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("PRAGMA user_version") >= 10)
        #expect(try store.db.int("SELECT overlap FROM items WHERE id = 'a'") == 3)
        #expect(try store.db.int("SELECT taken FROM items WHERE id = 'a'") == 3)
        #expect(try store.db.int("SELECT started FROM assignments WHERE id = 1") == 1)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'overlap-raised' AND item = 1") == 1)
        #expect(try store.check() == [])
        // ana's started item is full; her claim resumes it, bo gets b.
        guard let resumed = claimed(try store.claimNext(for: "ana", at: t0)) else { Issue.record("no claim"); return }
        #expect(resumed.id == 1 && resumed.resumed)
        #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "b")
        #expect(try store.check() == [])
    }
}

@Suite struct QueueOrderTests {
    /// The store's SQL order (`ORDER BY utility DESC, id`, and the indexes that follow it) is the
    /// core's `QueueCandidate.comesFirst` on random items with tied utilities and ids that Swift's
    /// `<` would confuse (NFC and NFD spellings, case, astral characters).
    @Test(arguments: Storage.allCases)
    func sqlOrderIsTheCoresOrder(storage: Storage) throws {
        let sandbox = Sandbox()
        var random = SplitMix64(seed: 21)
        let stems = ["\u{e9}", "e\u{301}", "E", "e", "a", "B", "\u{1F600}", "z", "\u{fb01}", "Z\u{0}x".replacingOccurrences(of: "\u{0}", with: "")]
        var ids = Set<String>()
        while ids.count < 120 { ids.insert(stems[Int(random.next(below: UInt64(stems.count)))] + stems[Int(random.next(below: UInt64(stems.count)))] + String(random.next(below: 3))) }
        let risks = [0.1, 0.5, 0.9]
        let items = ids.sorted().map { ItemDraft(id: $0, prompt: "p", risk: risks[Int(random.next(below: 3))], uncertainty: 0, diversity: 0) }
        let store = try Fixtures.store(path: storage.path(in: sandbox), settings: ProjectSettings(labels: ["safe"], overlap: 2, explore: 0), items: items)
        let weights = try store.projectSettings().weights
        let expected = items.map {
            QueueCandidate(seq: 0, id: $0.id, risk: $0.risk, uncertainty: 0, diversity: 0, embedding: nil, diversityFromEmbedding: false, weights: weights)
        }.sorted(by: QueueCandidate.comesFirst).map(\.id)
        #expect(try store.queuePreview(limit: 1000).entries.map(\.id) == expected)
        // Claims follow it too: ana opens items in that order, bo completes them in that order.
        _ = try store.addReviewer(name: "ana", role: .reviewer, at: t0)
        _ = try store.addReviewer(name: "bo", role: .reviewer, at: t0)
        var anaOrder: [String] = [], boOrder: [String] = []
        for _ in 0..<40 {
            guard let lease = claimed(try store.claimNext(for: "ana", at: t0)) else { break }
            anaOrder.append(lease.itemID)
            try store.finish(assignment: lease.id, at: t0)
        }
        for _ in 0..<40 {
            guard let lease = claimed(try store.claimNext(for: "bo", at: t0)) else { break }
            boOrder.append(lease.itemID)
            try store.finish(assignment: lease.id, at: t0)
        }
        #expect(anaOrder == Array(expected.prefix(40)))
        #expect(boOrder == anaOrder)
    }
}
