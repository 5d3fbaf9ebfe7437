@testable import DocketCore
import Testing

/// Tester findings on issue 15: items without a verdict in no denominator, zero width as one
/// tolerance, a true reason when no guardrail threshold meets the target, and drift that uses an
/// exact test at small counts and calls no shift below a minimum.
@Suite struct VerdictAndDriftTests {
    typealias Fixture = MonitoringReportTests

    /// With `harmful: [unsafe]` the rule reads labels, so a2's tie (escalate) has no verdict: it is
    /// left out of the attack success rate, its category, the guardrail and its round's safety
    /// rate, and counted apart. a4 (adjudicated unsafe) is now a success.
    @Test func aTieAwaitingALeadHasNoVerdict() throws {
        let report = MonitoringReport.compute(Fixture.input(ties: .escalate, harmful: ["unsafe"]), options: MonitoringOptions(), now: Fixture.now)
        let all = report.attackSuccess
        // Reviewed: a1 (success), a2 (tie), a3 (success), a4 (adjudicated unsafe: success).
        #expect(all.n == 3 && all.successes == 3 && all.withoutVerdict == 1 && all.naive == 1 && all.reason == nil)
        let x = try #require(report.attackSuccessByCategory.first { $0.name == "x" }).rate
        #expect(x.n == 1 && x.successes == 1 && x.withoutVerdict == 1)
        #expect(report.json["attack_success"]?["without_verdict"] == .number(1))
        // Prevalence leaves the tie out too and says so.
        #expect(report.labelPrevalence.map { [$0.rate.successes, $0.rate.n, $0.rate.withoutVerdict] } == [[0, 3, 1], [3, 3, 1]])
        // The guardrail: a2 (risk 0.2, the only benign item) is gone, so both sides are not there.
        #expect(report.guardrail.n == 2 && report.guardrail.roc == nil)
        // Round r1 (a1, a2): safety over a1 alone.
        let r1 = report.rounds[0]
        #expect(r1.items == 2 && r1.withoutVerdict == 1 && r1.safety == 0 && r1.safetyReason == nil)
        let wilson = try #require(Proportions.wilson(successes: 0, trials: 1))
        #expect(r1.safetyInterval == MonitoringReport.Interval(low: wilson.low, high: wilson.high))
        #expect(r1.json["without_verdict"] == .number(1))
        // The budget plans from the three items with a verdict.
        let three = try #require(Proportions.wilson(successes: 3, trials: 3))
        #expect(report.budget.attackSuccessWidth == three.high - three.low)
        // Under declared-order the tie is safe: a verdict, a non-success, in every denominator.
        let ordered = MonitoringReport.compute(Fixture.input(ties: .declaredOrder, harmful: ["unsafe"]), options: MonitoringOptions(), now: Fixture.now)
        #expect(ordered.attackSuccess.n == 4 && ordered.attackSuccess.successes == 3 && ordered.attackSuccess.withoutVerdict == 0)
        #expect(ordered.rounds[0].safety == 0.5 && ordered.guardrail.n == 3)
    }

    /// The tester's hx: every reviewed item a tie. No rate is 0%, and no round is 100% safe.
    @Test func everyItemTiedLeavesEveryRateUndefined() throws {
        var input = Fixture.input(ties: .escalate, harmful: ["unsafe"])
        var tally = FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"], ties: .escalate))
        for id in ["a1", "a2", "a3", "a4"] {
            tally.add(item: id, rows: [LabelAnswer(id: 1, reviewer: "ana", value: "safe", createdAt: Fixture.t0), LabelAnswer(id: 2, reviewer: "bo", value: "unsafe", createdAt: Fixture.t0)], decisions: [])
        }
        input.finalLabels = tally
        input.items = input.items.map { var item = $0; item.severity = 0; return item }
        let report = MonitoringReport.compute(input, options: MonitoringOptions(), now: Fixture.now)
        #expect(report.attackSuccess.n == 0 && report.attackSuccess.withoutVerdict == 4 && report.attackSuccess.naive == nil && report.attackSuccess.naiveInterval == nil)
        #expect(report.attackSuccess.reason == "every reviewed item here is a tie awaiting a lead, so none has a verdict yet")
        #expect(report.labelPrevalence.allSatisfy { $0.rate.n == 0 && $0.rate.withoutVerdict == 4 && $0.rate.reason == MonitoringReport.Rate.allAwaitingLead })
        #expect(report.rounds.map(\.safety) == [nil, nil] && report.rounds.map(\.safetyInterval) == [nil, nil])
        #expect(report.rounds.map(\.safetyReason) == [MonitoringReport.Rate.allAwaitingLead, MonitoringReport.Rate.allAwaitingLead])
        #expect(report.json["attack_success"]?["reason"] == .string(MonitoringReport.Rate.allAwaitingLead))
    }

