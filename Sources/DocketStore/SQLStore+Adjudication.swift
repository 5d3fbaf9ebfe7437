import DocketCore

extension SQLStore {
    func requireLead(_ name: String, action: String) throws -> (id: Int64, name: String, role: Role) {
        let actor = try reviewerIdentity(named: name)
        guard actor.role >= Action.adjudicate.minimumRole else {
            throw StoreError.notPermitted(reviewer: actor.name, role: actor.role.rawValue, action: action)
        }
        return actor
    }

    /// Changes a reviewer's role as `Access.roleChange` allows (a lead moves people between
    /// reviewer and lead; no change leaves the project without an admin), in one transaction.
    @discardableResult
    public func setRole(of name: String, to role: Role, by actor: Actor, at now: Instant) throws(StoreError) -> Bool {
        try write {
            let target = try reviewerIdentity(named: name)
            if target.role == role { return false }  // already so: nothing to change or record
            var current = actor
            if let person = actor.person, !actor.privileged {
                // The role as the database holds it now, not as the caller found it a moment ago.
                let fresh = try reviewerIdentity(named: person.name)
                current.person = Person(name: fresh.name, role: fresh.role)
                current.role = fresh.role
            }
            guard case .integer(let admins)? = try db.scalar("SELECT count(*) FROM reviewers WHERE role = 'admin'") else {
                throw StoreError.corrupt(detail: "reviewers cannot be counted")
            }
            if let denial = Access.roleChange(actor: current, target: Person(name: target.name, role: target.role), to: role, admins: Int(admins)) {
                throw StoreError.denied(denial)
            }
            try db.run("UPDATE reviewers SET role = ? WHERE id = ?", .text(role.rawValue), .integer(target.id))
            // The event is the changed reviewer's (as reviewer-added and login-bound are); who
            // changed it is its "actor".
            try logEvent(kind: "role-changed", at: now, reviewer: target.id, detail: .object([
                ("reviewer", .string(target.name)), ("from", .string(target.role.rawValue)), ("to", .string(role.rawValue)),
            ]))
            return true
        }
    }

    /// Records a lead's decision on an item: a final label, rating or chosen response (resolving
    /// its open escalation), a return for another review round (raising its overlap), or a
    /// dismissal. Earlier decisions stay; the new one supersedes the latest of its kind.
    public func decide(item itemID: String, kind: DecisionKind, value: String?, rationale: String, by leadName: String, at now: Instant) throws(StoreError) -> DecisionRecord {
        try write {
            let lead = try requireLead(leadName, action: "adjudicate")
            guard case .integer(let item)? = try db.scalar("SELECT seq FROM items WHERE id = ?", .text(itemID)) else {
                throw StoreError.unknownItem(id: itemID)
            }
            let escalation = try db.scalar("SELECT id FROM escalations WHERE item = ? AND status = 'open'", .integer(item))
            // A revision supersedes the latest decision of its own kind: a rating never revises a label.
            let previous = try db.scalar("SELECT max(id) FROM decisions WHERE item = ? AND kind = ?", .integer(item), .text(kind.rawValue))
            var escalationID: Int64?
            if case .integer(let e)? = escalation { escalationID = e }
            var supersedes: Int64?
            if case .integer(let p)? = previous { supersedes = p }
            let id = try db.insert(
                "INSERT INTO decisions (item, escalation, lead, kind, value, rationale, supersedes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                .integer(item), SQLValue(escalationID), .integer(lead.id), .text(kind.rawValue), SQLValue(value), .text(rationale), SQLValue(supersedes),
                .integer(now.milliseconds))
            let status = kind == .return ? "returned" : (kind == .dismiss ? "dismissed" : "resolved")
            if let escalationID, kind.closesEscalation {
                try db.run(
                    "UPDATE escalations SET status = ?, closed_at = ?, closed_by = ? WHERE id = ?",
                    .text(status), .integer(now.milliseconds), .integer(lead.id), .integer(escalationID))
            }
            if kind == .return { try db.run("UPDATE items SET overlap = overlap + 1 WHERE seq = ?", .integer(item)) }
            try logEvent(kind: supersedes == nil ? "adjudicated" : "adjudication-revised", at: now, reviewer: lead.id, item: item, detail: .object([
                ("decision", .number(Double(id))), ("kind", .string(kind.rawValue)), ("value", value.map { .string($0) } ?? .null),
                ("escalation", escalationID.map { .number(Double($0)) } ?? .null), ("supersedes", supersedes.map { .number(Double($0)) } ?? .null),
            ]))
            return DecisionRecord(id: id, itemID: itemID, lead: lead.name, kind: kind.rawValue, value: value, rationale: rationale, supersedes: supersedes, createdAt: now)
        }
    }

    /// Sets an item's triage severity; it stands in for a missing model risk in the utility.
    public func triage(item itemID: String, severity: Int, by reviewerName: String, at now: Instant) throws(StoreError) {
        try write {
            // Checked in the write, as a decision is: a lead demoted while a triage session runs triages no more.
            let reviewer = try requireLead(reviewerName, action: "triage")
            guard case .integer(let item)? = try db.scalar("SELECT seq FROM items WHERE id = ?", .text(itemID)) else {
                throw StoreError.unknownItem(id: itemID)
            }
            let w = try projectSettings().weights
            try db.run("UPDATE items SET triage = ? WHERE seq = ?", .integer(Int64(severity)), .integer(item))
            try rescoreUnserved(weights: w, item: item)
            try db.run("UPDATE escalations SET severity = \(db.greatest("severity", "?")) WHERE item = ? AND status = 'open'", .integer(Int64(severity)), .integer(item))
            try logEvent(kind: "triaged", at: now, reviewer: reviewer.id, item: item, detail: .object([("severity", .number(Double(severity)))]))
        }
    }

