import DocketCore

/// An open escalation, as the lead's list shows it.
public struct EscalationRecord: Equatable, Sendable {
    public var id: Int64
    public var itemID: String
    public var tier: String
    public var rule: Int
    public var reason: String
    public var severity: Int
    public var createdAt: Instant
    public var status: String
}

extension SQLiteStore {
    /// Inside a write transaction, after feedback was recorded: applies the escalation policy.
    func evaluateEscalation(item: Int64, feedback: Int64, draft: FeedbackDraft, definition: TaskDefinition, at now: Instant) throws {
        guard !definition.escalation.isEmpty else { return }
        if try db.scalar("SELECT id FROM escalations WHERE item = ? AND status = 'open'", .integer(item)) != nil { return }
        var counts: [String: Int] = [:]
        var byReviewer: [(String, String)] = []
        let labels = try db.statement(
            """
            SELECT r.name, f.label FROM feedback f JOIN reviewers r ON r.id = f.reviewer
            WHERE f.item = ? AND f.kind = 'label' AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)
              AND f.id = (SELECT max(g.id) FROM feedback g WHERE g.item = f.item AND g.reviewer = f.reviewer AND g.kind = 'label'
                          AND NOT EXISTS (SELECT 1 FROM withdrawals w2 WHERE w2.feedback = g.id))
            """)
        try labels.bind([.integer(item)])
        while try labels.step() {
            counts[labels.text(1), default: 0] += 1
            byReviewer.append((labels.text(0), labels.text(1)))
        }
        let facts = try db.statement("SELECT coalesce(risk, triage / 3.0), gold FROM items WHERE seq = ?")
        try facts.bind([.integer(item)])
        _ = try facts.step()
        let risk = facts.optionalDouble(0), gold = facts.optionalText(1)
        facts.reset()
        let posterior = try savedModelPosterior(labels: byReviewer.map { (reviewer: $0.0, label: $0.1) })
        guard let match = EscalationPolicy.evaluate(
            definition.escalation, EscalationFacts(feedback: draft, labelCounts: counts, posterior: posterior, risk: risk, gold: gold))
        else { return }
        let triage = try db.scalar("SELECT triage FROM items WHERE seq = ?", .integer(item))
        var severity = draft.kind == .flag ? (draft.severity ?? 0) : 0
        if case .integer(let t)? = triage { severity = max(severity, Int(t)) }
        try db.run(
            "INSERT INTO escalations (item, tier, rule, reason, severity, feedback, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            .integer(item), .text(match.tier), .integer(Int64(match.rule)), .text(match.reason), .integer(Int64(severity)),
            .integer(feedback), .integer(now.milliseconds))
        let id = db.lastInsertRowID
        if match.tier == "second-review" {
            try db.run("UPDATE items SET overlap = overlap + 1 WHERE seq = ?", .integer(item))
        }
        try logEvent(kind: "escalated", at: now, item: item, detail: .object([
            ("escalation", .number(Double(id))), ("tier", .string(match.tier)), ("rule", .number(Double(match.rule))),
            ("reason", .string(match.reason)), ("severity", .number(Double(severity))),
        ]))
    }

    /// The posterior of the most likely label under the latest saved Dawid–Skene model, from
    /// the labels of reviewers the model knows; nil without a model or such labels.
    func savedModelPosterior(labels: [(reviewer: String, label: String)]) throws -> Double? {
        guard let (_, logPosterior, used) = try savedModelScores(labels: labels), used > 0, let top = logPosterior.max() else { return nil }
        return 1 / logPosterior.map { Self.exp($0 - top) }.reduce(0, +)
    }

    /// Under the latest saved Dawid–Skene model: its classes, each class's log prior plus the log
    /// likelihood of the given labels (from reviewers the model knows), and how many labels it used.
    func savedModelScores(labels: [(reviewer: String, label: String)]) throws -> (classes: [String], scores: [Double], used: Int)? {
        guard case .text(let text)? = try db.scalar("SELECT model FROM models WHERE method = 'dawid-skene' ORDER BY id DESC LIMIT 1") else { return nil }
        let model = try JSON.parse(text)
        guard case .array(let classValues)? = model["labels"], case .array(let priorValues)? = model["priors"] else { return nil }
        let classes = classValues.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        var scores = priorValues.map { value -> Double in if case .number(let p) = value { return Self.ln(max(p, 1e-10)) } else { return 0 } }
        var used = 0
        for (reviewer, label) in labels {
            guard let l = classes.firstIndex(of: label), case .array(let rows)? = model["confusion"]?[reviewer], rows.count == classes.count else { continue }
            used += 1
            for k in classes.indices {
                if case .array(let row) = rows[k], case .number(let p) = row[l] { scores[k] += Self.ln(max(p, 1e-10)) }
            }
        }
        return (classes, scores, used)
    }

    static func ln(_ x: Double) -> Double { Foundation_log(x) }
    static func exp(_ x: Double) -> Double { Foundation_exp(x) }

    /// Saves a Dawid–Skene model (priors and confusion matrices by reviewer name) for the escalation policy.
    public func saveModel(labels: [String], reviewers: [String], result: Aggregation.DawidSkeneResult, at now: Instant) throws(StoreError) {
        let model = JSONValue.object([
            ("labels", .array(labels.map { .string($0) })),
            ("priors", .array(result.priors.map { .number($0) })),
            ("confusion", .object(reviewers.enumerated().map { r, name in
                (name, .array(result.confusion[r].map { row in .array(row.map { .number($0) }) }))
            })),
        ])
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
                WHERE e.status = 'open' AND (?1 IS NULL OR e.tier = ?1) ORDER BY e.severity DESC, e.created_at, e.id
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

#if canImport(Glibc)
import Glibc
private func Foundation_log(_ x: Double) -> Double { Glibc.log(x) }
private func Foundation_exp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
private func Foundation_log(_ x: Double) -> Double { Darwin.log(x) }
private func Foundation_exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
