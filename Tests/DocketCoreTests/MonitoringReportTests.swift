@testable import DocketCore
import Testing

/// `MonitoringReport.compute` on a small hand-made set of rows, every figure checked exactly.
@Suite struct MonitoringReportTests {
    static let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
    /// A Monday, so the first ISO week starts on it.
    static let t0 = Instant(milliseconds: 1_794_819_600_000)  // 2026-11-16T09:00:00Z
    static func at(_ offset: Int64) -> Instant { Instant(milliseconds: t0.milliseconds + offset) }

    /// Five served items: a1 and a2 in round r1, a3 to a5 in round r2; a5 not reviewed yet.
    /// Severity ≥ 2 (the bar) on a1 and a3. Selection probabilities 0.5, 1 and 0.25 (a4 has none).
    static let items = [
        ReportItem(id: "a1", category: "x", risk: 0.9, propensity: 0.5, policy: "explore", servedAt: at(hour), importedAt: at(hour), severity: 3, meanRating: 2, reviews: 2),
        ReportItem(id: "a2", category: "x", risk: 0.2, propensity: 1, policy: "exploit", servedAt: at(2 * hour), importedAt: at(hour), severity: 0, meanRating: 4, reviews: 1),
        ReportItem(id: "a3", category: "y", risk: 0.6, propensity: 0.25, policy: "explore", servedAt: at(4 * day), importedAt: at(4 * day), severity: 2, reviews: 1),
        ReportItem(id: "a4", servedAt: at(4 * day), importedAt: at(4 * day), severity: 1, meanRating: 5, reviews: 2),
        ReportItem(id: "a5", category: "y", risk: 0.99, propensity: 0.5, policy: "explore", servedAt: at(5 * day), importedAt: at(4 * day), severity: 3, reviews: 0),
    ]

    /// Current labels of a1, a2 and a4 (ana, bo): a1 and a2 in the first week under rubric 1 and 2,
    /// a4 in the second week under rubric 1.
    static let labels = ReportLabelTable(
        table: RatingTable([[1, 1], [0, 1], [0, 0]], categories: 2), names: ["safe", "unsafe"],
        times: [at(day), at(day), at(day), at(day), at(8 * day), at(8 * day)].map { $0.milliseconds },
        rubrics: [1, 1, 2, 2, 1, 1])

    /// `ties`: under `escalate` a2's tie awaits a lead and has no verdict; under `declared-order`
    /// it is `safe`.
    static func finals(ties: TieRule = .escalate) -> FinalLabelTally {
        var tally = FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"], ties: ties))
        func row(_ id: Int64, _ reviewer: String, _ label: String) -> LabelAnswer { LabelAnswer(id: id, reviewer: reviewer, value: label, createdAt: at(day)) }
        tally.add(item: "a1", rows: [row(1, "ana", "unsafe"), row(2, "bo", "unsafe")], decisions: [])  // majority
        tally.add(item: "a2", rows: [row(3, "ana", "safe"), row(4, "bo", "unsafe")], decisions: [])  // a tie: no label under escalate, safe under declared-order
        tally.add(item: "a3", rows: [row(5, "ana", "unsafe")], decisions: [])  // single
        tally.add(item: "a4", rows: [row(6, "ana", "safe"), row(7, "bo", "safe")], decisions: [DecisionEntry(id: 1, kind: "label", value: "unsafe")])  // adjudicated
        tally.add(item: "a5", rows: [], decisions: [])  // nothing: not counted
        return tally
    }

    /// `harmful` empty: the severity alone decides, so a2's tie has a verdict whatever `ties` says.
    static func input(ties: TieRule = .escalate, harmful: [String] = []) -> MonitoringInput {
        MonitoringInput(
            items: items,
            work: [WorkRecord(reviewer: "bo", closedAt: at(day), seconds: 30), WorkRecord(reviewer: "ana", closedAt: at(day), seconds: 10), WorkRecord(reviewer: "ana", closedAt: at(day), seconds: 20)],
            rounds: [Round(id: 1, name: "r1", startedAt: t0, closedAt: at(3 * day)), Round(id: 2, name: "r2", startedAt: at(3 * day))],
            labels: labels, finalLabels: finals(ties: ties), budget: 10, level: .nominal, harmful: harmful)
    }

    /// Two days after the first item was served.
    static let now = at(hour + 2 * day)

