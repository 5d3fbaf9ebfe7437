import DocketCore

extension SQLStore {
    // MARK: Task definition

    public func taskDefinition() throws(StoreError) -> (definition: TaskDefinition, rubric: RubricVersion?) {
        try read {
            if let cached = definitionCache, try db.scalar("SELECT rubric FROM project WHERE id = 1") == .integer(cached.rubricID) {
                return (cached.definition, cached.rubric)
            }
            let statement = try db.statement(
                "SELECT r.id, r.version, r.hash, r.applied_at, r.definition FROM project p JOIN rubrics r ON r.id = p.rubric WHERE p.id = 1")
            if try statement.step() {
                let rubric = RubricVersion(id: statement.int(0), version: Int(statement.int(1)), hash: statement.text(2), appliedAt: Instant(milliseconds: statement.int(3)))
                let text = statement.text(4)
                statement.reset()
                if case .valid(let definition) = TaskDefinition.read(try JSON.parse(text)) {
                    definitionCache = (rubric.id, definition, rubric)
                    return (definition, rubric)
                }
                throw StoreError.corrupt(detail: "rubric \(rubric.version) does not parse")
            }
            statement.reset()
            return (TaskDefinition(settings: try projectSettings()), nil)
        }
    }

    public func applyTaskDefinition(_ definition: TaskDefinition, at now: Instant) throws(StoreError) -> AppliedDefinition {
        try write { () throws -> AppliedDefinition in
            let before = try projectSettings()
            let current = try db.scalar("SELECT r.hash FROM project p JOIN rubrics r ON r.id = p.rubric WHERE p.id = 1")
            let hash = definition.contentHash
            // Labels in use may not disappear: given by reviewers, or an item's gold label.
            let used = try db.statement("SELECT DISTINCT label FROM feedback WHERE kind = 'label' UNION SELECT DISTINCT gold FROM items WHERE gold IS NOT NULL")
            while try used.step() {
                let label = used.text(0)
                if !definition.labels.contains(label) { throw StoreError.labelInUse(label: label) }
            }
            let served = try db.int("SELECT served FROM project WHERE id = 1")
            if let budget = definition.budget, Int64(budget) < served { throw StoreError.budgetBelowServed(budget: budget, served: Int(served)) }

            var rubricID: Int64
            var version: Int
            let existing = try db.statement("SELECT id, version, applied_at FROM rubrics WHERE hash = ?")
            try existing.bind([.text(hash)])
            var appliedAt = now
            if try existing.step() {
                rubricID = existing.int(0)
                version = Int(existing.int(1))
                appliedAt = Instant(milliseconds: existing.int(2))
                existing.reset()
            } else {
                existing.reset()
                version = Int(try db.int("SELECT coalesce(max(version), 0) + 1 FROM rubrics"))
                rubricID = try db.insert(
                    "INSERT INTO rubrics (version, hash, definition, applied_at) VALUES (?, ?, ?, ?) RETURNING id",
                    .integer(Int64(version)), .text(hash), .text(definition.canonicalJSON.encoded(sortedKeys: true)), .integer(now.milliseconds))
            }
            let changed = current != .text(hash)
            let w = definition.weights
            try db.run(
                """
                UPDATE project SET rubric = ?, labels = ?, level = ?, overlap = ?, budget = ?, w_risk = ?, w_uncertainty = ?,
                    w_diversity = ?, explore = ?, lease_seconds = ? WHERE id = 1
                """,
                .integer(rubricID), .text(JSONValue.array(definition.labels.map { .string($0) }).encoded()),
                .text(definition.level.rawValue), .integer(Int64(definition.overlap)), SQLValue(definition.budget),
                .real(w.risk), .real(w.uncertainty), .real(w.diversity), .real(definition.explore), .integer(Int64(definition.leaseSeconds)))
            var rescored = 0
            if w != before.weights {
                rescored = try rescoreUnserved(weights: w)
            }
            if definition.overlap != before.overlap {
                try db.run(
                    "UPDATE items SET overlap = CASE WHEN taken > ?1 THEN taken ELSE ?1 END WHERE overlap <> CASE WHEN taken > ?1 THEN taken ELSE ?1 END",
                    .integer(Int64(definition.overlap)))
            }
            if changed {
                try logEvent(kind: "config-applied", at: now, detail: .object([("rubric", .number(Double(version))), ("hash", .string(hash))]))
            }
            return AppliedDefinition(
                rubric: RubricVersion(id: rubricID, version: version, hash: hash, appliedAt: appliedAt), changed: changed, rescored: rescored)
        }
    }

