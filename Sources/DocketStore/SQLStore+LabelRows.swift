import DocketCore

// The rows the label rules read (`LabelRules` in DocketCore). The store fetches them as they
// are, withdrawn ones included and marked; which answer is current, the votes, ties and the final
// label are decided by the core, never here.

extension SQLStore {
    /// Every label row of one item (withdrawn ones marked), as of `asOf` when given: rows created
    /// later are left out, and a withdrawal recorded later does not count yet.
    /// An item's feedback as it stood at one moment (PostgreSQL's escalation backlog records it
    /// when a reviewer's login gives or withdraws feedback): the newest feedback id then, and the
    /// ids not withdrawn then.
    struct FeedbackState {
        var through: Int64
        var live: Set<Int64>

        func contains(_ id: Int64) -> Bool { id <= through && live.contains(id) }

        /// The label rows as they stood: later rows left out, withdrawn exactly when they were then.
        func apply(to rows: [LabelAnswer]) -> [LabelAnswer] {
            rows.filter { $0.id <= through }.map { row in
                var row = row
                row.withdrawn = !live.contains(row.id)
                return row
            }
        }
    }

    func labelAnswers(item: Int64, asOf: Instant? = nil) throws -> [LabelAnswer] {
        let statement = try db.statement(
            """
            SELECT f.id, r.name, f.label, EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id AND w.at <= ?2), rb.version, f.created_at
            FROM feedback f JOIN reviewers r ON r.id = f.reviewer LEFT JOIN rubrics rb ON rb.id = f.rubric
            WHERE f.item = ?1 AND f.kind = 'label' AND f.created_at <= ?2 ORDER BY f.id
            """)
        try statement.bind([.integer(item), .integer(asOf?.milliseconds ?? Int64.max)])
        var rows: [LabelAnswer] = []
        while try statement.step() {
            rows.append(LabelAnswer(
                id: statement.int(0), reviewer: statement.text(1), value: statement.text(2), withdrawn: statement.int(3) != 0,
                rubric: statement.optionalInt(4).map(Int.init), createdAt: Instant(milliseconds: statement.int(5))))
        }
        return rows
    }

    /// Every rating row of one item (withdrawn ones marked).
    func ratingAnswers(item: Int64) throws -> [RatingAnswer] {
        let statement = try db.statement(
            """
            SELECT f.id, r.name, f.rating, EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id), f.created_at
            FROM feedback f JOIN reviewers r ON r.id = f.reviewer WHERE f.item = ? AND f.kind = 'rating' ORDER BY f.id
            """)
        try statement.bind([.integer(item)])
        var rows: [RatingAnswer] = []
        while try statement.step() {
            rows.append(RatingAnswer(
                id: statement.int(0), reviewer: statement.text(1), value: statement.double(2), withdrawn: statement.int(3) != 0,
                createdAt: Instant(milliseconds: statement.int(4))))
        }
        return rows
    }

    /// Every lead decision on one item, oldest first, as of `asOf` when given.
    func decisionEntries(item: Int64, asOf: Instant? = nil) throws -> [DecisionEntry] {
        let statement = try db.statement(
            """
            SELECT d.id, d.kind, d.value, r.name, d.rationale, d.created_at FROM decisions d JOIN reviewers r ON r.id = d.lead
            WHERE d.item = ? AND d.created_at <= ? ORDER BY d.id
            """)
        try statement.bind([.integer(item), .integer(asOf?.milliseconds ?? Int64.max)])
        var entries: [DecisionEntry] = []
        while try statement.step() { entries.append(Self.decisionEntry(statement)) }
        return entries
    }

    static func decisionEntry(_ statement: any SQLStatement, from column: Int32 = 0) -> DecisionEntry {
        DecisionEntry(
            id: statement.int(column), kind: statement.text(column + 1), value: statement.optionalText(column + 2), lead: statement.text(column + 3),
            rationale: statement.text(column + 4), createdAt: Instant(milliseconds: statement.int(column + 5)))
    }

    /// Every lead decision, by item seq, oldest first (decisions are few: one per escalation and revision).
    func decisionEntriesByItem(asOf: Instant? = nil) throws -> [Int64: [DecisionEntry]] {
        let statement = try db.cursor(
            """
            SELECT d.item, d.id, d.kind, d.value, r.name, d.rationale, d.created_at FROM decisions d JOIN reviewers r ON r.id = d.lead
            WHERE d.created_at <= ? ORDER BY d.item, d.id
            """)
        try statement.bind([.integer(asOf?.milliseconds ?? Int64.max)])
        var byItem: [Int64: [DecisionEntry]] = [:]
        while try statement.step() { byItem[statement.int(0), default: []].append(Self.decisionEntry(statement, from: 1)) }
        return byItem
    }

