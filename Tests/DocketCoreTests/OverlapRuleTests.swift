import Testing

@testable import DocketCore

@Suite struct OverlapRuleTests {
    /// Which assignments take a place: open and done always; ended ones while started; gold never.
    @Test func takesPlaceTruthTable() {
        for state in AssignmentState.allCases {
            for gold in [false, true] {
                for started in [false, true] {
                    let expected = !gold && (state == .open || state == .done || started)
                    #expect(OverlapRule.takesPlace(state: state, gold: gold, started: started) == expected, "\(state) gold \(gold) started \(started)")
                }
            }
        }
    }

    @Test func anyCurrentFeedbackButASkipStartsAnItem() {
        #expect(!OverlapRule.isStarted(currentKinds: []))
        #expect(!OverlapRule.isStarted(currentKinds: [FeedbackKind.skip]))
        for kind in FeedbackKind.allCases where kind != .skip {
            #expect(OverlapRule.isStarted(currentKinds: [kind, .skip]))
        }
    }

    @Test func onlyEndedStartedAssignmentsAreResumed() {
        #expect(OverlapRule.isResumable(state: .expired, started: true))
        #expect(OverlapRule.isResumable(state: .released, started: true))
        #expect(!OverlapRule.isResumable(state: .expired, started: false))
        #expect(!OverlapRule.isResumable(state: .skipped, started: true))
        #expect(!OverlapRule.isResumable(state: .done, started: true))
    }

    @Test func whatARegularClaimCountsAsHad() {
        func facts(_ state: AssignmentState, gold: Bool = false, _ kinds: Set<FeedbackKind> = []) -> AssignmentFacts {
            AssignmentFacts(reviewer: 1, state: state, gold: gold, currentKinds: kinds)
        }
        #expect(!OverlapRule.hasHad([], importedLabel: false))
        #expect(OverlapRule.hasHad([], importedLabel: true))
        #expect(OverlapRule.hasHad([facts(.open)], importedLabel: false))
        #expect(OverlapRule.hasHad([facts(.done)], importedLabel: false))
        #expect(OverlapRule.hasHad([facts(.skipped, [.skip])], importedLabel: false))
        // A lease that ended with nothing given does not stop a later claim.
        #expect(!OverlapRule.hasHad([facts(.expired), facts(.released, [.skip])], importedLabel: false))
        // One with an answer is resumed instead.
        #expect(OverlapRule.hasHad([facts(.expired, [.label])], importedLabel: false))
        // A gold mix served the item to the reviewer, whatever became of it.
        #expect(OverlapRule.hasHad([facts(.released, gold: true)], importedLabel: false))
    }

    @Test func violationsNameTheItemAndTheReviewer() {
        let assignments = [
            AssignmentFacts(reviewer: 1, state: .done, gold: false, currentKinds: [.label, .rating]),
            AssignmentFacts(reviewer: 2, state: .expired, gold: false, currentKinds: [.label]),
            AssignmentFacts(reviewer: 2, state: .open, gold: false, currentKinds: []),
            AssignmentFacts(reviewer: 3, state: .done, gold: true, currentKinds: [.label]),
            AssignmentFacts(reviewer: 4, state: .expired, gold: false, currentKinds: [.skip]),
        ]
        #expect(OverlapRule.placesTaken(assignments) == 3)
        let found = OverlapRule.violations(itemID: "x", overlap: 2, assignments: assignments, names: [2: "bo"])
        #expect(found.overlap == "item x has 3 counted reviews (1 done, 1 open, 1 ended with feedback), over its overlap of 2")
        #expect(found.twice == ["reviewer bo holds item x 2 times"])
        #expect(OverlapRule.violations(itemID: "x", overlap: 3, assignments: Array(assignments.prefix(2))) == (nil, []))
    }
}

