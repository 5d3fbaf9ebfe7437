/// How a served item was chosen.
public enum SelectionPolicy: String, Sendable, CaseIterable {
    /// The top of the utility ranking.
    case exploit
    /// A uniform draw from the unserved pool.
    case explore
}

/// Utility = w_risk·risk + w_uncertainty·uncertainty + w_diversity·diversity, with a missing
/// term counting as 0 (the seed notebook's formula, with its weights as defaults).
public enum Utility {
    public static func score(risk: Double?, uncertainty: Double?, diversity: Double?, weights: UtilityWeights) -> Double {
        weights.risk * (risk ?? 0) + weights.uncertainty * (uncertainty ?? 0) + weights.diversity * (diversity ?? 0)
    }

    /// The risk term of an item: the model's risk, else a lead's triage severity (0–3) as a
    /// share of 3 (triage stands in for a missing model risk), else none.
    public static func risk(model: Double?, triage: Int?) -> Double? {
        model ?? triage.map { Double($0) / 3 }
    }

    /// The utility of an item from its stored parts: `score` with `risk(model:triage:)`.
    public static func score(risk model: Double?, triage: Int?, uncertainty: Double?, diversity: Double?, weights: UtilityWeights) -> Double {
        score(risk: risk(model: model, triage: triage), uncertainty: uncertainty, diversity: diversity, weights: weights)
    }
}

/// An item as the queue sees it.
public struct QueueCandidate: Equatable, Sendable {
    public var seq: Int64
    public var id: String
    public var risk: Double?
    public var uncertainty: Double?
    /// Given diversity, or for embedding items the last computed distance (an upper bound).
    public var diversity: Double?
    /// Unit-length embedding when diversity is computed from it.
    public var embedding: [Float]?
    /// True when diversity comes from the embedding and must be recomputed as the selected set grows.
    public var diversityFromEmbedding: Bool
    public var utility: Double
    /// Size of the selected set the diversity was last computed against (for lazy greedy).
    var evaluatedAgainst: Int

    public init(
        seq: Int64, id: String, risk: Double?, uncertainty: Double?, diversity: Double?, embedding: [Float]?,
        diversityFromEmbedding: Bool, weights: UtilityWeights
    ) {
        self.seq = seq
        self.id = id
        self.risk = risk
        self.uncertainty = uncertainty
        self.diversity = diversity
        self.embedding = embedding
        self.diversityFromEmbedding = diversityFromEmbedding
        self.utility = Utility.score(risk: risk, uncertainty: uncertainty, diversity: diversity, weights: weights)
        self.evaluatedAgainst = -1
    }

    /// The queue's total order: higher utility first, then id ascending by its UTF-8 bytes (the
    /// order of SQLite's `ORDER BY utility DESC, id`, which the store's indexes follow; Swift's
    /// `<` would call the NFC and NFD spellings of one id equal, and they are two items).
    public static func comesFirst(_ a: QueueCandidate, _ b: QueueCandidate) -> Bool {
        a.utility != b.utility ? a.utility > b.utility : a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
    }
}

/// The embeddings of items already selected or labelled; diversity is the distance to the nearest.
///
/// Embeddings are unit vectors, so the Euclidean distance lies in 0...2 and diversity = distance / 2
/// lies in 0...1. With nothing selected yet, diversity is 1.
public struct DiversityIndex: Sendable {
    public private(set) var dimension: Int?
    private var flat: [Float] = []
    public private(set) var count = 0

    public init() {}

    public mutating func add(_ embedding: [Float]) {
        if dimension == nil { dimension = embedding.count }
        guard embedding.count == dimension else { return }
        flat.append(contentsOf: embedding)
        count += 1
    }

    /// Distance / 2 to the nearest member, in 0...1.
    /// - Complexity: O(count · dimension).
    public func diversity(of embedding: [Float]) -> Double {
        guard let dimension, count > 0, embedding.count == dimension else { return 1 }
        var best = Float.infinity
        flat.withUnsafeBufferPointer { members in
            embedding.withUnsafeBufferPointer { query in
                for member in 0..<count {
                    let base = member * dimension
                    var sum: Float = 0
                    for k in 0..<dimension {
                        let d = members[base + k] - query[k]
                        sum += d * d
                    }
                    if sum < best { best = sum }
                }
            }
        }
        return min(1, Double(best.squareRoot()) / 2)
    }
}