    /// The lead decisions of every item, by item id, oldest first.
    public func decisionsByItem() throws(StoreError) -> [String: [DecisionEntry]] {
        try read {
            let statement = try db.cursor(
                """
                SELECT i.id, d.id, d.kind, d.value, r.name, d.rationale, d.created_at
                FROM decisions d JOIN reviewers r ON r.id = d.lead JOIN items i ON i.seq = d.item ORDER BY d.item, d.id
                """)
            var out: [String: [DecisionEntry]] = [:]
            while try statement.step() { out[statement.text(0), default: []].append(Self.decisionEntry(statement, from: 1)) }
            return out
        }
    }

    /// The latest saved Dawid–Skene model (saved at or before `asOf` when given), or nil.
    func dawidSkeneModel(asOf: Instant? = nil) throws -> DawidSkeneModel? {
        guard case .text(let text)? = try db.scalar(
            "SELECT model FROM models WHERE method = 'dawid-skene' AND created_at <= ? ORDER BY id DESC LIMIT 1", .integer(asOf?.milliseconds ?? Int64.max))
        else { return nil }
        return DawidSkeneModel(json: try JSON.parse(text))
    }

    /// The latest saved Dawid–Skene model (`docket aggregate --method dawid-skene --save`), or nil.
    public func savedDawidSkeneModel(asOf: Instant?) throws(StoreError) -> DawidSkeneModel? {
        try read { try dawidSkeneModel(asOf: asOf) }
    }

    /// The label rules' view of one item: its rows and decisions, resolved by `LabelRules`. The
    /// saved model is read when `withModel`, or when final labels or the policy need it.
    /// With `asOf`, the item's feedback as it stood then (`FeedbackState`): later rows left out,
    /// and rows withdrawn since counted as they were.
    func itemLabels(item: Int64, definition: TaskDefinition, withModel: Bool = false, asOf state: FeedbackState? = nil) throws -> ItemLabels {
        let needsModel = withModel || definition.finalLabel == FinalLabelMethod.dawidSkene.rawValue
            || definition.escalation.contains { if case .posteriorBelow = $0.condition { return true } else { return false } }
        var rows = try labelAnswers(item: item)
        if let state { rows = state.apply(to: rows) }
        return LabelRules.resolve(
            rows: rows, decisions: try decisionEntries(item: item), policy: LabelPolicy(definition),
            model: needsModel ? try dawidSkeneModel() : nil)
    }

    /// Counts of current labels (`LabelRules.CurrentLabelCount`): in all, on how many items, and
    /// per reviewer id; only `reviewer`'s when given. One scan of the label index.
    func currentLabelCount(reviewer: Int64? = nil) throws -> LabelRules.CurrentLabelCount<Int64, Int64> {
        var withdrawn = Set<Int64>()
        let withdrawals = try db.statement("SELECT feedback FROM withdrawals")
        while try withdrawals.step() { withdrawn.insert(withdrawals.int(0)) }
        let statement = try db.cursor(
            reviewer == nil
                ? "SELECT f.item, f.reviewer, f.id FROM feedback f INDEXED BY feedback_labels WHERE f.kind = 'label' ORDER BY f.item, f.reviewer, f.id"
                : "SELECT f.item, f.reviewer, f.id FROM feedback f WHERE f.kind = 'label' AND f.reviewer = ? ORDER BY f.item, f.reviewer, f.id")
        try statement.bind(reviewer.map { [.integer($0)] } ?? [])
        var count = LabelRules.CurrentLabelCount<Int64, Int64>()
        while try statement.step() {
            count.add(item: statement.int(0), reviewer: statement.int(1), withdrawn: !withdrawn.isEmpty && withdrawn.contains(statement.int(2)))
        }
        return count
    }
}

