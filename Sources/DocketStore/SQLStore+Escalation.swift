import DocketCore

extension SQLStore {
    /// Inside a write transaction, after feedback was recorded: applies the escalation policy
    /// to the item as the label rules see it (`LabelRules.resolve`), then its implicit tie rule.
    /// Inside a write transaction, after a label was given or withdrawn: an open escalation whose
    /// reason was the votes (a tie, no majority) is settled when the votes no longer give it
    /// (`EscalationPolicy.stillHolds`): closed as resolved by nobody, with an event.
    func settleEscalations(item: Int64, definition: TaskDefinition, at now: Instant, asOf state: FeedbackState? = nil) throws {
        let open = try db.statement("SELECT id, rule, tier FROM escalations WHERE item = ? AND status = 'open'")
        try open.bind([.integer(item)])
        var escalations: [(id: Int64, rule: Int, tier: String)] = []
        while try open.step() { escalations.append((open.int(0), Int(open.int(1)), open.text(2))) }
        open.reset()
        guard !escalations.isEmpty else { return }
        let labels = try itemLabels(item: item, definition: definition, asOf: state)
        let facts = EscalationFacts(feedback: FeedbackDraft(kind: .label), labels: labels, ties: definition.ties)
        var settled = false
        for escalation in escalations where EscalationPolicy.stillHolds(rule: escalation.rule, rules: definition.escalation, facts) == false {
            try db.run(
                "UPDATE escalations SET status = 'resolved', closed_at = ? WHERE id = ? AND status = 'open'",
                .integer(now.milliseconds), .integer(escalation.id))
            try logEvent(kind: "escalation-settled", at: now, item: item, detail: .object([
                ("escalation", .number(Double(escalation.id))), ("reason", .string("the reviewers' current labels no longer give its reason")),
            ]))
            // The extra review a second-review escalation asked for is no longer needed, unless
            // someone has already taken that place.
            if escalation.tier == "second-review" {
                try db.run("UPDATE items SET overlap = overlap - 1 WHERE seq = ? AND overlap - 1 >= \(db.greatest("taken", "1"))", .integer(item))
                if db.changes > 0 {
                    try logEvent(kind: "overlap-lowered", at: now, item: item, detail: .object([("escalation", .number(Double(escalation.id)))]))
                }
            }
            settled = true
        }
        guard settled, try db.scalar("SELECT id FROM escalations WHERE item = ? AND status = 'open'", .integer(item)) == nil else { return }
        // While the settled escalation was open, a flag on the item could not open its own: the
        // policy is run again for each current flag, and the first that matches escalates.
        let flags = try db.statement(
            """
            SELECT f.id, f.reason, f.severity, f.text FROM feedback f
            WHERE f.item = ? AND f.kind = 'flag' AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id) ORDER BY f.id
            """)
        try flags.bind([.integer(item)])
        var current: [(id: Int64, draft: FeedbackDraft)] = []
        while try flags.step() {
            // As the flags stood then, when evaluating a backlog entry.
            if let state, !state.contains(flags.int(0)) { continue }
            current.append((flags.int(0), FeedbackDraft(
                kind: .flag, text: flags.optionalText(3), reason: flags.optionalText(1), severity: flags.optionalInt(2).map(Int.init))))
        }
        flags.reset()
        let row = try db.statement("SELECT risk, triage, gold FROM items WHERE seq = ?")
        try row.bind([.integer(item)])
        _ = try row.step()
        let risk = row.optionalDouble(0), triage = row.optionalInt(1).map(Int.init), gold = row.optionalText(2)
        row.reset()
        for flag in current {
            let facts = EscalationFacts(feedback: flag.draft, labels: labels, ties: definition.ties, risk: risk ?? triage.map { Double($0) / 3 }, gold: gold)
            if let match = EscalationPolicy.evaluate(definition.escalation, facts), match.rule <= definition.escalation.count {
                try openEscalation(item: item, feedback: flag.id, match: match, severity: flag.draft.severity ?? 0, triage: triage, at: now)
                return
            }
        }
    }

    /// Inside a write transaction, after `feedback` was recorded: the escalation policy, as every
    /// path that records feedback runs it (a session's submission, or the backlog of a login that
    /// could not run it itself).
    func applyEscalationPolicy(
        item: Int64, feedback: Int64, draft: FeedbackDraft, definition: TaskDefinition, at now: Instant, asOf state: FeedbackState? = nil
    ) throws {
        if draft.kind == .label { try settleEscalations(item: item, definition: definition, at: now, asOf: state) }
        try evaluateEscalation(item: item, feedback: feedback, draft: draft, definition: definition, at: now, asOf: state)
    }

