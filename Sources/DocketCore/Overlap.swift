/// Where an assignment (one reviewer's lease on one item) stands.
public enum AssignmentState: String, Sendable, CaseIterable {
    /// Leased: the reviewer is working on the item.
    case open
    /// Reviewed: everything the item asks for was given.
    case done
    /// Passed on by this reviewer with `skip`.
    case skipped
    /// The lease ran out before the review was done.
    case expired
    /// Given back (a session that ends on an item nobody started releases it).
    case released
    /// A review taken back (kept for databases that recorded it as a state).
    case withdrawn

    /// Ended without a review and without a skip: the item may be taken up again.
    public var isEnded: Bool { self == .expired || self == .released || self == .withdrawn }
}

/// What the queue knows of one assignment, for the overlap rules.
public struct AssignmentFacts: Equatable, Sendable {
    public var reviewer: Int64
    public var state: AssignmentState
    /// A gold item mixed into the reviewer's queue for calibration.
    public var gold: Bool
    /// The kinds of the assignment's current feedback (given under it and not withdrawn).
    public var currentKinds: Set<FeedbackKind>

    public init(reviewer: Int64, state: AssignmentState, gold: Bool, currentKinds: Set<FeedbackKind>) {
        self.reviewer = reviewer
        self.state = state
        self.gold = gold
        self.currentKinds = currentKinds
    }

    /// Whether the reviewer has started the item under this assignment (see `OverlapRule.isStarted`).
    public var started: Bool { OverlapRule.isStarted(currentKinds: currentKinds) }
    /// Whether the assignment takes one of the item's places (see `OverlapRule.takesPlace`).
    public var takesPlace: Bool { OverlapRule.takesPlace(state: state, gold: gold, started: started) }
}

/// The overlap rule, once: which assignments take one of an item's `overlap` places, and which
/// items a reviewer has had. The store's counters and triggers, its claims and `docket check` all
/// follow these functions; tests hold the SQL to them.
///
/// **Partial feedback takes a place.** Every current answer is data that the statistics and the
/// exports read, so an assignment holding current feedback keeps its place when its lease ends
/// (expired or released): an item at overlap 2 never ends up with three reviewers' labels. The
/// reviewer's next claim resumes such an assignment with what they gave; undoing every answer
/// frees the place. A skip passes the item on, so a skip alone takes no place. Gold items mixed in
/// for calibration never take a place.
public enum OverlapRule {
    /// True when current feedback of `kind` means the reviewer has started the item: any answer,
    /// flag or note; not a skip, which passes the item on.
    public static func starts(_ kind: FeedbackKind) -> Bool { kind != .skip }

    /// True when an assignment with current feedback of these kinds has been started.
    public static func isStarted(currentKinds: some Sequence<FeedbackKind>) -> Bool {
        currentKinds.contains(where: starts)
    }

    /// Whether an assignment takes one of its item's overlap places: an open lease and a done
    /// review do; an assignment that ended any other way (expired, released, skipped, withdrawn)
    /// does while it holds current feedback that started the item; a gold assignment never does.
    public static func takesPlace(state: AssignmentState, gold: Bool, started: Bool) -> Bool {
        guard !gold else { return false }
        switch state {
        case .open, .done: return true
        case .skipped, .expired, .released, .withdrawn: return started
        }
    }

    /// The places an item's assignments take.
    public static func placesTaken(_ assignments: [AssignmentFacts]) -> Int {
        assignments.count { $0.takesPlace }
    }

    /// Whether an ended assignment still belongs to its reviewer: one they started, whose lease
    /// ended or was given back. Their next claim takes it up again (before anything else but a
    /// lease they hold), so a started item is finished by the reviewer who started it.
    public static func isResumable(state: AssignmentState, started: Bool) -> Bool {
        state.isEnded && started
    }

    /// States in which an assignment keeps its item from being offered to its reviewer again.
    public static let holdingStates: Set<AssignmentState> = [.open, .done, .skipped]

    /// Whether a reviewer has had an item, so that no regular claim offers it to them: they hold
    /// it, reviewed it or skipped it; it was mixed into their queue as gold (in any state: the
    /// mix served it to them); they started it under an assignment that ended (they resume that
    /// one instead); or they labelled it in an imported file.
    public static func hasHad(_ assignments: [AssignmentFacts], importedLabel: Bool) -> Bool {
        importedLabel || assignments.contains { holdingStates.contains($0.state) || $0.gold || $0.started }
    }

    /// The broken overlap invariants of one item, as sentences (empty when none): more places
    /// taken than its overlap, and a reviewer on it twice.
    public static func violations(itemID: String, overlap: Int, assignments: [AssignmentFacts], names: [Int64: String] = [:])
        -> (overlap: String?, twice: [String])
    {
        var exceeded: String?
        let placed = assignments.filter(\.takesPlace)
        if placed.count > overlap {
            let partial = placed.count { !($0.state == .open || $0.state == .done) }
            let open = placed.count { $0.state == .open }
            let done = placed.count { $0.state == .done }
            var parts = ["\(done) done", "\(open) open"]
            if partial > 0 { parts.append("\(partial) ended with feedback") }
            exceeded = "item \(itemID) has \(placed.count) counted reviews (\(parts.joined(separator: ", "))), over its overlap of \(overlap)"
        }
        var twice: [String] = []
        var perReviewer: [Int64: Int] = [:]
        var order: [Int64] = []
        for assignment in assignments where holdingStates.contains(assignment.state) || assignment.takesPlace {
            if perReviewer[assignment.reviewer] == nil { order.append(assignment.reviewer) }
            perReviewer[assignment.reviewer, default: 0] += 1
        }
        for reviewer in order where perReviewer[reviewer, default: 0] > 1 {
            twice.append("reviewer \(names[reviewer] ?? "#\(reviewer)") holds item \(itemID) \(perReviewer[reviewer]!) times")
        }
        return (exceeded, twice)
    }
}
