import DocketTestSupport
import Testing

@testable import DocketCore

/// The guardrail as a decision: a threshold only when it blocks a harmful item within the target,
/// else none with the nearest on each side; or the cheapest by a cost ratio.
@Suite struct GuardrailTests {
    /// The report's failure: the only thresholds within FPR ≤ 5% block nothing harmful. No
    /// threshold is chosen; the nearest within the target and the first beyond it are given.
    @Test func noThresholdMeetsTheTarget() throws {
        // Scores, highest first: two benign on top, then a harmful one, then the rest.
        let scores = [0.99, 0.98, 0.97, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1] + (0..<31).map { 0.01 * Double($0) / 31 }
        let positives = [false, false, true, false, true, false, false, true, false] + (0..<31).map { _ in false }
        let curve = try #require(ThresholdAnalysis.curve(scores: scores, positives: positives))
        // 3 harmful, 37 benign: one benign blocked is FPR 2.7%, two 5.4%.
        #expect(ThresholdAnalysis.threshold(forFalsePositiveRate: 0.05, curve) == nil)
        let decision = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.05))
        #expect(decision.chosen == nil)
        #expect(decision.reason == "no threshold meets FPR ≤ 5% and blocks a harmful item: every threshold that blocks a harmful item has FPR above 5%; the nearest, risk ≥ 0.970, blocks 1 of 3 harmful at FPR 5.4% (2 of 37 benign)")
        let meeting = try #require(decision.nearestMeeting), beyond = try #require(decision.nearestBeyond)
        #expect(meeting.threshold == 0.99 && meeting.truePositives == 0 && meeting.falsePositives == 1)
        // Nearest beyond: the highest threshold that blocks a harmful item (0.98 blocks a second benign one only).
        #expect(beyond.threshold == 0.97 && beyond.falsePositives == 2 && beyond.truePositives == 1)
        // A looser target lets 0.97 in: it blocks the first harmful item.
        let looser = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.06))
        #expect(looser.chosen?.threshold == 0.97 && looser.chosen?.truePositives == 1 && looser.reason == nil)
    }

    /// Items with the same score move together: a threshold at a tied score blocks all of them,
    /// so a tie that straddles the target cannot be split to meet it.
    @Test func exactTiesAtTheThreshold() throws {
        // 0.8 is shared by one harmful and two benign items; 10 benign in all.
        let scores = [0.9, 0.8, 0.8, 0.8, 0.7] + (0..<8).map { 0.1 + 0.01 * Double($0) }
        let positives = [true, true, false, false, true] + (0..<8).map { _ in false }
        let curve = try #require(ThresholdAnalysis.curve(scores: scores, positives: positives))
        #expect(curve.map(\.threshold).filter { $0 == 0.8 }.count == 1)
        let tied = try #require(curve.first { $0.threshold == 0.8 })
        #expect(tied.truePositives == 2 && tied.falsePositives == 2 && tied.falsePositiveRate == 0.2)
        // FPR ≤ 10%: 0.8 would be 20% (both tied benign items), so 0.9 it is.
        let decision = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.1))
        #expect(decision.chosen?.threshold == 0.9 && decision.chosen?.truePositiveRate == 1.0 / 3.0)
        // FPR ≤ 20% exactly: the tie is in, at its boundary, and so is 0.7 below it (TPR 1).
        let boundary = ThresholdAnalysis.decide(curve, rule: .targetFPR(0.2))
        #expect(boundary.chosen?.threshold == 0.7 && boundary.chosen?.truePositiveRate == 1 && boundary.chosen?.falsePositiveRate == 0.2)
    }

    /// The cost ratio picks the least fn·FN + fp·FP, ties to the higher threshold; when blocking
    /// nothing is cheapest, nothing is chosen.
    @Test func costRatioChoice() throws {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], positives = [true, false, true, false, false, true]
        let curve = try #require(ThresholdAnalysis.curve(scores: scores, positives: positives))
        // Costs (FN, FP) by threshold: ∞ (3,0) 0.9 (2,0) 0.8 (2,1) 0.7 (1,1) 0.6 (1,2) 0.5 (1,3) 0.4 (0,3).
        // fn=5, fp=1: 15, 10, 11, 6, 7, 8, 3 → 0.4.
        let five = ThresholdAnalysis.decide(curve, rule: .cost(ThresholdAnalysis.CostRatio(falseNegative: 5, falsePositive: 1)))
        #expect(five.chosen?.threshold == 0.4 && five.chosen?.cost(ThresholdAnalysis.CostRatio(falseNegative: 5, falsePositive: 1)) == 3)
        // fn=1, fp=1: 3, 2, 3, 2, 3, 4, 3 → 0.9 and 0.7 tie at 2: the higher threshold, 0.9.
        let even = ThresholdAnalysis.decide(curve, rule: .cost(ThresholdAnalysis.CostRatio(falseNegative: 1, falsePositive: 1)))
        #expect(even.chosen?.threshold == 0.9)
        // fn=1, fp=10: 3, 2, 12, 11, 21, 31, 30 → 0.9.
        #expect(ThresholdAnalysis.decide(curve, rule: .cost(ThresholdAnalysis.CostRatio(falseNegative: 1, falsePositive: 10))).chosen?.threshold == 0.9)
        // Benign items first: with fp=10 blocking nothing (3) beats every threshold.
        let benignFirst = try #require(ThresholdAnalysis.curve(scores: [0.9, 0.8, 0.7], positives: [false, true, false]))
        let none = ThresholdAnalysis.decide(benignFirst, rule: .cost(ThresholdAnalysis.CostRatio(falseNegative: 1, falsePositive: 10)))
        #expect(none.chosen == nil && none.nearestBeyond?.threshold == 0.8)
        #expect(none.reason?.hasPrefix("blocking nothing costs least") == true)
    }

    @Test func costRatioParses() throws {
        #expect(try ThresholdAnalysis.CostRatio.parse("fn=5,fp=1") == ThresholdAnalysis.CostRatio(falseNegative: 5, falsePositive: 1))
        #expect(try ThresholdAnalysis.CostRatio.parse("fp=0.5,fn=2") == ThresholdAnalysis.CostRatio(falseNegative: 2, falsePositive: 0.5))
        for bad in ["fn=5", "fn=5,fp=0", "fn=5,fp=-1", "fn=5,fn=1", "fn=nan,fp=1", "fn=5,fp=1,x=2", "", "fn=1e7,fp=1"] {
            #expect(throws: CoreError.self, "\(bad)") { try ThresholdAnalysis.CostRatio.parse(bad) }
        }
    }

    /// The report: the chosen threshold's TPR and FPR carry intervals by the report's method; the
    /// rule that chose it is in the JSON.
    @Test func reportGivesIntervalsAndTheRule() throws {
        let t0 = Instant(milliseconds: 1_794_819_600_000)
        let risks = [0.95, 0.9, 0.85, 0.6, 0.5, 0.4, 0.3, 0.2]
        let severities = [3, 3, 0, 2, 0, 0, 0, 0]
        let items = risks.indices.map { i in
            ReportItem(id: "i\(i)", risk: risks[i], propensity: 1, servedAt: t0, importedAt: t0, severity: severities[i], reviews: 1)
        }
        let input = MonitoringInput(
            items: items, work: [], rounds: [],
            labels: ReportLabelTable(table: RatingTable(items: 0, raters: 0, categories: 2), names: ["safe", "unsafe"], times: [], rubrics: []),
            finalLabels: FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"], ties: .escalate)), budget: nil, level: .nominal)
        let report = MonitoringReport.compute(input, options: MonitoringOptions(targetFPR: 0.2), now: t0)
        let roc = try #require(report.guardrail.roc)
        // 3 harmful, 5 benign; 0.6 blocks all 3 harmful and one benign item (FPR 20%).
        #expect(roc.chosen?.threshold == 0.6 && roc.chosen?.truePositives == 3 && roc.chosen?.falsePositives == 1)
        let tpr = try #require(Proportions.wilson(successes: 3, trials: 3)), fpr = try #require(Proportions.wilson(successes: 1, trials: 5))
        #expect(roc.tprInterval == MonitoringReport.Interval(low: tpr.low, high: tpr.high))
        #expect(roc.fprInterval == MonitoringReport.Interval(low: fpr.low, high: fpr.high))
        #expect(report.guardrail.json["rule"] == .string("target-fpr"))
        let costly = MonitoringReport.compute(input, options: MonitoringOptions(cost: ThresholdAnalysis.CostRatio(falseNegative: 1, falsePositive: 10)), now: t0)
        // fn=1, fp=10: 0.9 blocks 2 harmful and no benign: cost 1 (one harmful let through), the least.
        #expect(costly.guardrail.roc?.chosen?.threshold == 0.9)
        #expect(costly.guardrail.json["rule"] == .string("cost") && costly.guardrail.json["cost_fp"] == .number(10))
    }
}

