import DocketCore

extension SQLStore {
    /// Runs an import in one IMMEDIATE transaction under the writers' lock. `body` returns the
    /// counts and whether to commit; on `false`, or on any error, nothing the import wrote stays.
    func inImportTransaction(_ body: () throws -> (summary: ImportSummary, commit: Bool)) throws -> ImportSummary {
        if isReadOnly { throw StoreError.readOnly(path: path) }
        chainHead = nil
        defer { chainHead = nil }
        return try withWriteLock {
            do {
                try beginWrite()
                var (summary, commit) = try body()
                db.resetStatements()
                try db.execute(commit ? "COMMIT" : "ROLLBACK")
                summary.committed = commit
                return summary
            } catch {
                db.resetStatements()
                if db.isInTransaction { try? db.execute("ROLLBACK") }
                // The caller's own errors (a rejects file that could not be written) pass through.
                if error is any DatabaseError || error is StoreError { throw Self.map(error) }
                throw error
            }
        }
    }

    /// - Parameters:
    ///   - update: replace the content of items that exist with different content; the prompt and
    ///     responses of an item that already has feedback (or a lead's decision) only with
    ///     `updateReviewed`, since its judgements were given on the old text.
    ///   - updateReviewed: also replace the text of items with feedback.
    /// Every replaced item gets an `item-updated` event holding the old values of what changed.
    public func importItems(
        update: Bool, updateReviewed: Bool, source: String, at now: Instant, _ body: (any ItemSink) throws -> ImportDecision
    ) throws -> ImportSummary {
        let settings = try projectSettings()
        return try inImportTransaction {
            var dimension: Int?
            if case .integer(let value)? = try db.scalar("SELECT embedding_dim FROM project WHERE id = 1") { dimension = Int(value) }
            try prepareForBulkLoad()
            defer { finishBulkLoad() }
            let sink = try SQLItemSink(
                store: self, settings: settings, update: update, updateReviewed: updateReviewed, source: source, now: now, dimension: dimension)
            let decision = try body(sink)
            if case .commit = decision { try sink.finish() }
            var summary = ImportSummary()
            summary.inserted = sink.inserted
            summary.unchanged = sink.unchanged
            summary.updated = sink.updated
            guard case .commit(let rejected) = decision else { return (summary, false) }
            summary.rejected = rejected
            try db.run(
                "UPDATE project SET item_count = item_count + ?, embedding_dim = coalesce(embedding_dim, ?) WHERE id = 1",
                .integer(Int64(sink.inserted)), SQLValue(sink.dimension))
            try logEvent(kind: "import", at: now, detail: .object([
                ("source", .string(source)), ("inserted", .number(Double(sink.inserted))),
                ("unchanged", .number(Double(sink.unchanged))), ("updated", .number(Double(sink.updated))),
                ("rejected", .number(Double(rejected))),
            ]))
            return (summary, true)
        }
    }
}

/// Inserts items inside the import's transaction. Re-importing identical content is a no-op;
/// different content under a known id is a conflict unless `update` is set, and new text for an
/// item that already has feedback is a conflict unless `updateReviewed` is set.
final class SQLItemSink: ItemSink {
    let store: SQLStore
    let settings: ProjectSettings
    let update: Bool
    let updateReviewed: Bool
    let source: String
    let now: Instant
    var dimension: Int?
    var inserted = 0
    var unchanged = 0
    var updated = 0

    let insert: any SQLStatement
    let existing: any SQLStatement
    let reviewed: any SQLStatement

    /// PostgreSQL: items with ids new to the project go in by COPY in batches (`pending`); the
    /// ids the project held when the import began, and those copied so far, decide which rows
    /// may (an id seen before goes through `insert` and the comparison, after the batch is sent).
    let copyLink: PostgresLink?
    /// SQLite: the items the project held when the import began, and the definition of the
    /// queue's index while it is dropped for a large load (made again by `finish`).
    var itemsBefore = 0
    var deferredIndex: String?
    var knownIDs: Set<String> = []
    var pending: [[SQLValue]] = []
    static let copyBatch = 10_000
    static let copyColumns = [
        "id", "prompt", "response", "responses", "category", "risk", "uncertainty", "diversity", "diversity_from_embedding",
        "embedding", "gold", "meta", "utility", "overlap", "imported_at",
    ]

    /// The stored columns compared with a draft, in the order of `existing` (and of `columns` from ?2).
    static let storedColumns = [
        "prompt", "response", "responses", "category", "risk", "uncertainty", "diversity", "diversity_from_embedding", "embedding", "gold", "meta",
    ]
    /// The text reviewers judge: it changes under existing feedback only with `updateReviewed`.
    static let judgedFields: Set<String> = ["prompt", "response", "responses"]

