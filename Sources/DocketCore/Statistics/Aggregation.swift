#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Final labels from several reviewers' labels.
public enum Aggregation {
    /// Per item: the most frequent category and its vote share; ties go to the category declared
    /// first. Items without labels get nil.
    public static func majority(_ table: RatingTable) -> [(category: Int, share: Double)?] {
        let k = max(table.categories, 1)
        return (0..<table.items).map { i in
            var counts = [Double](repeating: 0, count: k)
            var total = 0.0
            for r in 0..<table.raters { if let v = table[i, r], Int(v) < k { counts[Int(v)] += 1; total += 1 } }
            guard total > 0 else { return nil }
            var best = 0
            for c in 1..<k where counts[c] > counts[best] { best = c }
            return (best, counts[best] / total)
        }
    }

    public struct DawidSkeneResult: Sendable {
        /// Posterior class probabilities per item (nil for items without labels).
        public var posteriors: [[Double]?]
        public var priors: [Double]
        /// confusion[reviewer][true class][given class]
        public var confusion: [[[Double]]]
        public var iterations: Int
        public var converged: Bool
        /// Largest change of any posterior in the last iteration.
        public var lastChange: Double

        public var labels: [Int?] {
            posteriors.map { p in p.map { probs in probs.indices.max { probs[$0] < probs[$1] || (probs[$0] == probs[$1] && $0 > $1) }! } }
        }
    }

    /// Dawid & Skene (1979) expectation–maximisation, initialised from majority-vote fractions and
    /// run until the largest change in any posterior is below `tolerance` (or `maxIterations`).
    ///
    /// M-step: priors π_k = mean_i T_ik; for reviewer j, e_j[k][l] ∝ Σ_i T_ik [j gave l on i],
    /// normalised over the labels j has given (counts floored at 1e-10, as crowd-kit does).
    /// E-step: T_ik ∝ π_k Π_j e_j[k][l_ij], computed in log space.
    /// Complexity: O(iterations × labels × k).
    public static func dawidSkene(_ table: RatingTable, tolerance: Double = 1e-10, maxIterations: Int = 10_000) -> DawidSkeneResult {
        let k = table.categories
        let j = table.raters
        let eps = 1e-10
        // Observations as (item, reviewer, class).
        var observations: [(Int, Int, Int)] = []
        for i in 0..<table.items { for r in 0..<j { if let v = table[i, r] { observations.append((i, r, Int(v))) } } }
        var present = [[Bool]](repeating: [Bool](repeating: false, count: k), count: j)
        for (_, r, l) in observations { present[r][l] = true }
        var hasLabels = [Bool](repeating: false, count: table.items)
        for (i, _, _) in observations { hasLabels[i] = true }
        let labelled = (0..<table.items).filter { hasLabels[$0] }

        var posterior = [[Double]](repeating: [Double](repeating: 0, count: k), count: table.items)
        for (i, _, l) in observations { posterior[i][l] += 1 }
        for i in labelled {
            let total = posterior[i].reduce(0, +)
            for c in 0..<k { posterior[i][c] /= total }
        }
        var priors = [Double](repeating: 0, count: k)
        var confusion = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: k), count: k), count: j)

        func mStep() {
            priors = [Double](repeating: 0, count: k)
            for i in labelled { for c in 0..<k { priors[c] += posterior[i][c] } }
            for c in 0..<k { priors[c] /= Double(labelled.count) }
            confusion = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: k), count: k), count: j)
            for (i, r, l) in observations { for c in 0..<k { confusion[r][c][l] += posterior[i][c] } }
            for r in 0..<j {
                for c in 0..<k {
                    var sum = 0.0
                    for l in 0..<k where present[r][l] {
                        confusion[r][c][l] = max(confusion[r][c][l], eps)
                        sum += confusion[r][c][l]
                    }
                    for l in 0..<k where present[r][l] { confusion[r][c][l] /= sum }
                }
            }
        }

        mStep()
        var iterations = 0
        var change = Double.infinity
        var logPosterior = [[Double]](repeating: [Double](repeating: 0, count: k), count: table.items)
        while iterations < maxIterations {
            iterations += 1
            for i in labelled { for c in 0..<k { logPosterior[i][c] = log(max(priors[c], eps)) } }
            for (i, r, l) in observations { for c in 0..<k { logPosterior[i][c] += log(confusion[r][c][l]) } }
            change = 0
            for i in labelled {
                let top = logPosterior[i].max()!
                var sum = 0.0
                var next = [Double](repeating: 0, count: k)
                for c in 0..<k { next[c] = exp(logPosterior[i][c] - top); sum += next[c] }
                for c in 0..<k {
                    next[c] /= sum
                    change = max(change, abs(next[c] - posterior[i][c]))
                }
                posterior[i] = next
            }
            mStep()
            if change < tolerance { break }
        }
        return DawidSkeneResult(
            posteriors: (0..<table.items).map { hasLabels[$0] ? posterior[$0] : nil }, priors: priors, confusion: confusion,
            iterations: iterations, converged: change < tolerance, lastChange: change)
    }
}
