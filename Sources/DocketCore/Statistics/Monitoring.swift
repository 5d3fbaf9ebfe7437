#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Proportions {
    /// Clopper–Pearson ("exact") interval: the Beta(k, n − k + 1) and Beta(k + 1, n − k) quantiles
    /// (`Distributions.betaQuantile`); 0 at k = 0 and 1 at k = n.
    public static func clopperPearson(successes k: Int, trials n: Int, level: Double = 0.95) -> (low: Double, high: Double)? {
        guard n > 0, k >= 0, k <= n else { return nil }
        let alpha = 1 - level
        let lower = k == 0 ? 0 : Distributions.betaQuantile(alpha / 2, Double(k), Double(n - k + 1))
        let upper = k == n ? 1 : Distributions.betaQuantile(1 - alpha / 2, Double(k + 1), Double(n - k))
        return (lower, upper)
    }

    /// Jeffreys interval (Brown, Cai & DasGupta 2001, §4.1.2): the α/2 and 1 − α/2 quantiles of
    /// Beta(x + ½, n − x + ½), with the lower end 0 at x = 0 and the upper end 1 at x = n. `x` and
    /// `n` may be fractional (an effective number of successes and trials). Its width is positive
    /// for every n > 0. Nil when n ≤ 0 or x is outside 0...n.
    public static func jeffreys(successes x: Double, trials n: Double, level: Double = 0.95) -> (low: Double, high: Double)? {
        guard n > 0, n.isFinite, x >= 0, x <= n else { return nil }
        let alpha = 1 - level
        let lower = x <= 0 ? 0 : Distributions.betaQuantile(alpha / 2, x + 0.5, n - x + 0.5)
        let upper = x >= n ? 1 : Distributions.betaQuantile(1 - alpha / 2, x + 0.5, n - x + 0.5)
        return (lower, upper)
    }

    /// The Hájek (ratio) inverse-probability-weighted estimate of a proportion from a sample drawn
    /// with known selection probabilities: p̂ = Σ y_i/π_i ÷ Σ 1/π_i (Särndal, Swensson & Wretman
    /// 1992, §5.7), with Kish's effective sample size n_eff = (Σw)²/Σw², w_i = 1/π_i.
    ///
    /// The interval is the Jeffreys interval for p̂·n_eff successes in n_eff trials (the
    /// effective-sample-size approach of Korn & Graubard 1998, with Jeffreys in place of
    /// Clopper–Pearson), modified at the ends as Brown, Cai & DasGupta do (below one effective success
    /// the lower end is 0, below one effective failure the upper end is 1), so it always contains
    /// the estimate. The linearised normal interval collapses to a point when every outcome in
    /// the sample is equal, and with a handful of exploration picks its coverage falls far below
    /// 95%; this one keeps positive width and, in the seeded simulation of the queue's own
    /// epsilon-greedy selection (`HajekCoverageTests`), covers the true rate at least 90% of the
    /// time from n_eff ≈ 3 and 93–97% from n_eff ≈ 30. Clopper–Pearson on n_eff was too wide
    /// there (97–99% at n_eff 30), Wilson too narrow at n_eff 3 for rare outcomes (88%).
    /// Complexity O(n).
    public static func hajek(outcomes: [Bool], propensities: [Double], level: Double = 0.95) -> (estimate: Double, low: Double, high: Double, effectiveSize: Double)? {
        guard !outcomes.isEmpty, outcomes.count == propensities.count, propensities.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        return hajekUnchecked(outcomes: outcomes, propensities: propensities, level: level)
    }

    /// Selection weights (1/π) whose largest is within this factor of their smallest are "all
    /// equal": weighting corrects nothing. Under the queue's ε-greedy selection an item picked at the
    /// top of the ranking has π ≥ 1 − ε and any other item π = ε/N, so top picks (whatever their
    /// policy label: an exploration draw can land on the top item) differ only through the pool
    /// size N, by at most 1/(1 − ε) (1.11 at ε = 0.1), while a pick from below the top weighs
    /// N(1 − ε)/ε + 1 times more (at least 5 for ε ≤ 1/3).
    public static let equalWeightsFactor = 1.5

    /// Whether the selection weights 1/π are all equal within `equalWeightsFactor`.
    public static func weightsAreEqual(propensities: [Double]) -> Bool {
        guard let low = propensities.min(), let high = propensities.max(), low > 0 else { return true }
        return high / low <= equalWeightsFactor
    }

    static func hajekUnchecked(outcomes: [Bool], propensities: [Double], level: Double) -> (estimate: Double, low: Double, high: Double, effectiveSize: Double)? {
        guard !outcomes.isEmpty, outcomes.count == propensities.count, propensities.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        var sumW = 0.0, sumWY = 0.0, sumW2 = 0.0
        for (y, p) in zip(outcomes, propensities) {
            let w = 1 / p
            sumW += w
            sumW2 += w * w
            if y { sumWY += w }
        }
        let estimate = sumWY / sumW
        let effective = sumW * sumW / sumW2
        // Exactly 0 and 1 stay exact, so the interval's open end is exactly 0 or 1.
        let x = sumWY == 0 ? 0 : (sumWY == sumW ? effective : min(effective, estimate * effective))
        guard let interval = jeffreys(successes: x, trials: effective, level: level) else { return nil }
        // Brown, Cai & DasGupta's modified Jeffreys interval (2001, §4.1.2) ends at 0 when there are
        // almost no successes and at 1 when there are almost no failures: with fewer than one
        // effective success (or failure) the Beta quantile lies beyond the estimate itself
        // (0.00029 against a lower end of 0.00039). So the lower end is 0 when x < 1, the upper 1
        // when n_eff − x < 1, and the interval always holds the estimate.
        let low = x < 1 ? 0 : min(interval.low, estimate)
        let high = effective - x < 1 ? 1 : max(interval.high, estimate)
        return (estimate, low, high, effective)
    }
}

