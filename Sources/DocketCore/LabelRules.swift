#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The rules about labels, written once: which answer of a reviewer is current, the votes over
// the declared labels, ties, and an item's final label with where it came from. `show`,
// `status`, `reviewers list`, `export`, `report`, `aggregate`, `adjudicate`, `calibrate` and the
// escalation policy all ask these functions; the store only fetches the rows they read.

/// One stored answer of a single-answer kind (a label, a rating) by one reviewer on one item,
/// with what the rules need to know about it.
public struct Answer<Value: Equatable & Sendable>: Equatable, Sendable {
    /// The feedback id. Feedback is stored in the order it is given, so a larger id is a later answer.
    public var id: Int64
    public var reviewer: String
    public var value: Value
    /// Withdrawn by `undo`, or replaced by a later answer of the same reviewer: a supersession is
    /// recorded as a withdrawal as well (Schema/0007_supersessions.sql), so both read alike here.
    public var withdrawn: Bool
    /// The rubric version it was given under, when known.
    public var rubric: Int?
    public var createdAt: Instant

    public init(id: Int64, reviewer: String, value: Value, withdrawn: Bool = false, rubric: Int? = nil, createdAt: Instant) {
        self.id = id
        self.reviewer = reviewer
        self.value = value
        self.withdrawn = withdrawn
        self.rubric = rubric
        self.createdAt = createdAt
    }
}

public typealias LabelAnswer = Answer<String>
public typealias RatingAnswer = Answer<Double>

/// A lead's decision on an item, as the rules read it (`decisions` rows).
public struct DecisionEntry: Equatable, Sendable {
    public var id: Int64
    /// label, rating, choice, return or dismiss.
    public var kind: String
    public var value: String?
    public var lead: String
    public var rationale: String
    public var createdAt: Instant

    public init(id: Int64, kind: String, value: String?, lead: String = "", rationale: String = "", createdAt: Instant = Instant(milliseconds: 0)) {
        self.id = id
        self.kind = kind
        self.value = value
        self.lead = lead
        self.rationale = rationale
        self.createdAt = createdAt
    }
}

/// What a tie among reviewers' labels becomes (the task setting `ties`).
public enum TieRule: String, Sendable, CaseIterable {
    /// No final label: the item goes to the lead's tier, who decides it.
    case escalate
    /// The tied label declared later (the more severe one on an ordinal scale).
    case severe
    /// The tied label declared first (Docket's behaviour before the setting existed).
    case declaredOrder = "declared-order"

    public static let names = allCases.map(\.rawValue).joined(separator: ", ")
}

/// The aggregate behind final labels when no lead has decided (the task setting `final_label`).
public enum FinalLabelMethod: String, Sendable, CaseIterable {
    case majority
    case dawidSkene = "dawid-skene"
}

/// Where a final label came from.
public enum LabelSource: String, Sendable, CaseIterable {
    /// The latest lead decision of kind label.
    case adjudicated
    /// Exactly one reviewer has a current label.
    case single
    /// One label has more votes than any other.
    case majority
    /// The most likely label under the saved Dawid–Skene model.
    case dawidSkene = "dawid-skene"
    /// The aggregate found two or more labels tied: the `ties` setting decided the label (none
    /// under `escalate`).
    case tie
}

/// The settings the label rules read, from the task definition.
public struct LabelPolicy: Equatable, Sendable {
    /// The declared labels, in order: the order of votes, and what `severe` and `declared-order` rank by.
    public var declared: [String]
    public var method: FinalLabelMethod
    public var ties: TieRule

    public init(declared: [String], method: FinalLabelMethod = .majority, ties: TieRule = .escalate) {
        self.declared = declared
        self.method = method
        self.ties = ties
    }

    public init(_ definition: TaskDefinition) {
        self.init(declared: definition.labels, method: FinalLabelMethod(rawValue: definition.finalLabel) ?? .majority, ties: definition.ties)
    }
}

/// One label and its number of votes.
public struct VoteCount: Equatable, Sendable {
    public var label: String
    public var count: Int
}

/// The votes of an item's current labels.
public struct Votes: Equatable, Sendable {
    /// Every declared label in its declared order, then any other label given (alphabetically),
    /// with its number of votes (0 included).
    public var counts: [VoteCount]
    /// Current labels: one per reviewer who has one.
    public var total: Int
    /// The labels with the most votes (at least one), in the order of `counts`.
    public var top: [String]
    public var topCount: Int