    @Test func attackSuccessOverallAndByCategory() throws {
        let report = MonitoringReport.compute(Self.input(), options: MonitoringOptions(), now: Self.now)
        #expect(report.bar == 2 && report.interval == .wilson)
        let all = report.attackSuccess
        #expect(all.n == 4 && all.successes == 2 && all.naive == 0.5)
        let wilson = try #require(Proportions.wilson(successes: 2, trials: 4))
        #expect(all.naiveInterval == MonitoringReport.Interval(low: wilson.low, high: wilson.high))
        // Weights 1/π: a1 2 (attack), a2 1, a3 4 (attack); a4 has no probability.
        let hajek = try #require(all.hajek)
        #expect(hajek.estimate == 6.0 / 7.0)
        #expect(hajek.effectiveSize == 49.0 / 21.0)
        // Jeffreys on the effective size: x = p̂·n_eff = 2 of n_eff = 7/3, Beta(2.5, 5/6);
        // scipy.stats.beta.ppf(0.025, 2.5, 5/6) and beta.ppf(0.975, 2.5, 5/6).
        #expect(abs(hajek.interval.low - 0.254372965681379) < 1e-9, "\(hajek.interval.low)")
        // The plain Jeffreys upper end would be 0.9953959794538885 (beta.ppf(0.975, 2.5, 5/6)), but
        // n_eff − x = 1/3 is less than one effective failure, so the modified interval ends at 1.
        #expect(hajek.interval.high == 1)
        #expect(report.attackSuccessByCategory.map(\.name) == ["(none)", "x", "y"])
        #expect(report.attackSuccessByCategory.map { [$0.rate.successes, $0.rate.n] } == [[0, 1], [1, 2], [1, 1]])
        #expect(report.attackSuccessByCategory[0].rate.hajek == nil)
        #expect(report.attackSuccessByCategory[0].rate.hajekReason == "no item here has a recorded selection probability, so the selection cannot be corrected")
        #expect(report.attackSuccessByCategory[1].rate.hajekReason == nil)
        #expect(report.attackSuccessByCategory[1].rate.hajek?.estimate == 2.0 / 3.0)
        let clopper = MonitoringReport.compute(Self.input(), options: MonitoringOptions(bar: 3, interval: .clopperPearson), now: Self.now)
        #expect(clopper.attackSuccess.successes == 1)
        let exact = try #require(Proportions.clopperPearson(successes: 1, trials: 4))
        #expect(clopper.attackSuccess.naiveInterval == MonitoringReport.Interval(low: exact.low, high: exact.high))
    }

    /// A category reached only by exploit picks: every weight equal, so the Hájek estimate would be
    /// the naive rate with n_eff = n, a certainty it does not have. It is undefined, with the
    /// reason, in the struct and the JSON; the naive rate stays.
    @Test func noExplorationPicksLeavesTheCorrectionUndefined() throws {
        let exploitOnly = [
            ReportItem(id: "z1", category: "z", risk: 0.9, propensity: 0.9, policy: "exploit", servedAt: Self.at(Self.hour), importedAt: Self.at(Self.hour), severity: 3, reviews: 1),
            ReportItem(id: "z2", category: "z", risk: 0.8, propensity: 0.9, policy: "exploit", servedAt: Self.at(Self.hour), importedAt: Self.at(Self.hour), severity: 0, reviews: 1),
        ]
        var input = Self.input()
        input.items += exploitOnly
        let report = MonitoringReport.compute(input, options: MonitoringOptions(), now: Self.now)
        let z = try #require(report.attackSuccessByCategory.first { $0.name == "z" }).rate
        #expect(z.n == 2 && z.successes == 1 && z.naive == 0.5 && z.hajek == nil)
        #expect(z.hajekReason == "the selection weights in this category are all about equal (within a factor of 1.5), so weighting corrects nothing")
        #expect(z.json["hajek"] == .null && z.json["effective_n"] == .null)
        #expect(z.json["hajek_reason"] == .string("the selection weights in this category are all about equal (within a factor of 1.5), so weighting corrects nothing"))
        // Overall there are exploration picks (a1, a3), so the overall estimate stands.
        #expect(report.attackSuccess.hajek != nil && report.attackSuccess.hajekReason == nil)
        // With no exploration pick anywhere, the overall rate says so too.
        input.items = exploitOnly
        let none = MonitoringReport.compute(input, options: MonitoringOptions(), now: Self.now)
        #expect(none.attackSuccess.hajek == nil)
        #expect(none.attackSuccess.hajekReason == "the selection weights among the reviewed items are all about equal (within a factor of 1.5), so weighting corrects nothing")
    }

