import DocketTestSupport
import Foundation
import Testing

@testable import DocketCore

/// Reference values computed once by scripts/reference-stats.py with scikit-learn, statsmodels,
/// krippendorff, irrCAC and crowd-kit.
let reference: JSONValue = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reference-stats.json")
    return try! JSON.parse(String(contentsOf: url, encoding: .utf8))
}()


/// A reference dataset as a table: values 1...k become category indices 0..<k.
func table(_ dataset: JSONValue) -> RatingTable {
    let categories = dataset["categories"]!.arrayValue.compactMap(\.numberValue)
    let rows: [[Double?]] = dataset["rows"]!.arrayValue.map { row in
        row.arrayValue.map { cell in cell.numberValue.map { Double(categories.firstIndex(of: $0)!) } }
    }
    return RatingTable(rows, categories: categories.count)
}

func numericTable(_ dataset: JSONValue) -> RatingTable {
    RatingTable(dataset["rows"]!.arrayValue.map { $0.arrayValue.map(\.numberValue) }, categories: 0)
}

func close(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-9) -> Bool {
    guard let a, let b else { return false }
    return abs(a - b) <= tolerance * max(1, abs(b))
}

@Suite struct DistributionTests {
    @Test func quantilesMatchKnownValues() {
        #expect(close(Distributions.normalQuantile(0.975), 1.959963984540054, 1e-14))
        #expect(close(Distributions.normalQuantile(0.05), -1.6448536269514729, 1e-14))
        // scipy.stats.t.ppf(0.975, 10) and (0.975, 1)
        #expect(close(Distributions.studentTQuantile(0.975, df: 10), 2.2281388519649385, 1e-10))
        #expect(close(Distributions.studentTQuantile(0.975, df: 1), 12.706204736174698, 1e-9))
        // scipy.stats.chi2.sf(3.84, 1) and (10, 4)
        #expect(close(Distributions.chiSquareSurvival(3.84, df: 1), 0.050043521248705, 1e-9))
        #expect(close(Distributions.chiSquareSurvival(10, df: 4), 0.04042768199451279, 1e-9))
    }
}

@Suite struct AgreementTests {
    let datasets = reference["datasets"]!.arrayValue

    /// Krippendorff (2011), and the krippendorff package on seeded data with missing values.
    @Test func krippendorffAlphaAtEveryLevel() {
        for dataset in datasets {
            let categorical = table(dataset)
            let numeric = numericTable(dataset)
            let expected = dataset["krippendorff"]!
            #expect(close(Agreement.krippendorffAlpha(categorical, level: .nominal).value, expected["nominal"]!.numberValue), "\(dataset["name"]!)")
            #expect(close(Agreement.krippendorffAlpha(categorical, level: .ordinal).value, expected["ordinal"]!.numberValue), "\(dataset["name"]!)")
            #expect(close(Agreement.krippendorffAlpha(numeric, level: .interval).value, expected["interval"]!.numberValue), "\(dataset["name"]!)")
            #expect(close(Agreement.krippendorffAlpha(numeric, level: .ratio).value, expected["ratio"]!.numberValue), "\(dataset["name"]!)")
        }
        // The paper's published values, to three decimals.
        let paper = table(datasets[0])
        #expect(abs(Agreement.krippendorffAlpha(paper, level: .nominal).value! - 0.743) < 0.0005)
        #expect(abs(Agreement.krippendorffAlpha(numericTable(datasets[0]), level: .interval).value! - 0.849) < 0.0005)
    }

