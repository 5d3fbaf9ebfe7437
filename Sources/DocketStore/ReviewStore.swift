import DocketCore

/// How the database itself treats a login (`databaseHold(onLogin:)`).
public struct LoginHold: Equatable, Sendable {
    /// The database's owner: its members are staff, not held to a reviewer's rights.
    public var owner: String
    /// True when the database holds the login to a reviewer's rights.
    public var heldToReviewer: Bool

    public init(owner: String, heldToReviewer: Bool) {
        self.owner = owner
        self.heldToReviewer = heldToReviewer
    }

    /// What an admin should know when `name`, bound to `login`, has `role`: a lead or an admin
    /// whose login the database holds to a reviewer's rights cannot lead from it, and a reviewer
    /// whose login it does not hold reads every answer. nil when the two agree.
    public func mismatch(name: String, role: Role, login: String) -> String? {
        if role >= .lead && heldToReviewer {
            return "\(name) is \(role.withArticle), but the database holds the login \(login) to a reviewer's rights until a database superuser runs GRANT \(owner) TO \(login)"
        }
        if role == .reviewer && !heldToReviewer {
            return "\(name) is a reviewer, but the login \(login) is a member of the database's owner \(owner), so the database lets it read every answer; a database superuser runs REVOKE \(owner) FROM \(login)"
        }
        return nil
    }
}

public struct Reviewer: Equatable, Sendable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var createdAt: Instant
    /// Reviews completed (assignments done).
    public var reviewsDone: Int
    /// Current labels (`LabelRules.current`: one per item, the latest not withdrawn), from sessions
    /// or imports; nil when the database does not show this login another reviewer's answers.
    public var labels: Int? = 0
    /// The login bound to this reviewer: their OS account (SQLite) or PostgreSQL login role.
    public var login: String?
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
    /// How many more rows the input probably holds (from its size and the rows read so far):
    /// a load large against the project builds the queue's index once at the end instead of
    /// row by row. Only a hint; the import's result does not depend on it.
    func expect(moreRows: Int) throws(StoreError)
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
    /// True when the database shows this login only its own answers (PostgreSQL, a login held to
    /// a reviewer's rights): `labels` and `labelledItems` count the reviewer's own.
    public var labelsAreOwnOnly = false
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

// MARK: The store seam
//
// Commands see the store only through these protocols: one role per part of Docket, and
// `ReviewStore`, which composes them and is what `StoreFactory` hands out. Each write is one
// transaction; reads see one consistent snapshot. The rules (current labels, votes, final labels,
// overlap, utility) live in DocketCore; a store fetches and records rows. SQLite implements every
// role today (`SQLiteStore`); a second backend implements the same protocols, passes
// `StoreContractTests` and is added to `StoreFactory`. Errors crossing the seam are `StoreError`,
// whose cases name no backend type.

/// Where the project is and which files it keeps, for messages, history files and the outputs
/// that must never overwrite the database.
public protocol StoreIdentity: AnyObject {
    /// Where the project is, as it was named (`--db`): a file path for SQLite.
    var location: String { get }
    /// Files on this machine the backend keeps for the project (SQLite: the database and its
    /// `-wal`, `-shm`, `-journal` and `.lock` sidecars); no output may be written over them.
    /// Empty for a store in memory or on a server.
    var ownedFiles: [String] { get }
}

/// The project, its rubric versions and its reviewers.
public protocol ProjectStore: StoreIdentity {
    func projectSettings() throws(StoreError) -> ProjectSettings
    /// The current task definition and its rubric version.
    func taskDefinition() throws(StoreError) -> (definition: TaskDefinition, rubric: RubricVersion?)
    /// Applies a task definition: new content becomes a new rubric version, the same content changes nothing.
    func applyTaskDefinition(_ definition: TaskDefinition, at: Instant) throws(StoreError) -> AppliedDefinition