    init(
        store: SQLStore, settings: ProjectSettings, update: Bool, updateReviewed: Bool, source: String, now: Instant, dimension: Int?
    ) throws {
        insert = try store.db.statement(Self.insertSQL)
        existing = try store.db.statement(
            "SELECT prompt, response, responses, category, risk, uncertainty, diversity, diversity_from_embedding, embedding, gold, meta, seq FROM items WHERE id = ?")
        reviewed = try store.db.statement(
            "SELECT EXISTS (SELECT 1 FROM feedback WHERE item = ?1) OR EXISTS (SELECT 1 FROM decisions WHERE item = ?1) OR EXISTS (SELECT 1 FROM assignments WHERE item = ?1 AND state = 'open')")
        copyLink = store.db as? PostgresLink
        if copyLink == nil, case .integer(let count)? = try store.db.scalar("SELECT item_count FROM project WHERE id = 1") { itemsBefore = Int(count) }
        if copyLink != nil {
            let ids = try store.db.cursor("SELECT id FROM items")
            while try ids.step() { knownIDs.insert(ids.text(0)) }
        }
        self.store = store
        self.settings = settings
        self.update = update
        self.updateReviewed = updateReviewed
        self.source = source
        self.now = now
        self.dimension = dimension
    }

    static let insertSQL = """
        INSERT INTO items (id, prompt, response, responses, category, risk, uncertainty, diversity, diversity_from_embedding,
                           embedding, gold, meta, utility, overlap, imported_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
        ON CONFLICT (id) DO NOTHING
        """

    static let updateSQL = """
        UPDATE items SET prompt = ?2, response = ?3, responses = ?4, category = ?5, risk = ?6, uncertainty = ?7,
            diversity = ?8, diversity_from_embedding = ?9, embedding = ?10, gold = ?11, meta = ?12,
            utility = CASE WHEN served_at IS NULL THEN ?13 ELSE utility END
        WHERE id = ?1
        """

    func add(_ draft: ItemDraft) throws(StoreError) -> Result<ItemAddOutcome, FieldProblem> {
        if let embedding = draft.embedding {
            if let dimension, dimension != embedding.count {
                return .failure(FieldProblem(field: "embedding", problem: "has \(embedding.count) numbers; this project's embeddings have \(dimension)"))
            }
            dimension = embedding.count
        }
        var values = Self.columns(draft, settings: settings)
        do {
            if let copyLink {
                if !knownIDs.contains(draft.id) {
                    knownIDs.insert(draft.id)
                    values.append(.integer(Int64(settings.overlap)))
                    values.append(.integer(now.milliseconds))
                    pending.append(values)
                    if pending.count >= Self.copyBatch { try flush(copyLink) }
                    inserted += 1
                    return .success(.inserted)
                }
                // The id is in the project (or in the batch, sent now): compare below.
                try flush(copyLink)
            } else {
                insert.reset()
                try insert.bind(values)
                try insert.bind(.integer(Int64(settings.overlap)), at: 14)
                try insert.bind(.integer(now.milliseconds), at: 15)
                while try insert.step() {}
                if store.db.changes == 1 {
                    inserted += 1
                    return .success(.inserted)
                }
            }
            // The id exists: compare the stored content.
            existing.reset()
            try existing.bind([.text(draft.id)])
            guard try existing.step() else { return .failure(FieldProblem(field: "id", problem: "vanished during import")) }
            var differing: [String] = []
            var old: [(String, JSONValue)] = []
            for (offset, column) in Self.storedColumns.enumerated() {
                let stored = existing.value(Int32(offset))
                guard stored != values[offset + 1] else { continue }
                // diversity_from_embedding is part of diversity for the reader.
                let name = column == "diversity_from_embedding" ? "diversity" : column
                if !differing.contains(name) { differing.append(name) }
                old.append((column, Self.json(stored, column: column)))
            }
            let seq = existing.int(11)
            existing.reset()
            if differing.isEmpty {
                unchanged += 1
                return .success(.unchanged)
            }
            guard update else {
                return .failure(FieldProblem(
                    field: differing[0],
                    problem: "item '\(draft.id)' already exists with different \(differing.joined(separator: ", ")) (use --update to replace it)"))
            }
            reviewed.reset()
            try reviewed.bind([.integer(seq)])
            _ = try reviewed.step()
            let hasFeedback = reviewed.int(0) != 0
            reviewed.reset()
            let judged = differing.filter { Self.judgedFields.contains($0) }
            if hasFeedback, !judged.isEmpty, !updateReviewed {
                return .failure(FieldProblem(
                    field: judged[0],
                    problem: "item '\(draft.id)' already has feedback (or is on a reviewer's screen), given on its current \(judged.joined(separator: " and ")); "
                        + "replacing that text would pair those judgements with text nobody reviewed, so it was refused "
                        + "(pass --update-reviewed to replace it anyway; the old text is kept in the log)"))
            }
            let statement = try store.db.statement(Self.updateSQL)
            try statement.bind(values)
            while try statement.step() {}
            // A lead's triage severity stands in for a missing risk (Utility.score), which the
            // draft alone does not know.
            try store.rescoreUnserved(weights: settings.weights, item: seq)
            // The audit log keeps what was replaced: the table holds only the new content.
            try store.logEvent(kind: "item-updated", at: now, item: seq, detail: .object([
                ("source", .string(source)), ("fields", .array(differing.map { .string($0) })),
                ("had_feedback", .bool(hasFeedback)), ("old", .object(old)),
            ]))
            updated += 1
            return .success(.updated)
        } catch { throw SQLStore.map(error) }
    }

