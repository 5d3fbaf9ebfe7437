import DocketCore

extension ExportFilter {
    /// SQL conditions on `f` (feedback), `i` (items) and `rb` (rubrics), with their arguments.
    func conditions() -> (String, [SQLValue]) {
        var parts: [String] = []
        var arguments: [SQLValue] = []
        if let asOf {
            parts.append("f.created_at <= ?")
            arguments.append(.integer(asOf.milliseconds))
            parts.append("NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id AND w.at <= ?)")
            arguments.append(.integer(asOf.milliseconds))
        } else {
            parts.append("NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)")
        }
        if let since { parts.append("f.created_at >= ?"); arguments.append(.integer(since.milliseconds)) }
        if let until { parts.append("f.created_at < ?"); arguments.append(.integer(until.milliseconds)) }
        if let category { parts.append("i.category = ?"); arguments.append(.text(category)) }
        if let rubric { parts.append("rb.version = ?"); arguments.append(.integer(Int64(rubric))) }
        return (parts.joined(separator: " AND "), arguments)
    }
}

extension SQLStore {
    /// Streams feedback of the given kinds grouped by item (items in seq order; within an item,
    /// by reviewer then id), with the item's provenance and the latest lead decision on its label.
    public func forEachItemFeedback(
        kinds: [FeedbackKind], filter: ExportFilter, _ body: (ItemProvenance, [ExportedFeedback], LeadDecision?) throws -> Void
    ) throws(StoreError) {
        try readStreaming {
            let (where_, arguments) = filter.conditions()
            let kindList = kinds.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            let statement = try db.cursor(
                """
                SELECT f.item, i.id, i.category, i.prompt, i.response, i.responses, i.policy, i.propensity, i.served_at,
                       r.name, f.id, f.created_at, rb.version, \(Self.feedbackColumns)
                FROM feedback f JOIN items i ON i.seq = f.item JOIN reviewers r ON r.id = f.reviewer LEFT JOIN rubrics rb ON rb.id = f.rubric
                WHERE f.kind IN (\(kindList)) AND \(where_)
                ORDER BY f.item, f.reviewer, f.id
                """)
            try statement.bind(arguments)
            let anyDecisions = try db.int("SELECT count(*) FROM decisions") > 0
            let decision = try db.statement(
                """
                SELECT d.kind, d.value, r.name, d.rationale, d.created_at FROM decisions d JOIN reviewers r ON r.id = d.lead
                WHERE d.item = ? AND d.kind = 'label' AND d.created_at <= ? ORDER BY d.id DESC LIMIT 1
                """)
            var current: ItemProvenance?
            var group: [ExportedFeedback] = []
            func flush() throws {
                guard let item = current else { return }
                var lead: LeadDecision?
                if anyDecisions {
                    decision.reset()
                    try decision.bind([.integer(item.seq), .integer(filter.asOf?.milliseconds ?? Int64.max)])
                    if try decision.step() {
                        lead = LeadDecision(kind: decision.text(0), value: decision.optionalText(1), lead: decision.text(2), rationale: decision.text(3), at: Instant(milliseconds: decision.int(4)))
                    }
                    decision.reset()
                }
                try body(item, group.sorted { $0.reviewer != $1.reviewer ? $0.reviewer < $1.reviewer : $0.id < $1.id }, lead)
            }
            while try statement.step() {
                let seq = statement.int(0)
                if current?.seq != seq {
                    try flush()
                    let responses = statement.stringArray(5)
                    current = ItemProvenance(
                        seq: seq, id: statement.text(1), category: statement.optionalText(2), prompt: statement.optionalText(3),
                        response: statement.optionalText(4), responses: responses, policy: statement.optionalText(6),
                        propensity: statement.optionalDouble(7), servedAt: statement.optionalInt(8).map { Instant(milliseconds: $0) })
                    group.removeAll(keepingCapacity: true)
                }
                group.append(ExportedFeedback(
                    id: statement.int(10), reviewer: statement.text(9), draft: feedbackDraft(statement, from: 13),
                    rubric: statement.optionalInt(12).map(Int.init), createdAt: Instant(milliseconds: statement.int(11))))
            }
            try flush()
        }
    }