    /// Registers a reviewer bound to `login` (nil: the login of their own name).
    func addReviewer(name: String, role: Role, login: String?, at: Instant) throws(StoreError) -> Reviewer
    /// Every reviewer with their counts, by name.
    func reviewers() throws(StoreError) -> [Reviewer]
    func reviewer(named: String) throws(StoreError) -> Reviewer
    /// Binds a reviewer to another login, or to none (nil).
    @discardableResult func bindLogin(of name: String, to login: String?, at: Instant) throws(StoreError) -> Bool
    /// Whether the database itself holds `login` to a reviewer's rights (PostgreSQL with row-level
    /// security: a login role that is not a member of the database's owner), with the owner's
    /// name; nil where the database does not tell logins apart (SQLite) or the role does not exist.
    func databaseHold(onLogin login: String) throws(StoreError) -> LoginHold?
    /// Changes a reviewer's role as `Access.roleChange` allows, in one transaction.
    @discardableResult func setRole(of name: String, to role: Role, by actor: Actor, at: Instant) throws(StoreError) -> Bool
    /// The login this connection acts as, when the backend has its own (PostgreSQL: current_user).
    func sessionCaller() throws(StoreError) -> Caller?
    /// The registered reviewer bound to `login`, if any.
    func person(boundTo login: String) throws(StoreError) -> Person?
    func person(named: String) throws(StoreError) -> Person
    /// From now on every event this store writes names `actor` where the event itself does not.
    func recordActor(_ actor: Actor) throws(StoreError)
}

/// All-or-nothing imports of items and historical labels.
public protocol ImportStore: AnyObject {
    /// Runs `body` inside one transaction; it commits only when `body` returns `.commit`.
    /// `update` replaces the content of items stored with different content; the text of items
    /// with feedback only with `updateReviewed`.
    func importItems(
        update: Bool, updateReviewed: Bool, source: String, at: Instant, _ body: (any ItemSink) throws -> ImportDecision
    ) throws -> ImportSummary
    /// Historical labels, in one transaction committed only when `body` returns `.commit`.
    func importLabels(
        createItems: Bool, source: String, at: Instant, _ body: (any LabelSink) throws -> ImportDecision
    ) throws -> ImportSummary
}

/// The queue: what comes next, who holds what, and the leases.
public protocol QueueStore: AnyObject {
    /// The next `limit` items in the order new items will be handed out.
    func queuePreview(limit: Int) throws(StoreError) -> QueuePreview
    /// The project's counts as of `at` (a pure read: a lease past its expiry counts as ended).
    func status(at: Instant) throws(StoreError) -> StatusSnapshot

    /// Hands `reviewer` the best item they may take, in one transaction: an open lease they
    /// already hold, else an item they started whose lease ended (it kept its place,
    /// `OverlapRule.isResumable`), else now and then a gold item they have not had, else the best
    /// item in progress with room left that they have not had (`OverlapRule.hasHad`), else a new
    /// selection (`QueuePlanner.step`) while the budget lasts.
    func claimNext(for reviewer: String, at: Instant) throws(StoreError) -> ClaimOutcome
    /// Extends an open lease; returns its new expiry.
    func renew(assignment: Int64, at: Instant) throws(StoreError) -> Instant
    /// Marks a review complete.
    func finish(assignment: Int64, at: Instant) throws(StoreError)
    /// Gives back a lease (an item with nothing given returns to the pool).
    func release(assignment: Int64, at: Instant) throws(StoreError)
    /// Ends every lease past its expiry; returns how many.
    @discardableResult func expireLeases(at: Instant) throws(StoreError) -> Int
}

