import DocketCore
import Testing

/// The one rule for preference pairs (`PreferencePairs.pairs`).
@Suite struct PreferencePairsTests {
    /// Answers given in this order.
    final class Answers {
        var given: Int64 = 0
        func callAsFunction(_ reviewer: String, _ draft: FeedbackDraft) -> PreferenceAnswer {
            given += 1
            return PreferenceAnswer(reviewer: reviewer, order: given, draft: draft)
        }
    }

    static func prefer(_ preference: Preference) -> FeedbackDraft { FeedbackDraft(kind: .preference, preference: preference) }
    static func rank(_ letters: String) -> FeedbackDraft { FeedbackDraft(kind: .ranking, ranking: letters.map(String.init)) }

    /// chosen>rejected source weight judge, one per pair.
    static func summary(_ pairs: [PreferencePair]) -> [String] {
        pairs.map { "\($0.chosen)\($0.tie ? "=" : ">")\($0.rejected) \($0.source.rawValue) \(JSONText.number($0.weight)) \($0.judge)" }
    }

    /// A reviewer's ranking and preference on the same pair are one verdict: the later one.
    @Test func aRankingAndAPreferenceOnOnePairAreOneRecord() {
        let answer = Answers()
        let answers = [answer("ana", Self.prefer(.b)), answer("ana", Self.rank("BA"))]
        let pairs = PreferencePairs.pairs(responses: 2, answers: answers)
        #expect(Self.summary(pairs) == ["B>A ranking 1 ana"])
        #expect(pairs[0].answer == 1)
        // The other way round, the preference is the later answer.
        let reversed = PreferencePairs.pairs(responses: 2, answers: [answers[1], PreferenceAnswer(reviewer: "ana", order: 9, draft: Self.prefer(.b))])
        #expect(Self.summary(reversed) == ["B>A preference 1 ana"])
    }

    /// Her own tie replaces her ranking of the pair (it does not cancel it into weight 0), and a
    /// later ranking replaces the tie.
    @Test func herOwnTieReplacesHerRankingInsteadOfCancellingIt() {
        let answer = Answers()
        let ranked = answer("ana", Self.rank("BAC"))
        let tie = answer("ana", Self.prefer(.tie))
        // The tie is her verdict on A and B; her other pairs stand at full weight.
        #expect(Self.summary(PreferencePairs.pairs(responses: 3, answers: [ranked, tie])) == ["B>C ranking 1 ana", "A>C ranking 1 ana"])
        #expect(Self.summary(PreferencePairs.pairs(responses: 3, answers: [ranked, tie], keepTies: true))
            == ["B>C ranking 1 ana", "A>C ranking 1 ana", "A=B preference 1 ana"])
        let again = answer("ana", Self.rank("ABC"))
        #expect(Self.summary(PreferencePairs.pairs(responses: 3, answers: [ranked, tie, again]))
            == ["A>B ranking 1 ana", "A>C ranking 1 ana", "B>C ranking 1 ana"])
    }

    /// A ranking implies every ordered pair, or with `adjacent` its neighbours; the pairs left out
    /// still count as verdicts for the weights.
    @Test func aRankingImpliesItsPairs() {
        let answer = Answers()
        let answers = [answer("ana", Self.rank("CAB")), answer("bo", Self.rank("ACB"))]
        #expect(Self.summary(PreferencePairs.pairs(responses: 3, answers: answers)) == [
            "C>A ranking 0.5 ana", "C>B ranking 1 ana", "A>B ranking 1 ana",
            "A>C ranking 0.5 bo", "A>B ranking 1 bo", "C>B ranking 1 bo",
        ])
        #expect(Self.summary(PreferencePairs.pairs(responses: 3, answers: answers, adjacent: true)) == [
            "C>A ranking 0.5 ana", "A>B ranking 1 ana",
            "A>C ranking 0.5 bo", "C>B ranking 1 bo",
        ])
    }

    /// Weights: the share of the reviewers with a verdict on the pair (a tie is one) who agree.
    @Test func weightsAreSharesOfTheReviewersWhoJudgedThePair() {
        let answer = Answers()
        let answers = [
            answer("ana", Self.prefer(.a)), answer("bo", Self.prefer(.a)), answer("cy", Self.rank("BA")), answer("dee", Self.prefer(.tie)),
        ]
        #expect(Self.summary(PreferencePairs.pairs(responses: 2, answers: answers, keepTies: true)) == [
            "A>B preference 0.5 ana", "A>B preference 0.5 bo", "B>A ranking 0.25 cy", "A=B preference 0.25 dee",
        ])
    }

    /// Edits imply the edited text over the response it corrects, one pair per edit.
    @Test func editsImplyTheEditedTextOverTheOriginal() {
        let answer = Answers()
        let answers = [
            answer("ana", FeedbackDraft(kind: .edit, text: "better", target: "B")),
            answer("ana", FeedbackDraft(kind: .edit, text: "best", target: "B")),
            answer("bo", FeedbackDraft(kind: .edit, text: "x", target: "D")),  // no such response
        ]
        let pairs = PreferencePairs.pairs(responses: 2, answers: answers)
        #expect(Self.summary(pairs) == ["edit>B edit 1 ana", "edit>B edit 1 ana"])
        #expect(pairs.map(\.answer) == [0, 1])
        #expect(Self.summary(PreferencePairs.pairs(responses: 1, answers: [answer("ana", FeedbackDraft(kind: .edit, text: "fixed", target: "A"))]))
            == ["edit>A edit 1 ana"])
    }

    /// The lead's choice: the chosen response over each other one, marked, after the reviewers'.
    @Test func theLeadsChoiceIsIncludedAndMarked() {
        let answer = Answers()
        let answers = [answer("ana", Self.prefer(.b))]
        let pairs = PreferencePairs.pairs(responses: 3, answers: answers, choice: LeadChoice(lead: "lee", letter: "A"))
        #expect(Self.summary(pairs) == ["B>A preference 1 ana", "A>B adjudicated 1 lee", "A>C adjudicated 1 lee"])
        #expect(pairs.last?.answer == nil)
        // The lead's choice is no reviewer's verdict: it leaves the reviewers' weights alone.
        #expect(pairs[0].weight == 1)
        #expect(PreferencePairs.pairs(responses: 2, answers: [], choice: LeadChoice(lead: "lee", letter: "C")).isEmpty)
        #expect(Self.summary(PreferencePairs.pairs(responses: 2, answers: [], choice: LeadChoice(lead: "lee", letter: "B"))) == ["B>A adjudicated 1 lee"])
    }

    /// Answers that say nothing about pairs are ignored: a ranking that is no permutation of the
    /// responses, a preference on an item with one response, other kinds.
    @Test func answersThatSayNothingAreIgnored() {
        let answer = Answers()
        let answers = [
            answer("ana", Self.rank("AAB")), answer("ana", Self.rank("AZ")), answer("bo", FeedbackDraft(kind: .label, label: "safe")),
        ]
        #expect(PreferencePairs.pairs(responses: 3, answers: answers).isEmpty)
        #expect(PreferencePairs.pairs(responses: 1, answers: [answer("ana", Self.prefer(.a))]).isEmpty)
    }
}