    // MARK: Review

    func feedbackDraft(_ statement: any SQLStatement, from column: Int32) -> FeedbackDraft {
        let ranking = statement.stringArray(column + 3)
        return FeedbackDraft(
            kind: FeedbackKind(rawValue: statement.text(column)) ?? .note, label: statement.optionalText(column + 1),
            rating: statement.optionalDouble(column + 2), ranking: ranking,
            preference: statement.optionalText(column + 4).flatMap(Preference.init(rawValue:)), text: statement.optionalText(column + 5),
            target: statement.optionalText(column + 6), reason: statement.optionalText(column + 7),
            severity: statement.optionalInt(column + 8).map(Int.init))
    }

    static let feedbackColumns = "f.kind, f.label, f.rating, f.ranking, f.preference, f.text, f.target, f.reason, f.severity"

    func givenFeedback(assignment: Int64) throws -> [StoredFeedback] {
        let statement = try db.statement(
            """
            SELECT f.id, f.created_at, \(Self.feedbackColumns) FROM feedback f
            WHERE f.assignment = ? AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id) ORDER BY f.id
            """)
        try statement.bind([.integer(assignment)])
        var given: [StoredFeedback] = []
        while try statement.step() {
            given.append(StoredFeedback(id: statement.int(0), draft: feedbackDraft(statement, from: 2), createdAt: Instant(milliseconds: statement.int(1))))
        }
        return given
    }

    public func reviewItem(assignment: Int64) throws(StoreError) -> ReviewItem {
        try read {
            let (definition, _) = try taskDefinition()
            let statement = try db.statement(
                """
                SELECT i.id, i.prompt, i.response, i.responses, i.category, a.expires_at
                FROM assignments a JOIN items i ON i.seq = a.item WHERE a.id = ?
                """)
            try statement.bind([.integer(assignment)])
            guard try statement.step() else { throw StoreError.unknownAssignment(id: assignment) }
            let responses = statement.stringArray(3)
            var item = ReviewItem(
                assignment: assignment, id: statement.text(0), prompt: statement.optionalText(1), response: statement.optionalText(2),
                responses: responses, category: statement.optionalText(4), expiresAt: Instant(milliseconds: statement.int(5)),
                given: [], asked: [])
            statement.reset()
            item.given = try givenFeedback(assignment: assignment)
            item.asked = ReviewRules.asked(definition.asks, responses: item.responseCount)
            return item
        }
    }

