import DocketCore

public struct Reviewer: Equatable, Sendable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var createdAt: Instant
    /// Reviews completed (assignments done).
    public var reviewsDone: Int
    /// Current labels (`LabelRules.current`: one per item, the latest not withdrawn), from sessions or imports.
    public var labels: Int = 0
}

/// What happened to one imported row.
public enum ItemAddOutcome: Equatable, Sendable {
    case inserted, unchanged, updated
}

/// Receives validated items during an import; the store checks them against what it holds.
public protocol ItemSink {
    /// Adds or matches one item. A conflict with stored content (without `update`) comes back as a
    /// field problem, so the caller can report it against the input line.
    func add(_ draft: ItemDraft) throws(StoreError) -> Result<ItemAddOutcome, FieldProblem>
}

public struct ImportSummary: Equatable, Sendable {
    public var inserted = 0
    public var unchanged = 0
    public var updated = 0
    public var rejected = 0
    public var committed = false
    public init() {}
}

/// An import either commits what it added or leaves the store as it was.
public enum ImportDecision: Sendable {
    case commit(rejected: Int)
    case rollback
}

/// One line of the queue: an item in serving order with the parts of its utility.
public struct QueueEntry: Equatable, Sendable {
    public var step: Int
    public var id: String
    public var utility: Double
    public var risk: Double?
    public var uncertainty: Double?
    public var diversity: Double?
    public var policy: SelectionPolicy
    public var propensity: Double
}

public struct QueuePreview: Equatable, Sendable {
    public var entries: [QueueEntry]
    public var budget: Int?
    public var served: Int
    public var unserved: Int
    public var budgetLeft: Int? { budget.map { max(0, $0 - served) } }
}

public struct StatusSnapshot: Equatable, Sendable {
    public var items: Int
    public var served: Int
    public var budget: Int?
    public var overlap: Int
    public var reviewsDone: Int
    public var itemsComplete: Int
    public var openLeases: Int
    public var reviewers: Int
    /// Current labels (each reviewer's latest label on an item, not withdrawn), from sessions and imports.
    public var labels: Int = 0
    /// Items with at least one current label.
    public var labelledItems: Int = 0
    public var budgetLeft: Int? { budget.map { max(0, $0 - served) } }
}

/// A lease on one item for one reviewer.
public struct Assignment: Equatable, Sendable {
    public var id: Int64
    public var itemID: String
    public var reviewer: String
    public var expiresAt: Instant
    /// How the item was first selected for review, and with what probability (nil for a gold item
    /// mixed in for calibration that the queue never selected).
    public var policy: SelectionPolicy?
    public var propensity: Double?
    /// True when this is a gold item mixed in for calibration (never shown to the reviewer as such).
    public var gold: Bool = false
    /// True when this is a lease the reviewer already held (a resumed session).
    public var resumed: Bool
}

public enum ClaimOutcome: Equatable, Sendable {
    case claimed(Assignment)
    /// Every item the budget allows has been handed out and none has room for this reviewer.
    case budgetSpent
    /// No item is left that this reviewer may take.
    case nothingLeft
}

/// One broken invariant found by `check`.
public struct Violation: Equatable, Sendable, CustomStringConvertible {
    public var rule: String
    public var detail: String
    public var description: String { "\(rule): \(detail)" }
}

/// The store façade: every read and task-named write Docket needs, each write one transaction.
/// SQLite implements it today; a PostgreSQL backend can implement it without touching the core.
public protocol ReviewStore: AnyObject {
    func projectSettings() throws(StoreError) -> ProjectSettings

    func addReviewer(name: String, role: Role, at: Instant) throws(StoreError) -> Reviewer
    func reviewers() throws(StoreError) -> [Reviewer]
    func reviewer(named: String) throws(StoreError) -> Reviewer

    /// Runs `body` inside one transaction; it commits only when `body` returns `.commit`.
    func importItems(
        update: Bool, updateReviewed: Bool, source: String, at: Instant, _ body: (any ItemSink) throws -> ImportDecision
    ) throws -> ImportSummary

    func queuePreview(limit: Int) throws(StoreError) -> QueuePreview
    func status(at: Instant) throws(StoreError) -> StatusSnapshot

    /// Hands `reviewer` the best item they may take, in one transaction: an open lease they
    /// already hold, else an item they started whose lease ended (it kept its place,
    /// `OverlapRule.isResumable`), else now and then a gold item they have not had, else the best
    /// item in progress with room left that they have not had (`OverlapRule.hasHad`), else a new
    /// selection (`QueuePlanner.step`) while the budget lasts.
    func claimNext(for reviewer: String, at: Instant) throws(StoreError) -> ClaimOutcome
    func renew(assignment: Int64, at: Instant) throws(StoreError) -> Instant
    /// Marks a review complete (the reviewer session records its feedback in the same transaction).
    func finish(assignment: Int64, at: Instant) throws(StoreError)
    func release(assignment: Int64, at: Instant) throws(StoreError)
    /// Ends every lease past its expiry; returns how many.
    @discardableResult func expireLeases(at: Instant) throws(StoreError) -> Int

    // The reviewer session.
    func taskDefinition() throws(StoreError) -> (definition: TaskDefinition, rubric: RubricVersion?)
    func applyTaskDefinition(_ definition: TaskDefinition, at: Instant) throws(StoreError) -> AppliedDefinition
    func reviewItem(assignment: Int64) throws(StoreError) -> ReviewItem
    /// Records one piece of feedback, committed before it returns; completes the item when
    /// every asked kind has been given (or on a skip).
    func submit(_ draft: FeedbackDraft, assignment: Int64, secondsSpent: Double?, at: Instant) throws(StoreError) -> Submission
    func complete(assignment: Int64, at: Instant) throws(StoreError)
    /// Withdraws a reviewer's feedback (an event; nothing is deleted) and reopens its item if it had completed it.
    func withdraw(feedback: Int64, by reviewer: String, at: Instant) throws(StoreError) -> Withdrawal
    func progress(of reviewer: String, at: Instant) throws(StoreError) -> ReviewerProgress

    /// Housekeeping for idle moments (e.g. a WAL checkpoint), kept out of claims and submissions.
    func idle()

    func backup(to path: String) throws(StoreError)
    func check() throws(StoreError) -> [Violation]
}

extension ReviewStore {
    /// An import that never replaces the text of items with feedback.
    public func importItems(
        update: Bool, source: String, at now: Instant, _ body: (any ItemSink) throws -> ImportDecision
    ) throws -> ImportSummary {
        try importItems(update: update, updateReviewed: false, source: source, at: now, body)
    }
}