/// The reviewer session: the item under review and the feedback given on it.
public protocol ReviewSessionStore: AnyObject {
    /// What the reviewer holding `assignment` sees: the item and their own feedback, never anyone else's.
    func reviewItem(assignment: Int64) throws(StoreError) -> ReviewItem
    /// Records one piece of feedback, committed before it returns; completes the item when
    /// every asked kind has been given (or on a skip). A later answer of the same kind
    /// supersedes the earlier one.
    /// `underRubric` is the rubric the answer was given under (the one the reviewer's session
    /// showed, when a config change came since); nil: the project's current one.
    func submit(_ draft: FeedbackDraft, assignment: Int64, secondsSpent: Double?, underRubric: Int64?, at: Instant) throws(StoreError) -> Submission
    /// Completes an assignment explicitly (`next`), when nothing asked is missing.
    func complete(assignment: Int64, at: Instant) throws(StoreError)
    /// Withdraws a reviewer's feedback (an event; nothing is deleted), restores the answer it
    /// had replaced, and reopens its item if it had completed it.
    func withdraw(feedback: Int64, by reviewer: String, at: Instant) throws(StoreError) -> Withdrawal
    func progress(of reviewer: String, at: Instant) throws(StoreError) -> ReviewerProgress
    /// Applies the escalation policy to the feedback that logins held to a reviewer's rights gave
    /// (PostgreSQL, `escalation_backlog`), in the order it was given, and links their events,
    /// when this login may read every answer and something waits; every write of such a login
    /// does so first, and commands that only read call this. Nothing on SQLite, which has no such logins.
    func applyEscalationBacklog() throws(StoreError)
    /// The reviewer's own pace for the session header; items finished since `dayStart` are today's.
    func pace(of reviewer: String, dayStart: Instant) throws(StoreError) -> ReviewerPace
}

/// The lead's side: triage, escalations, decisions and the full record of an item.
public protocol AdjudicationStore: AnyObject {
    /// Records a lead's decision on an item. Earlier decisions stay; the new one supersedes the latest of its kind.
    func decide(item: String, kind: DecisionKind, value: String?, rationale: String, by lead: String, at: Instant) throws(StoreError) -> DecisionRecord
    /// Sets an item's triage severity.
    func triage(item: String, severity: Int, by reviewer: String, at: Instant) throws(StoreError)
    /// Items waiting for triage, most urgent first.
    func triageQueue(limit: Int) throws(StoreError) -> [String]
    /// Open escalations, optionally of one tier: highest severity first, then oldest.
    func openEscalations(tier: String?) throws(StoreError) -> [EscalationRecord]
    /// Everything about one item: content, every reviewer's feedback, escalations, decisions, labels.
    func itemReport(id: String) throws(StoreError) -> ItemReport
    /// The adjudicated label of every item a lead has decided, by item id.
    func adjudicatedLabels() throws(StoreError) -> [String: String]
}

/// What the statistics and the monitoring report read (and the Dawid–Skene model they save).
public protocol StatisticsStore: AnyObject {
    /// Every current label (the latest a reviewer gave an item and did not withdraw) as parallel columns.
    func currentLabels(kind: FeedbackKind) throws(StoreError) -> LabelColumns
    /// Gold labels by item id.
    func goldLabels() throws(StoreError) -> [String: String]
    /// How many gold items were mixed into each reviewer's queue.
    func goldServed() throws(StoreError) -> [String: Int]
    /// Ids and embeddings of every item that has one, in import order.
    func itemEmbeddings() throws(StoreError) -> (ids: [String], embeddings: [[Float]])
    /// The latest saved Dawid–Skene model recorded by `asOf` (every one when nil), or nil.
    func savedDawidSkeneModel(asOf: Instant?) throws(StoreError) -> DawidSkeneModel?
    /// Saves a Dawid–Skene model for the escalation policy and the final labels.
    func saveModel(labels: [String], reviewers: [String], result: Aggregation.DawidSkeneResult, at: Instant) throws(StoreError)
    /// Every item handed out, with what the report needs.
    func reportItems() throws(StoreError) -> [ReportItem]
    /// Completed reviews: who, when, and the seconds spent.
    func workRecords() throws(StoreError) -> [WorkRecord]
    func startRound(_ name: String, at: Instant) throws(StoreError) -> Round
    func closeRound(at: Instant) throws(StoreError) -> Round
    func rounds() throws(StoreError) -> [Round]
}