@Suite struct UtilityRiskTests {
    @Test func triageStandsInForAMissingModelRisk() {
        #expect(Utility.risk(model: 0.4, triage: 3) == 0.4)
        #expect(Utility.risk(model: nil, triage: 2) == 2.0 / 3)
        #expect(Utility.risk(model: nil, triage: nil) == nil)
        let weights = UtilityWeights(risk: 0.7, uncertainty: 0.2, diversity: 0.1)
        #expect(Utility.score(risk: nil, triage: 1, uncertainty: 0.5, diversity: nil, weights: weights)
            == Utility.score(risk: 1.0 / 3, uncertainty: 0.5, diversity: nil, weights: weights))
    }
}

@Suite struct SelectionStepTests {
    typealias Stream = IndexingIterator<[QueueCandidate]>

    /// The store takes `QueuePlanner.step` once per new item; `plan` repeats it. Step by step,
    /// with the pool shrinking as the store's does, they choose the same items with the same
    /// propensities.
    @Test(arguments: [0.0, 0.3, 1.0])
    func planIsTheStepRepeated(epsilon: Double) {
        let weights = UtilityWeights.notebook
        let items = (0..<12).map { candidate("i\($0)", risk: Double(($0 * 7) % 12) / 12, weights: weights, seq: Int64($0)) }
        let planner = QueuePlanner<Stream>(schedule: ExplorationSchedule(epsilon: epsilon, seed: 9), weights: weights)
        func draw(_ pool: [QueueCandidate]) -> (inout SplitMix64, Set<Int64>) -> QueueCandidate? {
            { generator, excluded in
                let open = pool.filter { !excluded.contains($0.seq) }
                return open.isEmpty ? nil : open[Int(generator.next(below: UInt64(open.count)))]
            }
        }
        let plan = planner.plan(
            stream: items.sorted(by: QueueCandidate.comesFirst).makeIterator(), index: DiversityIndex(), firstStep: 5,
            poolSize: items.count, limit: 8, drawUniform: draw(items))
        var left = items
        var stepwise: [Selection] = []
        for step in 5..<13 {
            var selector = LazyGreedySelector(stream: left.sorted(by: QueueCandidate.comesFirst).makeIterator(), weights: weights)
            guard let selection = planner.step(step, selector: &selector, index: DiversityIndex(), poolSize: left.count, excluded: [], drawUniform: draw(left))
            else { break }
            stepwise.append(selection)
            left.removeAll { $0.seq == selection.candidate.seq }
        }
        #expect(plan.map(\.candidate.id) == stepwise.map(\.candidate.id))
        #expect(plan.map(\.propensity) == stepwise.map(\.propensity))
        #expect(plan.map(\.policy) == stepwise.map(\.policy))
    }

    /// The recorded propensity is the probability the step picks the item: over many seeds, each
    /// item's share of first picks matches it.
    @Test func propensitiesAreExactFrequencies() {
        let weights = UtilityWeights.notebook
        let items = (0..<5).map { candidate("i\($0)", risk: Double($0) / 5, weights: weights, seq: Int64($0)) }
        var counts: [String: Int] = [:]
        var propensity: [String: Double] = [:]
        let runs = 40_000
        for seed in 0..<UInt64(runs) {
            let planner = QueuePlanner<Stream>(schedule: ExplorationSchedule(epsilon: 0.4, seed: seed), weights: weights)
            var selector = LazyGreedySelector(stream: items.sorted(by: QueueCandidate.comesFirst).makeIterator(), weights: weights)
            let selection = planner.step(0, selector: &selector, index: DiversityIndex(), poolSize: 5, excluded: [], drawUniform: { generator, _ in
                items[Int(generator.next(below: 5))]
            })!
            counts[selection.candidate.id, default: 0] += 1
            propensity[selection.candidate.id] = selection.propensity
        }
        #expect(propensity["i4"] == 0.6 + 0.4 / 5)
        for item in items {
            let share = Double(counts[item.id, default: 0]) / Double(runs)
            #expect(abs(share - propensity[item.id]!) < 0.01, "\(item.id): \(share) vs \(propensity[item.id]!)")
        }
    }
}
