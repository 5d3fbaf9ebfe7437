#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Final labels from several reviewers' labels.
public enum Aggregation {
    /// Per item: the most frequent category and its vote share; ties go to the category declared
    /// first. Items without labels get nil. This is the plain majority-vote statistic (crowd-kit's
    /// `MajorityVote`), checked against the reference values; final labels, with the `ties`
    /// setting, are `LabelRules.majority`.
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
        /// Why the model is undefined (no labels, one reviewer, or fewer than
        /// `minimumSharedItems` items labelled by two or more reviewers): then there are no priors,
        /// every confusion matrix is empty and no iteration ran.
        public var reason: String?
        /// support[reviewer][true class]: the posterior weight of that class over the items the
        /// reviewer labelled, Σ_i T_ik — how many items' worth of evidence its confusion row rests on.
        public var support: [[Double]] = []

        /// Why reviewer `r`'s confusion row for true class `truth` is undefined, or nil. A row
        /// resting on less than `minimumRowSupport` items' weight of that class is the floor
        /// (1e-10) renormalised, not an estimate: it would read 0 0 1 or 0.5 0 0.5 from no data.
        public func rowReason(reviewer r: Int, truth: Int) -> String? {
            guard reason == nil, r < support.count, truth < support[r].count else { return reason }
            let weight = support[r][truth]
            // 1e-6 of slack: the floor keeps a posterior of one item just under 1.
            guard weight + 1e-6 < Aggregation.minimumRowSupport else { return nil }
            if weight < 1e-6 { return "no item the reviewer labelled is estimated to be of this true class" }
            return "the items the reviewer labelled carry less than \(Int(Aggregation.minimumRowSupport)) item's weight of this true class"
        }

