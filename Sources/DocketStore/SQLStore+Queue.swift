import DocketCore

/// Unserved items in stored-utility order, read lazily from an open statement.
struct CandidateCursor: IteratorProtocol {
    let statement: any SQLStatement
    let weights: UtilityWeights
    var failed: (any Error)?

    static let columns = "seq, id, risk, triage, uncertainty, diversity, diversity_from_embedding, embedding"

    mutating func next() -> QueueCandidate? {
        do {
            guard try statement.step() else { return nil }
            return Self.candidate(statement, weights: weights)
        } catch {
            failed = error
            return nil
        }
    }

    static func candidate(_ statement: any SQLStatement, weights: UtilityWeights) -> QueueCandidate {
        // The risk term is the core's: the model's risk, else the triage severity standing in for it.
        QueueCandidate(
            seq: statement.int(0), id: statement.text(1),
            risk: Utility.risk(model: statement.optionalDouble(2), triage: statement.optionalInt(3).map(Int.init)),
            uncertainty: statement.optionalDouble(4), diversity: statement.optionalDouble(5),
            embedding: statement.blob(7).map(EmbeddingCoding.decode), diversityFromEmbedding: statement.int(6) != 0,
            weights: weights)
    }
}

extension SQLStore {
    struct SelectionState {
        var settings: ProjectSettings
        var served: Int
        var itemCount: Int
        var maxSeq: Int64
        /// Whether gold items are reserved for calibration (gold_rate above 0): then the queue never
        /// selects them, they reach reviewers only by mixing, and no budget is spent on them.
        /// Without calibration they are ordinary items.
        var reservesGold = false
        /// Reserved gold items not yet selected: not part of the pool.
        var unservedGold: Int = 0
        /// The SQL condition that keeps reserved gold out of the pool (`goldCondition`).
        var notGold = "gold IS NULL"
        var poolFilter: String { reservesGold ? "AND \(notGold)" : "" }
        /// The pool the queue selects from: unserved items that are not gold.
        var unserved: Int { itemCount - served - unservedGold }
    }

    func selectionState() throws -> SelectionState {
        let settings = try projectSettings()
        let reservesGold = (try taskDefinition().definition.calibration?.goldRate ?? 0) > 0
        let statement = try db.statement(
            """
            SELECT served, item_count, (SELECT coalesce(max(seq), 0) FROM items),
                   CASE WHEN ? <> 0 THEN (SELECT count(*) FROM items WHERE \(goldCondition(isGold: true)) AND served_at IS NULL) ELSE 0 END
            FROM project WHERE id = 1
            """)
        try statement.bind([.integer(reservesGold ? 1 : 0)])
        defer { statement.reset() }
        guard try statement.step() else { throw StoreError.noProject(path: path) }
        return SelectionState(
            settings: settings, served: Int(statement.int(0)), itemCount: Int(statement.int(1)), maxSeq: statement.int(2),
            reservesGold: reservesGold, unservedGold: Int(statement.int(3)), notGold: goldCondition(isGold: false))
    }

    /// Embeddings of every item already selected: the set diversity is measured against.
    func selectedIndex() throws -> DiversityIndex {
        // Only the steps since the last call are read, so each claim does O(new selections) work.
        let statement = try db.statement(
            "SELECT selection_step, embedding FROM items WHERE selection_step >= ? ORDER BY selection_step")
        try statement.bind([.integer(Int64(selectedThroughStep))])
        while try statement.step() {
            if let blob = statement.blob(1) { selectedEmbeddings.add(EmbeddingCoding.decode(blob)) }
            selectedThroughStep = Int(statement.int(0)) + 1
        }
        return selectedEmbeddings
    }

    func unservedCursor(weights: UtilityWeights, poolFilter: String) throws -> CandidateCursor {
        let statement = try db.cursor(
            "SELECT \(CandidateCursor.columns) FROM items INDEXED BY items_unserved WHERE served_at IS NULL \(poolFilter) ORDER BY utility DESC, id")
        return CandidateCursor(statement: statement, weights: weights)
    }

