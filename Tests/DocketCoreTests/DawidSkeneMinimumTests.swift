import DocketCore
import Testing

/// Issue 15: Dawid–Skene and the calibration statistics from too little data are undefined, with
/// the true reason, never certainty from one label, one reviewer or one shared item.
@Suite struct DawidSkeneMinimumTests {
    func table(_ rows: [[Int?]], categories: Int = 3) -> RatingTable {
        var table = RatingTable(items: rows.count, raters: rows.first?.count ?? 0, categories: categories)
        for (i, labels) in rows.enumerated() { for (r, label) in labels.enumerated() { table[i, r] = label.map(Double.init) } }
        return table
    }

    @Test func oneLabelIsUndefined() {
        let result = Aggregation.dawidSkene(table([[2]]))
        #expect(result.reason == "Dawid–Skene compares reviewers on the items they share; there is 1 with labels")
        #expect(result.priors.isEmpty && result.iterations == 0 && !result.converged && result.posteriors == [nil])
    }

    @Test func oneReviewerIsUndefined() {
        // Two raters in the table, but only one has labels.
        let result = Aggregation.dawidSkene(table([[2, nil], [0, nil], [0, nil]]))
        #expect(result.reason == "Dawid–Skene compares reviewers on the items they share; there is 1 with labels")
    }

    @Test func tooFewSharedItemsAreUndefined() {
        #expect(Aggregation.dawidSkene(table([[0, nil], [nil, 2]])).reason == "no two reviewers share items; Dawid–Skene needs at least 3")
        #expect(Aggregation.dawidSkene(table([[0, 2], [0, nil]])).reason == "1 item has labels from two or more reviewers; Dawid–Skene needs at least 3")
        #expect(Aggregation.dawidSkene(table([[0, 2], [0, 0]])).reason == "2 items have labels from two or more reviewers; Dawid–Skene needs at least 3")
        #expect(Aggregation.dawidSkene(table([[0, 2], [0, 0], [2, 2]])).reason == nil)
    }

    /// A true class no item is estimated to have leaves the row at the floor renormalised (it read
    /// 0 0 1 or 0.5 0 0.5): undefined, with the reason; the other rows are estimates.
    @Test func rowsWithoutDataAreUndefined() {
        let result = Aggregation.dawidSkene(table([[0, 0], [0, 0], [2, 2], [2, 0]]), tolerance: 1e-12)
        #expect(result.reason == nil)
        for r in 0..<2 {
            #expect(result.rowReason(reviewer: r, truth: 1) == "no item the reviewer labelled is estimated to be of this true class")
            #expect(result.rowReason(reviewer: r, truth: 0) == nil && result.rowReason(reviewer: r, truth: 2) == nil)
        }
        #expect(result.support[0][0] + result.support[0][2] > 3.999 && result.support[0][1] < 1e-6)
    }

    @Test func calibrationNeedsTheAgreementMinimum() {
        #expect(Calibration.minimumItems == AgreementRows.minimumItems && Calibration.minimumItems == 10)
        let one = Estimate(value: 0, reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: 1, itemsDropped: 0, labels: 3)
        let kappa = Calibration.kappaVsOthers(one, others: 1)
        #expect(kappa.value == nil)
        #expect(kappa.reason == "1 item with both the reviewer's label and a consensus of the others; κ vs others needs at least 10")
        let ten = Estimate(value: 0.4, reason: nil, standardError: 0.1, degreesOfFreedom: nil, itemsUsed: 10, itemsDropped: 0, labels: 20)
        #expect(Calibration.kappaVsOthers(ten, others: 2) == ten)
        let undefined = Estimate.undefined("the two reviewers share no items", items: 0, labels: 1)
        #expect(Calibration.kappaVsOthers(undefined, others: 0).reason == "no other reviewer has labels")
        #expect(Calibration.kappaVsOthers(undefined, others: 1).reason == "no item has both the reviewer's label and a consensus of the others")
        let constant = Estimate.undefined("kappa is undefined: expected agreement is 1", items: 12, labels: 24)
        #expect(Calibration.kappaVsOthers(constant, others: 1) == constant)

        let rows: [[Int?]] = (0..<10).map { [$0 % 3 == 0 ? 2 : 0, $0 % 3 == 0 ? 2 : 0] }
        let result = Aggregation.dawidSkene(table(rows), tolerance: 1e-12)
        let nine = Calibration.skill(result, reviewer: 0, shared: 9)
        #expect(nine.value == nil && nine.reason == "9 items shared with other reviewers; DS skill needs at least 10")
        let full = Calibration.skill(result, reviewer: 0, shared: 10)
        #expect(full.reason == nil)
        let expected = (0..<3).reduce(0.0) { $0 + result.priors[$1] * result.confusion[0][$1][$1] }
        #expect(full.value == expected && abs(expected - 1) < 1e-9)
        let none = Calibration.skill(Aggregation.dawidSkene(table([[2]])), reviewer: 0, shared: 0)
        #expect(none.value == nil && none.reason == "Dawid–Skene compares reviewers on the items they share; there is 1 with labels")
    }
}