        public var labels: [Int?] {
            posteriors.map { p in p.map { probs in probs.indices.max { probs[$0] < probs[$1] || (probs[$0] == probs[$1] && $0 > $1) }! } }
        }
    }

    /// Items labelled by two or more reviewers Dawid–Skene needs before it is fitted: with fewer,
    /// the reviewers' confusion matrices rest on one or two comparisons and read as certainty.
    public static let minimumSharedItems = 3

    /// The weight (in items) of a true class among a reviewer's labelled items below which that
    /// reviewer's confusion row for the class is undefined.
    public static let minimumRowSupport = 1.0

    /// Why Dawid–Skene cannot be fitted to `table`, or nil: no categories, no labels, fewer than
    /// two reviewers with labels, or fewer than `minimumSharedItems` items with two or more labels.
    public static func undefinedReason(_ table: RatingTable) -> String? {
        if table.categories == 0 { return "no labels are declared" }
        if table.labelCount == 0 { return "no item has a current label" }
        var labelling = Set<Int>()
        var shared = 0
        for i in 0..<table.items {
            var here = 0
            for r in 0..<table.raters where table[i, r] != nil { labelling.insert(r); here += 1 }
            if here >= 2 { shared += 1 }
        }
        if labelling.count < 2 {
            return "Dawid–Skene compares reviewers on the items they share; \(AgreementRows.reviewerCount(labelling.count)) with labels"
        }
        if shared < minimumSharedItems {
            let found = shared == 0 ? "no two reviewers share items" : "\(shared) \(shared == 1 ? "item has" : "items have") labels from two or more reviewers"
            return "\(found); Dawid–Skene needs at least \(minimumSharedItems)"
        }
        return nil
    }

    /// Dawid & Skene (1979) expectation–maximisation, initialised from majority-vote fractions and
    /// run until the largest change in any posterior is below `tolerance` (or `maxIterations`).
    ///
    /// M-step: priors π_k = mean_i T_ik; for reviewer j, e_j[k][l] ∝ Σ_i T_ik [j gave l on i],
    /// normalised over the labels j has given (counts floored at 1e-10, as crowd-kit does).
    /// E-step: T_ik ∝ π_k Π_j e_j[k][l_ij], computed in log space.
    /// With nothing to fit (`undefinedReason`: no labels, one reviewer, fewer than
    /// `minimumSharedItems` shared items) the result has no priors, no posteriors and a `reason`,
    /// never NaN. A confusion row resting on too little weight has a `rowReason`.
    /// Complexity: O(iterations × labels × k).
    public static func dawidSkene(_ table: RatingTable, tolerance: Double = 1e-10, maxIterations: Int = 10_000) -> DawidSkeneResult {
        let k = table.categories
        let j = table.raters
        if let reason = undefinedReason(table) {
            return DawidSkeneResult(
                posteriors: [[Double]?](repeating: nil, count: table.items), priors: [], confusion: [[[Double]]](repeating: [], count: j),
                iterations: 0, converged: false, lastChange: 0, reason: reason)
        }
        let eps = 1e-10
        // Observations as parallel arrays: item, reviewer, class.
        var obsItem: [Int32] = [], obsRater: [Int32] = [], obsClass: [Int32] = []
        var present = [Bool](repeating: false, count: j * k)
        var hasLabels = [Bool](repeating: false, count: table.items)
        table.values.withUnsafeBufferPointer { values in
            for i in 0..<table.items {
                for r in 0..<j {
                    let v = values[i * j + r]
                    guard !v.isNaN else { continue }
                    obsItem.append(Int32(i)); obsRater.append(Int32(r)); obsClass.append(Int32(v))
                    present[r * k + Int(v)] = true
                    hasLabels[i] = true
                }
            }
        }
        let labelled = (0..<table.items).filter { hasLabels[$0] }
        let count = obsItem.count

        // Posteriors T (items × k), initialised from majority-vote fractions.
        var posterior = [Double](repeating: 0, count: table.items * k)
        for o in 0..<count { posterior[Int(obsItem[o]) * k + Int(obsClass[o])] += 1 }
        for i in labelled {
            var total = 0.0
            for c in 0..<k { total += posterior[i * k + c] }
            for c in 0..<k { posterior[i * k + c] /= total }
        }
        var priors = [Double](repeating: 0, count: k)
        // confusion[(r * k + truth) * k + given]
        var confusion = [Double](repeating: 0, count: j * k * k)
        // logConfusion[(r * k + given) * k + truth], laid out for the E-step's inner loop.
        var logConfusion = [Double](repeating: 0, count: j * k * k)

        func mStep() {
            for c in 0..<k { priors[c] = 0 }
            for i in labelled { for c in 0..<k { priors[c] += posterior[i * k + c] } }
            for c in 0..<k { priors[c] /= Double(labelled.count) }
            for x in confusion.indices { confusion[x] = 0 }
            posterior.withUnsafeBufferPointer { t in
                confusion.withUnsafeMutableBufferPointer { e in
                    for o in 0..<count {
                        let i = Int(obsItem[o]), r = Int(obsRater[o]), l = Int(obsClass[o])
                        for c in 0..<k { e[(r * k + c) * k + l] += t[i * k + c] }
                    }
                }
            }
            for r in 0..<j {
                for c in 0..<k {
                    var sum = 0.0
                    for l in 0..<k where present[r * k + l] {
                        confusion[(r * k + c) * k + l] = max(confusion[(r * k + c) * k + l], eps)
                        sum += confusion[(r * k + c) * k + l]
                    }
                    for l in 0..<k where present[r * k + l] {
                        confusion[(r * k + c) * k + l] /= sum
                        logConfusion[(r * k + l) * k + c] = log(confusion[(r * k + c) * k + l])
                    }
                }
            }
        }

        mStep()
        var iterations = 0
        var change = Double.infinity
        var logPosterior = [Double](repeating: 0, count: table.items * k)
        var next = [Double](repeating: 0, count: k)
        while iterations < maxIterations {
            iterations += 1
            let logPriors = priors.map { log(max($0, eps)) }
            for i in labelled { for c in 0..<k { logPosterior[i * k + c] = logPriors[c] } }
            logConfusion.withUnsafeBufferPointer { lc in
                logPosterior.withUnsafeMutableBufferPointer { lp in
                    for o in 0..<count {
                        let base = Int(obsItem[o]) * k
                        let row = (Int(obsRater[o]) * k + Int(obsClass[o])) * k
                        for c in 0..<k { lp[base + c] += lc[row + c] }
                    }
                }
            }
            change = 0
            for i in labelled {
                var top = -Double.infinity
                for c in 0..<k { top = max(top, logPosterior[i * k + c]) }
                var sum = 0.0
                for c in 0..<k { next[c] = exp(logPosterior[i * k + c] - top); sum += next[c] }
                for c in 0..<k {
                    let value = next[c] / sum
                    change = max(change, abs(value - posterior[i * k + c]))
                    posterior[i * k + c] = value
                }
            }
            mStep()
            if change < tolerance { break }
        }
        var support = [[Double]](repeating: [Double](repeating: 0, count: k), count: j)
        for o in 0..<count { for c in 0..<k { support[Int(obsRater[o])][c] += posterior[Int(obsItem[o]) * k + c] } }
        var result = DawidSkeneResult(
            posteriors: (0..<table.items).map { i in hasLabels[i] ? Array(posterior[(i * k)..<(i * k + k)]) : nil }, priors: priors,
            confusion: (0..<j).map { r in (0..<k).map { c in Array(confusion[((r * k + c) * k)..<((r * k + c) * k + k)]) } },
            iterations: iterations, converged: change < tolerance, lastChange: change, reason: nil)
        result.support = support
        return result
    }
}
