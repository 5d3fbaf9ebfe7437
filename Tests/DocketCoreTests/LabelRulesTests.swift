import DocketCore
import Testing

/// The label rules of `LabelRules`: current answers, votes, ties, final labels and their sources.
@Suite struct LabelRulesTests {
    let t0 = Instant(milliseconds: 1_795_000_000_000)
    let declared = ["safe", "borderline", "unsafe"]

    func row(_ id: Int64, _ reviewer: String, _ label: String, withdrawn: Bool = false) -> LabelAnswer {
        LabelAnswer(id: id, reviewer: reviewer, value: label, withdrawn: withdrawn, createdAt: Instant(milliseconds: t0.milliseconds + id))
    }

    @Test func theLatestAnswerNotWithdrawnIsCurrent() {
        let rows = [
            row(1, "ana", "safe", withdrawn: true),  // replaced by 3 (a supersession is a withdrawal)
            row(2, "bo", "unsafe"),
            row(3, "ana", "unsafe"),
            row(4, "cy", "safe", withdrawn: true),  // undone: cy has no current label
            row(5, "dee", "safe"), row(6, "dee", "borderline"),  // two kept rows (an older database): the later wins
            row(7, "eve", "unsafe"),
        ]
        let current = LabelRules.current(rows.shuffled())
        #expect(current.map(\.reviewer) == ["ana", "bo", "dee", "eve"])
        #expect(current.map(\.value) == ["unsafe", "unsafe", "borderline", "unsafe"])
        #expect(current.map(\.id) == [3, 2, 6, 7])
        #expect(LabelRules.current([row(1, "ana", "safe", withdrawn: true)]).isEmpty)
    }

    /// The streaming scan (status, reviewers list, the statistics' columns) keeps exactly the
    /// answers `current` keeps, on seeded random rows.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64]) func theScanAgreesWithCurrent(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var rows: [(item: Int, answer: LabelAnswer)] = []
        for id in 1...400 {
            let item = Int(generator.next(below: 30))
            let reviewer = ["ana", "bo", "cy", "dee"][Int(generator.next(below: 4))]
            let label = declared[Int(generator.next(below: 3))]
            rows.append((item, row(Int64(id), reviewer, label, withdrawn: generator.next(below: 4) == 0)))
        }
        var expected: [Int: [LabelAnswer]] = [:]
        for item in Set(rows.map(\.item)) { expected[item] = LabelRules.current(rows.filter { $0.item == item }.map(\.answer)) }
        var scan = LabelRules.CurrentScan<Int, String>()
        var kept: [Int: [LabelAnswer]] = [:]
        var count = LabelRules.CurrentLabelCount<Int, String>()
        for (item, answer) in rows.sorted(by: { ($0.item, $0.answer.reviewer, $0.answer.id) < ($1.item, $1.answer.reviewer, $1.answer.id) }) {
            count.add(item: item, reviewer: answer.reviewer, withdrawn: answer.withdrawn)
            switch scan.step(item: item, reviewer: answer.reviewer, withdrawn: answer.withdrawn) {
            case .skip: continue
            case .start: kept[item, default: []].append(answer)
            case .replace: kept[item]![kept[item]!.count - 1] = answer
            }
        }
        for item in expected.keys { #expect((kept[item] ?? []) == expected[item]!, "item \(item)") }
        #expect(count.labels == expected.values.reduce(0) { $0 + $1.count })
        #expect(count.items == expected.values.filter { !$0.isEmpty }.count)
        for reviewer in ["ana", "bo", "cy", "dee"] {
            #expect(count.byReviewer[reviewer, default: 0] == expected.values.reduce(0) { $0 + $1.filter { $0.reviewer == reviewer }.count })
        }
    }