/// Guardrail threshold analysis: a model's risk score against the human verdict.
public enum ThresholdAnalysis {
    public struct Point: Equatable, Sendable {
        /// Items scoring at or above the threshold are blocked.
        public var threshold: Double
        public var truePositiveRate: Double
        public var falsePositiveRate: Double
        /// Harmful items blocked, of `positives`; benign items blocked, of `negatives`.
        public var truePositives: Int
        public var falsePositives: Int
        public var positives: Int
        public var negatives: Int

        public init(threshold: Double, truePositives: Int, falsePositives: Int, positives: Int, negatives: Int) {
            self.threshold = threshold
            self.truePositives = truePositives
            self.falsePositives = falsePositives
            self.positives = positives
            self.negatives = negatives
            truePositiveRate = Double(truePositives) / Double(positives)
            falsePositiveRate = Double(falsePositives) / Double(negatives)
        }

        /// Harmful items let through and benign items blocked, weighted by their costs.
        public func cost(_ ratio: CostRatio) -> Double {
            ratio.falseNegative * Double(positives - truePositives) + ratio.falsePositive * Double(falsePositives)
        }
    }

    /// The cost of a harmful item let through (`fn`) and of a benign item blocked (`fp`):
    /// `--cost fn=5,fp=1`. Only the ratio matters.
    public struct CostRatio: Equatable, Sendable {
        public var falseNegative: Double
        public var falsePositive: Double
        public init(falseNegative: Double, falsePositive: Double) {
            self.falseNegative = falseNegative
            self.falsePositive = falsePositive
        }

        /// The costs a value may take: above 0, at most a million.
        public static let range = 0.0...1_000_000.0

