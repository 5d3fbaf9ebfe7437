import DocketCore
import Testing

@Suite struct AgreementRowsTests {
    /// Two reviewers who agree on every item: percent and Cohen's kappa are 1, the pairwise rows
    /// name the pair, and an interval never leaves [-1, 1].
    @Test func identicalReviewersAgreeFully() {
        var table = RatingTable(items: 6, raters: 2, categories: 2)
        for i in 0..<6 { for r in 0..<2 { table[i, r] = Double(i % 2) } }
        let rows = AgreementRows.compute(
            table, reviewers: ["ana", "bo"], metrics: ["percent", "cohen", "pairwise"], weights: .none, level: .nominal, group: "g",
            interval: .analytic)
        #expect(rows.map(\.metric) == ["percent", "cohen", "cohen:ana~bo", "pairwise-mean"])
        #expect(rows.allSatisfy { $0.group == "g" })
        #expect(rows[0].estimate.value == 1)
        #expect(rows[1].estimate.value == 1)
        #expect(rows[3].note == "mean over 1 pair")
        for row in rows { if let low = row.low, let high = row.high { #expect(-1 <= low && low <= high && high <= 1) } }
    }

    /// Cohen's kappa needs exactly two reviewers: with three it is undefined, with the reason.
    @Test func cohenWithThreeReviewersIsUndefinedWithAReason() {
        var table = RatingTable(items: 4, raters: 3, categories: 2)
        for i in 0..<4 { for r in 0..<3 { table[i, r] = Double((i + r) % 2) } }
        let rows = AgreementRows.compute(
            table, reviewers: ["a", "b", "c"], metrics: ["cohen"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        #expect(rows.count == 1)
        #expect(rows[0].estimate.value == nil)
        #expect(rows[0].estimate.reason == "Cohen's kappa compares two reviewers; there are 3 (pass --reviewers a,b, or see conger and pairwise)")
    }

    /// The seeded bootstrap gives the same interval twice.
    @Test func bootstrapIsSeeded() {
        var table = RatingTable(items: 20, raters: 2, categories: 2)
        for i in 0..<20 { table[i, 0] = Double(i % 2); table[i, 1] = Double((i / 3) % 2) }
        let first = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["fleiss"], weights: .none, level: .nominal, group: nil, interval: .bootstrap(reps: 200, seed: 7))
        let again = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["fleiss"], weights: .none, level: .nominal, group: nil, interval: .bootstrap(reps: 200, seed: 7))
        #expect(first[0].method == "bootstrap")
        #expect(first[0].low == again[0].low && first[0].high == again[0].high)
    }
}

/// The one rule for `--by rubric` groups.
@Suite struct RubricGroupsTests {
    @Test func versionsInOrderThenUnversioned() {
        #expect(RubricGroups.versions(of: [2, nil, 1, 2]) == [1, 2, nil])
        #expect(RubricGroups.versions(of: [3, 1]) == [1, 3])
        #expect(RubricGroups.versions(of: [nil, nil]) == [nil])
        #expect(RubricGroups.versions(of: [Int?]()) == [])
        #expect(RubricGroups.name(nil) == "none" && RubricGroups.name(4) == "4")
    }
}