    /// An unserved item drawn uniformly at random, not in `excluded`. Rejection sampling over
    /// seq numbers (exact and O(1) expected while most items are unserved), then, after 64
    /// misses, a uniform offset into the unserved items; either way every eligible item is equally likely.
    func drawUniform(_ generator: inout SplitMix64, excluded: Set<Int64>, state: SelectionState) throws -> QueueCandidate? {
        let eligible = state.unserved - excluded.count
        guard eligible > 0, state.maxSeq > 0 else { return nil }
        let bySeq = try db.statement("SELECT \(CandidateCursor.columns) FROM items WHERE seq = ? AND served_at IS NULL \(state.poolFilter)")
        for _ in 0..<64 {
            let seq = Int64(generator.next(below: UInt64(state.maxSeq))) + 1
            if excluded.contains(seq) { continue }
            bySeq.reset()
            try bySeq.bind([.integer(seq)])
            if try bySeq.step() { return CandidateCursor.candidate(bySeq, weights: state.settings.weights) }
        }
        let byOffset = try db.statement(
            "SELECT \(CandidateCursor.columns) FROM items WHERE served_at IS NULL \(state.poolFilter) ORDER BY seq LIMIT 1 OFFSET ?")
        while true {
            let offset = Int64(generator.next(below: UInt64(state.unserved)))
            byOffset.reset()
            try byOffset.bind([.integer(offset)])
            guard try byOffset.step() else { return nil }
            let candidate = CandidateCursor.candidate(byOffset, weights: state.settings.weights)
            if !excluded.contains(candidate.seq) { return candidate }
        }
    }

    public func queuePreview(limit: Int) throws(StoreError) -> QueuePreview {
        try read {
            let state = try selectionState()
            let budgetLeft = state.settings.budget.map { max(0, $0 - state.served) } ?? Int.max
            let cursor = try unservedCursor(weights: state.settings.weights, poolFilter: state.poolFilter)
            let planner = QueuePlanner<CandidateCursor>(
                schedule: ExplorationSchedule(epsilon: state.settings.explore, seed: state.settings.seed),
                weights: state.settings.weights)
            var drawError: (any Error)?
            let plan = planner.plan(
                stream: cursor, index: try selectedIndex(), firstStep: state.served, poolSize: state.unserved,
                limit: min(limit, budgetLeft),
                drawUniform: { generator, excluded in
                    do { return try drawUniform(&generator, excluded: excluded, state: state) } catch {
                        drawError = error
                        return nil
                    }
                })
            if let drawError { throw drawError }
            return QueuePreview(
                entries: plan.map {
                    QueueEntry(
                        step: $0.step, id: $0.candidate.id, utility: $0.candidate.utility, risk: $0.candidate.risk,
                        uncertainty: $0.candidate.uncertainty, diversity: $0.candidate.diversity, policy: $0.policy,
                        propensity: $0.propensity)
                },
                budget: state.settings.budget, served: state.served, unserved: state.unserved)
        }
    }

    // MARK: Claiming

    /// How many items in progress a claim looks through while new items can still be selected.
    static let inProgressWindow: Int64 = 128

    @discardableResult
    public func expireLeases(at now: Instant) throws(StoreError) -> Int {
        // A cheap read first: most calls find nothing to expire and need no write lock.
        let due = try read { try db.int("SELECT count(*) FROM assignments WHERE state = 'open' AND expires_at <= ?", .integer(now.milliseconds)) }
        guard due > 0 else { return 0 }
        return try write { try expireDueLeases(at: now) }
    }

    /// Inside a write transaction: ends leases past their expiry, with an event each.
    func expireDueLeases(at now: Instant) throws -> Int {
        let due = try db.statement("SELECT id, reviewer, item, expires_at FROM assignments WHERE state = 'open' AND expires_at <= ? ORDER BY id")
        try due.bind([.integer(now.milliseconds)])
        var leases: [(id: Int64, reviewer: Int64, item: Int64, expiresAt: Int64)] = []
        while try due.step() { leases.append((due.int(0), due.int(1), due.int(2), due.int(3))) }
        due.reset()
        for lease in leases {
            try logEvent(kind: "lease-expired", at: now, reviewer: lease.reviewer, item: lease.item, detail: .object([
                ("assignment", .number(Double(lease.id))), ("expired_at", .number(Double(lease.expiresAt))),
            ]))
            try db.run("UPDATE assignments SET state = 'expired', closed_at = ? WHERE id = ?", .integer(now.milliseconds), .integer(lease.id))
        }
        return leases.count
    }

