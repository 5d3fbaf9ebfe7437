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
    public var id: String
    public var prompt: String?
    public var response: String?
    public var responses: [String]?
    public var category: String?
    /// 1-based position of the item in the project's selections.
    public var position: Int
    public var budget: Int?
    public var expiresAt: Instant
    /// This reviewer's current (not withdrawn) feedback on this assignment, oldest first.
    public var given: [StoredFeedback]
    /// Kinds the task asks for that this item can take (ranking and preference need 2+ responses).
    public var asked: [FeedbackKind]

    /// Asked kinds not yet given (`ReviewRules.missing`).
    public var missing: [FeedbackKind] {
        ReviewRules.missing(asked: asked, given: given.map(\.draft), responses: responseCount)
    }

    /// How many responses the item has (its `responses`, or 1 for a single `response`).
    public var responseCount: Int { responses?.count ?? (response == nil ? 0 : 1) }

    /// The responses labelled A, B, …: `responses` when present, else the single `response` as A.
    public var lettered: [(letter: String, text: String)] {
        if let responses { return responses.enumerated().map { (ResponseLetters.letter($0.offset), $0.element) } }
        if let response { return [("A", response)] }
        return []
    }
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
}

public struct ReviewerProgress: Equatable, Sendable {
    public var done: Int
    public var skipped: Int
    public var open: Int
    public var budget: Int?
    public var served: Int
}