    /// Items waiting for triage: flagged (a flag not withdrawn) or escalated first, then those
    /// without a model risk, in import order.
    public func triageQueue(limit: Int) throws(StoreError) -> [String] {
        try read {
            let flagged = """
                EXISTS (SELECT 1 FROM feedback f WHERE f.item = i.seq AND f.kind = 'flag'
                        AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id))
                """
            let escalated = "EXISTS (SELECT 1 FROM escalations e WHERE e.item = i.seq AND e.status = 'open')"
            let statement = try db.statement(
                """
                SELECT id FROM items i WHERE triage IS NULL AND (risk IS NULL OR \(flagged) OR \(escalated))
                ORDER BY (\(flagged) OR \(escalated)) DESC, seq
                LIMIT ?
                """)
            try statement.bind([.integer(Int64(limit))])
            var ids: [String] = []
            while try statement.step() { ids.append(statement.text(0)) }
            return ids
        }
    }

    public func itemReport(id itemID: String) throws(StoreError) -> ItemReport {
        try read {
            let (definition, _) = try taskDefinition()
            let statement = try db.statement("SELECT seq, prompt, response, responses, category, risk, triage, \(heldToReviewer ? "NULL" : "gold") FROM items WHERE id = ?")
            try statement.bind([.text(itemID)])
            guard try statement.step() else { throw StoreError.unknownItem(id: itemID) }
            let responses = statement.stringArray(3)
            var report = ItemReport(
                seq: statement.int(0), id: itemID, prompt: statement.optionalText(1), response: statement.optionalText(2), responses: responses,
                category: statement.optionalText(4), risk: statement.optionalDouble(5), triage: statement.optionalInt(6).map(Int.init),
                gold: statement.optionalText(7), feedback: [],
                labels: ItemLabels(current: [], votes: LabelRules.votes(counts: [:], declared: definition.labels), posterior: nil, final: .none),
                escalations: [], decisions: [], finalRating: nil, finalRatingSource: nil)
            statement.reset()
            let feedback = try db.statement(
                """
                SELECT r.name, f.id, f.created_at, \(Self.feedbackColumns) FROM feedback f JOIN reviewers r ON r.id = f.reviewer
                WHERE f.item = ? AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id) ORDER BY f.id
                """)
            try feedback.bind([.integer(report.seq)])
            while try feedback.step() {
                let stored = StoredFeedback(id: feedback.int(1), draft: feedbackDraft(feedback, from: 3), createdAt: Instant(milliseconds: feedback.int(2)))
                report.feedback.append((feedback.text(0), stored))
            }
            let replaced = try db.statement(
                """
                SELECT r.name, f.id, f.created_at, \(Self.feedbackColumns), s.by FROM supersessions s JOIN feedback f ON f.id = s.feedback
                JOIN reviewers r ON r.id = f.reviewer WHERE f.item = ? ORDER BY f.id
                """)
            try replaced.bind([.integer(report.seq)])
            while try replaced.step() {
                let stored = StoredFeedback(id: replaced.int(1), draft: feedbackDraft(replaced, from: 3), createdAt: Instant(milliseconds: replaced.int(2)))
                report.superseded.append((replaced.text(0), stored, replaced.int(12)))
            }
            // A login the database holds to a reviewer's rights reads its own answers alone: the
            // votes, the final label, escalations and decisions are not its to read (and `show`
            // gives a reviewer none of them anyway).
            if heldToReviewer { return report }
            // Labels, votes and the final label: the core's rules over the stored rows.
            report.labels = try itemLabels(item: report.seq, definition: definition, withModel: true)
            let escalations = try db.statement(
                "SELECT id, tier, rule, reason, severity, created_at, status FROM escalations WHERE item = ? ORDER BY id")
            try escalations.bind([.integer(report.seq)])
            while try escalations.step() {
                report.escalations.append(EscalationRecord(
                    id: escalations.int(0), itemID: itemID, tier: escalations.text(1), rule: Int(escalations.int(2)), reason: escalations.text(3),
                    severity: Int(escalations.int(4)), createdAt: Instant(milliseconds: escalations.int(5)), status: escalations.text(6)))
            }
            let decisions = try db.statement(
                "SELECT d.id, r.name, d.kind, d.value, d.rationale, d.supersedes, d.created_at FROM decisions d JOIN reviewers r ON r.id = d.lead WHERE d.item = ? ORDER BY d.id")
            try decisions.bind([.integer(report.seq)])
            while try decisions.step() {
                report.decisions.append(DecisionRecord(
                    id: decisions.int(0), itemID: itemID, lead: decisions.text(1), kind: decisions.text(2), value: decisions.optionalText(3),
                    rationale: decisions.text(4), supersedes: decisions.optionalInt(5), createdAt: Instant(milliseconds: decisions.int(6))))
            }
            // Final rating: the latest lead decision on the rating, else the reviewers' mean.
            if let rating = LabelRules.finalRating(rows: try ratingAnswers(item: report.seq), decisions: try decisionEntries(item: report.seq)) {
                report.finalRating = rating.rating
                report.finalRatingSource = rating.source
            }
            return report
        }
    }
}

extension SQLStore {
    /// The adjudicated label of every item a lead has decided (`LabelRules.adjudication`), by item id.
    public func adjudicatedLabels() throws(StoreError) -> [String: String] {
        try decisionsByItem().compactMapValues { LabelRules.adjudication($0)?.value }
    }
}