    /// Streams what preference pairs are made of, item by item in seq order: the current
    /// preferences, rankings and edits (grouped as `forEachItemFeedback` groups them) and the
    /// latest `choice` decision on the item, recorded by `filter.asOf` and within `--since` and
    /// `--until` (a decision has no rubric, so there is none under a rubric filter). An item a
    /// lead chose on without such feedback comes with no feedback.
    public func forEachItemPreferenceFeedback(
        filter: ExportFilter, _ body: (ItemProvenance, [ExportedFeedback], LeadDecision?) throws -> Void
    ) throws(StoreError) {
        try readStreaming {
            var conditions = ["d.kind = 'choice'", "d.created_at <= ?"]
            var arguments: [SQLValue] = [.integer(filter.asOf?.milliseconds ?? Int64.max)]
            if let since = filter.since { conditions.append("d.created_at >= ?"); arguments.append(.integer(since.milliseconds)) }
            if let until = filter.until { conditions.append("d.created_at < ?"); arguments.append(.integer(until.milliseconds)) }
            if let category = filter.category { conditions.append("i.category = ?"); arguments.append(.text(category)) }
            if filter.rubric != nil { conditions.append("0") }
            let decisions = try db.cursor(
                """
                SELECT d.item, d.kind, d.value, r.name, d.rationale, d.created_at FROM decisions d
                JOIN reviewers r ON r.id = d.lead JOIN items i ON i.seq = d.item
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY d.id
                """)
            try decisions.bind(arguments)
            var choices: [Int64: LeadDecision] = [:]
            while try decisions.step() {
                choices[decisions.int(0)] = LeadDecision(
                    kind: decisions.text(1), value: decisions.optionalText(2), lead: decisions.text(3), rationale: decisions.text(4),
                    at: Instant(milliseconds: decisions.int(5)))
            }
            // Items with a choice and no feedback are sent between the others, in seq order.
            let chosen = choices.keys.sorted()
            var next = 0
            let item = try db.statement(
                "SELECT seq, id, category, prompt, response, responses, policy, propensity, served_at FROM items WHERE seq = ?")
            func sendChoicesOnly(before seq: Int64) throws {
                while next < chosen.count, chosen[next] < seq {
                    item.reset()
                    try item.bind([.integer(chosen[next])])
                    if try item.step() {
                        let provenance = ItemProvenance(
                            seq: item.int(0), id: item.text(1), category: item.optionalText(2), prompt: item.optionalText(3),
                            response: item.optionalText(4), responses: item.stringArray(5), policy: item.optionalText(6),
                            propensity: item.optionalDouble(7), servedAt: item.optionalInt(8).map { Instant(milliseconds: $0) })
                        item.reset()
                        try body(provenance, [], choices[chosen[next]])
                    }
                    next += 1
                }
            }
            try forEachItemFeedback(kinds: [.preference, .ranking, .edit], filter: filter) { provenance, feedback, _ in
                try sendChoicesOnly(before: provenance.seq)
                if next < chosen.count, chosen[next] == provenance.seq { next += 1 }
                try body(provenance, feedback, choices[provenance.seq])
            }
            try sendChoicesOnly(before: Int64.max)
            item.reset()
        }
    }

    /// Every escalation (status as of `filter.asOf`), in creation order.
    public func forEachEscalation(filter: ExportFilter, _ body: (EscalationRecord, Instant?) throws -> Void) throws(StoreError) {
        try readStreaming {
            let asOf = filter.asOf?.milliseconds ?? Int64.max
            let statement = try db.cursor(
                """
                SELECT e.id, i.id, e.tier, e.rule, e.reason, e.severity, e.created_at,
                       CASE WHEN e.closed_at IS NOT NULL AND e.closed_at <= ?1 THEN e.status ELSE 'open' END,
                       CASE WHEN e.closed_at <= ?1 THEN e.closed_at END
                FROM escalations e JOIN items i ON i.seq = e.item WHERE e.created_at <= ?1 ORDER BY e.id
                """)
            try statement.bind([.integer(asOf)])
            while try statement.step() {
                try body(EscalationRecord(
                    id: statement.int(0), itemID: statement.text(1), tier: statement.text(2), rule: Int(statement.int(3)), reason: statement.text(4),
                    severity: Int(statement.int(5)), createdAt: Instant(milliseconds: statement.int(6)), status: statement.text(7)),
                    statement.optionalInt(8).map { Instant(milliseconds: $0) })
            }
        }
    }

    /// Ids and embeddings of every item that has one, in import order.
    public func itemEmbeddings() throws(StoreError) -> (ids: [String], embeddings: [[Float]]) {
        try read {
            var ids: [String] = [], embeddings: [[Float]] = []
            let statement = try db.cursor("SELECT id, embedding FROM items WHERE embedding IS NOT NULL ORDER BY seq")
            while try statement.step() {
                ids.append(statement.text(0))
                embeddings.append(EmbeddingCoding.decode(statement.blob(1) ?? []))
            }
            return (ids, embeddings)
        }
    }
}