/// Streams for the dataset exports, each as of `filter.asOf` (what had been recorded by then).
public protocol ExportStore: AnyObject {
    /// Feedback of the given kinds grouped by item, with provenance and the latest lead decision on its label.
    func forEachItemFeedback(
        kinds: [FeedbackKind], filter: ExportFilter, _ body: (ItemProvenance, [ExportedFeedback], LeadDecision?) throws -> Void
    ) throws(StoreError)
    /// Preferences, rankings and edits grouped by item, with the latest `choice` decision.
    func forEachItemPreferenceFeedback(
        filter: ExportFilter, _ body: (ItemProvenance, [ExportedFeedback], LeadDecision?) throws -> Void
    ) throws(StoreError)
    /// Each item's label rows (withdrawn ones marked) and lead decisions, for `LabelRules.resolve`.
    func forEachItemLabelRows(
        filter: ExportFilter, _ body: (ItemProvenance, [LabelAnswer], [DecisionEntry]) throws -> Void
    ) throws(StoreError)
    /// Every escalation (status as of `filter.asOf`), in creation order.
    func forEachEscalation(filter: ExportFilter, _ body: (EscalationRecord, Instant?) throws -> Void) throws(StoreError)
    /// The audit log (append-only), oldest first, filtered by item id, reviewer name and time.
    func forEachEvent(item: String?, reviewer: String?, since: Instant?, _ body: (EventRecord) throws -> Void) throws(StoreError)
}

/// Housekeeping a backend may need, behind neutral names (SQLite: WAL checkpoints, the online backup API).
public protocol MaintenanceStore: AnyObject {
    /// Housekeeping for idle moments (SQLite: a WAL checkpoint), kept out of claims and submissions.
    func idle()
    /// Receives a sentence while the store waits for its server (PostgreSQL: reconnecting after
    /// a lost connection), so a person knows why nothing happens.
    func setWaitNotice(_ notice: @escaping (String) -> Void)
    /// Runs `body` without waiting for a lost server (PostgreSQL: no reconnecting; a lost
    /// connection fails at once and the next call makes it again), for work that may be skipped,
    /// such as renewing a lease while the reviewer sits at the prompt.
    func withoutWaiting<T>(_ body: () throws -> T) rethrows -> T
    /// Writes a consistent copy of the project to the new file `target`, while others keep
    /// working, through `temporary` (an empty private file the caller created beside it), which
    /// is renamed into place; a failed backup leaves nothing behind.
    func backup(to target: String, through temporary: String) throws(StoreError)
    /// The backend's own integrity checks, then Docket's invariants (overlap never exceeded, no
    /// reviewer twice on an item, counters that agree).
    func check() throws(StoreError) -> [Violation]
}

/// The whole store: every role. Commands receive `any ReviewStore` from `StoreFactory`.
public protocol ReviewStore:
    ProjectStore, ImportStore, QueueStore, ReviewSessionStore, AdjudicationStore, StatisticsStore, ExportStore, MaintenanceStore {}

extension ImportStore {
    /// An import that never replaces the text of items with feedback.
    public func importItems(
        update: Bool, source: String, at now: Instant, _ body: (any ItemSink) throws -> ImportDecision
    ) throws -> ImportSummary {
        try importItems(update: update, updateReviewed: false, source: source, at: now, body)
    }
}

extension ReviewSessionStore {
    /// An answer given under the project's current rubric.
    public func submit(_ draft: FeedbackDraft, assignment: Int64, secondsSpent: Double?, at now: Instant) throws(StoreError) -> Submission {
        try submit(draft, assignment: assignment, secondsSpent: secondsSpent, underRubric: nil, at: now)
    }
}

extension StatisticsStore {
    /// Current labels (`.label` feedback).
    public func currentLabels() throws(StoreError) -> LabelColumns { try currentLabels(kind: .label) }
    /// The latest saved Dawid–Skene model, or nil.
    public func savedDawidSkeneModel() throws(StoreError) -> DawidSkeneModel? { try savedDawidSkeneModel(asOf: nil) }
}

extension ProjectStore {
    /// Registers a reviewer bound to the login of their own name.
    public func addReviewer(name: String, role: Role, at now: Instant) throws(StoreError) -> Reviewer {
        try addReviewer(name: name, role: role, login: nil, at: now)
    }
}
