import DocketCore

extension SQLStore {
    public func importLabels(
        createItems: Bool, source: String, at now: Instant, _ body: (any LabelSink) throws -> ImportDecision
    ) throws -> ImportSummary {
        let settings = try projectSettings()
        return try inImportTransaction {
            let sink = try SQLiteLabelSink(store: self, settings: settings, createItems: createItems, source: source, now: now)
            let decision = try body(sink)
            var summary = ImportSummary()
            summary.inserted = sink.inserted
            summary.unchanged = sink.unchanged
            guard case .commit(let rejected) = decision else { return (summary, false) }
            summary.rejected = rejected
            if sink.createdItems > 0 {
                try db.run("UPDATE project SET item_count = item_count + ? WHERE id = 1", .integer(Int64(sink.createdItems)))
            }
            try logEvent(kind: "import-labels", at: now, detail: .object([
                ("source", .string(source)), ("inserted", .number(Double(sink.inserted))),
                ("unchanged", .number(Double(sink.unchanged))), ("rejected", .number(Double(rejected))),
                ("reviewers_added", .array(sink.addedReviewers.map { .string($0) })), ("items_created", .number(Double(sink.createdItems))),
            ]))
            return (summary, true)
        }
    }

    /// Every current label (`LabelRules.CurrentScan`: the latest a reviewer gave an item and did
    /// not withdraw) as parallel columns, ordered by item then reviewer: one index scan and one
    /// scan of the items, compact enough for millions of labels.
    public func currentLabels(kind: FeedbackKind) throws(StoreError) -> LabelColumns {
        try read {
            var columns = LabelColumns()
            var rubricVersion: [Int64: Int32] = [:]
            let rubrics = try db.statement("SELECT id, version FROM rubrics")
            while try rubrics.step() { rubricVersion[rubrics.int(0)] = Int32(truncatingIfNeeded: rubrics.int(1)) }
            // Withdrawals are few: skip them in Swift rather than probing for each label.
            var withdrawn = Set<Int64>()
            let withdrawals = try db.statement("SELECT feedback FROM withdrawals")
            while try withdrawals.step() { withdrawn.insert(withdrawals.int(0)) }
            let value = kind == .rating ? "f.rating" : "f.label"
            let statement = try db.cursor(
                """
                SELECT f.item, f.reviewer, \(value), f.rubric, f.created_at, f.id
                FROM feedback f \(kind == .label ? "INDEXED BY feedback_labels" : "")
                WHERE f.kind = '\(kind.rawValue)'
                ORDER BY f.item, f.reviewer, f.id
                """)
            var known: [[UInt8]] = []
            var scan = LabelRules.CurrentScan<Int64, Int64>()
            while try statement.step() {
                let item = statement.int(0), reviewer = statement.int(1)
                let step = scan.step(item: item, reviewer: reviewer, withdrawn: !withdrawn.isEmpty && withdrawn.contains(statement.int(5)))
                if step == .skip { continue }
                var code = -1
                if kind == .rating {
                    let text = JSONText.number(statement.double(2))
                    code = known.firstIndex(of: Array(text.utf8)) ?? -1
                    if code < 0 { code = known.count; known.append(Array(text.utf8)); columns.labelNames.append(text) }
                } else {
                    code = statement.withTextBytes(2) { bytes in
                        for (index, candidate) in known.enumerated() where candidate.count == bytes.count && candidate.elementsEqual(bytes) {
                            return index
                        }
                        known.append(Array(bytes))
                        columns.labelNames.append(String(decoding: bytes, as: UTF8.self))
                        return known.count - 1
                    }
                }
                let rubric = statement.optionalInt(3).flatMap { rubricVersion[$0] } ?? -1
                // A later label by the same reviewer on the same item replaces the earlier one.
                if step == .replace {
                    columns.labels[columns.labels.count - 1] = Int32(code)
                    columns.rubrics[columns.rubrics.count - 1] = rubric
                    columns.times[columns.times.count - 1] = statement.int(4)
                    continue
                }
                if columns.itemSeqs.last != item { columns.itemSeqs.append(item) }
                columns.rows.append(Int32(columns.itemSeqs.count - 1))
                columns.reviewers.append(reviewer)
                columns.labels.append(Int32(code))
                columns.rubrics.append(rubric)
                columns.times.append(statement.int(4))
            }
            let names = try db.statement("SELECT id, name FROM reviewers")
            while try names.step() { columns.reviewerNames[names.int(0)] = names.text(1) }
            // Ids and categories of the labelled items: one scan of the items, merged with the sorted seqs.
            columns.itemIDs.reserveCapacity(columns.itemSeqs.count)
            columns.itemCategories.reserveCapacity(columns.itemSeqs.count)
            let items = try db.cursor("SELECT seq, id, category FROM items WHERE seq >= ? ORDER BY seq")
            try items.bind([.integer(columns.itemSeqs.first ?? 0)])
            var next = 0
            while next < columns.itemSeqs.count, try items.step() {
                let seq = items.int(0)
                guard seq == columns.itemSeqs[next] else { continue }
                columns.itemIDs.append(items.text(1))
                columns.itemCategories.append(items.optionalText(2))
                next += 1
            }
            items.reset()
            return columns
        }
    }
}