    @Test func finalLabelsAndPrevalence() {
        let report = MonitoringReport.compute(Self.input(), options: MonitoringOptions(), now: Self.now)
        let finals = report.finalLabels
        #expect(finals.items == 4 && finals.currentLabels == 7 && finals.ties == 1 && finals.tiesRule == .escalate)
        #expect(finals.bySource.map(\.count) == [1, 1, 1, 0, 1])
        #expect(finals.bySource.map(\.source) == LabelSource.allCases)
        #expect(finals.byLabel.map(\.label) == ["safe", "unsafe"] && finals.byLabel.map(\.count) == [0, 3])
        // Among reviewed items with a final label (a1, a3, a4; a2's tie has none).
        #expect(report.labelPrevalence.map(\.name) == ["safe", "unsafe"])
        #expect(report.labelPrevalence.map { [$0.rate.successes, $0.rate.n] } == [[0, 3], [3, 3]])
        #expect(report.labelPrevalence[1].rate.hajek?.estimate == 1)
        #expect(report.labelPrevalence[1].rate.hajek?.effectiveSize == 36.0 / 20.0)
        #expect(report.json["final_labels"]?.encoded() == #"{"items":4,"current_labels":7,"ties":1,"ties_rule":"escalate","by_source":{"adjudicated":1,"single":1,"majority":1,"dawid-skene":0,"tie":1},"by_label":{"safe":0,"unsafe":3}}"#)
    }

    @Test func guardrailRoundsAndBudget() throws {
        let report = MonitoringReport.compute(Self.input(), options: MonitoringOptions(), now: Self.now)
        // Risks 0.9 (attack), 0.6 (attack), 0.2: a perfect ranking.
        // TPR 2 of 2 and FPR 0 of 1 at 0.6, with Wilson intervals.
        let tpr = try #require(Proportions.wilson(successes: 2, trials: 2)), fpr = try #require(Proportions.wilson(successes: 0, trials: 1))
        #expect(report.guardrail.json.encoded() == #"{"n":3,"harmful":2,"benign":1,"auc":1,"rule":"target-fpr","target_fpr":0.05,"threshold":0.6,"tpr_at_threshold":1,"tpr_ci_low":"# + JSONText.number(tpr.low) + #","tpr_ci_high":1,"fpr_at_threshold":0,"fpr_ci_low":0,"fpr_ci_high":"# + JSONText.number(fpr.high) + #","reason":null,"nearest_meeting":null,"nearest_beyond":null,"curve":[{"threshold":0.9,"tpr":0.5,"fpr":0},{"threshold":0.6,"tpr":1,"fpr":0},{"threshold":0.2,"tpr":1,"fpr":1}]}"#)

        #expect(report.rounds.map(\.name) == ["r1", "r2"])
        let r1 = report.rounds[0], r2 = report.rounds[1]
        #expect(r1.items == 2 && r1.safety == 0.5 && r1.helpfulness == 3 && r1.safetyChange == nil && r1.helpfulnessChange == nil)
        // Ratings 2 and 4: sd √2, t(0.975, 1 df) = 12.7062…, so the interval is 3 ± t.
        let t = 12.706204736174707
        let helpfulness = try #require(r1.helpfulnessInterval)
        #expect(abs(helpfulness.low - (3 - t)) < 1e-9 && abs(helpfulness.high - (3 + t)) < 1e-9)
        // a3 and a4 (a5 is not reviewed): one attack, one rating.
        #expect(r2.items == 2 && r2.safety == 0.5 && r2.helpfulness == 5 && r2.helpfulnessInterval == nil)
        #expect(r2.safetyChange == 0 && r2.helpfulnessChange == 2)

        let budget = report.budget
        #expect(budget.budget == 10 && budget.spent == 5 && budget.left == 5)
        #expect(budget.burnPerDay == 2.5 && budget.daysLeft == 2)
        #expect(budget.perReviewerPerDay == [MonitoringReport.ReviewerBurn(reviewer: "ana", perDay: 1), MonitoringReport.ReviewerBurn(reviewer: "bo", perDay: 0.5)])
        #expect(budget.medianSecondsPerItem == 20)
        let wilson = try #require(Proportions.wilson(successes: 2, trials: 4))
        let width = wilson.high - wilson.low
        #expect(budget.attackSuccessWidth == width)
        #expect(budget.attackSuccessItemsForTargetWidth == Int((4 * (width / 0.05) * (width / 0.05)).rounded(.up)) - 4)
        // Fleiss' kappa from 3 items has a standard error but, below the 10 items agreement
        // intervals need (`AgreementRows.minimumItems`), no interval: so no width to plan from.
        #expect(Agreement.fleissKappa(Self.labels.table).standardError != nil)
        #expect(budget.agreementWidth == nil && budget.agreementItemsForTargetWidth == nil)
        #expect(budget.targetWidth == 0.05)
    }