    /// Labels imported for items never served: the report's rates are over served, reviewed items,
    /// so they are empty, and say why.
    @Test func nothingServedSaysWhy() {
        var input = Fixture.input()
        input.items = []
        let report = MonitoringReport.compute(input, options: MonitoringOptions(), now: Fixture.now)
        #expect(report.attackSuccess.reason == "no item has been served from the queue yet (labels imported for items never served are not counted)")
        #expect(report.labelPrevalence[0].rate.reason == report.attackSuccess.reason)
        input.items = Fixture.items.map { var item = $0; item.reviews = 0; return item }
        #expect(MonitoringReport.compute(input, options: MonitoringOptions(), now: Fixture.now).attackSuccess.reason
            == "no served item has been reviewed yet (labels imported for items never served are not counted)")
    }

    /// The tester's guardrails: none.db (risk ≥ 0.9 blocks 1 harmful and 1 benign) and tie.db
    /// (≥ 0.9: 1 of 3 harmful, 1 of 19 benign, FPR 5.3%). The reason names the true cause and the
    /// nearest threshold that blocks a harmful item.
    @Test func noThresholdReasonIsTrue() throws {
        // 3 harmful, 19 benign; 0.9 blocks one of each, 0.7 three harmful and one benign.
        let scores = [0.9, 0.9, 0.7, 0.7] + (0..<18).map { 0.01 * Double($0) }
        let positives = [true, false, true, true] + (0..<18).map { _ in false }
        let curve = try #require(ThresholdAnalysis.curve(scores: scores, positives: positives))
        let decision = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.05))
        #expect(decision.chosen == nil)
        #expect(decision.reason == "no threshold meets FPR ≤ 5% and blocks a harmful item: every threshold that blocks a harmful item has FPR above 5%; the nearest, risk ≥ 0.900, blocks 1 of 3 harmful at FPR 5.3% (1 of 19 benign)")
        #expect(decision.nearestBeyond?.threshold == 0.9 && decision.nearestMeeting?.threshold == .infinity)
        // The target as given, not rounded to one decimal.
        let odd = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.0333))
        #expect(odd.reason?.hasPrefix("no threshold meets FPR ≤ 3.33% and blocks a harmful item") == true)
        #expect(Percent.setting(0.05) == "5%" && Percent.setting(0.033) == "3.3%" && Percent.setting(0.0333) == "3.33%" && Percent.setting(0.125) == "12.5%")
    }

    /// Two labels against two: Fisher's exact test (p = 1/3, scipy.stats.fisher_exact), not
    /// chi-square's 0.0455; and no shift called from two labels, with the reason.
    @Test func driftUsesAnExactTestAndAMinimum() throws {
        let tiny = DriftComparison.compare(reference: [2, 0, 0], current: [0, 0, 2], alpha: 0.05, psiLimit: 0.25)
        #expect(tiny.test == .fisherExact && abs(tiny.p! - 1.0 / 3.0) < 1e-12 && tiny.statistic == nil)
        #expect(tiny.shift == nil)
        #expect(tiny.reason == "too few labels to call a shift: 2 in the smaller group; a shift needs at least 10 in each")
        // 2 × 2 from scipy.stats.fisher_exact: [[9, 1], [3, 9]] (an expected count of 4.5) gives
        // 0.0036913550845439386; [[8, 2], [3, 9]] 0.029973122852379817 (its expected counts are all
        // at least 5, so drift would use chi-square there).
        let small = DriftComparison.compare(reference: [9, 1], current: [3, 9], alpha: 0.05, psiLimit: 100)
        #expect(small.test == .fisherExact && abs(small.p! - 0.0036913550845439386) < 1e-12 && small.shift == true)
        #expect(abs(Proportions.fisherExact([8, 2], [3, 9]).p - 0.029973122852379817) < 1e-12)
        #expect(DriftComparison.compare(reference: [8, 2], current: [3, 9], alpha: 0.05, psiLimit: 100).test == .chiSquare)
        // 2 × 3 (Freeman–Halton), by brute-force enumeration in Python: 0.12145748987854253.
        let three = DriftComparison.compare(reference: [5, 3, 2], current: [1, 4, 6], alpha: 0.05, psiLimit: 100)
        #expect(three.test == .fisherExact && abs(three.p! - 0.12145748987854253) < 1e-12 && three.shift == false)
        #expect(abs(Proportions.fisherExact([3, 1, 0], [0, 2, 4]).p - 1.0 / 30.0) < 1e-12)
        // Expected counts all ≥ 5: chi-square (scipy.stats.chi2_contingency, correction=False).
        let large = DriftComparison.compare(reference: [30, 20, 10], current: [10, 25, 25], alpha: 0.05, psiLimit: 100)
        #expect(large.test == .chiSquare && large.df == 2 && abs(large.statistic! - 16.984126984126984) < 1e-9)
        #expect(abs(large.p! - 0.00020508962237123583) < 1e-12 && large.shift == true && large.reason == nil)
        // Ten labels a side is enough to call one.
        let ten = DriftComparison.compare(reference: [10, 0], current: [0, 10], alpha: 0.05, psiLimit: 0.25)
        #expect(ten.shift == true && ten.reason == nil)
        let nine = DriftComparison.compare(reference: [9, 0], current: [0, 10], alpha: 0.05, psiLimit: 0.25)
        #expect(nine.shift == nil && nine.p != nil)
    }

    /// Many tables with the observed margins: the Monte Carlo estimate of the same p-value, seeded,
    /// so the same every run, and close to the exact value.
    @Test func driftMonteCarloBeyondTheEnumerationLimit() throws {
        let first = [300, 300, 300, 1], second = [300, 300, 300, 5]
        let estimate = Proportions.fisherExact(first, second)
        #expect(estimate.enumerated == false)
        #expect(Proportions.fisherExact(first, second) == estimate)
        // The exact p, by enumerating the 1.8M tables in Python (log space, numpy): 0.49993517860713554.
        // 10,000 draws have a standard error of 0.005: within three of it.
        #expect(abs(estimate.p - 0.49993517860713554) < 0.015, "\(estimate.p)")
        let comparison = DriftComparison.compare(reference: first.map(Double.init), current: second.map(Double.init), alpha: 0.05, psiLimit: 100)
        #expect(comparison.test == .fisherMonteCarlo && comparison.shift == false)
    }
}

