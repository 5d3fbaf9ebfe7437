import Testing

@testable import DocketCore

func candidate(_ id: String, risk: Double, uncertainty: Double = 0, diversity: Double? = nil, embedding: [Float]? = nil, weights: UtilityWeights = .notebook, seq: Int64 = 0) -> QueueCandidate {
    QueueCandidate(
        seq: seq, id: id, risk: risk, uncertainty: uncertainty, diversity: embedding != nil && diversity == nil ? 1 : diversity,
        embedding: embedding, diversityFromEmbedding: embedding != nil && diversity == nil, weights: weights)
}

@Suite struct UtilityTests {
    @Test func utilityIsTheNotebookFormula() {
        #expect(Utility.score(risk: 0.8, uncertainty: 0.4, diversity: 0.2, weights: .notebook) == 0.5 * 0.8 + 0.35 * 0.4 + 0.15 * 0.2)
        #expect(Utility.score(risk: nil, uncertainty: 0.4, diversity: nil, weights: .notebook) == 0.35 * 0.4)
    }

    @Test func queueOrderIsTotalWithTiesBrokenByID() {
        let a = candidate("a", risk: 0.5), b = candidate("b", risk: 0.5), c = candidate("c", risk: 0.9)
        #expect(QueueCandidate.comesFirst(c, a))
        #expect(QueueCandidate.comesFirst(a, b))
        #expect(!QueueCandidate.comesFirst(b, a))
    }
}

@Suite struct HeapTests {
    @Test func popsInOrderAndKeepsItsInvariant() {
        var generator = SplitMix64(seed: 11)
        for size in [0, 1, 2, 7, 100, 1000] {
            let values = (0..<size).map { _ in Int(generator.next(below: 50)) }
            var heap = Heap(values, comesFirst: >)
            #expect(heap.isValidHeap())
            var popped: [Int] = []
            while let next = heap.popMax() {
                popped.append(next)
                #expect(heap.isValidHeap())
            }
            #expect(popped == values.sorted(by: >))
        }
    }

    @Test func tiesComeOutInTheTotalOrder() {
        let items = ["d", "b", "a", "c"].map { candidate($0, risk: 0.5) } + [candidate("z", risk: 0.6)]
        var heap = Heap(items, comesFirst: QueueCandidate.comesFirst)
        var order: [String] = []
        while let next = heap.popMax() { order.append(next.id) }
        #expect(order == ["z", "a", "b", "c", "d"])
    }
}

/// Greedy k-center with utility, by brute force: at each step recompute every candidate.
func bruteForceGreedy(_ candidates: [QueueCandidate], selected: [[Float]], count: Int, weights: UtilityWeights) -> [String] {
    var index = DiversityIndex()
    for embedding in selected { index.add(embedding) }
    var remaining = candidates
    var order: [String] = []
    for _ in 0..<count where !remaining.isEmpty {
        let scored = remaining.map { c -> QueueCandidate in
            var c = c
            if c.diversityFromEmbedding, let e = c.embedding {
                c.diversity = index.diversity(of: e)
                c.utility = Utility.score(risk: c.risk, uncertainty: c.uncertainty, diversity: c.diversity, weights: weights)
            }
            return c
        }
        let best = scored.min(by: QueueCandidate.comesFirst)!
        order.append(best.id)
        if let e = best.embedding { index.add(e) }
        remaining.removeAll { $0.id == best.id }
    }
    return order
}