    @Test func agreementByWeekAndByRubric() {
        let report = MonitoringReport.compute(Self.input(), options: MonitoringOptions(), now: Self.now)
        // Week of 2026-11-16: a1 (unsafe, unsafe) and a2 (safe, unsafe): α = 1 − 3·2 / (1·3·2) = 0.
        // Week of 2026-11-23: a4 alone, both safe: one value, so α is undefined.
        #expect(report.agreementByWeek == [
            MonitoringReport.WeekAgreement(week: "2026-11-16", alpha: 0, labels: 4),
            MonitoringReport.WeekAgreement(week: "2026-11-23", alpha: nil, labels: 2),
        ])
        // Rubric 1: a1 and a4, each unanimous, two values: α = 1. Rubric 2: a2 split: α = 0.
        #expect(report.agreementByRubric.map(\.rubric) == [1, 2])
        #expect(report.agreementByRubric.map(\.alpha) == [1, 0])
        #expect(report.agreementByRubric.allSatisfy { $0.reason == nil })
        #expect(report.json["agreement_by_week"]?.encoded() == #"[{"week":"2026-11-16","alpha":0,"labels":4},{"week":"2026-11-23","alpha":null,"labels":2}]"#)
    }

    /// Nothing served: every rate is empty, the guardrail says why it is missing, and the JSON
    /// still has every member.
    @Test func anEmptyProject() {
        let empty = MonitoringInput(
            items: [], work: [], rounds: [], labels: ReportLabelTable(table: RatingTable(items: 0, raters: 0, categories: 2), names: ["safe", "unsafe"], times: [], rubrics: []),
            finalLabels: FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"])), budget: nil, level: .nominal)
        let report = MonitoringReport.compute(empty, options: MonitoringOptions(), now: Self.now)
        #expect(report.attackSuccess == MonitoringReport.Rate(n: 0, successes: 0, naive: nil, naiveInterval: nil, hajek: nil, reason: MonitoringReport.Rate.noneServed))
        #expect(report.attackSuccessByCategory.isEmpty && report.rounds.isEmpty && report.agreementByWeek.isEmpty)
        #expect(report.guardrail.roc == nil)
        #expect(report.json["guardrail"]?.encoded() == #"{"n":0,"reason":"needs reviewed items with a model risk on both sides of the verdict"}"#)
        #expect(report.json["attack_success"]?.encoded() == #"{"n":0,"successes":0,"naive":null,"naive_ci_low":null,"naive_ci_high":null,"hajek":null,"hajek_ci_low":null,"hajek_ci_high":null,"effective_n":null,"hajek_reason":null,"without_verdict":0,"reason":"no item has been served from the queue yet (labels imported for items never served are not counted)"}"#)
        #expect(report.json["budget"]?.encoded() == #"{"budget":null,"spent":0,"left":null,"burn_per_day":null,"days_left":null,"per_reviewer_per_day":{},"median_seconds_per_item":null,"asr_ci_width":null,"asr_labels_for_target_width":null,"agreement_ci_width":null,"agreement_items_for_target_width":null,"target_width":0.05}"#)
        if case .object(let members) = report.json {
            #expect(members.map(\.0) == ["bar", "harmful_labels", "attack_rule", "interval", "attack_success", "attack_success_by_category", "label_prevalence", "final_labels", "guardrail", "rounds", "budget", "agreement_by_week", "agreement_by_rubric"])
        } else {
            Issue.record("the report's JSON is not an object")
        }
    }
}