    /// Two or more labels share the most votes.
    public var isTie: Bool { top.count >= 2 }
    /// One label holds more than half of the votes.
    public var hasMajority: Bool { total > 0 && topCount * 2 > total }
    /// The share of the most frequent label (the export's `agreement`); nil without votes.
    public var agreement: Double? { agreementShare.map { Double($0.count) / Double($0.of) } }
    /// `agreement` as its two counts (the export writes it from a table of shares).
    public var agreementShare: (count: Int, of: Int)? { total > 0 ? (topCount, total) : nil }
    /// The labels that have votes, with their counts.
    public var nonZero: [String: Int] {
        var out: [String: Int] = [:]
        for entry in counts where entry.count > 0 { out[entry.label] = entry.count }
        return out
    }

    public func count(of label: String) -> Int { counts.first { $0.label == label }?.count ?? 0 }
}

/// An item's final label and where it came from.
public struct FinalLabel: Equatable, Sendable {
    /// Nil with no label at all, and for a tie under `ties: escalate`.
    public var label: String?
    /// Nil when the item has neither a current label nor a lead's label decision.
    public var source: LabelSource?
    /// For a tie: the labels tied, in declared order.
    public var tied: [String]

    public init(label: String?, source: LabelSource?, tied: [String] = []) {
        self.label = label
        self.source = source
        self.tied = tied
    }

    public static let none = FinalLabel(label: nil, source: nil)
    public var isTie: Bool { source == .tie }
    /// A tie the `ties` setting left without a label (`escalate`): the lead decides it.
    public var awaitsLead: Bool { isTie && label == nil }
}

/// A saved Dawid–Skene model: class priors and each reviewer's confusion matrix.
public struct DawidSkeneModel: Equatable, Sendable {
    /// The classes, in the order of the priors and the matrices' rows and columns.
    public var labels: [String]
    public var priors: [Double]
    /// confusion[reviewer][true class][given class]
    public var confusion: [String: [[Double]]]

    public init(labels: [String], priors: [Double], confusion: [String: [[Double]]]) {
        self.labels = labels
        self.priors = priors
        self.confusion = confusion
    }

    /// The model an EM run fitted (`reviewers` names the result's reviewer columns).
    public init(labels: [String], reviewers: [String], result: Aggregation.DawidSkeneResult) {
        var confusion: [String: [[Double]]] = [:]
        for (r, name) in reviewers.enumerated() where r < result.confusion.count { confusion[name] = result.confusion[r] }
        self.init(labels: labels, priors: result.priors, confusion: confusion)
    }

    /// The stored form: `{"labels": [...], "priors": [...], "confusion": {"name": [[...]]}}`,
    /// reviewers in `order` (default: by name).
    public func json(order: [String]? = nil) -> JSONValue {
        let names = order ?? confusion.keys.sorted()
        return .object([
            ("labels", .array(labels.map { .string($0) })),
            ("priors", .array(priors.map { .number($0) })),
            ("confusion", .object(names.compactMap { name in
                confusion[name].map { (name, .array($0.map { row in .array(row.map { .number($0) }) })) }
            })),
        ])
    }

    /// Reads the stored form; nil when it is not one. Matrices of the wrong shape are left out
    /// (their reviewer's labels then carry no weight).
    public init?(json: JSONValue) {
        guard case .array(let classValues)? = json["labels"], case .array(let priorValues)? = json["priors"] else { return nil }
        let labels = classValues.compactMap { value -> String? in if case .string(let s) = value { return s } else { return nil } }
        let priors = priorValues.compactMap { value -> Double? in if case .number(let p) = value { return p } else { return nil } }
        guard labels.count == classValues.count, priors.count == labels.count else { return nil }
        var confusion: [String: [[Double]]] = [:]
        for (name, rows) in json["confusion"]?.objectMembers ?? [] {
            guard case .array(let rowValues) = rows, rowValues.count == labels.count else { continue }
            let matrix = rowValues.map { row -> [Double] in
                guard case .array(let cells) = row else { return [] }
                return cells.compactMap { cell -> Double? in if case .number(let p) = cell { return p } else { return nil } }
            }
            guard matrix.allSatisfy({ $0.count == labels.count }) else { continue }
            confusion[name] = matrix
        }
        self.init(labels: labels, priors: priors, confusion: confusion)
    }
}

/// An item's class probabilities under a Dawid–Skene model.
public struct ModelPosterior: Equatable, Sendable {
    public var labels: [String]
    public var probabilities: [Double]
    /// How many of the item's labels the model could use (their reviewer is in the model and
    /// the label is one of its classes).
    public var used: Int

    /// The probability of the most likely class.
    public var top: Double { probabilities.max() ?? 0 }
    /// The classes sharing the highest probability, in the model's order.
    public var best: [String] {
        let top = self.top
        return labels.indices.filter { probabilities[$0] == top }.map { labels[$0] }
    }
}