/// Hájek intervals that hold their own estimate, and no estimate where the weights correct nothing.
@Suite struct HajekEdgeTests {
    /// One success weighing 1 beside a failure weighing 3,000: p̂ = 1/3001 ≈ 0.00033 from
    /// x ≈ 0.00033 effective successes; the plain Jeffreys lower end (Beta(x + ½, n − x + ½),
    /// about 0.0004) lies above the estimate. Below one effective success the lower end is 0.
    @Test func theIntervalHoldsTheEstimate() throws {
        let hajek = try #require(Proportions.hajek(outcomes: [true, false], propensities: [1, 1.0 / 3000]))
        #expect(hajek.estimate == 1.0 / 3001)
        let x = hajek.estimate * hajek.effectiveSize
        #expect(x < 1)
        let plain = try #require(Proportions.jeffreys(successes: x, trials: hajek.effectiveSize))
        #expect(plain.low > hajek.estimate, "the unmodified interval misses its estimate: \(plain.low)")
        #expect(hajek.low == 0 && hajek.high == plain.high)
        // The mirror image: fewer than one effective failure sends the upper end to 1.
        let mirror = try #require(Proportions.hajek(outcomes: [false, true], propensities: [1, 1.0 / 3000]))
        #expect(mirror.estimate == 3000.0 / 3001 && mirror.high == 1 && mirror.low < mirror.estimate)
        // Plenty of both: the Jeffreys interval unchanged, estimate inside.
        let even = try #require(Proportions.hajek(outcomes: [true, false, true, false, true, false], propensities: [0.5, 0.25, 0.5, 0.5, 0.25, 0.5]))
        let jeffreys = try #require(Proportions.jeffreys(successes: even.estimate * even.effectiveSize, trials: even.effectiveSize))
        #expect(even.estimate == 0.5 && even.effectiveSize == 256.0 / 48.0)
        #expect(even.low == jeffreys.low && even.high == jeffreys.high && even.low <= even.estimate && even.estimate <= even.high)
    }