final class SQLiteLabelSink: LabelSink {
    let store: SQLStore
    let settings: ProjectSettings
    let createItems: Bool
    /// The file the labels come from, as the import event names it.
    let source: String
    let now: Instant
    var inserted = 0
    var unchanged = 0
    var createdItems = 0
    var addedReviewers: [String] = []
    private var reviewerIDs: [String: Int64] = [:]
    private var rubricIDs: [Int: Int64] = [:]

    init(store: SQLStore, settings: ProjectSettings, createItems: Bool, source: String, now: Instant) throws {
        self.store = store
        self.settings = settings
        self.createItems = createItems
        self.source = source
        self.now = now
        let reviewers = try store.db.statement("SELECT id, name FROM reviewers")
        while try reviewers.step() { reviewerIDs[reviewers.text(1)] = reviewers.int(0) }
        let rubrics = try store.db.statement("SELECT id, version FROM rubrics")
        while try rubrics.step() { rubricIDs[Int(rubrics.int(1))] = rubrics.int(0) }
    }

    func add(_ row: LabelRow) throws(StoreError) -> Result<ItemAddOutcome, FieldProblem> {
        var row = row
        // The one rule for reviewer names, as `reviewers add` and `--as` apply it.
        do { row.reviewer = try ReviewerName.normalised(row.reviewer) } catch {
            return .failure(FieldProblem(field: "reviewer", problem: error.description))
        }
        if !settings.labels.isEmpty, !settings.labels.contains(row.label) {
            return .failure(FieldProblem(field: "label", problem: "'\(row.label)' is not a declared label (\(settings.labels.joined(separator: ", ")))"))
        }
        var rubricID: Int64?
        if let version = row.rubric {
            guard let id = rubricIDs[version] else {
                return .failure(FieldProblem(field: "rubric", problem: "rubric version \(version) does not exist (versions: \(rubricIDs.keys.sorted().map(String.init).joined(separator: ", ")))"))
            }
            rubricID = id
        }
        do {
            let db = store.db
            var item = try db.scalar("SELECT seq FROM items WHERE id = ?", .text(row.item))
            if item == nil {
                guard createItems else {
                    return .failure(FieldProblem(field: "item", problem: "unknown item '\(row.item)' (import the items first, or pass --create-items)"))
                }
                item = .integer(try db.insert(
                    "INSERT INTO items (id, utility, overlap, imported_at) VALUES (?, 0, ?, ?) RETURNING seq",
                    .text(row.item), .integer(Int64(settings.overlap)), .integer(now.milliseconds)))
                createdItems += 1
            }
            guard case .integer(let seq)? = item else { return .failure(FieldProblem(field: "item", problem: "unreadable item")) }
            var reviewer = reviewerIDs[row.reviewer]
            if reviewer == nil {
                reviewer = try db.insert(
                    // Bound to no login: a name in a file of historical labels says nothing about
                    // who may act as her here (an admin binds one with `reviewers bind`).
                    "INSERT INTO reviewers (name, role, created_at, login) VALUES (?, 'reviewer', ?, NULL) RETURNING id",
                    .text(row.reviewer), .integer(now.milliseconds))
                reviewerIDs[row.reviewer] = reviewer
                addedReviewers.append(row.reviewer)
                // The same event `reviewers add` logs, naming the import that registered her.
                try store.logEvent(kind: "reviewer-added", at: now, reviewer: reviewer, detail: .object([
                    ("name", .string(row.reviewer)), ("role", .string(Role.reviewer.rawValue)), ("login", .null), ("source", .string(source)),
                ]))
            }
            let existing = try db.scalar(
                """
                SELECT f.label FROM feedback f WHERE f.item = ? AND f.reviewer = ? AND f.kind = 'label'
                  AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id) ORDER BY f.id DESC LIMIT 1
                """, .integer(seq), .integer(reviewer!))
            if case .text(let label)? = existing {
                if label == row.label { unchanged += 1; return .success(.unchanged) }
                return .failure(FieldProblem(field: "label", problem: "\(row.reviewer) already labelled '\(row.item)' as '\(label)'"))
            }
            try db.run(
                "INSERT INTO feedback (item, reviewer, kind, label, rubric, created_at, source) VALUES (?, ?, 'label', ?, ?, ?, 'import')",
                .integer(seq), .integer(reviewer!), .text(row.label), SQLValue(rubricID), .integer((row.createdAt ?? now).milliseconds))
            inserted += 1
            return .success(.inserted)
        } catch { throw SQLStore.map(error) }
    }
}