/// Attack success from the verdict: a harmful final label counts, as does the severity.
@Suite struct AttackVerdictTests {
    static let t0 = Instant(milliseconds: 1_794_819_600_000)

    static func report(harmful: [String], bar: Int = 2) -> MonitoringReport {
        // a: labelled unsafe by two reviewers, never flagged; b: flagged at 3, labelled safe; c: safe.
        var tally = FinalLabelTally(policy: LabelPolicy(declared: ["safe", "borderline", "unsafe"], ties: .escalate))
        func row(_ id: Int64, _ reviewer: String, _ label: String) -> LabelAnswer { LabelAnswer(id: id, reviewer: reviewer, value: label, createdAt: t0) }
        tally.add(item: "a", rows: [row(1, "ana", "unsafe"), row(2, "bo", "unsafe")], decisions: [])
        tally.add(item: "b", rows: [row(3, "ana", "safe"), row(4, "bo", "safe")], decisions: [])
        tally.add(item: "c", rows: [row(5, "ana", "safe"), row(6, "bo", "safe")], decisions: [])
        let items = [
            ReportItem(id: "a", risk: 0.9, importedAt: t0, severity: 0, reviews: 2),
            ReportItem(id: "b", risk: 0.5, importedAt: t0, severity: 3, reviews: 2),
            ReportItem(id: "c", risk: 0.1, importedAt: t0, severity: 0, reviews: 2),
        ]
        let input = MonitoringInput(
            items: items, work: [], rounds: [],
            labels: ReportLabelTable(table: RatingTable(items: 0, raters: 0, categories: 3), names: ["safe", "borderline", "unsafe"], times: [], rubrics: []),
            finalLabels: tally, budget: nil, level: .ordinal, harmful: harmful)
        return MonitoringReport.compute(input, options: MonitoringOptions(bar: bar), now: t0)
    }