    /// Records one piece of feedback in its own transaction. A lease that expired is taken up
    /// again when the item still has room, so work done past the lease is not lost.
    public func submit(_ draft: FeedbackDraft, assignment: Int64, secondsSpent: Double?, underRubric: Int64?, at now: Instant) throws(StoreError) -> Submission {
        try write { () throws -> Submission in
            let (definition, rubric) = try taskDefinition()
            let statement = try db.statement("SELECT item, reviewer, state FROM assignments WHERE id = ?")
            try statement.bind([.integer(assignment)])
            guard try statement.step() else { throw StoreError.unknownAssignment(id: assignment) }
            let item = statement.int(0), reviewer = statement.int(1), state = statement.text(2)
            statement.reset()
            if state == "expired" || state == "released" {
                // Take the item up again on the same assignment if the overlap still allows.
                guard try db.runRefusable(
                    "UPDATE assignments SET state = 'open', closed_at = NULL, expires_at = ? WHERE id = ?",
                    [.integer(now.adding(seconds: definition.leaseSeconds).milliseconds), .integer(assignment)])
                else { throw StoreError.leaseLost(assignment: assignment) }
                try logEvent(kind: "lease-resumed", at: now, reviewer: reviewer, item: item, detail: .object([("assignment", .number(Double(assignment)))]))
            } else if state != "open" {
                throw StoreError.assignmentNotOpen(id: assignment, state: state)
            }
            let feedbackID = try db.insert(
                """
                INSERT INTO feedback (item, reviewer, assignment, kind, label, rating, ranking, preference, text, target, reason, severity,
                                      rubric, created_at, seconds_spent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                .integer(item), .integer(reviewer), .integer(assignment), .text(draft.kind.rawValue), SQLValue(draft.label),
                SQLValue(draft.rating), SQLValue(draft.ranking.map { JSONValue.array($0.map { .string($0) }).encoded() }),
                SQLValue(draft.preference?.rawValue), SQLValue(draft.text), SQLValue(draft.target), SQLValue(draft.reason),
                SQLValue(draft.severity), SQLValue(underRubric ?? rubric?.id), .integer(now.milliseconds), SQLValue(secondsSpent))
            try logEvent(kind: "feedback", at: now, reviewer: reviewer, item: item, detail: .object([
                ("feedback", .number(Double(feedbackID))), ("kind", .string(draft.kind.rawValue)), ("assignment", .number(Double(assignment))),
            ]))
            // Answering the same question again replaces the earlier answer: it is withdrawn (so
            // nothing reads it as current) and marked as superseded by this one.
            let earlier = try givenFeedback(assignment: assignment).filter { $0.id != feedbackID }
            let replaced = ReviewRules.replaced(by: draft, given: earlier.map { ($0.id, $0.draft) })
            for old in replaced {
                try db.run("INSERT INTO withdrawals (feedback, reviewer, at) VALUES (?, ?, ?)", .integer(old), .integer(reviewer), .integer(now.milliseconds))
                try db.run("INSERT INTO supersessions (feedback, by) VALUES (?, ?)", .integer(old), .integer(feedbackID))
                try logEvent(kind: "superseded", at: now, reviewer: reviewer, item: item, detail: .object([
                    ("feedback", .number(Double(old))), ("by", .number(Double(feedbackID))), ("kind", .string(draft.kind.rawValue)),
                ]))
            }
            if heldToReviewer {
                try db.run("INSERT INTO escalation_backlog (feedback) VALUES (?)", .integer(feedbackID))
            } else {
                try applyEscalationPolicy(item: item, feedback: feedbackID, draft: draft, definition: definition, at: now)
            }
            if draft.kind == .skip {
                try db.run("UPDATE assignments SET state = 'skipped', closed_at = ? WHERE id = ?", .integer(now.milliseconds), .integer(assignment))
                try logEvent(kind: "skipped", at: now, reviewer: reviewer, item: item, detail: .object([("assignment", .number(Double(assignment)))]))
                return Submission(feedback: feedbackID, replaced: replaced, completed: true, missing: [])
            }
            let reviewItem = try reviewItem(assignment: assignment)
            let missing = reviewItem.missing
            let completes = missing.isEmpty && ReviewRules.answersAsk(draft, asked: reviewItem.asked, responses: reviewItem.responseCount)
            if completes {
                try closeAssignment(assignment, state: "done", event: "review-done", at: now)
            }
            return Submission(feedback: feedbackID, replaced: replaced, completed: completes, missing: missing)
        }
    }

    /// Completes an assignment explicitly (`next`), when nothing asked is missing.
    public func complete(assignment: Int64, at now: Instant) throws(StoreError) {
        try write {
            let item = try reviewItem(assignment: assignment)
            guard item.missing.isEmpty else { throw StoreError.feedbackMissing(kinds: item.missing.map(\.rawValue)) }
            try closeAssignment(assignment, state: "done", event: "review-done", at: now)
        }
    }

    public func withdraw(feedback id: Int64, by reviewerName: String, at now: Instant) throws(StoreError) -> Withdrawal {
        let reviewer = try reviewerIdentity(named: reviewerName)
        return try write { () throws -> Withdrawal in
            let statement = try db.statement(
                """
                SELECT f.reviewer, f.kind, f.assignment, a.state, i.id, f.item,
                       EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)
                FROM feedback f JOIN items i ON i.seq = f.item LEFT JOIN assignments a ON a.id = f.assignment WHERE f.id = ?
                """)
            try statement.bind([.integer(id)])
            guard try statement.step(), statement.int(0) == reviewer.id else { throw StoreError.unknownFeedback(id: id) }
            guard statement.int(6) == 0 else { throw StoreError.alreadyWithdrawn(id: id) }
            let kind = FeedbackKind(rawValue: statement.text(1)) ?? .note
            let assignment = statement.optionalInt(2)
            let state = statement.optionalText(3)
            let itemID = statement.text(4), item = statement.int(5)
            statement.reset()
            try db.run("INSERT INTO withdrawals (feedback, reviewer, at) VALUES (?, ?, ?)", .integer(id), .integer(reviewer.id), .integer(now.milliseconds))
            try logEvent(kind: "withdrawn", at: now, reviewer: reviewer.id, item: item, detail: .object([("feedback", .number(Double(id))), ("kind", .string(kind.rawValue))]))
            // Undoing a change of mind brings back the answer it replaced, as a new row (rows
            // are never un-withdrawn), so the reviewer is left with their earlier answer.
            var restored: Int64?
            var restoredFrom: Int64?
            if let previous = try db.scalar("SELECT max(feedback) FROM supersessions WHERE by = ?", .integer(id)), case .integer(let old) = previous {
                restored = try db.insert(
                    """
                    INSERT INTO feedback (item, reviewer, assignment, kind, label, rating, ranking, preference, text, target, reason, severity,
                                          rubric, created_at, seconds_spent, source)
                    SELECT item, reviewer, assignment, kind, label, rating, ranking, preference, text, target, reason, severity,
                           rubric, ?, NULL, source FROM feedback WHERE id = ?
                    RETURNING id
                    """, .integer(now.milliseconds), .integer(old))
                restoredFrom = old
                try logEvent(kind: "restored", at: now, reviewer: reviewer.id, item: item, detail: .object([
                    ("feedback", .number(Double(restored!))), ("copy_of", .number(Double(old))), ("kind", .string(kind.rawValue)),
                ]))
            }
            var reopened: Int64?
            if let assignment, let state, state == "done" || state == "skipped" {
                let settings = try projectSettings()
                guard try db.runRefusable(
                    "UPDATE assignments SET state = 'open', closed_at = NULL, expires_at = ? WHERE id = ?",
                    [.integer(now.adding(seconds: settings.leaseSeconds).milliseconds), .integer(assignment)])
                else { throw StoreError.itemFull(item: itemID) }
                try logEvent(kind: "reopened", at: now, reviewer: reviewer.id, item: item, detail: .object([("assignment", .number(Double(assignment)))]))
                reopened = assignment
            }
            if kind == .label {
                if heldToReviewer {
                    try db.run("INSERT INTO escalation_backlog (feedback, withdrawn) VALUES (?, 1)", .integer(id))
                } else {
                    try applyEscalationPolicy(afterWithdrawing: id, item: item, definition: try taskDefinition().definition, at: now)
                }
            }
            return Withdrawal(feedback: id, kind: kind, itemID: itemID, reopened: reopened, restored: restored, restoredFrom: restoredFrom)
        }
    }

    public func progress(of reviewerName: String, at now: Instant) throws(StoreError) -> ReviewerProgress {
        let reviewer = try reviewerIdentity(named: reviewerName)
        return try read {
            let statement = try db.statement(
                """
                SELECT (SELECT count(*) FROM assignments WHERE reviewer = ?1 AND state = 'done'),
                       (SELECT count(*) FROM assignments WHERE reviewer = ?1 AND state = 'skipped'),
                       (SELECT count(*) FROM assignments WHERE reviewer = ?1 AND state = 'open'),
                       budget, served FROM project WHERE id = 1
                """)
            try statement.bind([.integer(reviewer.id)])
            guard try statement.step() else { throw StoreError.noProject(path: path) }
            return ReviewerProgress(
                done: Int(statement.int(0)), skipped: Int(statement.int(1)), open: Int(statement.int(2)),
                budget: statement.optionalInt(3).map(Int.init), served: Int(statement.int(4)))
        }
    }
}
