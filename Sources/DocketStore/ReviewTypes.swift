import DocketCore

/// A rubric version: the number and the content hash of an applied task definition.
public struct RubricVersion: Equatable, Sendable {
    public var id: Int64
    public var version: Int
    public var hash: String
    public var appliedAt: Instant
}

public struct AppliedDefinition: Equatable, Sendable {
    public var rubric: RubricVersion
    /// False when the same content was already the current version.
    public var changed: Bool
    /// Unserved items whose utility was recomputed because the weights changed.
    public var rescored: Int
}

/// Feedback as stored, with its id.
public struct StoredFeedback: Equatable, Sendable {
    public var id: Int64
    public var draft: FeedbackDraft
    public var createdAt: Instant

    public init(id: Int64, draft: FeedbackDraft, createdAt: Instant) {
        self.id = id
        self.draft = draft
        self.createdAt = createdAt
    }
}

/// What a reviewer sees of an item: its content and their own feedback, never anyone else's.
public struct ReviewItem: Equatable, Sendable {
    public var assignment: Int64
    /// What the item says (`ItemContent`).
    public var content: ItemContent
    public var expiresAt: Instant
    /// This reviewer's current (not withdrawn) feedback on this assignment, oldest first.
    public var given: [StoredFeedback]
    /// Kinds the task asks for that this item can take (ranking and preference need 2+ responses).
    public var asked: [FeedbackKind]

    init(
        assignment: Int64, id: String, prompt: String?, response: String?, responses: [String]?, category: String?, expiresAt: Instant, given: [StoredFeedback], asked: [FeedbackKind]
    ) {
        self.assignment = assignment
        self.content = ItemContent(id: id, prompt: prompt, response: response, responses: responses, category: category)
        self.expiresAt = expiresAt
        self.given = given
        self.asked = asked
    }

    public var id: String { content.id }
    public var prompt: String? { content.prompt }
    public var response: String? { content.response }
    public var responses: [String]? { content.responses }
    public var category: String? { content.category }

    /// Asked kinds not yet given (`ReviewRules.missing`).
    public var missing: [FeedbackKind] {
        ReviewRules.missing(asked: asked, given: given.map(\.draft), responses: responseCount)
    }

    public var responseCount: Int { content.responseCount }
    public var lettered: [(letter: String, text: String)] { content.lettered }
}

public struct Submission: Equatable, Sendable {
    public var feedback: Int64
    /// Earlier answers of the same kind that this one replaced (now superseded).
    public var replaced: [Int64] = []
    /// True when this submission completed the item (all asked feedback given, or a skip).
    public var completed: Bool
    public var missing: [FeedbackKind]
}

public struct Withdrawal: Equatable, Sendable {
    public var feedback: Int64
    public var kind: FeedbackKind
    public var itemID: String
    /// The assignment reopened for the reviewer, when the withdrawn feedback had completed it.
    public var reopened: Int64?
    /// A copy of the answer the withdrawn one had replaced, now current again.
    public var restored: Int64? = nil
    /// The answer `restored` is a copy of.
    public var restoredFrom: Int64? = nil
}

public struct ReviewerProgress: Equatable, Sendable {
    public var done: Int
    public var skipped: Int
    public var open: Int
    public var budget: Int?
    public var served: Int
}

// MARK: Adjudication

/// What a lead's decision is, as stored in `decisions.kind`.
public enum DecisionKind: String, CaseIterable, Sendable {
    case label, rating, choice, `return`, dismiss

    /// Whether the decision carries a value (the label, the rating, the chosen response's letter).
    public var carriesValue: Bool { self == .label || self == .rating || self == .choice }

    /// Whether the decision settles the item's open escalation. An escalation asks for a final
    /// label, so a rating or a chosen response alone leaves it open (the item stays before the
    /// lead until it has a label, is returned or is dismissed).
    public var closesEscalation: Bool { self == .label || self == .return || self == .dismiss }
}

public struct DecisionRecord: Equatable, Sendable {
    public var id: Int64
    public var itemID: String
    public var lead: String
    public var kind: String
    public var value: String?
    public var rationale: String
    public var supersedes: Int64?
    public var createdAt: Instant
}

/// Everything known about one item, for leads and for `docket show`.
public struct ItemReport: Equatable, Sendable {
    public var seq: Int64
    /// What the item says (`ItemContent`).
    public var content: ItemContent
    public var id: String { content.id }
    public var prompt: String? { content.prompt }
    public var response: String? { content.response }
    public var responses: [String]? { content.responses }
    public var category: String? { content.category }
    public var risk: Double?
    public var triage: Int?
    public var gold: String?
    /// Every current piece of feedback, oldest first, with the reviewer's name.
    public var feedback: [(reviewer: String, feedback: StoredFeedback)]
    /// Answers a reviewer replaced by answering again, oldest first, with the id of the answer
    /// that replaced each.
    public var superseded: [(reviewer: String, feedback: StoredFeedback, by: Int64)] = []
    /// What the label rules say about the item: each reviewer's current label, the votes, the
    /// adjudication, the saved model's posterior and the final label (`LabelRules.resolve`).
    public var labels: ItemLabels
    public var escalations: [EscalationRecord]
    public var decisions: [DecisionRecord]
    /// Current label counts, by label.
    public var labelCounts: [String: Int] { labels.votes.nonZero }
    /// The saved Dawid–Skene model's posterior of the most likely label, when it knows a reviewer.
    public var posterior: Double? { labels.posterior?.top }
    public var finalLabel: String? { labels.final.label }
    /// adjudicated, single, majority, dawid-skene or tie — or nil without labels.
    public var finalSource: String? { labels.final.source?.rawValue }
    /// The latest lead rating decision, else the mean of the reviewers' current ratings (each
    /// reviewer's latest); nil without either.
    public var finalRating: Double?
    /// adjudicated or mean — or nil without ratings.
    public var finalRatingSource: String?