/// Everything the rules say about one item's labels.
public struct ItemLabels: Equatable, Sendable {
    /// Each reviewer's current label, by reviewer name.
    public var current: [LabelAnswer]
    public var votes: Votes
    /// The latest lead decision of kind label, if any.
    public var adjudication: DecisionEntry?
    /// The item's class probabilities under the saved model, when one was given and it could
    /// use at least one of the item's labels.
    public var posterior: ModelPosterior?
    public var final: FinalLabel

    /// How many reviewers have a current label on the item.
    public var reviewers: Int { current.count }

    public init(current: [LabelAnswer], votes: Votes, adjudication: DecisionEntry? = nil, posterior: ModelPosterior? = nil, final: FinalLabel) {
        self.current = current
        self.votes = votes
        self.adjudication = adjudication
        self.posterior = posterior
        self.final = final
    }
}

public enum LabelRules {
    // MARK: Current answers

    /// Each reviewer's current answer: their latest (highest id) answer that is not withdrawn.
    /// An undone answer is withdrawn, and so is one replaced by a later answer, so a reviewer
    /// has at most one current answer per item and kind. Rows of other reviewers, withdrawn rows
    /// and any order are fine. Returns one answer per reviewer, ordered by reviewer name.
    /// Complexity: O(n log n) for n rows.
    public static func current<Value>(_ rows: [Answer<Value>]) -> [Answer<Value>] {
        // An item's rows are few: a linear search beats hashing every name (export runs this per item).
        if rows.count <= 32 {
            var kept: [Answer<Value>] = []
            kept.reserveCapacity(rows.count)
            for row in rows where !row.withdrawn {
                if let index = kept.firstIndex(where: { $0.reviewer == row.reviewer }) {
                    if kept[index].id < row.id { kept[index] = row }
                } else {
                    kept.append(row)
                }
            }
            kept.sort { $0.reviewer < $1.reviewer }
            return kept
        }
        var latest: [String: Answer<Value>] = [:]
        for row in rows where !row.withdrawn {
            if let kept = latest[row.reviewer], kept.id > row.id { continue }
            latest[row.reviewer] = row
        }
        return latest.values.sorted { $0.reviewer < $1.reviewer }
    }

    /// `current` over a stream of rows ordered by item, reviewer and id, without holding them:
    /// each row is skipped (withdrawn), starts a new current answer (the first kept row of its
    /// item and reviewer) or replaces the current answer it follows (a later kept row of the same
    /// item and reviewer). The answers left standing are exactly those `current` returns.
    /// Complexity: O(1) per row.
    public struct CurrentScan<Item: Equatable, Reviewer: Equatable> {
        public enum Step: Equatable { case skip, start, replace }
        private var lastItem: Item?
        private var lastReviewer: Reviewer?

        public init() {}

        public mutating func step(item: Item, reviewer: Reviewer, withdrawn: Bool) -> Step {
            if withdrawn { return .skip }
            if lastItem == item, lastReviewer == reviewer { return .replace }
            lastItem = item
            lastReviewer = reviewer
            return .start
        }
    }

    /// Counts of current labels from rows ordered by item, reviewer and id (see `CurrentScan`):
    /// the `status` and `reviewers list` figures.
    public struct CurrentLabelCount<Item: Equatable, Reviewer: Hashable> {
        public private(set) var labels = 0
        public private(set) var items = 0
        public private(set) var byReviewer: [Reviewer: Int] = [:]
        private var scan = CurrentScan<Item, Reviewer>()
        private var lastCountedItem: Item?

        public init() {}

        public mutating func add(item: Item, reviewer: Reviewer, withdrawn: Bool) {
            guard scan.step(item: item, reviewer: reviewer, withdrawn: withdrawn) == .start else { return }
            labels += 1
            byReviewer[reviewer, default: 0] += 1
            if lastCountedItem != item {
                items += 1
                lastCountedItem = item
            }
        }
    }

    // MARK: Votes and ties

    /// The votes over the declared labels from current labels (one per reviewer, see `current`).
    /// Complexity: O(n + k) for n labels and k declared labels.
    public static func votes(_ current: [LabelAnswer], declared: [String]) -> Votes {
        // Few labels and few answers: counted by comparison, without hashing (export runs this per item).
        if current.count <= 32, declared.count <= 32, current.allSatisfy({ declared.contains($0.value) }) {
            return votes(entries: declared.map { label in VoteCount(label: label, count: current.reduce(0) { $0 + ($1.value == label ? 1 : 0) }) })
        }
        var counts: [String: Int] = [:]
        for answer in current { counts[answer.value, default: 0] += 1 }
        return votes(counts: counts, declared: declared)
    }