    /// Inside a write transaction, after the label `feedback` was withdrawn: the policy's settling
    /// and tie rules, as every path that withdraws a label runs them.
    func applyEscalationPolicy(
        afterWithdrawing feedback: Int64, item: Int64, definition: TaskDefinition, at now: Instant, asOf state: FeedbackState? = nil
    ) throws {
        try settleEscalations(item: item, definition: definition, at: now, asOf: state)
        try evaluateTieEscalation(item: item, feedback: feedback, definition: definition, at: now, asOf: state)
    }

    /// Inside a write transaction of a login that reads every answer, before anything else:
    /// links the events that logins held to a reviewer's rights wrote and listed in
    /// `event_backlog` (they do not link their own: the links would let them guess others'
    /// events), in order, and applies the escalation
    /// policy to the feedback they gave or withdrew (`escalation_backlog`), in the order given,
    /// each against the item's feedback as it stood then, at the time it was given.
    func catchUp() throws {
        var previous = AuditChain.genesis
        var lastLinked: Int64 = 0
        let head = try db.statement("SELECT event, link FROM event_links ORDER BY event DESC LIMIT 1")
        if try head.step() { (lastLinked, previous) = (head.int(0), head.text(1)) }
        head.reset()
        // Only the events held logins listed, and only after the chain's last link: a link removed
        // by hand is never made again (`check` goes on naming it). In batches, so memory stays
        // flat and each batch of links is one statement, however many events wait.
        let batch = 512
        let unlinked = try db.statement(
            "SELECT e.id, e.at, e.kind, e.reviewer, e.item, e.detail FROM event_backlog b JOIN events e ON e.id = b.event WHERE e.id > ? ORDER BY e.id LIMIT \(batch)")
        let full = try db.statement("INSERT INTO event_links (event, link) VALUES " + Array(repeating: "(?, ?)", count: batch).joined(separator: ", "))
        var after = lastLinked
        while true {
            try unlinked.bind([.integer(after)])
            var links: [SQLValue] = []
            while try unlinked.step() {
                let event = Self.auditEvent(unlinked, from: 0)
                previous = AuditChain.link(previous: previous, event: event)
                links += [.integer(event.id), .text(previous)]
                after = event.id
            }
            unlinked.reset()
            guard !links.isEmpty else { break }
            let insert = links.count == 2 * batch
                ? full : try db.statement("INSERT INTO event_links (event, link) VALUES " + Array(repeating: "(?, ?)", count: links.count / 2).joined(separator: ", "))
            try insert.bind(links)
            while try insert.step() {}
            insert.reset()
            chainHead = (after, previous)
            if links.count < 2 * batch { break }
        }
        // What was linked, and what can no longer be (listed, but at or before a link already made).
        try db.run("DELETE FROM event_backlog WHERE event <= ?", .integer(after))

        let rows = try db.statement(
            """
            SELECT b.id, b.feedback, b.withdrawn, f.item, b.through, array_to_string(b.live, ','),
                   CASE WHEN b.withdrawn = 0 THEN f.created_at ELSE (SELECT w.at FROM withdrawals w WHERE w.feedback = f.id) END,
                   \(Self.feedbackColumns)
            FROM escalation_backlog b JOIN feedback f ON f.id = b.feedback ORDER BY b.id
            """)
        var waiting: [(id: Int64, feedback: Int64, withdrawn: Bool, item: Int64, state: FeedbackState?, at: Instant, draft: FeedbackDraft)] = []
        while try rows.step() {
            let live = Set((rows.optionalText(5) ?? "").split(separator: ",").compactMap { Int64($0) })
            let state = rows.optionalInt(4).map { FeedbackState(through: $0, live: live) }
            waiting.append((rows.int(0), rows.int(1), rows.int(2) != 0, rows.int(3), state, Instant(milliseconds: rows.int(6)), feedbackDraft(rows, from: 7)))
        }
        rows.reset()
        guard let last = waiting.last?.id else { return }
        let definition = try taskDefinition().definition
        for entry in waiting {
            if entry.withdrawn {
                try applyEscalationPolicy(afterWithdrawing: entry.feedback, item: entry.item, definition: definition, at: entry.at, asOf: entry.state)
            } else {
                try applyEscalationPolicy(item: entry.item, feedback: entry.feedback, draft: entry.draft, definition: definition, at: entry.at, asOf: entry.state)
            }
        }
        try db.run("DELETE FROM escalation_backlog WHERE id <= ?", .integer(last))
    }