extension SQLStore {
    /// Gold labels by item id.
    public func goldLabels() throws(StoreError) -> [String: String] {
        try read {
            var gold: [String: String] = [:]
            let statement = try db.statement("SELECT id, gold FROM items INDEXED BY items_gold WHERE gold IS NOT NULL")
            while try statement.step() { gold[statement.text(0)] = statement.text(1) }
            return gold
        }
    }

    /// How many gold items were mixed into each reviewer's queue.
    public func goldServed() throws(StoreError) -> [String: Int] {
        try read {
            var served: [String: Int] = [:]
            let statement = try db.statement("SELECT r.name, count(*) FROM assignments a JOIN reviewers r ON r.id = a.reviewer WHERE a.gold = 1 GROUP BY r.name")
            while try statement.step() { served[statement.text(0)] = Int(statement.int(1)) }
            return served
        }
    }
}

extension SQLStore {
    /// The audit log, oldest first, filtered by item id, reviewer name and time; calls `body` per event.
    public func forEachEvent(item: String?, reviewer: String?, since: Instant?, _ body: (EventRecord) throws -> Void) throws(StoreError) {
        try readStreaming {
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let item {
                conditions.append("e.item = (SELECT seq FROM items WHERE id = ?)")
                arguments.append(.text(item))
            }
            if let reviewer {
                conditions.append("e.reviewer = (SELECT id FROM reviewers WHERE name = ?)")
                arguments.append(.text(reviewer))
            }
            if let since {
                conditions.append("e.at >= ?")
                arguments.append(.integer(since.milliseconds))
            }
            let statement = try db.cursor(
                """
                SELECT e.id, e.at, e.kind, r.name, i.id, e.detail FROM events e
                LEFT JOIN reviewers r ON r.id = e.reviewer LEFT JOIN items i ON i.seq = e.item
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY e.id
                """)
            try statement.bind(arguments)
            while try statement.step() {
                try body(EventRecord(
                    id: statement.int(0), at: Instant(milliseconds: statement.int(1)), kind: statement.text(2),
                    reviewer: statement.optionalText(3), item: statement.optionalText(4), detail: statement.optionalText(5)))
            }
        }
    }
}
