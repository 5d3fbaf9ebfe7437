import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct ExportCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export training and evaluation datasets with provenance.",
        discussion: """
            Formats: labels (final label per item and where it came from, votes, each reviewer's label, agreement), sft (prompt and target response, from demonstrations and edits), preferences (prompt, chosen, rejected: one pair per reviewer and pair of responses from pairwise choices and rankings, her latest verdict; edits over the original; the lead's chosen response over the others, marked adjudicated; with an agreement weight), ratings, critiques, escalations, events. JSON lines by default, --csv for CSV (spreadsheet formulas neutralised). Every record carries provenance: item, reviewers, rubric versions, the policy and selection probability that put the item before people, and timestamps. Output is deterministic for the same database and flags. Field names and types: Schema/export/FORMAT.schema.json.

            Example: docket export --format preferences --split train=0.9,eval=0.1 --seed 7 --out prefs.jsonl
            """
    )

    static let formats = ["labels", "sft", "preferences", "ratings", "critiques", "escalations", "events"]

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("labels, sft, preferences, ratings, critiques, escalations or events.", valueName: "format")) var format: String
    @Option(help: ArgumentHelp("The file to write (default: standard output).", valueName: "file")) var out: String?
    @Flag(help: "CSV instead of JSON lines.") var csv = false
    @Option(help: ArgumentHelp("Only feedback given at or after this time.", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Only feedback given before this time.", valueName: "time")) var until: String?
    @Option(name: .customLong("as-of"), help: ArgumentHelp("The dataset as it stood at this time.", valueName: "time")) var asOf: String?
    @Option(help: ArgumentHelp("Only items of this category.", valueName: "name")) var category: String?
    @Option(help: ArgumentHelp("Only feedback given under this rubric version.", valueName: "version")) var rubric: Int?
    @Option(name: .customLong("min-agreement"), help: ArgumentHelp("labels: only items whose majority share is at least this.", valueName: "share")) var minAgreement: Double?
    @Flag(name: .customLong("adjudicated-only"), help: "labels: only items a lead decided.") var adjudicatedOnly = false
    @Flag(name: .customLong("keep-ties"), help: "preferences: keep pairwise ties (marked tie: true).") var keepTies = false
    @Flag(help: "preferences: from rankings, only adjacent pairs (default: every ordered pair).") var adjacent = false
    @Option(help: ArgumentHelp("Assign records to splits, e.g. train=0.9,eval=0.1.", valueName: "splits")) var split: String?
    @Option(help: "Seed of the split assignment.") var seed: UInt64 = 0
    @Option(name: .customLong("group-by"), help: ArgumentHelp("Keep every record of an item (item) or of near-duplicate items (cluster) in one split.", valueName: "item|cluster")) var groupBy: String = "item"

    func parseTime(_ name: String, _ text: String?) throws -> Instant? {
        guard let text else { return nil }
        do { return try Instant.parse(text) } catch {
            throw CommandError.invalidOption(name: name, value: text, reason: error.reason)
        }
    }

    func run(in context: CommandContext) throws {
        guard Self.formats.contains(format) else {
            throw CommandError.invalidOption(name: "--format", value: format, reason: "use " + Self.formats.joined(separator: ", "))
        }
        guard groupBy == "item" || groupBy == "cluster" else { throw CommandError.invalidOption(name: "--group-by", value: groupBy, reason: "use item or cluster") }
        if let minAgreement { try OptionBounds.number("--min-agreement", minAgreement, 0...1, "a share") }
        if let rubric { try OptionBounds.whole("--rubric", rubric, OptionBounds.rubricVersion, phrase: "a rubric version") }
        let filter = ExportFilter(
            since: try parseTime("--since", since), until: try parseTime("--until", until), asOf: try parseTime("--as-of", asOf),
            category: category, rubric: rubric)
        let plan = try split.map { try SplitPlan.parse($0, seed: seed) }
        let csv = csv, hasSplit = plan != nil
        let store = try database.openForReading(for: .export, in: context).store
        let definition = try store.taskDefinition().definition
        var clusters: [String: String] = [:]
        if plan != nil, groupBy == "cluster" {
            let (ids, embeddings) = try store.itemEmbeddings()
            clusters = NearDuplicateClusters.clusters(ids: ids, embeddings: embeddings)
        }
        func splitOf(_ item: String) -> String? { plan?.split(for: clusters[item] ?? item) }

        let writer = try RecordWriter(path: out, protecting: OutputFile.protected(store: store, inputs: []), console: context.console)
        let progress = ProgressBar(console: context.console, label: "exporting \(format)")
        let columns = Self.columns[format]!
        if csv { writer.line(columns.map(CSVText.cell).joined(separator: ",")) }
        func emit(_ members: [(String, JSONValue)]) {
            var members = members
            if plan != nil { members.append(("split", .string(splitOf(members.first { $0.0 == "item" }?.1.stringValue ?? "") ?? ""))) }
            emitMembers(members)
        }
        func emitMembers(_ members: [(String, JSONValue)]) {
            if csv {
                let byName = Dictionary(members, uniquingKeysWith: { a, _ in a })
                writer.line(columns.map { name in
                    switch byName[name] ?? .null {
                    case .null: return ""
                    case .string(let text): return CSVText.cell(text)
                    case .number(let n): return CSVText.number(n)
                    case .bool(let b): return b ? "true" : "false"
                    case let other: return CSVText.cell(other.encoded(sortedKeys: true))
                    }
                }.joined(separator: ","))
            } else {
                writer.line(json: .object(members))
            }
            if writer.count & 0x3FF == 0 { progress.update(done: 0, total: nil, rows: writer.count) }
        }
        /// A record written as JSON bytes by `write` (the labels format: its one definition). A
        /// split is its last member; for CSV the bytes are read back into members.
        func emitBytes(item: String, _ write: (inout WriteBuffer) -> Void) {
            let split = hasSplit ? splitOf(item) ?? "" : nil
            if csv {
                var scratch = WriteBuffer(capacity: 4096)
                write(&scratch)
                let bytes = scratch.array
                scratch.deallocate()
                guard case .object(var members)? = try? JSON.parse(bytes: bytes) else { preconditionFailure("a record written by Docket is JSON") }
                if let split { members.append(("split", .string(split))) }
                emitMembers(members)
                return
            }
            writer.line { out in
                write(&out)
                if let split {
                    out.removeLast()
                    JSONText.appendLiteral(",\"split\":", to: &out)
                    JSONText.appendString(split, to: &out)
                    out.append(0x7D)
                }
            }
            if writer.count & 0x3FF == 0 { progress.update(done: 0, total: nil, rows: writer.count) }
        }
        do {
            switch format {
            case "labels": try exportLabels(store, filter, definition, emitBytes)
            case "sft": try exportSFT(store, filter, emit)
            case "preferences": try exportPreferences(store, filter, emit)
            case "ratings": try exportSimple(store, filter, kind: .rating, emit)
            case "critiques": try exportSimple(store, filter, kind: .critique, emit)
            case "escalations": try exportEscalations(store, filter, emit)
            default: try exportEvents(store, filter, emit)
            }
            progress.finish()
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        if let out = writer.path { context.console.writeError("Wrote \(Format.count(writer.count - (csv ? 1 : 0))) \(format) records to \(Sanitize.inline(out)).\n") }
    }

    /// CSV columns, and the order of JSON fields, per format.
    static let columns: [String: [String]] = [
        "labels": ["item", "category", "label", "label_source", "tie", "agreement", "votes", "reviewer_labels", "adjudicated_by", "rationale", "provenance", "split"],
        "sft": ["item", "category", "prompt", "completion", "kind", "target", "reviewer", "rubric", "created_at", "provenance", "split"],
        "preferences": [
            "item", "category", "prompt", "chosen", "rejected", "source", "chosen_response", "rejected_response", "tie", "weight", "reviewer", "rubric",
            "created_at", "adjudicated_by", "rationale", "provenance", "split",
        ],
        "ratings": ["item", "category", "reviewer", "rating", "rubric", "created_at", "provenance", "split"],
        "critiques": ["item", "category", "reviewer", "critique", "rubric", "created_at", "provenance", "split"],
        "escalations": ["id", "item", "tier", "rule", "reason", "severity", "status", "created_at", "closed_at", "split"],
        "events": ["id", "at", "kind", "reviewer", "item", "detail", "split"],
    ]

    func provenance(_ item: ItemProvenance, _ feedback: [ExportedFeedback]) -> JSONValue {
        let reviewers = Array(Set(feedback.map(\.reviewer))).sorted()
        let rubrics = Array(Set(feedback.compactMap(\.rubric))).sorted()
        let times = feedback.map(\.createdAt.milliseconds)
        return .object([
            ("item", .string(item.id)),
            ("reviewers", .array(reviewers.map { .string($0) })),
            ("rubric_versions", .array(rubrics.map { .number(Double($0)) })),
            ("policy", item.policy.map { .string($0) } ?? .null),
            ("propensity", item.propensity.map { .number($0) } ?? .null),
            ("served_at", item.servedAt.map { .string($0.iso8601) } ?? .null),
            ("first_feedback_at", times.min().map { .string(Instant(milliseconds: $0).iso8601) } ?? .null),
            ("last_feedback_at", times.max().map { .string(Instant(milliseconds: $0).iso8601) } ?? .null),
        ])
    }

    /// One record per item with a final label or a tie (`LabelRules.resolve`: adjudicated, else
    /// single, else the configured aggregate, with the `ties` setting), adjudicated items without
    /// reviewer labels included.
    func exportLabels(
        _ store: any ReviewStore, _ filter: ExportFilter, _ definition: TaskDefinition, _ emit: (String, (inout WriteBuffer) -> Void) -> Void
    ) throws {
        let policy = LabelPolicy(definition)
        let model = policy.method == .dawidSkene ? try store.savedDawidSkeneModel(asOf: filter.asOf) : nil
        // Two cores: the store's scan on one; the label rules and writing the records on the other
        // (the scan is the heavier side: measured, the rules moved over made the two even).
        typealias Rows = (item: ItemProvenance, rows: [LabelAnswer], decisions: [DecisionEntry])
        var text = LabelsRecordText()
        let adjudicatedOnly = adjudicatedOnly, minAgreement = minAgreement
        try Pipeline.run(
            produce: { send in
                var batch: [Rows] = []
                batch.reserveCapacity(Self.batchSize)
                try store.forEachItemLabelRows(filter: filter) { item, rows, decisions in
                    batch.append((item, rows, decisions))
                    if batch.count == Self.batchSize {
                        try send(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty { try send(batch) }
            },
            consume: { batch in
                for entry in batch {
                    let labels = LabelRules.resolve(rows: entry.rows, decisions: entry.decisions, policy: policy, model: model)
                    guard let source = labels.final.source else { continue }
                    if adjudicatedOnly, labels.adjudication == nil { continue }
                    if let minAgreement {
                        guard let agreement = labels.votes.agreement, agreement >= minAgreement else { continue }
                    }
                    emit(entry.item.id) { out in Self.writeLabelsRecord(entry.item, labels, source, with: &text, to: &out) }
                }
            })
    }

    /// Records handed from the scan to the writer at a time.
    static let batchSize = 512

    /// A labels record as JSON bytes, written member by member without building a value tree
    /// (this runs once per item of a training set). Fields in the order of `columns["labels"]`.
    static func writeLabelsRecord(
        _ item: ItemProvenance, _ labels: ItemLabels, _ source: LabelSource, with text: inout LabelsRecordText, to out: inout WriteBuffer
    ) {
        JSONText.appendLiteral("{\"item\":", to: &out)
        JSONText.appendString(item.id, to: &out)
        JSONText.appendLiteral(",\"category\":", to: &out)
        JSONText.appendString(item.category, to: &out)
        JSONText.appendLiteral(",\"label\":", to: &out)
        JSONText.appendString(labels.final.label, to: &out)
        JSONText.appendLiteral(",\"label_source\":", to: &out)
        JSONText.appendString(source.rawValue, to: &out)
        JSONText.appendLiteral(",\"tie\":", to: &out)
        JSONText.appendBool(labels.final.isTie, to: &out)
        JSONText.appendLiteral(",\"agreement\":", to: &out)
        if let share = labels.votes.agreementShare { text.appendShare(share.count, of: share.of, to: &out) } else { JSONText.appendNull(to: &out) }
        JSONText.appendLiteral(",\"votes\":[", to: &out)
        let total = labels.votes.total
        // Indices rather than elements: a record reads fields, never copies whole answers.
        let counts = labels.votes.counts
        for offset in counts.indices {
            JSONText.appendLiteral(offset == 0 ? "{\"label\":" : ",{\"label\":", to: &out)
            JSONText.appendString(counts[offset].label, to: &out)
            JSONText.appendLiteral(",\"count\":", to: &out)
            let count = counts[offset].count
            JSONText.appendInteger(Int64(count), to: &out)
            JSONText.appendLiteral(",\"share\":", to: &out)
            text.appendShare(count, of: total, to: &out)
            out.append(0x7D)
        }
        JSONText.appendLiteral("],\"reviewer_labels\":[", to: &out)
        let current = labels.current
        for offset in current.indices {
            JSONText.appendLiteral(offset == 0 ? "{\"reviewer\":" : ",{\"reviewer\":", to: &out)
            JSONText.appendString(current[offset].reviewer, to: &out)
            JSONText.appendLiteral(",\"label\":", to: &out)
            JSONText.appendString(current[offset].value, to: &out)
            JSONText.appendLiteral(",\"rubric\":", to: &out)
            if let rubric = current[offset].rubric { JSONText.appendInteger(Int64(rubric), to: &out) } else { JSONText.appendNull(to: &out) }
            JSONText.appendLiteral(",\"created_at\":", to: &out)
            JSONText.appendInstant(current[offset].createdAt, with: &text.instants, to: &out)
            out.append(0x7D)
        }
        let decision = labels.adjudication
        JSONText.appendLiteral("],\"adjudicated_by\":", to: &out)
        JSONText.appendString(decision?.lead, to: &out)
        JSONText.appendLiteral(",\"rationale\":", to: &out)
        JSONText.appendString(decision?.rationale, to: &out)
        // The provenance: the reviewers whose current labels the record carries (`current` holds
        // one answer per reviewer, ordered by name), their rubric versions and times.
        JSONText.appendLiteral(",\"provenance\":{\"item\":", to: &out)
        JSONText.appendString(item.id, to: &out)
        JSONText.appendLiteral(",\"reviewers\":[", to: &out)
        var rubrics: [Int] = []
        var first: Instant?, last: Instant?
        for offset in current.indices {
            if offset > 0 { out.append(0x2C) }
            JSONText.appendString(current[offset].reviewer, to: &out)
            if let rubric = current[offset].rubric, !rubrics.contains(rubric) { rubrics.append(rubric) }
            let createdAt = current[offset].createdAt
            if first.map({ createdAt < $0 }) ?? true { first = createdAt }
            if last.map({ createdAt > $0 }) ?? true { last = createdAt }
        }
        JSONText.appendLiteral("],\"rubric_versions\":[", to: &out)
        for (offset, rubric) in rubrics.sorted().enumerated() {
            if offset > 0 { out.append(0x2C) }
            JSONText.appendInteger(Int64(rubric), to: &out)
        }
        JSONText.appendLiteral("],\"policy\":", to: &out)
        JSONText.appendString(item.policy, to: &out)
        JSONText.appendLiteral(",\"propensity\":", to: &out)
        if let propensity = item.propensity { JSONText.appendNumber(propensity, to: &out) } else { JSONText.appendNull(to: &out) }
        JSONText.appendLiteral(",\"served_at\":", to: &out)
        JSONText.appendInstant(item.servedAt, with: &text.instants, to: &out)
        JSONText.appendLiteral(",\"first_feedback_at\":", to: &out)
        JSONText.appendInstant(first, with: &text.instants, to: &out)
        JSONText.appendLiteral(",\"last_feedback_at\":", to: &out)
        JSONText.appendInstant(last, with: &text.instants, to: &out)
        JSONText.appendLiteral("}}", to: &out)
    }

    /// What the labels records repeat, written once: the dates of the days written lately
    /// (`ISO8601Bytes`), and the bytes of each vote share of a small total (`JSONText.appendNumber`
    /// of count / total, the same bytes, looked up rather than formatted again).
    struct LabelsRecordText {
        var instants = ISO8601Bytes()
        /// Shares of totals up to `smallTotal`, at `total * (total + 1) / 2 + count`.
        private var shares: [[UInt8]] = []
        private static let smallTotal = 32

        init() {
            for total in 0...Self.smallTotal {
                for count in 0...total {
                    var bytes: [UInt8] = []
                    JSONText.appendNumber(total > 0 ? Double(count) / Double(total) : 0, to: &bytes)
                    shares.append(bytes)
                }
            }
        }

        /// `count / total` as `JSONText.appendNumber` writes it (0 for no votes at all).
        func appendShare(_ count: Int, of total: Int, to out: inout WriteBuffer) {
            guard total >= 0, total <= Self.smallTotal, count >= 0, count <= total else {
                JSONText.appendNumber(total > 0 ? Double(count) / Double(total) : 0, to: &out)
                return
            }
            shares[total * (total + 1) / 2 + count].withUnsafeBytes { out.append(bytes: $0.baseAddress!, count: $0.count) }
        }
    }

    func exportSFT(_ store: any ReviewStore, _ filter: ExportFilter, _ emit: ([(String, JSONValue)]) -> Void) throws {
        try store.forEachItemFeedback(kinds: [.demonstration, .edit], filter: filter) { item, feedback, _ in
            for f in feedback {
                emit([
                    ("item", .string(item.id)), ("category", item.category.map { .string($0) } ?? .null),
                    ("prompt", .string(item.prompt ?? "")), ("completion", .string(f.draft.text ?? "")),
                    ("kind", .string(f.draft.kind.rawValue)), ("target", f.draft.target.map { .string($0) } ?? .null),
                    ("reviewer", .string(f.reviewer)), ("rubric", f.rubric.map { .number(Double($0)) } ?? .null),
                    ("created_at", .string(f.createdAt.iso8601)), ("provenance", provenance(item, [f])),
                ])
            }
        }
    }

    func exportPreferences(_ store: any ReviewStore, _ filter: ExportFilter, _ emit: ([(String, JSONValue)]) -> Void) throws {
        try store.forEachItemPreferenceFeedback(filter: filter) { item, feedback, decision in
            let responses = item.responses ?? item.response.map { [$0] } ?? []
            let letters = ResponseLetters.letters(count: responses.count)
            func text(_ letter: String) -> String? { letters.firstIndex(of: letter).map { responses[$0] } }
            let choice = decision.flatMap { decision in decision.value.map { LeadChoice(lead: decision.lead, letter: $0) } }
            let pairs = PreferencePairs.pairs(
                responses: responses.count, answers: feedback.map { PreferenceAnswer(reviewer: $0.reviewer, order: $0.id, draft: $0.draft) },
                choice: choice, adjacent: adjacent, keepTies: keepTies)
            for pair in pairs {
                let answer = pair.answer.map { feedback[$0] }
                let chosenText = pair.chosen == "edit" ? answer?.draft.text : text(pair.chosen)
                guard let chosenText, let rejectedText = text(pair.rejected) else { continue }
                let adjudicated = pair.source == .adjudicated ? decision : nil
                let provenanceValue: JSONValue
                if let answer {
                    provenanceValue = provenance(item, [answer])
                } else {
                    provenanceValue = provenance(item, judge: pair.judge, at: decision?.at)
                }
                emit([
                    ("item", .string(item.id)), ("category", item.category.map { .string($0) } ?? .null),
                    ("prompt", .string(item.prompt ?? "")), ("chosen", .string(chosenText)), ("rejected", .string(rejectedText)),
                    ("source", .string(pair.source.rawValue)), ("chosen_response", .string(pair.chosen)), ("rejected_response", .string(pair.rejected)),
                    ("tie", .bool(pair.tie)), ("weight", .number(pair.weight)), ("reviewer", .string(pair.judge)),
                    ("rubric", answer?.rubric.map { .number(Double($0)) } ?? .null),
                    ("created_at", (answer?.createdAt ?? decision?.at).map { .string($0.iso8601) } ?? .null),
                    ("adjudicated_by", adjudicated.map { .string($0.lead) } ?? .null),
                    ("rationale", adjudicated.map { .string($0.rationale) } ?? .null),
                    ("provenance", provenanceValue),
                ])
            }
        }
    }

    /// The provenance of a record a lead's decision made: the lead judged it then.
    func provenance(_ item: ItemProvenance, judge: String, at: Instant?) -> JSONValue {
        .object([
            ("item", .string(item.id)),
            ("reviewers", .array([.string(judge)])),
            ("rubric_versions", .array([])),
            ("policy", item.policy.map { .string($0) } ?? .null),
            ("propensity", item.propensity.map { .number($0) } ?? .null),
            ("served_at", item.servedAt.map { .string($0.iso8601) } ?? .null),
            ("first_feedback_at", at.map { .string($0.iso8601) } ?? .null),
            ("last_feedback_at", at.map { .string($0.iso8601) } ?? .null),
        ])
    }

    func exportSimple(_ store: any ReviewStore, _ filter: ExportFilter, kind: FeedbackKind, _ emit: ([(String, JSONValue)]) -> Void) throws {
        try store.forEachItemFeedback(kinds: [kind], filter: filter) { item, feedback, _ in
            for f in feedback {
                let value: (String, JSONValue) = kind == .rating ? ("rating", .number(f.draft.rating ?? 0)) : ("critique", .string(f.draft.text ?? ""))
                emit([
                    ("item", .string(item.id)), ("category", item.category.map { .string($0) } ?? .null), ("reviewer", .string(f.reviewer)), value,
                    ("rubric", f.rubric.map { .number(Double($0)) } ?? .null), ("created_at", .string(f.createdAt.iso8601)),
                    ("provenance", provenance(item, [f])),
                ])
            }
        }
    }

    func exportEscalations(_ store: any ReviewStore, _ filter: ExportFilter, _ emit: ([(String, JSONValue)]) -> Void) throws {
        try store.forEachEscalation(filter: filter) { record, closedAt in
            emit([
                ("id", .number(Double(record.id))), ("item", .string(record.itemID)), ("tier", .string(record.tier)),
                ("rule", .number(Double(record.rule))), ("reason", .string(record.reason)), ("severity", .number(Double(record.severity))),
                ("status", .string(record.status)), ("created_at", .string(record.createdAt.iso8601)),
                ("closed_at", closedAt.map { .string($0.iso8601) } ?? .null),
            ])
        }
    }

    func exportEvents(_ store: any ReviewStore, _ filter: ExportFilter, _ emit: ([(String, JSONValue)]) -> Void) throws {
        let limit = filter.asOf ?? filter.until
        try store.forEachEvent(item: nil, reviewer: nil, since: filter.since) { event in
            if let limit, event.at > limit { return }
            emit([
                ("id", .number(Double(event.id))), ("at", .string(event.at.iso8601)), ("kind", .string(event.kind)),
                ("reviewer", event.reviewer.map { .string($0) } ?? .null), ("item", event.item.map { .string($0) } ?? .null),
                // The detail stays a JSON string so every line has the same type for it.
                ("detail", .string(event.detail ?? "{}")),
            ])
        }
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
}