/// Lazy greedy k-center selection (Minoux's accelerated greedy applied to the k-center score).
///
/// Candidates arrive from `stream` in the queue's order of *stored* utility. For items whose
/// diversity comes from an embedding the stored value is an upper bound, because the distance to
/// the selected set can only shrink as the set grows. The selector pops the best bound, recomputes
/// it against the current set, and accepts it once a freshly computed candidate is still first:
/// no other candidate's bound can beat it, so the choice is exactly the greedy one.
public struct LazyGreedySelector<Stream: IteratorProtocol> where Stream.Element == QueueCandidate {
    private var stream: Stream
    private var peeked: QueueCandidate?
    private var streamDone = false
    private var pending: Heap<QueueCandidate>
    public let weights: UtilityWeights
    /// Called with each candidate whose stored bound was lowered, so a store may persist it.
    public var onRescore: ((QueueCandidate) -> Void)?

    public init(stream: Stream, weights: UtilityWeights) {
        self.stream = stream
        self.weights = weights
        self.pending = Heap(comesFirst: QueueCandidate.comesFirst)
    }

    private mutating func peekStream() -> QueueCandidate? {
        if peeked == nil, !streamDone {
            peeked = stream.next()
            if peeked == nil { streamDone = true }
        }
        return peeked
    }

    /// The best candidate not excluded, removed from the selector.
    /// - Parameter excluded: items to pass over (already chosen in this plan).
    public mutating func next(index: DiversityIndex, excluded: (Int64) -> Bool = { _ in false }) -> QueueCandidate? {
        while true {
            let fromStream = peekStream()
            let fromHeap = pending.max
            var candidate: QueueCandidate
            switch (fromStream, fromHeap) {
            case (nil, nil): return nil
            case let (s?, h?):
                if QueueCandidate.comesFirst(h, s) { candidate = pending.popMax()! } else { candidate = s; peeked = nil }
            case let (s?, nil): candidate = s; peeked = nil
            case let (nil, h?): _ = h; candidate = pending.popMax()!
            }
            if excluded(candidate.seq) { continue }
            guard candidate.diversityFromEmbedding, let embedding = candidate.embedding,
                candidate.evaluatedAgainst != index.count
            else { return candidate }
            let fresh = index.diversity(of: embedding)
            candidate.evaluatedAgainst = index.count
            if fresh != candidate.diversity {
                candidate.diversity = fresh
                candidate.utility = Utility.score(risk: candidate.risk, uncertainty: candidate.uncertainty, diversity: fresh, weights: weights)
                onRescore?(candidate)
            }
            pending.insert(candidate)
        }
    }
}

/// The epsilon-greedy schedule. Step s (the s-th new item selected in the project, from 0) draws
/// u from a SplitMix64 seeded by (seed, s): u < epsilon explores, otherwise exploits. The
/// generator is handed back so the explore draw itself stays reproducible.
public struct ExplorationSchedule: Sendable {
    public var epsilon: Double
    public var seed: UInt64

    public init(epsilon: Double, seed: UInt64) {
        self.epsilon = epsilon
        self.seed = seed
    }

    public func draw(step: Int) -> (policy: SelectionPolicy, generator: SplitMix64) {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: step) &* 0xD1B5_4A32_D192_ED03))
        var generator = SplitMix64(seed: mixer.next())
        let u = generator.nextUnit()
        return (u < epsilon ? .explore : .exploit, generator)
    }

    /// Probability that a given item was the one selected at a step:
    /// (1 − ε)·[item is the utility top] + ε / poolSize.
    public func propensity(isTop: Bool, poolSize: Int) -> Double {
        precondition(poolSize > 0, "the pool cannot be empty")
        return (isTop ? 1 - epsilon : 0) + epsilon / Double(poolSize)
    }
}