    /// `current` and `votes` count small items by comparison and large ones by hashing: both
    /// ways agree with the definition (each reviewer's latest kept answer, by name; every
    /// declared label in order, then the others alphabetically), on seeded rows around the switch.
    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64]) func currentAndVotesAgreeWithTheirDefinitionAtEverySize(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for size in [0, 1, 2, 5, 31, 32, 33, 40, 90] {
            let reviewers = (0..<max(1, size / 2)).map { "r\($0)" }
            let labels = declared + ["odd", "zeta"]
            let rows = (0..<size).map { k in
                row(Int64(generator.next(below: 1000)) * 100 + Int64(k), reviewers[Int(generator.next(below: UInt64(reviewers.count)))],
                    labels[Int(generator.next(below: generator.next(below: 2) == 0 ? 3 : 5))], withdrawn: generator.next(below: 5) == 0)
            }
            var latest: [String: LabelAnswer] = [:]
            for answer in rows where !answer.withdrawn && (latest[answer.reviewer].map { $0.id < answer.id } ?? true) { latest[answer.reviewer] = answer }
            let expected = latest.values.sorted { $0.reviewer < $1.reviewer }
            let current = LabelRules.current(rows.shuffled(using: &generator))
            #expect(current == expected, "size \(size)")
            let votes = LabelRules.votes(current, declared: declared)
            let others = Set(current.map(\.value)).subtracting(declared).sorted()
            #expect(votes.counts.map(\.label) == declared + others, "size \(size)")
            #expect(votes.counts.map(\.count) == (declared + others).map { label in current.filter { $0.value == label }.count }, "size \(size)")
            #expect(votes.total == current.count)
        }
    }

    @Test func votesFollowTheDeclaredOrder() {
        let votes = LabelRules.votes(counts: ["unsafe": 2, "safe": 2, "odd": 1], declared: declared)
        #expect(votes.counts.map(\.label) == ["safe", "borderline", "unsafe", "odd"])
        #expect(votes.counts.map(\.count) == [2, 0, 2, 1])
        #expect(votes.total == 5 && votes.topCount == 2)
        #expect(votes.top == ["safe", "unsafe"] && votes.isTie && !votes.hasMajority)
        #expect(votes.agreement == 0.4)
        let clear = LabelRules.votes(counts: ["unsafe": 2, "safe": 1], declared: declared)
        #expect(!clear.isTie && clear.hasMajority && clear.top == ["unsafe"])
        // Two of four: no majority, but no tie either.
        let plurality = LabelRules.votes(counts: ["unsafe": 2, "safe": 1, "borderline": 1], declared: declared)
        #expect(!plurality.isTie && !plurality.hasMajority)
        #expect(LabelRules.votes(counts: [:], declared: declared).agreement == nil)
    }

    @Test func tiesGoWhereTheSettingSays() {
        let tie = LabelRules.votes(counts: ["unsafe": 1, "safe": 1], declared: declared)
        #expect(LabelRules.majority(tie, ties: .escalate) == FinalLabel(label: nil, source: .tie, tied: ["safe", "unsafe"]))
        #expect(LabelRules.majority(tie, ties: .severe) == FinalLabel(label: "unsafe", source: .tie, tied: ["safe", "unsafe"]))
        #expect(LabelRules.majority(tie, ties: .declaredOrder) == FinalLabel(label: "safe", source: .tie, tied: ["safe", "unsafe"]))
        let three = LabelRules.votes(counts: ["unsafe": 1, "safe": 1, "borderline": 1], declared: declared)
        #expect(LabelRules.majority(three, ties: .severe).label == "unsafe")
        #expect(LabelRules.majority(three, ties: .declaredOrder).label == "safe")
        #expect(LabelRules.breakTie(["unsafe", "borderline"], rule: .severe, declared: declared) == "unsafe")
        #expect(LabelRules.breakTie(["unsafe", "borderline"], rule: .declaredOrder, declared: declared) == "borderline")
        #expect(LabelRules.breakTie(["unsafe", "borderline"], rule: .escalate, declared: declared) == nil)
        #expect(LabelRules.majorityIndex([0, 0, 0], ties: .severe) == nil)
        #expect(LabelRules.describe(LabelRules.majority(tie, ties: .escalate)) == "none: a tie between safe and unsafe; it goes to the lead")
        #expect(LabelRules.describe(LabelRules.majority(tie, ties: .severe)) == "unsafe (a tie between safe and unsafe, broken toward the label declared later)")
        #expect(LabelRules.describe(LabelRules.majority(tie, ties: .declaredOrder)) == "safe (a tie between safe and unsafe, broken toward the label declared first)")
    }

    @Test func adjudicatedThenSingleThenTheAggregate() {
        let policy = LabelPolicy(declared: declared)
        let split = [row(1, "ana", "unsafe"), row(2, "bo", "safe")]
        let decisions = [
            DecisionEntry(id: 1, kind: "label", value: "borderline"), DecisionEntry(id: 2, kind: "rating", value: "4"),
            DecisionEntry(id: 3, kind: "label", value: "unsafe"), DecisionEntry(id: 4, kind: "return", value: nil),
        ]
        // The latest label decision wins, whatever came after it.
        #expect(LabelRules.resolve(rows: split, decisions: decisions, policy: policy, model: nil).final == FinalLabel(label: "unsafe", source: .adjudicated))
        // Adjudicated without any reviewer label.
        let decided = LabelRules.resolve(rows: [], decisions: decisions, policy: policy, model: nil)
        #expect(decided.final.source == .adjudicated && decided.votes.total == 0 && decided.reviewers == 0)
        #expect(LabelRules.resolve(rows: [row(1, "ana", "unsafe")], decisions: [], policy: policy, model: nil).final == FinalLabel(label: "unsafe", source: .single))
        #expect(LabelRules.resolve(rows: split, decisions: [], policy: policy, model: nil).final.source == .tie)
        #expect(LabelRules.resolve(rows: split + [row(3, "cy", "safe")], decisions: [], policy: policy, model: nil).final == FinalLabel(label: "safe", source: .majority))
        #expect(LabelRules.resolve(rows: [row(1, "ana", "unsafe", withdrawn: true)], decisions: [], policy: policy, model: nil).final == .none)
        #expect(LabelRules.finalRating(rows: [RatingAnswer(id: 1, reviewer: "a", value: 2, createdAt: t0), RatingAnswer(id: 2, reviewer: "a", value: 4, createdAt: t0),
                                              RatingAnswer(id: 3, reviewer: "b", value: 5, createdAt: t0)], decisions: [])! == (4.5, "mean"))
        #expect(LabelRules.finalRating(rows: [], decisions: decisions)! == (4, "adjudicated"))
    }

    /// The saved model's posterior is the EM run's E-step on its final parameters; the final
    /// label under `final_label: dawid-skene` comes from it, and falls back to the majority when
    /// the model knows none of the item's reviewers.
    @Test func dawidSkeneUnderSavedParameters() throws {
        var table = RatingTable(items: 6, raters: 3, categories: 3)
        let data: [[Int?]] = [[0, 0, 0], [0, 0, 1], [2, 2, 2], [1, 2, 2], [0, 1, 2], [1, 1, nil]]
        for (i, labels) in data.enumerated() { for (r, label) in labels.enumerated() { table[i, r] = label.map(Double.init) } }
        let result = Aggregation.dawidSkene(table, tolerance: 1e-12)
        let model = DawidSkeneModel(labels: declared, reviewers: ["a", "b", "c"], result: result)
        // The stored form reads back exactly.
        #expect(DawidSkeneModel(json: try JSON.parse(model.json().encoded())) == model)
        for (i, labels) in data.enumerated() {
            let given = labels.enumerated().compactMap { r, label in label.map { (["a", "b", "c"][r], declared[$0]) } }
            let posterior = try #require(LabelRules.posterior(model, labels: given))
            #expect(posterior.used == given.count)
            for k in 0..<3 { #expect(abs(posterior.probabilities[k] - result.posteriors[i]![k]) < 1e-9, "item \(i) class \(k)") }
        }
        #expect(LabelRules.posterior(model, labels: [("stranger", "safe")]) == nil)
        let policy = LabelPolicy(declared: declared, method: .dawidSkene)
        let strangers = [row(1, "x", "unsafe"), row(2, "y", "unsafe"), row(3, "z", "safe")]
        #expect(LabelRules.resolve(rows: strangers, decisions: [], policy: policy, model: model).final == FinalLabel(label: "unsafe", source: .majority))
        let known = LabelRules.resolve(rows: [row(1, "a", "safe"), row(2, "b", "safe"), row(3, "c", "unsafe")], decisions: [], policy: policy, model: model)
        #expect(known.final.source == .dawidSkene && known.final.label == "safe")
        // Two classes of exactly equal probability are a tie.
        let even = DawidSkeneModel(labels: ["safe", "unsafe"], priors: [0.5, 0.5], confusion: ["a": [[0.8, 0.2], [0.2, 0.8]], "b": [[0.8, 0.2], [0.2, 0.8]]])
        let tied = LabelRules.resolve(
            rows: [row(1, "a", "safe"), row(2, "b", "unsafe")], decisions: [], policy: LabelPolicy(declared: ["safe", "unsafe"], method: .dawidSkene, ties: .severe), model: even)
        #expect(tied.final == FinalLabel(label: "unsafe", source: .tie, tied: ["safe", "unsafe"]))
        #expect(tied.posterior?.top == 0.5)
    }

    @Test func aTieUnderEscalateGoesToTheLeadAfterThePolicysRules() {
        let policy = LabelPolicy(declared: declared)
        let tied = LabelRules.resolve(rows: [row(1, "ana", "unsafe"), row(2, "bo", "safe")], decisions: [], policy: policy, model: nil)
        let draft = FeedbackDraft(kind: .label, label: "safe")
        let rules = [EscalationRule(condition: .riskAbove(0.9), tier: "expert")]
        let routed = EscalationPolicy.evaluate(rules, EscalationFacts(feedback: draft, labels: tied, ties: .escalate, risk: 0.1))
        #expect(routed?.rule == 2 && routed?.tier == "lead")
        #expect(routed?.reason == "a tie between safe and unsafe (safe 1, unsafe 1): no final label until a lead decides")
        // A rule of the policy comes first.
        #expect(EscalationPolicy.evaluate(rules, EscalationFacts(feedback: draft, labels: tied, ties: .escalate, risk: 0.95))?.tier == "expert")
        // No implicit rule under the other settings, or once a lead decided.
        let severe = LabelRules.resolve(rows: [row(1, "ana", "unsafe"), row(2, "bo", "safe")], decisions: [], policy: LabelPolicy(declared: declared, ties: .severe), model: nil)
        #expect(EscalationPolicy.evaluate(rules, EscalationFacts(feedback: draft, labels: severe, ties: .severe)) == nil)
        let decided = LabelRules.resolve(
            rows: [row(1, "ana", "unsafe"), row(2, "bo", "safe")], decisions: [DecisionEntry(id: 1, kind: "label", value: "safe")], policy: policy, model: nil)
        #expect(EscalationPolicy.evaluate([], EscalationFacts(feedback: draft, labels: decided, ties: .escalate)) == nil)
        // `no_majority` reads the same votes.
        let noMajority = [EscalationRule(condition: .noMajority, tier: "second-review")]
        #expect(EscalationPolicy.evaluate(noMajority, EscalationFacts(feedback: draft, labels: tied, ties: .escalate))?.reason == "no majority among 2 labels (safe 1, unsafe 1)")
    }

    @Test func theTiesSetting() throws {
        let base = #"{"labels":["safe","unsafe"],"level":"ordinal","asks":["label"]"#
        guard case .valid(let plain) = TaskDefinition.read(try JSON.parse(base + "}")) else { Issue.record("invalid"); return }
        #expect(plain.ties == .escalate)
        guard case .valid(let escalate) = TaskDefinition.read(try JSON.parse(base + #","ties":"escalate"}"#)) else { Issue.record("invalid"); return }
        // The default is left out of the canonical form: the same rubric hash as without the setting.
        #expect(escalate.contentHash == plain.contentHash)
        guard case .valid(let severe) = TaskDefinition.read(try JSON.parse(base + #","ties":"severe"}"#)) else { Issue.record("invalid"); return }
        #expect(severe.ties == .severe && severe.contentHash != plain.contentHash)
        guard case .valid(let again) = TaskDefinition.read(severe.canonicalJSON) else { Issue.record("invalid"); return }
        #expect(again.ties == .severe)
        guard case .invalid(let unknown) = TaskDefinition.read(try JSON.parse(base + #","ties":"coin"}"#)) else { Issue.record("valid"); return }
        #expect(unknown == [FieldProblem(field: "ties", problem: "use escalate, severe, declared-order")])
        let nominal = #"{"labels":["cat","dog"],"level":"nominal","asks":["label"],"ties":"severe"}"#
        guard case .invalid(let refused) = TaskDefinition.read(try JSON.parse(nominal)) else { Issue.record("valid"); return }
        #expect(refused.map(\.field) == ["ties"])
        #expect(refused[0].problem.hasPrefix("severe takes the tied label declared later"))
    }
}