    /// `OverlapRule.hasHad` as an SQL condition on item `item` and reviewer `reviewer` (SQL
    /// expressions), for the claim's queries: the holding states come from the core; the
    /// `started` flag is kept by the triggers of migration 10 (`OverlapRule.isStarted`). A test
    /// holds the two to each other on random assignments.
    static func hadSQL(item: String, reviewer: String) -> String {
        let states = OverlapRule.holdingStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        return """
            (EXISTS (SELECT 1 FROM assignments a WHERE a.item = \(item) AND a.reviewer = \(reviewer)
                     AND (a.state IN (\(states)) OR a.gold = 1 OR a.started = 1))
             OR EXISTS (SELECT 1 FROM feedback f WHERE f.item = \(item) AND f.reviewer = \(reviewer) AND f.source = 'import'))
            """
    }

    /// `OverlapRule.isResumable` as an SQL condition on assignment `a`: started, in an ended
    /// state (listed from the core, in the order of the partial index `assignments_resumable`,
    /// which a test holds the claim's plan to).
    static let resumableSQL =
        "a.started = 1 AND a.state IN (\(AssignmentState.allCases.filter(\.isEnded).map { "'\($0.rawValue)'" }.joined(separator: ", ")))"

    public func claimNext(for reviewerName: String, at now: Instant) throws(StoreError) -> ClaimOutcome {
        let reviewer = try reviewerIdentity(named: reviewerName)
        return try write { () throws -> ClaimOutcome in
            _ = try expireDueLeases(at: now)
            var state = try selectionState()
            let leaseEnd = now.adding(seconds: state.settings.leaseSeconds)

            // 1. A lease this reviewer already holds (a resumed session) is renewed and returned.
            let held = try db.statement(
                """
                SELECT a.id, i.id, i.policy, i.propensity, a.gold FROM assignments a INDEXED BY assignments_open_by_reviewer
                JOIN items i ON i.seq = a.item
                WHERE a.reviewer = ? AND a.state = 'open' ORDER BY a.claimed_at LIMIT 1
                """)
            try held.bind([.integer(reviewer.id)])
            if try held.step() {
                let gold = held.int(4) != 0
                let assignment = Assignment(
                    id: held.int(0), itemID: held.text(1), reviewer: reviewer.name, expiresAt: leaseEnd,
                    policy: gold ? nil : SelectionPolicy(rawValue: held.text(2)), propensity: gold ? nil : held.optionalDouble(3),
                    gold: gold, resumed: true)
                held.reset()
                try db.run("UPDATE assignments SET expires_at = ? WHERE id = ?", .integer(leaseEnd.milliseconds), .integer(assignment.id))
                return .claimed(assignment)
            }

            // 2. An item this reviewer started whose lease ended (OverlapRule.isResumable): it
            // still holds its place, so it is theirs to finish, with what they gave.
            if let resumed = try resumeStarted(reviewer: reviewer, at: now, until: leaseEnd) { return .claimed(resumed) }

            // 3. Now and then, a gold item this reviewer has not had, for calibration. When no
            // gold item is left for them, the claim goes on to ordinary items.
            if let gold = try mixGold(reviewer: reviewer.id, seed: state.settings.seed, at: now, until: leaseEnd) {
                return .claimed(Assignment(
                    id: gold.assignment, itemID: gold.itemID, reviewer: reviewer.name, expiresAt: leaseEnd, policy: nil, propensity: nil,
                    gold: true, resumed: false))
            }

            // Items this reviewer has had (OverlapRule.hasHad: held, reviewed, skipped, mixed in
            // as gold, or labelled in an imported file) are never offered to them again. A new
            // selection can land on one (selections are the project's, not the reviewer's): it
            // stays selected for the others and the reviewer is offered the next item. Every
            // pass selects one more item, so the loop ends when the pool or the budget does.
            let inProgress = try db.statement(
                """
                SELECT seq, id, policy, propensity FROM (
                    SELECT seq, id, policy, propensity, utility FROM items INDEXED BY items_in_progress
                    WHERE served_at IS NOT NULL AND taken < overlap ORDER BY utility DESC, id LIMIT ?2) AS in_progress
                WHERE NOT \(Self.hadSQL(item: "seq", reviewer: "?1"))
                ORDER BY utility DESC, id LIMIT 1
                """)
            let had = try db.statement("SELECT \(Self.hadSQL(item: "?2", reviewer: "?1"))")
            while true {
                // 4. The best item already in progress with room left that this reviewer has not had.
                // While new items can still be selected, only the top `inProgressWindow` items in
                // progress are considered, so a reviewer who has run far ahead of the others (and so
                // has many items waiting for a second reviewer) does not scan them all on every claim.
                let budgetLeft = state.settings.budget.map { state.served < $0 } ?? true
                let canSelectNew = budgetLeft && state.unserved > 0
                inProgress.reset()
                try inProgress.bind([.integer(reviewer.id), .integer(canSelectNew ? Self.inProgressWindow : Int64.max)])
                if try inProgress.step() {
                    let seq = inProgress.int(0)
                    let itemID = inProgress.text(1)
                    let policy = SelectionPolicy(rawValue: inProgress.text(2)) ?? .exploit
                    let propensity = inProgress.double(3)
                    inProgress.reset()
                    let id = try openLease(item: seq, reviewer: reviewer.id, at: now, until: leaseEnd)
                    return .claimed(Assignment(id: id, itemID: itemID, reviewer: reviewer.name, expiresAt: leaseEnd, policy: policy, propensity: propensity, resumed: false))
                }
                inProgress.reset()

                // 5. A new selection, while the budget lasts.
                if let budget = state.settings.budget, state.served >= budget { return .budgetSpent }
                guard state.unserved > 0 else { return .nothingLeft }
                guard let selection = try selectNew(state: state) else { return .nothingLeft }
                let pick = selection.candidate
                try db.run(
                    """
                    UPDATE items SET served_at = ?, policy = ?, propensity = ?, selection_step = ?,
                        diversity = ?, utility = ? WHERE seq = ?
                    """,
                    .integer(now.milliseconds), .text(selection.policy.rawValue), .real(selection.propensity),
                    .integer(Int64(selection.step)), SQLValue(pick.diversity), .real(pick.utility), .integer(pick.seq))
                try db.run("UPDATE project SET served = served + 1 WHERE id = 1")
                try logEvent(kind: "selected", at: now, reviewer: reviewer.id, item: pick.seq, detail: .object([
                    ("policy", .string(selection.policy.rawValue)), ("propensity", .number(selection.propensity)),
                    ("step", .number(Double(selection.step))), ("utility", .number(pick.utility)),
                ]))
                had.reset()
                try had.bind([.integer(reviewer.id), .integer(pick.seq)])
                let hadIt = try had.step() && had.int(0) != 0
                had.reset()
                if hadIt {
                    state = try selectionState()
                    continue
                }
                let id = try openLease(item: pick.seq, reviewer: reviewer.id, at: now, until: leaseEnd)
                return .claimed(Assignment(
                    id: id, itemID: pick.id, reviewer: reviewer.name, expiresAt: leaseEnd, policy: selection.policy,
                    propensity: selection.propensity, resumed: false))
            }
        }
    }