    /// Fleiss' kappa and Gwet's AC1 with missing data and their standard errors, against irrCAC.
    @Test func fleissAndGwetMatchIrrCAC() {
        for dataset in datasets {
            let data = table(dataset)
            for (name, weights) in [("identity", AgreementWeights.none), ("linear", .linear), ("quadratic", .quadratic)] {
                let expected = dataset["irrcac"]![name]!
                let fleiss = Agreement.fleissKappa(data, weights: weights)
                #expect(close(fleiss.value, expected["fleiss"]!["value"]!.numberValue), "\(dataset["name"]!) \(name)")
                #expect(close(fleiss.standardError, expected["fleiss"]!["se"]!.numberValue, 1e-8), "\(dataset["name"]!) \(name)")
                let gwet = Agreement.gwetAC1(data, weights: weights)
                #expect(close(gwet.value, expected["gwet"]!["value"]!.numberValue), "\(dataset["name"]!) \(name)")
                #expect(close(gwet.standardError, expected["gwet"]!["se"]!.numberValue, 1e-8), "\(dataset["name"]!) \(name)")
                // irrCAC's interval: t with n − 1 degrees of freedom, upper end capped at 1.
                let interval = fleiss.analyticInterval()!
                #expect(close(interval.0, expected["fleiss"]!["ci"]!.arrayValue[0].numberValue, 1e-8))
                #expect(close(min(1, interval.1), expected["fleiss"]!["ci"]!.arrayValue[1].numberValue, 1e-8))
            }
            #expect(close(Agreement.percentAgreement(data).value, dataset["percent"]!.numberValue))
        }
    }

    /// Cohen's kappa, unweighted and weighted, against scikit-learn; its standard error against statsmodels.
    @Test func cohensKappaMatchesScikitLearnAndStatsmodels() {
        for dataset in datasets {
            let pair = table(dataset).selecting(raters: [0, 1])
            for (name, weights) in [("none", AgreementWeights.none), ("linear", .linear), ("quadratic", .quadratic)] {
                let expected = dataset["cohen"]![name]!
                let kappa = Agreement.cohensKappa(pair, weights: weights)
                #expect(close(kappa.value, expected["value"]!.numberValue), "\(dataset["name"]!) \(name)")
                #expect(close(kappa.standardError, expected["se"]!.numberValue, 1e-9), "\(dataset["name"]!) \(name)")
            }
        }
    }

    /// Cohen (1960), Table 1: κ = 0.492; the widely used worked example of Fleiss' kappa (10 items, 14 raters): κ = 0.210.
    @Test func worksFromThePapers() {
        let counts = reference["cohen1960"]!["counts"]!.arrayValue.map { $0.arrayValue.compactMap(\.numberValue).map(Int.init) }
        var rows: [[Double?]] = []
        for (a, row) in counts.enumerated() { for (b, n) in row.enumerated() { rows += Array(repeating: [Double(a), Double(b)], count: n) } }
        let cohen = Agreement.cohensKappa(RatingTable(rows, categories: 3))
        #expect(close(cohen.value, 0.29 / 0.59, 1e-12))
        #expect(close(cohen.standardError, reference["cohen1960"]!["se"]!.numberValue))

        let fleissCounts = reference["fleiss_table"]!["counts"]!.arrayValue.map { $0.arrayValue.compactMap(\.numberValue).map(Int.init) }
        let fleissRows: [[Double?]] = fleissCounts.map { row in row.enumerated().flatMap { Array(repeating: Double($0.offset), count: $0.element) } }
        let fleissTable = RatingTable(fleissRows, categories: 5)
        #expect(close(Agreement.fleissKappa(fleissTable).value, reference["fleiss_table"]!["kappa"]!.numberValue))
        #expect(abs(Agreement.fleissKappa(fleissTable).value! - 0.210) < 0.0005)
        #expect(close(Agreement.randolphKappa(fleissTable).value, reference["fleiss_table"]!["randolph"]!.numberValue))
    }

    @Test func undefinedIsAReasonNeverNaN() {
        let single = RatingTable([[0, 0], [0, 0], [0, 0]], categories: 1)
        #expect(Agreement.cohensKappa(single).value == nil)
        #expect(Agreement.cohensKappa(single).reason == "expected agreement is 1 (a single category is in use)")
        #expect(Agreement.krippendorffAlpha(single, level: .nominal).reason == "expected disagreement is 0 (a single value is in use)")
        let disjoint = RatingTable([[0, nil], [nil, 1]], categories: 2)
        #expect(Agreement.cohensKappa(disjoint).reason == "the two reviewers share no items")
        #expect(Agreement.fleissKappa(disjoint).reason == "no item has two or more labels")
        #expect(Agreement.percentAgreement(disjoint).value == nil)
    }