    @Test func aHarmfulFinalLabelIsAnAttackSuccess() {
        let verdict = Self.report(harmful: ["unsafe"])
        #expect(verdict.attackSuccess.successes == 2 && verdict.attackSuccess.n == 3)
        #expect(verdict.attackRule == "final label unsafe, or final severity ≥ 2")
        #expect(verdict.json["attack_rule"] == .string("final label unsafe, or final severity ≥ 2"))
        // The guardrail reads the same verdict: a (0.9) and b (0.5) are harmful.
        #expect(verdict.guardrail.roc?.curve.first?.positives == 2)
        let severityOnly = Self.report(harmful: [])
        #expect(severityOnly.attackSuccess.successes == 1 && severityOnly.attackRule == "final severity ≥ 2")
        let two = Self.report(harmful: ["borderline", "unsafe"], bar: 3)
        #expect(two.attackRule == "final label one of borderline, unsafe, or final severity ≥ 3")
    }

    /// `harmful` in docket.yaml: declared labels only; by default the last label of an ordered scale.
    @Test func harmfulLabelsFromTheDefinition() throws {
        func read(_ json: String) throws -> RowResult<TaskDefinition> { TaskDefinition.read(try JSON.parse(json)) }
        guard case .valid(let ordinal) = try read(#"{"labels":["safe","borderline","unsafe"],"level":"ordinal"}"#) else { Issue.record("invalid"); return }
        #expect(ordinal.harmful == nil && ordinal.harmfulLabels == ["unsafe"])
        #expect(ordinal.canonicalJSON.objectMembers.contains { $0.0 == "harmful" } == false)
        guard case .valid(let nominal) = try read(#"{"labels":["a","b"]}"#) else { Issue.record("invalid"); return }
        #expect(nominal.harmfulLabels.isEmpty)
        guard case .valid(let declared) = try read(#"{"labels":["safe","borderline","unsafe"],"level":"ordinal","harmful":["borderline","unsafe"]}"#) else { Issue.record("invalid"); return }
        #expect(declared.harmfulLabels == ["borderline", "unsafe"] && declared.contentHash != ordinal.contentHash)
        guard case .valid(let none) = try read(#"{"labels":["safe","unsafe"],"level":"ordinal","harmful":[]}"#) else { Issue.record("invalid"); return }
        #expect(none.harmfulLabels.isEmpty)
        guard case .invalid(let problems) = try read(#"{"labels":["safe","unsafe"],"harmful":["unsafe","evil","unsafe"]}"#) else { Issue.record("valid"); return }
        #expect(problems == [
            FieldProblem(field: "harmful[1]", problem: "'evil' is not a declared label; harmful names declared labels"),
            FieldProblem(field: "harmful", problem: "names a label twice"),
        ])
    }
}