    /// Inside the claim's transaction: takes up the reviewer's oldest started assignment whose
    /// lease ended (`OverlapRule.isResumable`), reopening it with a new lease. Its place was kept
    /// (`OverlapRule.takesPlace`), so reopening never over-collects.
    func resumeStarted(reviewer: (id: Int64, name: String, role: Role), at now: Instant, until end: Instant) throws -> Assignment? {
        let holding = OverlapRule.holdingStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let statement = try db.statement(
            """
            SELECT a.id, a.item, i.id, i.policy, i.propensity, a.gold FROM assignments a JOIN items i ON i.seq = a.item
            WHERE a.reviewer = ?1 AND \(Self.resumableSQL)
              AND NOT EXISTS (SELECT 1 FROM assignments b WHERE b.item = a.item AND b.reviewer = ?1 AND b.state IN (\(holding)))
            ORDER BY a.claimed_at, a.id LIMIT 1
            """)
        try statement.bind([.integer(reviewer.id)])
        guard try statement.step() else {
            statement.reset()
            return nil
        }
        let id = statement.int(0), item = statement.int(1), gold = statement.int(5) != 0
        let assignment = Assignment(
            id: id, itemID: statement.text(2), reviewer: reviewer.name, expiresAt: end,
            policy: gold ? nil : SelectionPolicy(rawValue: statement.text(3)), propensity: gold ? nil : statement.optionalDouble(4),
            gold: gold, resumed: true)
        statement.reset()
        try db.run(
            "UPDATE assignments SET state = 'open', closed_at = NULL, expires_at = ? WHERE id = ?", .integer(end.milliseconds), .integer(id))
        try logEvent(kind: "lease-resumed", at: now, reviewer: reviewer.id, item: item, detail: .object([("assignment", .number(Double(id)))]))
        return assignment
    }