    @Test func seededPropertiesHold() {
        var generator = SplitMix64(seed: 77)
        for _ in 0..<20 {
            let items = 30 + Int(generator.next(below: 50)), raters = 2 + Int(generator.next(below: 4)), k = 2 + Int(generator.next(below: 3))
            var rows: [[Double?]] = []
            for _ in 0..<items {
                let truth = Double(generator.next(below: UInt64(k)))
                rows.append((0..<raters).map { _ in
                    generator.nextUnit() < 0.2 ? nil : (generator.nextUnit() < 0.7 ? truth : Double(generator.next(below: UInt64(k))))
                })
            }
            let data = RatingTable(rows, categories: k)
            // Permuting reviewers or items changes nothing.
            let raterOrder = (0..<raters).reversed().map { $0 }
            let itemOrder = (0..<items).shuffled(using: &generator)
            for permuted in [data.selecting(raters: raterOrder), data.resampled(itemOrder)] {
                #expect(close(Agreement.krippendorffAlpha(permuted, level: .nominal).value, Agreement.krippendorffAlpha(data, level: .nominal).value, 1e-12))
                #expect(close(Agreement.fleissKappa(permuted).value, Agreement.fleissKappa(data).value, 1e-12))
                #expect(close(Agreement.gwetAC1(permuted).value, Agreement.gwetAC1(data).value, 1e-12))
            }
            // Relabelling categories changes nothing at nominal level.
            let relabel = (0..<k).shuffled(using: &generator)
            let relabelled = RatingTable(rows.map { $0.map { $0.map { Double(relabel[Int($0)]) } } }, categories: k)
            #expect(close(Agreement.krippendorffAlpha(relabelled, level: .nominal).value, Agreement.krippendorffAlpha(data, level: .nominal).value, 1e-12))
            #expect(close(Agreement.fleissKappa(relabelled).value, Agreement.fleissKappa(data).value, 1e-12))
            // Identical reviewers agree perfectly wherever the statistic is defined.
            let identical = RatingTable(rows.map { row in let v = row.compactMap { $0 }.first; return (0..<raters).map { _ in v } }, categories: k)
            for estimate in [Agreement.krippendorffAlpha(identical, level: .nominal), Agreement.fleissKappa(identical), Agreement.gwetAC1(identical)] {
                if let value = estimate.value { #expect(close(value, 1, 1e-12)) } else { #expect(estimate.reason != nil) }
            }
            #expect(close(Agreement.cohensKappa(identical.selecting(raters: [0, 1])).value ?? 1, 1, 1e-12))
        }
    }

    @Test func bootstrapIsSeededAndBracketsTheEstimate() {
        let data = table(datasets[1])
        let first = Agreement.bootstrap(data, reps: 200, seed: 9) { Agreement.fleissKappa($0).value }!
        let again = Agreement.bootstrap(data, reps: 200, seed: 9) { Agreement.fleissKappa($0).value }!
        #expect(first.low == again.low && first.high == again.high)
        let value = Agreement.fleissKappa(data).value!
        #expect(first.low < value && value < first.high)
        // Close to the analytic interval on 300 items.
        let analytic = Agreement.fleissKappa(data).analyticInterval()!
        #expect(abs(first.low - analytic.0) < 0.03 && abs(first.high - analytic.1) < 0.03)
    }
}

@Suite struct AggregationTests {
    @Test func dawidSkeneConvergesToTheFullyConvergedReference() {
        let dataset = reference["datasets"]!.arrayValue[1]
        let data = table(dataset)
        let result = Aggregation.dawidSkene(data, tolerance: 1e-12)
        #expect(result.converged)
        let expected = reference["dawid_skene"]!
        let labels = expected["labels"]!.arrayValue.compactMap(\.numberValue).map { Int($0) - 1 }
        #expect(result.labels.compactMap { $0 } == labels)
        for (i, row) in expected["posteriors"]!.arrayValue.enumerated() {
            for (c, p) in row.arrayValue.enumerated() { #expect(abs(result.posteriors[i]![c] - p.numberValue!) < 1e-6, "item \(i) class \(c)") }
        }
        for (c, p) in expected["priors"]!.arrayValue.enumerated() { #expect(abs(result.priors[c] - p.numberValue!) < 1e-6) }
        // Every confusion row is a distribution.
        for reviewer in result.confusion { for row in reviewer { #expect(abs(row.reduce(0, +) - 1) < 1e-12) } }
    }

    @Test func majorityBreaksTiesByDeclaredOrder() {
        let data = RatingTable([[1, 1, 0], [2, 0, nil], [nil, nil, nil]], categories: 3)
        let votes = Aggregation.majority(data)
        #expect(votes[0]! == (1, 2.0 / 3.0))
        #expect(votes[1]! == (0, 0.5))
        #expect(votes[2] == nil)
    }
}

@Suite struct ProportionTests {
    /// Values from statsmodels.stats.proportion.proportion_confint(method="wilson").
    @Test func wilsonIntervalsIncludingTheEdges() {
        let zero = Proportions.wilson(successes: 0, trials: 10)!
        #expect(zero.low == 0 && close(zero.high, 0.27753279986288926, 1e-12))
        let all = Proportions.wilson(successes: 10, trials: 10)!
        #expect(close(all.low, 0.7224672001371106, 1e-12) && all.high == 1)
        let some = Proportions.wilson(successes: 7, trials: 20)!
        #expect(close(some.low, 0.18119182410108203, 1e-12) && close(some.high, 0.5671457233147638, 1e-12))
        #expect(Proportions.wilson(successes: 1, trials: 0) == nil)
    }

    /// scipy.stats.chi2_contingency([[10, 20, 30], [20, 20, 20]], correction=False): 16/3, df 2, p 0.0694834512228015.
    @Test func chiSquareHomogeneity() {
        let result = Proportions.chiSquareHomogeneity([[10, 20, 30], [20, 20, 20]])!
        #expect(close(result.statistic, 16.0 / 3.0, 1e-12))
        #expect(result.df == 2)
        #expect(close(result.p, 0.0694834512228015, 1e-9))
        #expect(Proportions.chiSquareHomogeneity([[5, 0], [7, 0]]) == nil)
    }

    @Test func populationStabilityIndex() {
        #expect(Proportions.populationStabilityIndex(reference: [50, 50], current: [50, 50]) == 0)
        // (0.7 − 0.5) ln(0.7/0.5) + (0.3 − 0.5) ln(0.3/0.5)
        #expect(close(Proportions.populationStabilityIndex(reference: [50, 50], current: [70, 30]), 0.2 * log(1.4) - 0.2 * log(0.6), 1e-12))
    }
}

@Suite struct MonitoringTests {
    /// statsmodels proportion_confint(method="beta").
    @Test func clopperPearsonAtTheEdgesAndSmallN() {
        let cases: [(Int, Int, Double, Double)] = [
            (0, 10, 0, 0.30849710781876083), (10, 10, 0.6915028921812392, 1), (1, 3, 0.008403758659612636, 0.9057006759497539),
            (7, 20, 0.15390920478454118, 0.5921885345328282),
        ]
        for (k, n, low, high) in cases {
            let interval = Proportions.clopperPearson(successes: k, trials: n)!
            #expect(close(interval.low, low, 1e-9) || (low == 0 && interval.low == 0), "\(k)/\(n)")
            #expect(close(interval.high, high, 1e-9), "\(k)/\(n)")
        }
        let w = Proportions.wilson(successes: 1, trials: 3)!
        #expect(close(w.low, 0.06149194472039626, 1e-12) && close(w.high, 0.7923403991979523, 1e-12))
    }

    /// AUC equals the Mann–Whitney statistic; scikit-learn's roc_auc_score gives 0.8333… here.
    @Test func aucMatchesMannWhitneyWithTies() {
        let scores = [0.9, 0.8, 0.8, 0.3, 0.5, 0.5, 0.1], positive = [true, true, false, false, true, false, false]
        let curve = ThresholdAnalysis.curve(scores: scores, positives: positive)!
        #expect(close(ThresholdAnalysis.auc(curve), 0.8333333333333333, 1e-12))
        var u = 0.0
        for i in scores.indices where positive[i] {
            for j in scores.indices where !positive[j] { u += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0) }
        }
        #expect(close(ThresholdAnalysis.auc(curve), u / 12, 1e-12))
        // At FPR ≤ 0.25 the items tied at 0.8 move together: threshold 0.8 blocks one negative of four.
        let chosen = ThresholdAnalysis.threshold(forFalsePositiveRate: 0.25, curve)!
        #expect(chosen.threshold == 0.8 && chosen.falsePositiveRate == 0.25 && close(chosen.truePositiveRate, 2.0 / 3.0, 1e-12))
        #expect(ThresholdAnalysis.threshold(forFalsePositiveRate: 0, curve)!.threshold == 0.9)
        #expect(ThresholdAnalysis.curve(scores: [0.1], positives: [true]) == nil)
    }

    /// Simulation with known truth: items reach reviewers by utility ranking plus exploration, so the
    /// naive rate over reviewed items is biased upwards; the Hájek estimate with the recorded
    /// selection probabilities is not, and its 95% interval covers the truth about 95% of the time.
    @Test func hajekCorrectsSelectionBias() {
        var generator = SplitMix64(seed: 2026)
        let population = 4000, steps = 200, epsilon = 0.3, replications = 300
        var covered = 0, hajekSum = 0.0, naiveSum = 0.0, truthSum = 0.0
        for _ in 0..<replications {
            // Risk scores; the true attack success is likelier for risky items.
            let risk = (0..<population).map { _ in generator.nextUnit() }
            let success = risk.map { generator.nextUnit() < 0.05 + 0.4 * $0 }
            let truth = Double(success.filter { $0 }.count) / Double(population)
            var remaining = Array(0..<population).sorted { risk[$0] > risk[$1] }
            var outcomes: [Bool] = [], propensities: [Double] = []
            for _ in 0..<steps {
                let pool = Double(remaining.count)
                let pick: Int
                if generator.nextUnit() < epsilon {
                    pick = Int(generator.next(below: UInt64(remaining.count)))
                } else {
                    pick = 0
                }
                propensities.append((pick == 0 ? 1 - epsilon : 0) + epsilon / pool)
                outcomes.append(success[remaining[pick]])
                remaining.remove(at: pick)
            }
            let estimate = Proportions.hajek(outcomes: outcomes, propensities: propensities)!
            if estimate.low <= truth && truth <= estimate.high { covered += 1 }
            hajekSum += estimate.estimate
            naiveSum += Double(outcomes.filter { $0 }.count) / Double(steps)
            truthSum += truth
        }
        let n = Double(replications)
        #expect(abs(hajekSum / n - truthSum / n) < 0.01, "Hájek bias \(hajekSum / n - truthSum / n)")
        #expect(naiveSum / n - truthSum / n > 0.1, "naive bias \(naiveSum / n - truthSum / n)")
        let coverage = Double(covered) / n
        #expect((0.90...0.985).contains(coverage), "coverage \(coverage)")
    }
}

@Suite struct MajorityLabelTests {
    /// Under `ties: declared-order` a tie goes to the declared order, then the alphabet (labels no longer declared).
    @Test func tiesGoToTheDeclaredOrderThenTheAlphabet() {
        func majority(_ counts: [String: Int], declared: [String]) -> String? {
            LabelRules.majority(LabelRules.votes(counts: counts, declared: declared), ties: .declaredOrder).label
        }
        #expect(majority(["unsafe": 2, "safe": 1], declared: ["safe", "unsafe"]) == "unsafe")
        #expect(majority(["unsafe": 1, "safe": 1], declared: ["safe", "unsafe"]) == "safe")
        #expect(majority(["b": 1, "a": 1], declared: []) == "a")
        #expect(majority(["x": 1, "safe": 1], declared: ["safe"]) == "safe")
        #expect(majority([:], declared: ["safe"]) == nil)
    }
}