        /// Reads `fn=5,fp=1`: both costs, each once, each above 0 and at most 1,000,000.
        public static func parse(_ text: String) throws(CoreError) -> CostRatio {
            var costs: [String: Double] = [:]
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pieces.count == 2, pieces[0] == "fn" || pieces[0] == "fp" else {
                    throw .invalidSetting(name: "cost", value: text, reason: "write the two costs as fn=COST,fp=COST, e.g. fn=5,fp=1")
                }
                guard costs[pieces[0]] == nil else { throw .invalidSetting(name: "cost", value: text, reason: "'\(pieces[0])' is named twice; name each once") }
                guard let value = Double(pieces[1]), value.isFinite, value > 0, value <= range.upperBound else {
                    throw .invalidSetting(name: "cost", value: text, reason: "give each cost above 0 and at most 1000000")
                }
                costs[pieces[0]] = value
            }
            guard let fn = costs["fn"], let fp = costs["fp"] else {
                throw .invalidSetting(name: "cost", value: text, reason: "give both costs, fn (a harmful item let through) and fp (a benign item blocked)")
            }
            return CostRatio(falseNegative: fn, falsePositive: fp)
        }
    }

    /// How the threshold is chosen.
    public enum Rule: Equatable, Sendable {
        /// The highest TPR among thresholds with FPR ≤ the target that block at least one harmful item.
        case targetFPR(Double)
        /// The lowest expected cost c_fn·FN + c_fp·FP, blocking nothing included.
        case cost(CostRatio)
    }

    /// The decision: the chosen threshold, or why there is none with the nearest thresholds on
    /// each side of the rule.
    public struct Decision: Equatable, Sendable {
        public var rule: Rule
        public var chosen: Point?
        /// Why nothing is chosen.
        public var reason: String?
        /// Without a choice: the threshold nearest the rule that meets it (it blocks no harmful item),
        /// and the one nearest beyond it: the highest threshold that blocks a harmful item (past the
        /// target; for a cost ratio, the cheapest that blocks one). Nil where none exists.
        public var nearestMeeting: Point?
        public var nearestBeyond: Point?
    }

    /// TPR and FPR at every distinct score (blocking score ≥ threshold), highest threshold first,
    /// preceded by the point that blocks nothing (threshold +∞). Items with equal scores move
    /// together: a threshold blocks all of them or none. O(n log n).
    public static func curve(scores: [Double], positives: [Bool]) -> [Point]? {
        let p = positives.filter { $0 }.count, n = positives.count - p
        guard p > 0, n > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points = [Point(threshold: .infinity, truePositives: 0, falsePositives: 0, positives: p, negatives: n)]
        var tp = 0, fp = 0, index = 0
        while index < order.count {
            let threshold = scores[order[index]]
            while index < order.count, scores[order[index]] == threshold {
                if positives[order[index]] { tp += 1 } else { fp += 1 }
                index += 1
            }
            points.append(Point(threshold: threshold, truePositives: tp, falsePositives: fp, positives: p, negatives: n))
        }
        return points
    }

    /// A threshold as reasons print it: three decimals (as the report's tables).
    static func thresholdText(_ threshold: Double) -> String {
        let thousandths = (threshold * 1000).rounded(.toNearestOrAwayFromZero)
        let magnitude = Int(abs(thousandths))
        let fraction = String(magnitude % 1000)
        return (thousandths < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
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

    /// The threshold with the highest TPR whose FPR is at most `targetFPR` and that blocks at least
    /// one harmful item (ties in TPR: the higher threshold); nil when none does.
    public static func threshold(forFalsePositiveRate target: Double, _ curve: [Point]) -> Point? {
        curve.filter { $0.falsePositiveRate <= target && $0.threshold.isFinite && $0.truePositives > 0 }
            .max { $0.truePositiveRate != $1.truePositiveRate ? $0.truePositiveRate < $1.truePositiveRate : $0.threshold > $1.threshold }
    }

    /// Chooses a threshold by `rule` (the curve from `curve`, highest threshold first).
    ///
    /// Target FPR: the highest TPR at FPR ≤ target among thresholds that block a harmful item; when
    /// none does, no choice, and the nearest thresholds on each side: the lowest that still meets
    /// the target, and the highest that blocks a harmful item (necessarily past the target). Cost: the least c_fn·FN + c_fp·FP over every
    /// threshold and blocking nothing (ties: the higher threshold, which blocks less); when
    /// blocking nothing is cheapest, no choice, and the cheapest threshold that blocks something
    /// as the nearest beyond. O(n).
    public static func decide(_ curve: [Point], rule: Rule) -> Decision {
        let finite = curve.filter { $0.threshold.isFinite }
        switch rule {
        case .targetFPR(let target):
            if let chosen = threshold(forFalsePositiveRate: target, curve) {
                return Decision(rule: rule, chosen: chosen)
            }
            // Every threshold that blocks a harmful item is past the target (FPR only grows as the
            // threshold falls), so the nearest beyond is the highest one that blocks a harmful item.
            let meeting = curve.filter { $0.falsePositiveRate <= target }.last
            let beyond = finite.first { $0.truePositives > 0 }
            var reason = "no threshold meets FPR ≤ \(Percent.setting(target)) and blocks a harmful item: every threshold that blocks a harmful item has FPR above \(Percent.setting(target))"
            if let beyond {
                reason += "; the nearest, risk ≥ \(Self.thresholdText(beyond.threshold)), blocks \(beyond.truePositives) of \(beyond.positives) harmful at FPR \(Percent.text(beyond.falsePositiveRate)) (\(beyond.falsePositives) of \(beyond.negatives) benign)"
            }
            return Decision(rule: rule, chosen: nil, reason: reason, nearestMeeting: meeting, nearestBeyond: beyond)
        case .cost(let ratio):
            // Strictly cheaper wins, so among equal costs the first (highest) threshold stays.
            var best = curve[0]
            for point in curve.dropFirst() where point.cost(ratio) < best.cost(ratio) { best = point }
            if best.threshold.isFinite { return Decision(rule: rule, chosen: best) }
            var cheapest: Point?
            for point in finite where point.truePositives > 0 {
                if cheapest == nil || point.cost(ratio) < cheapest!.cost(ratio) { cheapest = point }
            }
            return Decision(
                rule: rule, chosen: nil, reason: "blocking nothing costs least at this cost ratio: every threshold blocks benign items that cost more than the harmful ones it stops",
                nearestMeeting: curve[0], nearestBeyond: cheapest)
        }
    }
}
