import DocketTestSupport
import Foundation
import Testing

@testable import DocketCore

/// Conger's kappa against irrCAC (and nltk's multi_kappa on complete data); fixture made by
/// scripts/reference-conger.py.
@Suite struct CongerKappaTests {
    static let fixture: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reference-conger.json")
        return try! JSON.parse(String(contentsOf: url, encoding: .utf8))
    }()

    @Test func matchesIrrCACWithMissingDataAndWeights() {
        let weightings: [(String, AgreementWeights)] = [("identity", .none), ("linear", .linear), ("quadratic", .quadratic)]
        for dataset in Self.fixture["datasets"]!.arrayValue {
            let data = table(dataset)
            for (name, weights) in weightings {
                let expected = dataset["conger"]![name]!
                let conger = Agreement.congersKappa(data, weights: weights)
                let label = "\(dataset["name"]!.encoded()) \(name)"
                #expect(close(conger.value, expected["value"]!.numberValue, 1e-9), "\(label): \(String(describing: conger.value))")
                #expect(close(conger.standardError, expected["se"]!.numberValue, 1e-8), "\(label): se \(String(describing: conger.standardError))")
                let interval = conger.analyticInterval()!
                #expect(close(interval.0, expected["ci"]!.arrayValue[0].numberValue, 1e-8), "\(label)")
                #expect(close(min(1, interval.1), expected["ci"]!.arrayValue[1].numberValue, 1e-8), "\(label)")
            }
        }
    }

    /// On complete data Conger's kappa is nltk's multi_kappa; with two reviewers and complete data
    /// it is Cohen's kappa (each reviewer's own marginals).
    @Test func isCohenForTwoAndMultiKappaOnCompleteData() {
        let complete = Self.fixture["datasets"]!.arrayValue.first { $0["name"] == .string("complete40") }!
        #expect(close(Agreement.congersKappa(table(complete)).value, complete["nltk_multi_kappa"]!.numberValue, 1e-12))
        var generator = SplitMix64(seed: 5)
        var two = RatingTable(items: 50, raters: 2, categories: 3)
        for i in 0..<50 { for r in 0..<2 { two[i, r] = Double(generator.next(below: 3)) } }
        for weights in AgreementWeights.allCases {
            #expect(close(Agreement.congersKappa(two, weights: weights).value, Agreement.cohensKappa(two, weights: weights).value, 1e-12))
        }
    }

    @Test func identicalReviewersGiveOneAndDegenerateDataAReason() {
        var identical = RatingTable(items: 12, raters: 3, categories: 3)
        for i in 0..<12 { for r in 0..<3 { identical[i, r] = Double(i % 3) } }
        #expect(close(Agreement.congersKappa(identical).value, 1, 1e-12))
        var one = RatingTable(items: 5, raters: 3, categories: 3)
        for i in 0..<5 { for r in 0..<3 { one[i, r] = 1 } }
        #expect(Agreement.congersKappa(one).reason == "expected agreement is 1 (a single category is in use)")
        var alone = RatingTable(items: 3, raters: 2, categories: 2)
        for i in 0..<3 { alone[i, 0] = 1 }
        #expect(Agreement.congersKappa(alone).reason == "no item has two or more labels")
    }
}

/// Agreement intervals are never zero-width and never from a handful of items.
@Suite struct AgreementIntervalRuleTests {
    /// Tables of 1, 2 and 3 items (two reviewers who disagree on some): every metric keeps its
    /// value, and no row has an interval, analytic or bootstrap; each says why.
    @Test(arguments: [1, 2, 3])
    func fewItemsHaveNoInterval(items: Int) {
        var table = RatingTable(items: items, raters: 2, categories: 3)
        for i in 0..<items { table[i, 0] = Double(i % 3); table[i, 1] = Double((i + i / 2) % 3) }
        for interval in [AgreementRows.Interval.analytic, .bootstrap(reps: 200, seed: 3)] {
            let rows = AgreementRows.compute(
                table, reviewers: ["a", "b"], metrics: AgreementRowsTests.allMetrics, weights: .none, level: .nominal, group: nil, interval: interval)
            for row in rows {
                #expect(row.low == nil && row.high == nil, "\(row.metric) from \(items) items: [\(String(describing: row.low)), \(String(describing: row.high))]")
                if row.estimate.value != nil, row.metric != "pairwise-mean" {
                    #expect(row.intervalReason == "no interval from \(items) \(items == 1 ? "item" : "items") with two or more labels; intervals need at least 10", "\(row.metric)")
                }
            }
        }
    }

    /// Ten items where everyone agrees alike: kappa is 1 but the standard error is 0 and every
    /// resample gives 1; no interval either way, with the reason.
    @Test func zeroWidthIsNoInterval() {
        var table = RatingTable(items: 10, raters: 2, categories: 2)
        for i in 0..<10 { for r in 0..<2 { table[i, r] = Double(i % 2) } }
        let analytic = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["cohen", "fleiss"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        for row in analytic {
            #expect(row.estimate.value == 1 && row.low == nil)
            #expect(row.intervalReason == "no interval: the standard error is 0, so the data leave no variation for the interval to describe")
        }
        let bootstrap = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["percent"], weights: .none, level: .nominal, group: nil, interval: .bootstrap(reps: 100, seed: 1))
        #expect(bootstrap[0].low == nil && bootstrap[0].intervalReason == "no interval: every resample gives the same value, so the data leave no variation for the interval to describe")
    }