    /// The votes from counts by label.
    public static func votes(counts: [String: Int], declared: [String]) -> Votes {
        var entries = declared.map { VoteCount(label: $0, count: max(0, counts[$0] ?? 0)) }
        // Labels no longer declared (rare): after the declared ones, alphabetically.
        if counts.contains(where: { $0.value > 0 && !declared.contains($0.key) }) {
            for label in counts.keys.sorted() where !declared.contains(label) && counts[label]! > 0 {
                entries.append(VoteCount(label: label, count: counts[label]!))
            }
        }
        return votes(entries: entries)
    }

    /// The votes of counts in rank order.
    private static func votes(entries: [VoteCount]) -> Votes {
        var total = 0, topCount = 0
        for entry in entries {
            total += entry.count
            topCount = max(topCount, entry.count)
        }
        var top: [String] = []
        if topCount > 0 {
            for entry in entries where entry.count == topCount { top.append(entry.label) }
        }
        return Votes(counts: entries, total: total, top: top, topCount: topCount)
    }

    /// What `rule` makes of labels tied at the top (given in any order): nil under `escalate`;
    /// the one declared latest under `severe`; the one declared first under `declared-order`.
    /// Labels that are not declared rank after the declared ones, alphabetically (as in `Votes`).
    public static func breakTie(_ tied: [String], rule: TieRule, declared: [String]) -> String? {
        let ordered = ordered(tied, declared: declared)
        return majorityIndex(ordered.map { _ in 1 }, ties: rule)?.index.map { ordered[$0] }
    }

    /// `labels` in declared order, undeclared ones after them alphabetically.
    public static func ordered(_ labels: [String], declared: [String]) -> [String] {
        func rank(_ label: String) -> (Int, String) { (declared.firstIndex(of: label) ?? declared.count, label) }
        return labels.sorted { rank($0) < rank($1) }
    }

    /// The majority label of `votes`: the most frequent label, or for a tie what the tie rule
    /// makes of it. `.none` without votes. Complexity: O(k).
    public static func majority(_ votes: Votes, ties: TieRule) -> FinalLabel {
        // `votes.top` holds the labels with the most votes in rank order: `majorityIndex` of the
        // counts, read without making the arrays again (export runs this per item).
        guard votes.topCount > 0, let first = votes.top.first else { return .none }
        guard votes.top.count >= 2 else { return FinalLabel(label: first, source: .majority) }
        return FinalLabel(label: tiePick(among: votes.top.count, ties: ties).map { votes.top[$0] }, source: .tie, tied: votes.top)
    }

    /// The majority rule on counts in rank order (the declared order, as `Votes.counts` holds
    /// them): the index with the most votes; for a tie, the tied indices and what the tie rule
    /// picks among them (nil under `escalate`, the last under `severe`, the first under
    /// `declared-order`). Nil without votes. Complexity: O(k).
    public static func majorityIndex(_ counts: [Int], ties: TieRule) -> (index: Int?, tied: [Int])? {
        guard let top = counts.max(), top > 0 else { return nil }
        let tied = counts.indices.filter { counts[$0] == top }
        guard tied.count >= 2 else { return (tied[0], []) }
        return (tiePick(among: tied.count, ties: ties).map { tied[$0] }, tied)
    }

    /// Which of `count` (two or more) tied candidates in rank order the tie rule picks: none
    /// under `escalate`, the last under `severe`, the first under `declared-order`.
    static func tiePick(among count: Int, ties: TieRule) -> Int? {
        switch ties {
        case .escalate: nil
        case .severe: count - 1
        case .declaredOrder: 0
        }
    }

    // MARK: Decisions

    /// The latest lead decision of kind `kind` (label by default): the item's adjudicated value.
    /// A revision is a later decision, so the latest wins. Complexity: O(n).
    public static func adjudication(_ decisions: [DecisionEntry], kind: String = "label") -> DecisionEntry? {
        decisions.filter { $0.kind == kind && $0.value != nil }.max { $0.id < $1.id }
    }

    // MARK: Dawid–Skene under saved parameters