    func evaluateEscalation(
        item: Int64, feedback: Int64, draft: FeedbackDraft, definition: TaskDefinition, at now: Instant, asOf state: FeedbackState? = nil
    ) throws {
        // Without a policy only the tie rule is left, and only a label can make or break a tie.
        guard !definition.escalation.isEmpty || (definition.ties == .escalate && draft.kind == .label) else { return }
        if try db.scalar("SELECT id FROM escalations WHERE item = ? AND status = 'open'", .integer(item)) != nil { return }
        let labels = try itemLabels(item: item, definition: definition, asOf: state)
        let facts = try db.statement("SELECT risk, triage, gold FROM items WHERE seq = ?")
        try facts.bind([.integer(item)])
        _ = try facts.step()
        let risk = facts.optionalDouble(0), triage = facts.optionalInt(1).map(Int.init), gold = facts.optionalText(2)
        facts.reset()
        // The model's risk, else the triage severity standing in for it (as in the utility).
        guard let match = EscalationPolicy.evaluate(
            definition.escalation,
            EscalationFacts(feedback: draft, labels: labels, ties: definition.ties, risk: risk ?? triage.map { Double($0) / 3 }, gold: gold))
        else { return }
        try openEscalation(item: item, feedback: feedback, match: match, severity: draft.kind == .flag ? (draft.severity ?? 0) : 0, triage: triage, at: now)
    }

    /// Inside a write transaction, after a label was withdrawn: a withdrawal can leave a tie
    /// behind, which goes to the lead under `ties: escalate` (only the implicit tie rule is
    /// evaluated: the policy's rules look at feedback as it is given).
    func evaluateTieEscalation(item: Int64, feedback: Int64, definition: TaskDefinition, at now: Instant, asOf state: FeedbackState? = nil) throws {
        guard definition.ties == .escalate else { return }
        if try db.scalar("SELECT id FROM escalations WHERE item = ? AND status = 'open'", .integer(item)) != nil { return }
        let labels = try itemLabels(item: item, definition: definition, asOf: state)
        let draft = FeedbackDraft(kind: .label)
        guard let match = EscalationPolicy.tie(definition.escalation, EscalationFacts(feedback: draft, labels: labels, ties: definition.ties)) else { return }
        let triage = try db.scalar("SELECT triage FROM items WHERE seq = ?", .integer(item))
        var level: Int?
        if case .integer(let t)? = triage { level = Int(t) }
        try openEscalation(item: item, feedback: feedback, match: match, severity: 0, triage: level, at: now)
    }

    private func openEscalation(item: Int64, feedback: Int64, match: (rule: Int, tier: String, reason: String), severity flagSeverity: Int, triage: Int?, at now: Instant) throws {
        let severity = max(flagSeverity, triage ?? 0)
        let id = try db.insert(
            "INSERT INTO escalations (item, tier, rule, reason, severity, feedback, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            .integer(item), .text(match.tier), .integer(Int64(match.rule)), .text(match.reason), .integer(Int64(severity)),
            .integer(feedback), .integer(now.milliseconds))
        if match.tier == "second-review" {
            try db.run("UPDATE items SET overlap = overlap + 1 WHERE seq = ?", .integer(item))
        }
        try logEvent(kind: "escalated", at: now, item: item, detail: .object([
            ("escalation", .number(Double(id))), ("tier", .string(match.tier)), ("rule", .number(Double(match.rule))),
            ("reason", .string(match.reason)), ("severity", .number(Double(severity))),
        ]))
    }

    /// Saves a Dawid–Skene model (priors and confusion matrices by reviewer name) for the escalation policy.
    public func saveModel(labels: [String], reviewers: [String], result: Aggregation.DawidSkeneResult, at now: Instant) throws(StoreError) {
        let model = DawidSkeneModel(labels: labels, reviewers: reviewers, result: result).json(order: reviewers)
        try write {
            try db.run("INSERT INTO models (method, model, created_at) VALUES ('dawid-skene', ?, ?)", .text(model.encoded()), .integer(now.milliseconds))
            try logEvent(kind: "model-saved", at: now, detail: .object([("method", .string("dawid-skene")), ("iterations", .number(Double(result.iterations)))]))
        }
    }

    /// Open escalations, optionally of one tier: highest severity first, then oldest.
    public func openEscalations(tier: String?) throws(StoreError) -> [EscalationRecord] {
        try read {
            let statement = try db.statement(
                """
                SELECT e.id, i.id, e.tier, e.rule, e.reason, e.severity, e.created_at, e.status FROM escalations e JOIN items i ON i.seq = e.item
                WHERE e.status = 'open' AND (CAST(?1 AS TEXT) IS NULL OR e.tier = ?1) ORDER BY e.severity DESC, e.created_at, e.id
                """)
            try statement.bind([SQLValue(tier)])
            var records: [EscalationRecord] = []
            while try statement.step() {
                records.append(EscalationRecord(
                    id: statement.int(0), itemID: statement.text(1), tier: statement.text(2), rule: Int(statement.int(3)),
                    reason: statement.text(4), severity: Int(statement.int(5)), createdAt: Instant(milliseconds: statement.int(6)), status: statement.text(7)))
            }
            return records
        }
    }
}