    /// The tester's ten1: reviewer a says 0 on all ten items, b says 1 on the first. Cohen's and
    /// Conger's kappa are 0 whatever b says, and their standard errors come out as 0 and as float
    /// noise (Conger's 1.24e-15); the bootstrap's resamples differ only by noise too. None of them
    /// is an interval: "zero width" is one rule with a tolerance (`AgreementRows.zeroWidth`).
    @Test func floatNoiseIsZeroWidth() throws {
        var table = RatingTable(items: 10, raters: 2, categories: 2)
        for i in 0..<10 { table[i, 0] = 0; table[i, 1] = i == 0 ? 1 : 0 }
        let conger = Agreement.congersKappa(table)
        let se = try #require(conger.standardError)
        #expect(se > 0 && se < 1e-12, "\(se)")
        for interval in [AgreementRows.Interval.analytic, .bootstrap(reps: 1000, seed: 3)] {
            let rows = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["cohen", "conger", "fleiss"], weights: .none, level: .nominal, group: nil, interval: interval)
            let byMetric = Dictionary(uniqueKeysWithValues: rows.map { ($0.metric, $0) })
            for metric in ["cohen", "conger"] {
                let row = try #require(byMetric[metric])
                #expect(row.low == nil && row.high == nil, "\(metric) \(interval): [\(String(describing: row.low)), \(String(describing: row.high))]")
                if case .analytic = interval {
                    #expect(row.intervalReason == AgreementRows.zeroStandardError)
                } else if metric == "conger" {
                    #expect(row.intervalReason == AgreementRows.sameResamples)
                }
            }
            // Fleiss' kappa (−1/19) does vary: its interval stands.
            let fleiss = try #require(byMetric["fleiss"])
            #expect(fleiss.low != nil && fleiss.high != nil)
        }
        #expect(AgreementRows.hasWidth(low: -1.7e-15, high: 3.9e-15) == false)
        #expect(AgreementRows.hasWidth(low: 0, high: 2e-9) == true)
    }

    /// From ten items on, an interval is given, with positive width.
    @Test func enoughItemsHaveAnInterval() {
        var table = RatingTable(items: 12, raters: 2, categories: 2)
        for i in 0..<12 { table[i, 0] = Double(i % 2); table[i, 1] = Double((i / 3) % 2) }
        let rows = AgreementRows.compute(table, reviewers: ["a", "b"], metrics: ["cohen", "fleiss", "conger", "gwet"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        for row in rows { #expect(row.method == "analytic" && row.high! > row.low!, "\(row.metric)") }
    }

    /// Identical labels on shared items: every pair's kappa is undefined (one category), and the
    /// mean says so rather than that no two reviewers share items.
    @Test func pairwiseMeanGivesTheTrueReason() {
        var same = RatingTable(items: 3, raters: 3, categories: 3)
        for i in 0..<3 { for r in 0..<3 { same[i, r] = 0 } }
        let rows = AgreementRows.compute(same, reviewers: ["a", "b", "c"], metrics: ["pairwise"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        #expect(rows.last?.estimate.reason == "Cohen's kappa is undefined for every pair that shares items (3 pairs): expected agreement is 1 (a single category is in use)")
        var disjoint = RatingTable(items: 2, raters: 2, categories: 2)
        disjoint[0, 0] = 0
        disjoint[1, 1] = 1
        let none = AgreementRows.compute(disjoint, reviewers: ["a", "b"], metrics: ["pairwise"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        #expect(none.last?.estimate.reason == "no two reviewers share items")
    }
}

extension AgreementRowsTests {
    static let allMetrics = ["percent", "cohen", "scott", "fleiss", "conger", "randolph", "krippendorff", "gwet", "pairwise"]
}

/// Dawid–Skene with nothing to fit: a reason, never NaN.
@Suite struct DegenerateAggregationTests {
    @Test func noLabelsIsUndefined() {
        let empty = RatingTable(items: 4, raters: 2, categories: 3)
        let result = Aggregation.dawidSkene(empty)
        #expect(result.reason == "no item has a current label")
        #expect(result.priors.isEmpty && result.iterations == 0 && !result.converged)
        #expect(result.posteriors.allSatisfy { $0 == nil })
        let nothing = Aggregation.dawidSkene(RatingTable(items: 0, raters: 0, categories: 3))
        #expect(nothing.reason == "no item has a current label")
    }

    @Test func oneLabelIsUndefined() {
        var table = RatingTable(items: 1, raters: 1, categories: 3)
        table[0, 0] = 2
        let result = Aggregation.dawidSkene(table)
        #expect(result.reason == "Dawid–Skene compares reviewers on the items they share; there is 1 with labels")
        #expect(result.priors.isEmpty && result.posteriors == [nil])
    }
}

/// One rule for percentages.
@Suite struct PercentTests {
    @Test func oneDecimalAlways() {
        #expect(Percent.text(0.3) == "30.0%")
        #expect(Percent.text(0.357142) == "35.7%")
        #expect(Percent.text(1) == "100.0%")
        #expect(Percent.text(0) == "0.0%")
        #expect(Percent.text(0.00049) == "0.0%")
        #expect(Percent.text(0.0005) == "0.1%")
        #expect(Percent.text(-0.125) == "-12.5%")
        #expect(Percent.text(nil) == "-" && Percent.text(.nan) == "-")
    }
}