    /// The tester's h.db: category beta's only "explore" pick landed on the top item, π 0.7103
    /// beside exploit picks of 0.7100, 0.7097 and 0.7091: the weights are equal, Hájek would repeat
    /// the naive 100% with n_eff 4. Undefined by the weights, whatever the policy label says; gamma,
    /// with two picks from below the top (π 0.0088, 0.0083), keeps its estimate.
    @Test func equalWeightsCorrectNothing() throws {
        typealias Fixture = MonitoringReportTests
        func item(_ id: String, _ category: String, _ propensity: Double, _ policy: String, severity: Int) -> ReportItem {
            ReportItem(id: id, category: category, propensity: propensity, policy: policy, servedAt: Fixture.t0, importedAt: Fixture.t0, severity: severity, reviews: 1)
        }
        var input = Fixture.input()
        input.items = [
            item("b1", "beta", 0.71, "exploit", severity: 3), item("b2", "beta", 0.709677419354839, "exploit", severity: 3),
            item("b3", "beta", 0.710344827586207, "explore", severity: 3), item("b4", "beta", 0.709090909090909, "exploit", severity: 3),
            item("g1", "gamma", 0.709375, "exploit", severity: 3), item("g2", "gamma", 0.708108108108108, "exploit", severity: 3),
            item("g3", "gamma", 0.00882352941176471, "explore", severity: 0), item("g4", "gamma", 0.00833333333333333, "explore", severity: 0),
        ]
        let report = MonitoringReport.compute(input, options: MonitoringOptions(), now: Fixture.now)
        let beta = try #require(report.attackSuccessByCategory.first { $0.name == "beta" }).rate
        #expect(beta.naive == 1 && beta.hajek == nil)
        #expect(beta.hajekReason == "the selection weights in this category are all about equal (within a factor of 1.5), so weighting corrects nothing")
        let gamma = try #require(report.attackSuccessByCategory.first { $0.name == "gamma" }).rate
        let weights = [1 / 0.709375, 1 / 0.708108108108108, 1 / 0.00882352941176471, 1 / 0.00833333333333333]
        #expect(abs(try #require(gamma.hajek).estimate - (weights[0] + weights[1]) / weights.reduce(0, +)) < 1e-15)
        #expect(Proportions.weightsAreEqual(propensities: [0.9, 0.9 + 0.1 / 3]) && !Proportions.weightsAreEqual(propensities: [0.9, 0.1 / 3]))
        // Exploration picks below the top, no exploit pick at all: weights differ, so it stands.
        #expect(!Proportions.weightsAreEqual(propensities: [0.01, 0.02]))
    }
}

/// Small honesty fixes: split names, grammar in reasons.
@Suite struct SmallWordingTests {
    @Test func splitNamesWithoutWhitespaceOrControls() throws {
        for name in ["tr ain", "train\t", "tr\u{200B}ain", "tr\u{1B}ain", "tr\u{00A0}ain", "tr\u{2028}ain"] {
            #expect(throws: CoreError.invalidSetting(name: "split", value: "\(name)=0.5,eval=0.5", reason: "a split name cannot contain spaces or control characters")) {
                try SplitPlan.parse("\(name)=0.5,eval=0.5", seed: 1)
            }
        }
        #expect(try SplitPlan.parse("train-1=0.5,évaluation=0.5", seed: 1).splits.map(\.name) == ["train-1", "évaluation"])
    }

    @Test func oneReviewerIsOne() {
        var table = RatingTable(items: 3, raters: 1, categories: 2)
        for i in 0..<3 { table[i, 0] = 0 }
        let rows = AgreementRows.compute(table, reviewers: ["a"], metrics: ["cohen", "scott"], weights: .none, level: .nominal, group: nil, interval: .analytic)
        #expect(rows.map(\.estimate.reason) == [
            "Cohen's kappa compares two reviewers; there is 1 (pass --reviewers a,b, or see conger and pairwise)",
            "Scott's pi compares two reviewers; there is 1 (pass --reviewers a,b)",
        ])
    }
}