    /// With probability `gold_rate` (a draw seeded by the project, the reviewer and how many
    /// claims they have made), leases a gold item the reviewer has not had (no assignment of
    /// theirs on it in any state, no imported label). The lease records it as served to them:
    /// no regular claim offers it to them again (`OverlapRule.hasHad`). It counts toward neither
    /// the item's overlap nor the budget and leaves the item unserved for the project. Logged as an event.
    func mixGold(reviewer: Int64, seed: UInt64, at now: Instant, until end: Instant) throws -> (assignment: Int64, itemID: String)? {
        let (definition, _) = try taskDefinition()
        guard let calibration = definition.calibration, calibration.goldRate > 0 else { return nil }
        let claims = try db.int("SELECT count(*) FROM assignments WHERE reviewer = ?", .integer(reviewer))
        var generator = SplitMix64(seed: seed ^ (UInt64(bitPattern: reviewer) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(bitPattern: claims) &* 0xC2B2_AE3D_27D4_EB4F))
        guard generator.nextUnit() < calibration.goldRate else { return nil }
        let candidates = try db.statement(
            """
            SELECT seq, id FROM items \(heldToReviewer ? "" : "INDEXED BY items_gold ")WHERE \(goldCondition(isGold: true))
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item = items.seq AND a.reviewer = ?1)
              AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.item = items.seq AND f.reviewer = ?1 AND f.source = 'import')
            ORDER BY seq
            """)
        try candidates.bind([.integer(reviewer)])
        var pool: [(Int64, String)] = []
        while try candidates.step() { pool.append((candidates.int(0), candidates.text(1))) }
        guard !pool.isEmpty else { return nil }
        let pick = pool[Int(generator.next(below: UInt64(pool.count)))]
        let id = try db.insert(
            "INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at, gold) VALUES (?, ?, 'open', ?, ?, 1) RETURNING id",
            .integer(pick.0), .integer(reviewer), .integer(now.milliseconds), .integer(end.milliseconds))
        try logEvent(kind: "gold-mixed", at: now, reviewer: reviewer, item: pick.0, detail: .object([
            ("assignment", .number(Double(id))), ("gold_rate", .number(calibration.goldRate)),
        ]))
        return (id, pick.1)
    }

    /// One epsilon-greedy step over the unserved items (`QueuePlanner.step`, the one `docket
    /// queue` previews), persisting lowered diversity bounds.
    func selectNew(state: SelectionState) throws -> Selection? {
        let weights = state.settings.weights
        let planner = QueuePlanner<CandidateCursor>(
            schedule: ExplorationSchedule(epsilon: state.settings.explore, seed: state.settings.seed), weights: weights)
        var selector = LazyGreedySelector(stream: try unservedCursor(weights: weights, poolFilter: state.poolFilter), weights: weights)
        var rescored: [QueueCandidate] = []
        selector.onRescore = { rescored.append($0) }
        var drawError: (any Error)?
        let selection = planner.step(
            state.served, selector: &selector, index: try selectedIndex(), poolSize: state.unserved, excluded: [],
            drawUniform: { generator, excluded in
                do { return try drawUniform(&generator, excluded: excluded, state: state) } catch {
                    drawError = error
                    return nil
                }
            })
        if let drawError { throw drawError }
        guard let selection else { return nil }
        let lower = try db.statement("UPDATE items SET diversity = ?, utility = ? WHERE seq = ?")
        for candidate in rescored where candidate.seq != selection.candidate.seq {
            lower.reset()
            try lower.bind([SQLValue(candidate.diversity), .real(candidate.utility), .integer(candidate.seq)])
            while try lower.step() {}
        }
        return selection
    }

