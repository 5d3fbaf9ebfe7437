/// The rules of one reviewer's answers on one item: what an item asks, what is still missing,
/// which earlier answer a new one replaces, and which answers contradict each other. The store
/// and the session both ask these functions, so they cannot disagree.
public enum ReviewRules {
    /// Kinds that take one current answer per reviewer and item: answering again replaces the
    /// earlier answer (a change of mind), where notes, flags, critiques and edits accumulate.
    public static let singleAnswer: Set<FeedbackKind> = [.label, .rating, .ranking, .preference]

    /// The kinds a task's `asks` require of an item with `responses` responses. Ranking and
    /// preference need two or more responses, edit one. With exactly two responses a ranking and
    /// a preference say the same thing, so only the preference (which can also be a tie) is asked.
    public static func asked(_ asks: [FeedbackKind], responses: Int) -> [FeedbackKind] {
        asks.filter { kind in
            switch kind {
            case .ranking: return responses >= 2 && !(responses == 2 && asks.contains(.preference))
            case .preference: return responses >= 2
            case .edit: return responses >= 1
            default: return true
            }
        }
    }

    /// Asked kinds not yet answered by `given` (the reviewer's current feedback on the item).
    /// With two responses a ranking answers a preference ask and a strict preference answers a
    /// ranking ask.
    public static func missing(asked: [FeedbackKind], given: [FeedbackDraft], responses: Int) -> [FeedbackKind] {
        asked.filter { kind in
            !given.contains { draft in
                if draft.kind == kind { return true }
                guard responses == 2 else { return false }
                if kind == .preference { return draft.kind == .ranking }
                if kind == .ranking { return draft.kind == .preference && draft.preference != .tie }
                return false
            }
        }
    }

    /// True when `draft` answers one of the `asked` kinds (directly, or as its two-response twin):
    /// such an answer completes the item once nothing is missing.
    public static func answersAsk(_ draft: FeedbackDraft, asked: [FeedbackKind], responses: Int) -> Bool {
        missing(asked: asked, given: [draft], responses: responses).count < asked.count
    }

    /// The ids of current answers that `draft` replaces: the reviewer's earlier answer of the same
    /// single-answer kind on this item.
    public static func replaced(by draft: FeedbackDraft, given: [(id: Int64, draft: FeedbackDraft)]) -> [Int64] {
        guard singleAnswer.contains(draft.kind) else { return [] }
        return given.filter { $0.draft.kind == draft.kind }.map(\.id)
    }

    /// A sentence when `draft` contradicts a current answer of the other kind on the same pair of
    /// responses (`rank A B` then `prefer tie`; `rank C A B` then `prefer B`), else nil. A
    /// preference is about responses A and B; a ranking orders every response strictly.
    /// Answering with the same kind again is a change of mind, not a contradiction.
    public static func contradiction(_ draft: FeedbackDraft, given: [FeedbackDraft], responses: Int) -> String? {
        guard responses >= 2 else { return nil }
        /// Which of A and B a ranking puts first.
        func first(of ranking: [String]) -> (winner: String, loser: String)? {
            guard let a = ranking.firstIndex(of: "A"), let b = ranking.firstIndex(of: "B") else { return nil }
            return a < b ? ("A", "B") : ("B", "A")
        }
        switch draft.kind {
        case .preference:
            guard let preference = draft.preference, let ranking = given.last(where: { $0.kind == .ranking })?.ranking,
                  let order = first(of: ranking) else { return nil }
            guard preference.rawValue != order.winner else { return nil }
            return "You ranked \(order.winner) above \(order.loser), so `prefer \(preference.rawValue)` contradicts it; "
                + "`rank` again to change your answer, or undo the ranking first."
        case .ranking:
            guard let ranking = draft.ranking, let order = first(of: ranking),
                  let preference = given.last(where: { $0.kind == .preference })?.preference else { return nil }
            guard preference.rawValue != order.winner else { return nil }
            let said = preference == .tie ? "called A and B a tie" : "preferred \(preference.rawValue)"
            return "You \(said), so `rank \(ranking.joined(separator: " "))` contradicts it; "
                + "`prefer` again to change your answer, or undo the preference first."
        default:
            return nil
        }
    }
}