    init(
        seq: Int64, id: String, prompt: String?, response: String?, responses: [String]?, category: String?, risk: Double?,
        triage: Int?, gold: String?, feedback: [(reviewer: String, feedback: StoredFeedback)], labels: ItemLabels,
        escalations: [EscalationRecord], decisions: [DecisionRecord], finalRating: Double?, finalRatingSource: String?
    ) {
        self.seq = seq
        self.content = ItemContent(id: id, prompt: prompt, response: response, responses: responses, category: category)
        self.risk = risk
        self.triage = triage
        self.gold = gold
        self.feedback = feedback
        self.labels = labels
        self.escalations = escalations
        self.decisions = decisions
        self.finalRating = finalRating
        self.finalRatingSource = finalRatingSource
    }

    public static func == (a: ItemReport, b: ItemReport) -> Bool { a.seq == b.seq && a.decisions == b.decisions && a.escalations == b.escalations }
}

// MARK: Escalations

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

// MARK: Exports

/// Which feedback an export reads.
public struct ExportFilter: Sendable {
    public var since: Instant?
    public var until: Instant?
    /// The dataset as it stood then: feedback, withdrawals and decisions recorded up to this time.
    public var asOf: Instant?
    public var category: String?
    public var rubric: Int?

    public init(since: Instant? = nil, until: Instant? = nil, asOf: Instant? = nil, category: String? = nil, rubric: Int? = nil) {
        self.since = since
        self.until = until
        self.asOf = asOf
        self.category = category
        self.rubric = rubric
    }
}

/// How an item came before reviewers: the provenance every exported record carries.
public struct ItemProvenance: Sendable {
    public var seq: Int64
    /// What the item says (`ItemContent`).
    public var content: ItemContent
    public var policy: String?
    public var propensity: Double?
    public var servedAt: Instant?

    init(
        seq: Int64, id: String, category: String?, prompt: String? = nil, response: String? = nil, responses: [String]? = nil,
        policy: String?, propensity: Double?, servedAt: Instant?
    ) {
        self.seq = seq
        self.content = ItemContent(id: id, prompt: prompt, response: response, responses: responses, category: category)
        self.policy = policy
        self.propensity = propensity
        self.servedAt = servedAt
    }

    public var id: String { content.id }
    public var category: String? { content.category }
    public var prompt: String? { content.prompt }
    public var response: String? { content.response }
    public var responses: [String]? { content.responses }
}

public struct ExportedFeedback: Sendable {
    public var id: Int64
    public var reviewer: String
    public var draft: FeedbackDraft
    public var rubric: Int?
    public var createdAt: Instant
}

public struct LeadDecision: Sendable {
    public var kind: String
    public var value: String?
    public var lead: String
    public var rationale: String
    public var at: Instant
}

// MARK: Label imports

/// One historical label from a file.
public struct LabelRow: Equatable, Sendable {
    public var item: String
    public var reviewer: String
    public var label: String
    public var createdAt: Instant?
    /// A rubric version number, when the file says which rubric the label was given under.
    public var rubric: Int?

    public init(item: String, reviewer: String, label: String, createdAt: Instant? = nil, rubric: Int? = nil) {
        self.item = item
        self.reviewer = reviewer
        self.label = label
        self.createdAt = createdAt
        self.rubric = rubric
    }
}

/// Receives labels during an import, inside its transaction.
public protocol LabelSink {
    func add(_ row: LabelRow) throws(StoreError) -> Result<ItemAddOutcome, FieldProblem>
}

/// Current labels as parallel arrays (see `currentLabels`).
public struct LabelColumns: Sendable {
    /// Per label: index into `itemSeqs`, `itemIDs` and `itemCategories`.
    public var rows: [Int32] = []
    public var reviewers: [Int64] = []
    /// Index into `labelNames`.
    public var labels: [Int32] = []
    /// Rubric version, or −1 when unknown.
    public var rubrics: [Int32] = []
    public var times: [Int64] = []
    public var labelNames: [String] = []
    public var reviewerNames: [Int64: String] = [:]
    /// The labelled items, in seq order.
    public var itemSeqs: [Int64] = []
    public var itemIDs: [String] = []
    public var itemCategories: [String?] = []
}

// MARK: The audit log

/// One entry of the audit log.
public struct EventRecord: Equatable, Sendable {
    public var id: Int64
    public var at: Instant
    public var kind: String
    public var reviewer: String?
    public var item: String?
    /// JSON text of the event's detail.
    public var detail: String?
}
