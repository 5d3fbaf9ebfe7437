#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Proportions {
    /// Clopper–Pearson ("exact") interval: the Beta(k, n − k + 1) and Beta(k + 1, n − k) quantiles,
    /// found by bisection on the regularised incomplete beta function; 0 at k = 0 and 1 at k = n.
    public static func clopperPearson(successes k: Int, trials n: Int, level: Double = 0.95) -> (low: Double, high: Double)? {
        guard n > 0, k >= 0, k <= n else { return nil }
        let alpha = 1 - level
        func betaQuantile(_ p: Double, _ a: Double, _ b: Double) -> Double {
            var low = 0.0, high = 1.0
            for _ in 0..<200 {
                let mid = (low + high) / 2
                if Distributions.incompleteBeta(mid, a, b) < p { low = mid } else { high = mid }
            }
            return (low + high) / 2
        }
        let lower = k == 0 ? 0 : betaQuantile(alpha / 2, Double(k), Double(n - k + 1))
        let upper = k == n ? 1 : betaQuantile(1 - alpha / 2, Double(k + 1), Double(n - k))
        return (lower, upper)
    }

    /// The Hájek (ratio) inverse-probability-weighted estimate of a proportion from a sample drawn
    /// with known selection probabilities: p̂ = Σ y_i/π_i ÷ Σ 1/π_i, with the linearised variance
    /// Σ w_i²(y_i − p̂)² ÷ (Σ w_i)², w_i = 1/π_i, and a normal interval clipped to [0, 1]
    /// (Särndal, Swensson & Wretman 1992, §5.7).
    public static func hajek(outcomes: [Bool], propensities: [Double], level: Double = 0.95) -> (estimate: Double, low: Double, high: Double, effectiveSize: Double)? {
        guard !outcomes.isEmpty, outcomes.count == propensities.count, propensities.allSatisfy({ $0 > 0 }) else { return nil }
        var sumW = 0.0, sumWY = 0.0, sumW2 = 0.0
        for (y, p) in zip(outcomes, propensities) {
            let w = 1 / p
            sumW += w
            sumW2 += w * w
            if y { sumWY += w }
        }
        let estimate = sumWY / sumW
        var v = 0.0
        for (y, p) in zip(outcomes, propensities) {
            let w = 1 / p
            let d = (y ? 1.0 : 0.0) - estimate
            v += w * w * d * d
        }
        v /= sumW * sumW
        let z = Distributions.normalQuantile(1 - (1 - level) / 2)
        let half = z * v.squareRoot()
        return (estimate, max(0, estimate - half), min(1, estimate + half), sumW * sumW / sumW2)
    }
}

/// Guardrail threshold analysis: a model's risk score against the human verdict.
public enum ThresholdAnalysis {
    public struct Point: Equatable, Sendable {
        /// Items scoring at or above the threshold are blocked.
        public var threshold: Double
        public var truePositiveRate: Double
        public var falsePositiveRate: Double
    }

    /// TPR and FPR at every distinct score (blocking score ≥ threshold), highest threshold first,
    /// preceded by the point that blocks nothing. Items with equal scores move together.
    public static func curve(scores: [Double], positives: [Bool]) -> [Point]? {
        let p = positives.filter { $0 }.count, n = positives.count - p
        guard p > 0, n > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points = [Point(threshold: .infinity, truePositiveRate: 0, falsePositiveRate: 0)]
        var tp = 0, fp = 0, index = 0
        while index < order.count {
            let threshold = scores[order[index]]
            while index < order.count, scores[order[index]] == threshold {
                if positives[order[index]] { tp += 1 } else { fp += 1 }
                index += 1
            }
            points.append(Point(threshold: threshold, truePositiveRate: Double(tp) / Double(p), falsePositiveRate: Double(fp) / Double(n)))
        }
        return points
    }

    /// Area under the ROC curve by the trapezoid rule over the curve above; equal to the
    /// Mann–Whitney U statistic ÷ (positives × negatives), ties counting one half.
    public static func auc(_ curve: [Point]) -> Double {
        var area = 0.0
        for i in 1..<curve.count {
            area += (curve[i].falsePositiveRate - curve[i - 1].falsePositiveRate) * (curve[i].truePositiveRate + curve[i - 1].truePositiveRate) / 2
        }
        return area
    }

    /// The threshold with the highest TPR whose FPR is at most `targetFPR` (ties in TPR: the higher threshold).
    public static func threshold(forFalsePositiveRate target: Double, _ curve: [Point]) -> Point? {
        curve.filter { $0.falsePositiveRate <= target && $0.threshold.isFinite }
            .max { $0.truePositiveRate != $1.truePositiveRate ? $0.truePositiveRate < $1.truePositiveRate : $0.threshold > $1.threshold }
    }
}
