/// One of a reviewer's current answers that orders responses: a preference, a ranking or an edit
/// (an edited response is preferred to the one it corrects).
public struct PreferenceAnswer: Equatable, Sendable {
    public var reviewer: String
    /// When it was given, as an increasing number (the feedback id): on one pair of responses a
    /// reviewer's latest answer is her verdict.
    public var order: Int64
    public var draft: FeedbackDraft

    public init(reviewer: String, order: Int64, draft: FeedbackDraft) {
        self.reviewer = reviewer
        self.order = order
        self.draft = draft
    }
}

/// A lead's decision choosing the best response of an item (`choose LETTER` in `adjudicate`).
public struct LeadChoice: Equatable, Sendable {
    public var lead: String
    /// The chosen response's letter.
    public var letter: String

    public init(lead: String, letter: String) {
        self.lead = lead
        self.letter = letter
    }
}

/// One chosen-over-rejected pair of an item's responses.
public struct PreferencePair: Equatable, Sendable {
    public enum Source: String, Sendable, CaseIterable {
        /// A reviewer's pairwise choice (A, B or tie).
        case preference
        /// A pair implied by a reviewer's ranking.
        case ranking
        /// A reviewer's edit of a response over the response.
        case edit
        /// A lead's choice of the best response, over each other response.
        case adjudicated
    }

    /// A response letter, or `edit` for the edited text of `answer`.
    public var chosen: String
    public var rejected: String
    public var source: Source
    /// The reviewer judged the two alike (chosen and rejected are then in letter order).
    public var tie: Bool
    /// The share of the reviewers with a verdict on this pair who agree with this one (1 for
    /// edits and the lead's choice).
    public var weight: Double
    /// Who judged: the reviewer, or for `adjudicated` the lead.
    public var judge: String
    /// The index of the answer (in the list given to `PreferencePairs.pairs`) the pair comes
    /// from; nil for the lead's choice.
    public var answer: Int?
}

/// The one rule that turns an item's feedback into preference pairs, for every export and report.
///
/// - One record per reviewer and pair of responses: a preference and a ranking that both order A
///   and B are one verdict, and the one given last is it (a change of mind, like answering the
///   same question again). A reviewer's own tie therefore replaces, rather than cancels, her
///   earlier ranking of that pair, and is replaced by a later one.
/// - A ranking implies every ordered pair (best over each response below it), or with `adjacent`
///   only neighbours; the other pairs still count as verdicts for the weights.
/// - An edit implies the edited text over the response it corrects (weight 1; edits accumulate).
/// - The lead's choice implies the chosen response over each other response, marked
///   `adjudicated` (weight 1), after the reviewers' pairs.
/// - A weight is the share of the reviewers with a verdict on the pair whose verdict is the same.
/// - Ties are kept only with `keepTies`; they count toward the weights either way.
public enum PreferencePairs {
    public static func pairs(
        responses: Int, answers: [PreferenceAnswer], choice: LeadChoice? = nil, adjacent: Bool = false, keepTies: Bool = false
    ) -> [PreferencePair] {
        let letters = ResponseLetters.letters(count: responses)
        let position = Dictionary(uniqueKeysWithValues: letters.enumerated().map { ($1, $0) })

        /// A reviewer's verdict on one unordered pair, and where it came from.
        struct Verdict {
            var winner: String?  // nil: a tie
            var first: String, second: String  // as the record names them: winner first, or letter order for a tie
            var answer: Int
            var rank: (Int, Int)  // positions within the answer, for a stable order of its pairs
            var source: PreferencePair.Source
            var emitted: Bool
        }
        /// An unordered pair of responses.
        struct PairKey: Hashable {
            var low: String, high: String
        }
        func pairKey(_ a: String, _ b: String) -> PairKey {
            position[a, default: 0] <= position[b, default: 0] ? PairKey(low: a, high: b) : PairKey(low: b, high: a)
        }

        var verdicts: [String: [PairKey: Verdict]] = [:]
        var edits: [String: [Int]] = [:]
        let ordered = answers.indices.sorted { answers[$0].order < answers[$1].order }
        for index in ordered {
            let answer = answers[index]
            switch answer.draft.kind {
            case .preference:
                guard responses >= 2, let preference = answer.draft.preference else { continue }
                let verdict: Verdict
                switch preference {
                case .a: verdict = Verdict(winner: "A", first: "A", second: "B", answer: index, rank: (0, 1), source: .preference, emitted: true)
                case .b: verdict = Verdict(winner: "B", first: "B", second: "A", answer: index, rank: (0, 1), source: .preference, emitted: true)
                case .tie: verdict = Verdict(winner: nil, first: "A", second: "B", answer: index, rank: (0, 1), source: .preference, emitted: keepTies)
                }
                verdicts[answer.reviewer, default: [:]][pairKey("A", "B")] = verdict
            case .ranking:
                // Only a ranking of the item's own responses, each once, says anything.
                guard let ranking = answer.draft.ranking, ranking.allSatisfy({ position[$0] != nil }), Set(ranking).count == ranking.count else { continue }
                for i in ranking.indices {
                    for j in ranking.indices where j > i {
                        verdicts[answer.reviewer, default: [:]][pairKey(ranking[i], ranking[j])] = Verdict(
                            winner: ranking[i], first: ranking[i], second: ranking[j], answer: index, rank: (i, j), source: .ranking,
                            emitted: !adjacent || j == i + 1)
                    }
                }
            case .edit:
                guard position[answer.draft.target ?? "A"] != nil, answer.draft.text != nil else { continue }
                edits[answer.reviewer, default: []].append(index)
            default:
                continue
            }
        }

        // Who said what on each pair, for the weights.
        var judged: [PairKey: [String?]] = [:]
        for byPair in verdicts.values {
            for (key, verdict) in byPair { judged[key, default: []].append(verdict.winner) }
        }

        var pairs: [PreferencePair] = []
        for reviewer in Set(verdicts.keys).union(edits.keys).sorted() {
            var records: [(order: Int64, rank: (Int, Int), pair: PreferencePair)] = []
            for (key, verdict) in verdicts[reviewer] ?? [:] where verdict.emitted {
                let judges = judged[key] ?? []
                let agreeing = judges.filter { $0 == verdict.winner }.count
                records.append((answers[verdict.answer].order, verdict.rank, PreferencePair(
                    chosen: verdict.first, rejected: verdict.second, source: verdict.source, tie: verdict.winner == nil,
                    weight: judges.isEmpty ? 1 : Double(agreeing) / Double(judges.count), judge: reviewer, answer: verdict.answer)))
            }
            for index in edits[reviewer] ?? [] {
                let target = answers[index].draft.target ?? "A"
                records.append((answers[index].order, (0, 0), PreferencePair(
                    chosen: "edit", rejected: target, source: .edit, tie: false, weight: 1, judge: reviewer, answer: index)))
            }
            // In the order given, and within a ranking in its order; the answer's index breaks ties.
            records.sort { ($0.order, $0.pair.answer ?? 0, $0.rank.0, $0.rank.1) < ($1.order, $1.pair.answer ?? 0, $1.rank.0, $1.rank.1) }
            pairs += records.map(\.pair)
        }
        if let choice, position[choice.letter] != nil {
            for other in letters where other != choice.letter {
                pairs.append(PreferencePair(chosen: choice.letter, rejected: other, source: .adjudicated, tie: false, weight: 1, judge: choice.lead, answer: nil))
            }
        }
        return pairs
    }
}