    /// Recomputes the stored utility of unserved items (all, or one) with the core's
    /// `Utility.score` (triage standing in for a missing risk), so stored and computed utilities
    /// agree exactly. Returns how many items were rescored.
    @discardableResult
    func rescoreUnserved(weights: UtilityWeights, item: Int64? = nil) throws -> Int {
        let columns = "SELECT seq, risk, triage, uncertainty, diversity FROM items WHERE served_at IS NULL"
        let rows = try db.statement(item == nil ? columns : columns + " AND seq = ?")
        if let item { try rows.bind([.integer(item)]) }
        // Computed first and written after: updating utility while the scan runs could move rows
        // within the index the scan walks.
        var scored: [(seq: Int64, utility: Double)] = []
        while try rows.step() {
            scored.append((rows.int(0), Utility.score(
                risk: rows.optionalDouble(1), triage: rows.optionalInt(2).map(Int.init), uncertainty: rows.optionalDouble(3),
                diversity: rows.optionalDouble(4), weights: weights)))
        }
        rows.reset()
        let update = try db.statement("UPDATE items SET utility = ? WHERE seq = ?")
        for row in scored {
            update.reset()
            try update.bind([.real(row.utility), .integer(row.seq)])
            while try update.step() {}
        }
        return scored.count
    }

    func openLease(item: Int64, reviewer: Int64, at now: Instant, until end: Instant) throws -> Int64 {
        let id = try db.insert(
            "INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at) VALUES (?, ?, 'open', ?, ?) RETURNING id",
            .integer(item), .integer(reviewer), .integer(now.milliseconds), .integer(end.milliseconds))
        try logEvent(kind: "claimed", at: now, reviewer: reviewer, item: item, detail: .object([("assignment", .number(Double(id)))]))
        return id
    }

    func openAssignment(_ id: Int64) throws -> (item: Int64, reviewer: Int64) {
        let statement = try db.statement("SELECT item, reviewer, state FROM assignments WHERE id = ?")
        try statement.bind([.integer(id)])
        guard try statement.step() else { throw StoreError.unknownAssignment(id: id) }
        let state = statement.text(2)
        guard state == "open" else { throw StoreError.assignmentNotOpen(id: id, state: state) }
        return (statement.int(0), statement.int(1))
    }

    public func renew(assignment id: Int64, at now: Instant) throws(StoreError) -> Instant {
        try write {
            let settings = try projectSettings()
            _ = try openAssignment(id)
            let end = now.adding(seconds: settings.leaseSeconds)
            try db.run("UPDATE assignments SET expires_at = ? WHERE id = ?", .integer(end.milliseconds), .integer(id))
            return end
        }
    }

    public func finish(assignment id: Int64, at now: Instant) throws(StoreError) {
        try write { try closeAssignment(id, state: "done", event: "review-done", at: now) }
    }

    public func release(assignment id: Int64, at now: Instant) throws(StoreError) {
        try write { try closeAssignment(id, state: "released", event: "lease-released", at: now) }
    }

    func closeAssignment(_ id: Int64, state: String, event: String, at now: Instant) throws {
        let (item, reviewer) = try openAssignment(id)
        try db.run("UPDATE assignments SET state = ?, closed_at = ? WHERE id = ?", .text(state), .integer(now.milliseconds), .integer(id))
        try logEvent(kind: event, at: now, reviewer: reviewer, item: item, detail: .object([("assignment", .number(Double(id)))]))
    }
}
