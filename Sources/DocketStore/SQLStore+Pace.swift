import DocketCore

extension SQLStore {
    /// The reviewer's own pace for the session header (see `ReviewerPace`).
    /// - Parameter dayStart: the start of the reviewer's day; items finished since count as today's.
    public func pace(of reviewerName: String, dayStart: Instant) throws(StoreError) -> ReviewerPace {
        let reviewer = try reviewerIdentity(named: reviewerName)
        return try read {
            let doneToday = try db.int(
                "SELECT count(*) FROM assignments WHERE reviewer = ? AND state = 'done' AND closed_at >= ?",
                .integer(reviewer.id), .integer(dayStart.milliseconds))
            var seconds: [Double] = []
            let recent = try db.statement(
                """
                SELECT (SELECT sum(coalesce(f.seconds_spent, 0)) FROM feedback f WHERE f.assignment = a.id)
                FROM assignments a WHERE a.reviewer = ? AND a.state = 'done' ORDER BY a.closed_at DESC LIMIT 50
                """)
            try recent.bind([.integer(reviewer.id)])
            while try recent.step() { seconds.append(recent.optionalDouble(0) ?? 0) }
            let inProgress = try db.int(
                """
                SELECT count(*) FROM items i INDEXED BY items_in_progress
                WHERE i.served_at IS NOT NULL AND i.taken < i.overlap AND NOT \(Self.hadSQL(item: "i.seq", reviewer: "?1"))
                """, .integer(reviewer.id))
            let state = try selectionState()
            // Unserved items count until this reviewer has had them, so the count goes down by one
            // after every item, gold or not. The budget caps only what the queue can still select;
            // gold reserved for calibration (never selected, never spending the budget) counts on
            // its own, each gold item until this reviewer has had it.
            let hadUnserved = try db.int(
                "SELECT count(*) FROM assignments a JOIN items i ON i.seq = a.item WHERE a.reviewer = ? AND i.served_at IS NULL AND (\(goldCondition(isGold: false, seq: "i.seq", gold: "i.gold")) OR ?2 = 0)",
                .integer(reviewer.id), .integer(state.reservesGold ? 1 : 0))
            var fresh = max(0, state.unserved - Int(hadUnserved))
            if let budget = state.settings.budget { fresh = min(fresh, max(0, budget - state.served)) }
            var gold = 0
            if state.reservesGold {
                // Every gold item this reviewer has had or has on screen (the one on screen is
                // counted among the open assignments below).
                let hadGold = try db.int(
                    "SELECT count(*) FROM assignments a JOIN items i ON i.seq = a.item WHERE a.reviewer = ? AND \(goldCondition(isGold: true, seq: "i.seq", gold: "i.gold")) AND i.served_at IS NULL",
                    .integer(reviewer.id))
                gold = max(0, state.unservedGold - Int(hadGold))
            }
            // The item on the reviewer's screen is left too, until it is done.
            let open = try db.int("SELECT count(*) FROM assignments WHERE reviewer = ? AND state = 'open'", .integer(reviewer.id))
            return ReviewerPace(doneToday: Int(doneToday), recentSeconds: seconds, left: Int(open) + Int(inProgress) + fresh + gold)
        }
    }
}