/// One planned or recorded selection.
public struct Selection: Equatable, Sendable {
    public var candidate: QueueCandidate
    public var policy: SelectionPolicy
    public var propensity: Double
    public var step: Int

    public init(candidate: QueueCandidate, policy: SelectionPolicy, propensity: Double, step: Int) {
        self.candidate = candidate
        self.policy = policy
        self.propensity = propensity
        self.step = step
    }
}

/// Plans the next selections in serving order without side effects; the store uses the same
/// pieces one step at a time when it hands out items.
public struct QueuePlanner<Stream: IteratorProtocol> where Stream.Element == QueueCandidate {
    public var schedule: ExplorationSchedule
    public var weights: UtilityWeights

    public init(schedule: ExplorationSchedule, weights: UtilityWeights) {
        self.schedule = schedule
        self.weights = weights
    }

    /// - Parameters:
    ///   - stream: unserved items in stored-utility order.
    ///   - index: embeddings already selected or labelled.
    ///   - firstStep: how many items the project has selected so far.
    ///   - poolSize: how many items are unserved now.
    ///   - limit: how many selections to plan.
    ///   - drawUniform: picks an unserved item uniformly at random, skipping the ones passed in;
    ///     nil when none is left.
    public func plan(
        stream: Stream, index: DiversityIndex, firstStep: Int, poolSize: Int, limit: Int,
        drawUniform: (inout SplitMix64, Set<Int64>) -> QueueCandidate?
    ) -> [Selection] {
        var selector = LazyGreedySelector(stream: stream, weights: weights)
        var index = index
        var chosen = Set<Int64>()
        var plan: [Selection] = []
        var pool = poolSize
        while plan.count < limit, pool > 0 {
            guard let selection = step(firstStep + plan.count, selector: &selector, index: index, poolSize: pool, excluded: chosen, drawUniform: drawUniform)
            else { break }
            plan.append(selection)
            chosen.insert(selection.candidate.seq)
            if let embedding = selection.candidate.embedding { index.add(embedding) }
            pool -= 1
        }
        return plan
    }

    /// One selection step, the only one: `plan` repeats it and the store takes it once per new
    /// item it hands out. Step `step` draws its policy from the schedule; it exploits the top of
    /// the lazy greedy ranking, or explores a uniform draw from the pool (recomputing the drawn
    /// item's diversity against `index`). The propensity is the exact probability that this step
    /// picks the chosen item: (1 − ε)·[it is the top] + ε / `poolSize`.
    /// - Parameters:
    ///   - selector: the ranking over the unserved items; a top passed over by exploration is put back.
    ///   - excluded: items already chosen (passed to the selector and the draw).
    public func step(
        _ step: Int, selector: inout LazyGreedySelector<Stream>, index: DiversityIndex, poolSize: Int, excluded: Set<Int64>,
        drawUniform: (inout SplitMix64, Set<Int64>) -> QueueCandidate?
    ) -> Selection? {
        guard poolSize > 0 else { return nil }
        var (policy, generator) = schedule.draw(step: step)
        guard let top = selector.next(index: index, excluded: { excluded.contains($0) }) else { return nil }
        var pick = top
        if policy == .explore, let drawn = drawUniform(&generator, excluded) {
            // Drawing the top itself keeps its freshly computed diversity.
            if drawn.seq != top.seq {
                pick = drawn
                selector.putBack(top)
            }
        } else {
            policy = .exploit
        }
        if pick.diversityFromEmbedding, let embedding = pick.embedding, pick.seq != top.seq {
            pick.diversity = index.diversity(of: embedding)
            pick.utility = Utility.score(risk: pick.risk, uncertainty: pick.uncertainty, diversity: pick.diversity, weights: weights)
        }
        let propensity = schedule.propensity(isTop: pick.seq == top.seq, poolSize: poolSize)
        return Selection(candidate: pick, policy: policy, propensity: propensity, step: step)
    }
}

extension LazyGreedySelector {
    /// Returns a candidate taken with `next` but not used.
    public mutating func putBack(_ candidate: QueueCandidate) {
        pending.insert(candidate)
    }
}
