import DocketCore

// The rows of the monitoring report (`ReportItem`, `Round`, `WorkRecord`) are core types: the
// report is computed from them by `MonitoringReport.compute`.

extension SQLStore {
    public func startRound(_ name: String, at now: Instant) throws(StoreError) -> Round {
        try write {
            if case .text(let open)? = try db.scalar("SELECT name FROM rounds WHERE closed_at IS NULL") { throw StoreError.roundOpen(name: open) }
            if try db.scalar("SELECT id FROM rounds WHERE name = ?", .text(name)) != nil { throw StoreError.duplicateRound(name: name) }
            let id = try db.insert("INSERT INTO rounds (name, started_at) VALUES (?, ?) RETURNING id", .text(name), .integer(now.milliseconds))
            try logEvent(kind: "round-started", at: now, detail: .object([("round", .string(name))]))
            return Round(id: id, name: name, startedAt: now, closedAt: nil)
        }
    }

    public func closeRound(at now: Instant) throws(StoreError) -> Round {
        try write {
            let statement = try db.statement("SELECT id, name, started_at FROM rounds WHERE closed_at IS NULL")
            guard try statement.step() else { throw StoreError.noOpenRound }
            let round = Round(id: statement.int(0), name: statement.text(1), startedAt: Instant(milliseconds: statement.int(2)), closedAt: now)
            statement.reset()
            try db.run("UPDATE rounds SET closed_at = ? WHERE id = ?", .integer(now.milliseconds), .integer(round.id))
            try logEvent(kind: "round-closed", at: now, detail: .object([("round", .string(round.name))]))
            return round
        }
    }

    public func rounds() throws(StoreError) -> [Round] {
        try read {
            var rounds: [Round] = []
            let statement = try db.statement("SELECT id, name, started_at, closed_at FROM rounds ORDER BY started_at, id")
            while try statement.step() {
                rounds.append(Round(id: statement.int(0), name: statement.text(1), startedAt: Instant(milliseconds: statement.int(2)), closedAt: statement.optionalInt(3).map { Instant(milliseconds: $0) }))
            }
            return rounds
        }
    }

    /// Every item handed out, with what the report needs.
    public func reportItems() throws(StoreError) -> [ReportItem] {
        try read {
            let current = "NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)"
            let statement = try db.cursor(
                """
                SELECT i.id, i.category, i.risk, i.propensity, i.policy, i.served_at, i.imported_at, i.triage,
                       (SELECT max(f.severity) FROM feedback f WHERE f.item = i.seq AND f.kind = 'flag' AND \(current)),
                       i.seq,
                       (SELECT count(*) FROM assignments a WHERE a.item = i.seq AND a.state = 'done')
                FROM items i WHERE i.served_at IS NOT NULL ORDER BY i.selection_step
                """)
            // Ratings and decisions for the final rating (`LabelRules.finalRating`), as `show` gives it.
            var withdrawn = Set<Int64>()
            let withdrawals = try db.statement("SELECT feedback FROM withdrawals")
            while try withdrawals.step() { withdrawn.insert(withdrawals.int(0)) }
            var ratings: [Int64: [RatingAnswer]] = [:]
            let rows = try db.cursor(
                "SELECT f.item, f.id, r.name, f.rating, f.created_at FROM feedback f JOIN reviewers r ON r.id = f.reviewer WHERE f.kind = 'rating' ORDER BY f.item, f.id")
            while try rows.step() {
                let id = rows.int(1)
                ratings[rows.int(0), default: []].append(RatingAnswer(
                    id: id, reviewer: rows.text(2), value: rows.double(3), withdrawn: withdrawn.contains(id), createdAt: Instant(milliseconds: rows.int(4))))
            }
            let decisions = try decisionEntriesByItem()
            var items: [ReportItem] = []
            while try statement.step() {
                let flag = statement.optionalInt(8).map(Int.init), triage = statement.optionalInt(7).map(Int.init), seq = statement.int(9)
                items.append(ReportItem(
                    id: statement.text(0), category: statement.optionalText(1), risk: statement.optionalDouble(2), propensity: statement.optionalDouble(3),
                    policy: statement.optionalText(4), servedAt: statement.optionalInt(5).map { Instant(milliseconds: $0) },
                    importedAt: Instant(milliseconds: statement.int(6)), severity: max(flag ?? 0, triage ?? 0),
                    meanRating: LabelRules.finalRating(rows: ratings[seq] ?? [], decisions: decisions[seq] ?? [])?.rating,
                    reviews: Int(statement.int(10))))
            }
            return items
        }
    }

    /// Completed reviews: who, when, and the seconds spent on the item's feedback.
    public func workRecords() throws(StoreError) -> [WorkRecord] {
        try read {
            var records: [WorkRecord] = []
            let statement = try db.cursor(
                """
                SELECT r.name, a.closed_at, coalesce((SELECT sum(f.seconds_spent) FROM feedback f WHERE f.assignment = a.id), 0)
                FROM assignments a JOIN reviewers r ON r.id = a.reviewer WHERE a.state = 'done' ORDER BY a.closed_at
                """)
            while try statement.step() {
                records.append(WorkRecord(reviewer: statement.text(0), closedAt: Instant(milliseconds: statement.int(1)), seconds: statement.double(2)))
            }
            return records
        }
    }
}