    /// An item's class probabilities under `model`, from its current labels: for class k,
    /// π_k · Π_j e_j[k][l_j] over the labels l_j whose reviewer j the model knows and whose label
    /// is one of its classes, normalised (in log space; probabilities floored at 1e-10 as the EM
    /// run floors them). Nil when the model can use none of the labels.
    /// Complexity: O(n · k) for n labels and k classes.
    public static func posterior(_ model: DawidSkeneModel, labels: [(reviewer: String, label: String)]) -> ModelPosterior? {
        let k = model.labels.count
        guard k > 0, model.priors.count == k else { return nil }
        var scores = model.priors.map { log(max($0, 1e-10)) }
        var used = 0
        for (reviewer, label) in labels {
            guard let l = model.labels.firstIndex(of: label), let matrix = model.confusion[reviewer], matrix.count == k else { continue }
            used += 1
            for c in 0..<k where l < matrix[c].count { scores[c] += log(max(matrix[c][l], 1e-10)) }
        }
        guard used > 0, let top = scores.max() else { return nil }
        let weights = scores.map { exp($0 - top) }
        let sum = weights.reduce(0, +)
        return ModelPosterior(labels: model.labels, probabilities: weights.map { $0 / sum }, used: used)
    }

    /// The label a posterior gives, with a tie (two classes of exactly equal probability) going
    /// through the tie rule.
    public static func modelLabel(_ posterior: ModelPosterior, ties: TieRule, declared: [String]) -> FinalLabel {
        let best = posterior.best
        if best.count == 1 { return FinalLabel(label: best[0], source: .dawidSkene) }
        return FinalLabel(label: breakTie(best, rule: ties, declared: declared), source: .tie, tied: ordered(best, declared: declared))
    }

    // MARK: The final label

    /// An item's final label and its source: the latest lead decision of kind label
    /// (`adjudicated`); else, with exactly one current label, that label (`single`); else the
    /// configured aggregate: `dawid-skene` under the saved model when there is one and it can
    /// use the item's labels, otherwise `majority`. When the aggregate finds a tie the source is
    /// `tie` and the tie rule decides the label (none under `escalate`).
    /// Complexity: O(n · k).
    public static func finalLabel(votes: Votes, adjudication: DecisionEntry?, posterior: ModelPosterior?, policy: LabelPolicy) -> FinalLabel {
        if let adjudication, let value = adjudication.value { return FinalLabel(label: value, source: .adjudicated) }
        guard votes.total > 0 else { return .none }
        if votes.total == 1 { return FinalLabel(label: votes.top[0], source: .single) }
        if policy.method == .dawidSkene, let posterior { return modelLabel(posterior, ties: policy.ties, declared: policy.declared) }
        return majority(votes, ties: policy.ties)
    }

    /// Every rule at once, from an item's stored label rows (any reviewers, withdrawn ones
    /// included) and its lead decisions (any kind).
    /// Complexity: O(n log n + n · k + d) for n rows, k classes and d decisions.
    public static func resolve(rows: [LabelAnswer], decisions: [DecisionEntry], policy: LabelPolicy, model: DawidSkeneModel?) -> ItemLabels {
        let mine = Self.current(rows)
        let counted = Self.votes(mine, declared: policy.declared)
        let decided = Self.adjudication(decisions)
        let probabilities = model.flatMap { Self.posterior($0, labels: mine.map { ($0.reviewer, $0.value) }) }
        let final = Self.finalLabel(votes: counted, adjudication: decided, posterior: probabilities, policy: policy)
        return ItemLabels(current: mine, votes: counted, adjudication: decided, posterior: probabilities, final: final)
    }

    // MARK: Ratings

    /// An item's final rating: the latest lead decision of kind rating, else the mean of the
    /// reviewers' current ratings (each reviewer's latest); nil without either.
    /// Complexity: O(n log n + d).
    public static func finalRating(rows: [RatingAnswer], decisions: [DecisionEntry]) -> (rating: Double, source: String)? {
        if let decision = adjudication(decisions, kind: "rating"), let rating = decision.value.flatMap(Double.init) { return (rating, "adjudicated") }
        let ratings = Self.current(rows).map(\.value)
        guard !ratings.isEmpty else { return nil }
        return (ratings.reduce(0, +) / Double(ratings.count), "mean")
    }

    // MARK: Sentences

    /// How a final label reads in `show` and `adjudicate`: `unsafe (majority)`,
    /// `none: a tie between safe and unsafe; it goes to the lead`, `unsafe (a tie between safe and
    /// unsafe, broken toward the label declared later)`.
    public static func describe(_ final: FinalLabel) -> String {
        guard let source = final.source else { return "none yet" }
        guard source == .tie else { return "\(final.label ?? "") (\(source.rawValue))" }
        let between = "a tie between " + final.tied.joined(separator: " and ")
        guard let label = final.label else { return "none: \(between); it goes to the lead" }
        return "\(label) (\(between), broken toward the label declared \(label == final.tied.first ? "first" : "later"))"
    }
}