    /// Sends the batch of new items (PostgreSQL's COPY, in the import's transaction).
    func flush(_ link: PostgresLink) throws {
        guard !pending.isEmpty else { return }
        try link.copy(into: "items", columns: Self.copyColumns, rows: pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Maintaining the queue's index row by row costs about 2.9 µs a row, building it at the end
    /// (a sort) about 1.7 µs for every item of the project (SQLite alone, 1M rows: 5.25 s kept,
    /// 4.06 s dropped and built, the build 1.69 s). Building wins once the new rows are about
    /// 1.4 times those already there; a load expected to add at least `rebuildFactor` times them,
    /// and at least `rebuildMinimum` rows, builds it at the end.
    static let rebuildFactor = 3
    static let rebuildMinimum = 50_000

    func expect(moreRows: Int) throws(StoreError) {
        guard copyLink == nil, deferredIndex == nil, moreRows >= Self.rebuildMinimum, moreRows >= Self.rebuildFactor * (itemsBefore + inserted)
        else { return }
        do {
            guard case .text(let definition)? = try store.db.scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'items_unserved'")
            else { return }
            // Dropped inside the import's transaction: a rollback or a crash brings it back as it was.
            try store.db.execute("DROP INDEX items_unserved")
            deferredIndex = definition
        } catch { throw SQLStore.map(error) }
    }

    /// Sends what is still batched, and builds the queue's index if the load dropped it; called
    /// before the import commits.
    func finish() throws(StoreError) {
        do {
            if let definition = deferredIndex {
                try store.db.execute(definition)
                deferredIndex = nil
            }
            if let copyLink { try flush(copyLink) }
        } catch { throw SQLStore.map(error) }
    }

    /// A stored item column as JSON for the audit log: `responses` and `meta` as the JSON they
    /// hold, the embedding as numbers.
    static func json(_ value: SQLValue, column: String) -> JSONValue {
        switch value {
        case .null: return .null
        case .integer(let number): return column == "diversity_from_embedding" ? .bool(number != 0) : .number(Double(number))
        case .real(let number): return .number(number)
        case .text(let text):
            if column == "responses" || column == "meta", let parsed = try? JSON.parse(text) { return parsed }
            return .string(text)
        case .blob(let bytes): return .array(EmbeddingCoding.decode(bytes).map { .number(Double($0)) })
        }
    }

    /// Column values ?1…?13 for a draft.
    static func columns(_ draft: ItemDraft, settings: ProjectSettings) -> [SQLValue] {
        let fromEmbedding = draft.diversity == nil && draft.embedding != nil
        // An embedding item starts at diversity 1, the upper bound; the queue lowers it lazily.
        let diversity = draft.diversity ?? (fromEmbedding ? 1.0 : nil)
        let utility = Utility.score(risk: draft.risk, uncertainty: draft.uncertainty, diversity: diversity, weights: settings.weights)
        return [
            .text(draft.id), SQLValue(draft.prompt), SQLValue(draft.response),
            SQLValue(draft.responses.map { JSONValue.array($0.map { .string($0) }).encoded() }),
            SQLValue(draft.category), SQLValue(draft.risk), SQLValue(draft.uncertainty), SQLValue(diversity),
            .integer(fromEmbedding ? 1 : 0), draft.embedding.map { .blob(EmbeddingCoding.encode($0)) } ?? .null,
            SQLValue(draft.gold), SQLValue(draft.meta), .real(utility),
        ]
    }
}