@Suite struct LazyGreedyTests {
    func randomUnit(_ generator: inout SplitMix64, dimension: Int) -> [Float] {
        var v = (0..<dimension).map { _ in Float(generator.nextUnit() * 2 - 1) }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = v.map { $0 / norm }
        return v
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func lazySelectionEqualsBruteForceGreedy(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let weights = UtilityWeights(risk: 0.3, uncertainty: 0.2, diversity: 0.5)
        let candidates = (0..<200).map { i in
            candidate(
                "i\(i)", risk: Double(generator.next(below: 10)) / 10, uncertainty: generator.nextUnit(),
                embedding: randomUnit(&generator, dimension: 4), weights: weights, seq: Int64(i))
        }
        let selected = (0..<3).map { _ in randomUnit(&generator, dimension: 4) }
        let expected = bruteForceGreedy(candidates, selected: selected, count: 40, weights: weights)

        var index = DiversityIndex()
        for e in selected { index.add(e) }
        let sorted = candidates.sorted(by: QueueCandidate.comesFirst)
        var selector = LazyGreedySelector(stream: sorted.makeIterator(), weights: weights)
        var order: [String] = []
        for _ in 0..<40 {
            let next = selector.next(index: index)!
            order.append(next.id)
            index.add(next.embedding!)
        }
        #expect(order == expected)
    }

    @Test func nearDuplicatesAreSpreadOut() {
        // Two tight clusters; the second item taken must come from the other cluster.
        let weights = UtilityWeights(risk: 0.5, uncertainty: 0, diversity: 0.5)
        let items = [
            candidate("a1", risk: 0.9, embedding: [1, 0], weights: weights),
            candidate("a2", risk: 0.89, embedding: [0.9999, 0.0141], weights: weights),
            candidate("b1", risk: 0.5, embedding: [0, 1], weights: weights),
        ].sorted(by: QueueCandidate.comesFirst)
        var selector = LazyGreedySelector(stream: items.makeIterator(), weights: weights)
        var index = DiversityIndex()
        let first = selector.next(index: index)!
        index.add(first.embedding!)
        let second = selector.next(index: index)!
        #expect([first.id, second.id] == ["a1", "b1"])
        // Distance between orthogonal unit vectors is √2, so diversity is √2 / 2.
        #expect(abs(second.diversity! - 2.0.squareRoot() / 2) < 1e-6)
    }
}

@Suite struct ExplorationTests {
    @Test func drawsAreReproducibleAndNearEpsilon() {
        let schedule = ExplorationSchedule(epsilon: 0.1, seed: 99)
        let first = (0..<10_000).map { schedule.draw(step: $0).policy }
        let again = (0..<10_000).map { schedule.draw(step: $0).policy }
        #expect(first == again)
        let explored = first.filter { $0 == .explore }.count
        // Binomial(10000, 0.1): mean 1000, sd 30; six sd either side.
        #expect((820...1180).contains(explored))
        #expect(ExplorationSchedule(epsilon: 0, seed: 1).draw(step: 5).policy == .exploit)
        #expect(ExplorationSchedule(epsilon: 1, seed: 1).draw(step: 5).policy == .explore)
    }

    @Test func propensityIsEpsilonGreedyProbability() {
        let schedule = ExplorationSchedule(epsilon: 0.2, seed: 0)
        #expect(schedule.propensity(isTop: true, poolSize: 4) == 0.8 + 0.05)
        #expect(schedule.propensity(isTop: false, poolSize: 4) == 0.05)
    }

    @Test func plannerFollowsUtilityWithoutExploration() {
        let weights = UtilityWeights.notebook
        let items = (0..<10).map { candidate("i\($0)", risk: Double($0 % 5) / 5, weights: weights, seq: Int64($0)) }
        let planner = QueuePlanner<IndexingIterator<[QueueCandidate]>>(schedule: ExplorationSchedule(epsilon: 0, seed: 1), weights: weights)
        let plan = planner.plan(
            stream: items.sorted(by: QueueCandidate.comesFirst).makeIterator(), index: DiversityIndex(), firstStep: 0,
            poolSize: 10, limit: 4, drawUniform: { _, _ in nil })
        #expect(plan.map(\.candidate.id) == ["i4", "i9", "i3", "i8"])
        #expect(plan.map(\.propensity) == [1, 1, 1, 1])
        #expect(plan.map(\.step) == [0, 1, 2, 3])
    }

    @Test func plannerExploresWithTheRecordedPropensity() {
        let weights = UtilityWeights.notebook
        let items = (0..<10).map { candidate("i\($0)", risk: Double($0) / 10, weights: weights, seq: Int64($0)) }
        let planner = QueuePlanner<IndexingIterator<[QueueCandidate]>>(schedule: ExplorationSchedule(epsilon: 1, seed: 1), weights: weights)
        let plan = planner.plan(
            stream: items.sorted(by: QueueCandidate.comesFirst).makeIterator(), index: DiversityIndex(), firstStep: 0,
            poolSize: 10, limit: 3,
            drawUniform: { generator, excluded in
                let open = items.filter { !excluded.contains($0.seq) }
                return open[Int(generator.next(below: UInt64(open.count)))]
            })
        #expect(plan.count == 3)
        #expect(Set(plan.map(\.candidate.id)).count == 3)
        for (offset, selection) in plan.enumerated() {
            #expect(selection.policy == .explore)
            // With epsilon = 1 every item of the pool is equally likely.
            #expect(selection.propensity == 1 / Double(10 - offset))
        }
    }
}