extension SQLStore {
    /// Streams, item by item in seq order, what the labels export reads: each item's label rows
    /// (withdrawn ones marked, as of `filter.asOf`), within `--since`/`--until`, the category and
    /// the rubric, and every lead decision recorded by `filter.asOf`. Items with an adjudicated
    /// label (`LabelRules.adjudication`) and no such rows come too, with no rows, when the
    /// decision falls within `--since`/`--until` (a decision has no rubric, so none under a rubric
    /// filter). Whether an item has a label, and which, is for `LabelRules.resolve` to say.
    public func forEachItemLabelRows(
        filter: ExportFilter, _ body: (ItemProvenance, [LabelAnswer], [DecisionEntry]) throws -> Void
    ) throws(StoreError) {
        try readStreaming {
            let asOf = filter.asOf?.milliseconds ?? Int64.max
            var withdrawn = Set<Int64>()
            let withdrawals = try db.statement("SELECT feedback FROM withdrawals WHERE at <= ?")
            try withdrawals.bind([.integer(asOf)])
            while try withdrawals.step() { withdrawn.insert(withdrawals.int(0)) }
            let decisions = try decisionEntriesByItem(asOf: filter.asOf)

            // Reviewers and rubrics are few: their names and versions are looked up here by id,
            // so the scan reads the label index and the item alone.
            var names = ValuesById<String>()
            let reviewers = try db.cursor("SELECT id, name FROM reviewers")
            while try reviewers.step() { names[reviewers.int(0)] = reviewers.text(1) }
            var versions = ValuesById<Int>()
            let rubrics = try db.cursor("SELECT id, version FROM rubrics")
            while try rubrics.step() { versions[rubrics.int(0)] = Int(rubrics.int(1)) }

            var conditions = ["f.kind = 'label'", "f.created_at <= ?"]
            var arguments: [SQLValue] = [.integer(asOf)]
            if let since = filter.since { conditions.append("f.created_at >= ?"); arguments.append(.integer(since.milliseconds)) }
            if let until = filter.until { conditions.append("f.created_at < ?"); arguments.append(.integer(until.milliseconds)) }
            if let rubric = filter.rubric {
                conditions.append("f.rubric IN (SELECT id FROM rubrics WHERE version = ?)")
                arguments.append(.integer(Int64(rubric)))
            }
            // Two ordered scans merged by item seq, the labels and the items (of the category),
            // rather than a look-up of the item for every label.
            let statement = try db.cursor(
                """
                SELECT f.item, f.id, f.reviewer, f.label, f.rubric, f.created_at FROM feedback f
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY f.item, f.reviewer, f.id
                """)
            try statement.bind(arguments)
            // An item's provenance: these columns, read by `provenance(_:)`.
            let columns = "seq, id, category, policy, propensity, served_at"
            func provenance(_ row: any SQLStatement) -> ItemProvenance {
                ItemProvenance(
                    seq: row.int(0), id: row.text(1), category: row.optionalText(2), policy: row.optionalText(3),
                    propensity: row.optionalDouble(4), servedAt: row.optionalInt(5).map { Instant(milliseconds: $0) })
            }
            let items = try db.cursor("SELECT \(columns) FROM items WHERE CAST(?1 AS TEXT) IS NULL OR category = ?1 ORDER BY seq")
            try items.bind([SQLValue(filter.category)])
            var itemSeq: Int64 = .min
            /// Moves the items' scan to `seq`; false when that item is not in the scan (another category).
            func seekItem(_ seq: Int64) throws -> Bool {
                while itemSeq < seq {
                    guard try items.step() else { itemSeq = .max; return false }
                    itemSeq = items.int(0)
                }
                return itemSeq == seq
            }

            // Items decided without label rows in the stream are sent between the others, in seq order.
            var decidedOnly: [Int64] = []
            if filter.rubric == nil {
                for (seq, entries) in decisions {
                    guard let decision = LabelRules.adjudication(entries) else { continue }
                    if let since = filter.since, decision.createdAt < since { continue }
                    if let until = filter.until, decision.createdAt >= until { continue }
                    decidedOnly.append(seq)
                }
                decidedOnly.sort()
            }
            var next = 0
            let item = try db.statement("SELECT \(columns) FROM items WHERE seq = ?1 AND (CAST(?2 AS TEXT) IS NULL OR category = ?2)")
            func sendDecidedOnly(before seq: Int64) throws {
                while next < decidedOnly.count, decidedOnly[next] < seq {
                    item.reset()
                    try item.bind([.integer(decidedOnly[next]), SQLValue(filter.category)])
                    if try item.step() {
                        let decided = provenance(item)
                        item.reset()
                        try body(decided, [], decisions[decidedOnly[next]] ?? [])
                    }
                    item.reset()
                    next += 1
                }
            }

            var current: ItemProvenance?
            var rows: [LabelAnswer] = []
            func flush() throws {
                guard let provenance = current else { return }
                try sendDecidedOnly(before: provenance.seq)
                if next < decidedOnly.count, decidedOnly[next] == provenance.seq { next += 1 }
                try body(provenance, rows, decisions.isEmpty ? [] : decisions[provenance.seq] ?? [])
            }
            var labels = TextInterner()
            while try statement.step() {
                let seq = statement.int(0)
                if current?.seq != seq {
                    guard try seekItem(seq) else { continue }
                    try flush()
                    current = provenance(items)
                    rows.removeAll(keepingCapacity: true)
                }
                let id = statement.int(1)
                rows.append(LabelAnswer(
                    id: id, reviewer: names[statement.int(2)] ?? "", value: statement.text(3, interning: &labels),
                    withdrawn: !withdrawn.isEmpty && withdrawn.contains(id),
                    rubric: statement.optionalInt(4).flatMap { versions[$0] }, createdAt: Instant(milliseconds: statement.int(5))))
            }
            try flush()
            try sendDecidedOnly(before: Int64.max)
        }
    }
}
