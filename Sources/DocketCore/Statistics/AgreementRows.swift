/// One line of an agreement table: a statistic for a group of labels, with its interval.
public struct AgreementRow: Sendable {
    public var metric: String
    public var group: String?
    public var estimate: Estimate
    public var low: Double?
    public var high: Double?
    /// "analytic" or "bootstrap", when there is an interval.
    public var method: String?
    public var note: String?
    /// Why a defined statistic has no interval (too few items, no width, no standard error).
    public var intervalReason: String?

    public init(metric: String, group: String?, estimate: Estimate, low: Double? = nil, high: Double? = nil, method: String? = nil, note: String? = nil, intervalReason: String? = nil) {
        self.metric = metric
        self.group = group
        self.estimate = estimate
        self.low = low
        self.high = high
        self.method = method
        self.note = note
        self.intervalReason = intervalReason
    }
}

/// The agreement statistics `docket agreement` reports, computed for one table of labels: each
/// metric's estimate with its interval (analytic where the literature gives a standard error,
/// else none; or a seeded bootstrap over items for every metric), clamped to [-1, 1].
///
/// An interval is given only when it can say something: from at least `minimumItems` items with
/// two or more labels, and with positive width. Below the minimum a resample of a handful of items
/// repeats the same few values and a standard error rests on one or two terms, so the intervals
/// came out as [0, 0] from one item and [-1, -1] or [1, 1] from two; a zero-width interval from
/// more items (every item agreeing alike) hides the uncertainty the same way. Either way the
/// interval is undefined, with the reason.
public enum AgreementRows {
    public enum Interval: Sendable {
        case analytic
        case bootstrap(reps: Int, seed: UInt64)
    }

    /// "there is 1", "there are 3": how many reviewers a two-reviewer statistic found.
    static func reviewerCount(_ n: Int) -> String { n == 1 ? "there is 1" : "there are \(n)" }

    /// Items with two or more labels an agreement interval needs.
    public static let minimumItems = 10

    /// Intervals narrower than this are zero-width. The statistics live on [-1, 1], so 1e-9 of that
    /// scale is far below any difference the data can make; it is well above the rounding error of
    /// a computed standard error (a constant reviewer gives Conger's kappa an se of 1e-15, not 0).
    public static let zeroWidth = 1e-9

    /// The one rule for "this interval has width": wider than `zeroWidth`.
    public static func hasWidth(low: Double, high: Double) -> Bool { high - low > zeroWidth }

    /// Why a zero-width analytic interval is not given.
    public static let zeroStandardError = "no interval: the standard error is 0, so the data leave no variation for the interval to describe"
    /// Why a zero-width bootstrap interval is not given.
    public static let sameResamples = "no interval: every resample gives the same value, so the data leave no variation for the interval to describe"

    /// Why `estimate` gets no interval before one is computed: undefined, or too few items.
    public static func intervalUnavailable(_ estimate: Estimate) -> String? {
        guard estimate.value != nil else { return estimate.reason }
        if estimate.itemsUsed < minimumItems {
            return "no interval from \(estimate.itemsUsed) \(estimate.itemsUsed == 1 ? "item" : "items") with two or more labels; intervals need at least \(minimumItems)"
        }
        return nil
    }

    /// The analytic interval of `estimate` under the rule above, clamped to [-1, 1], or the reason
    /// there is none. Commands that report an agreement interval (`agreement`, `report`) ask this.
    public static func analytic(_ estimate: Estimate) -> (interval: (low: Double, high: Double)?, reason: String?) {
        if let reason = intervalUnavailable(estimate) { return (nil, reason) }
        guard let se = estimate.standardError, se.isFinite else { return (nil, "no analytic standard error; use --ci bootstrap") }
        guard let interval = estimate.analyticInterval(), hasWidth(low: interval.0, high: interval.1) else { return (nil, zeroStandardError) }
        return ((max(-1, interval.0), min(1, interval.1)), nil)
    }

    /// - Parameters:
    ///   - reviewers: the table's raters' names, for the pairwise rows.
    ///   - metrics: percent, cohen, scott, fleiss, conger, randolph, krippendorff, gwet, pairwise.
    /// - Complexity: the metrics' own; a bootstrap multiplies by `reps`.
    public static func compute(
        _ table: RatingTable, reviewers: [String], metrics: [String], weights: AgreementWeights, level: MeasurementLevel,
        group: String?, interval: Interval
    ) -> [AgreementRow] {
        var rows: [AgreementRow] = []
        func withInterval(_ estimate: Estimate, name: String, statistic: ((RatingTable) -> Estimate)?) -> AgreementRow {
            var row = AgreementRow(metric: name, group: group, estimate: estimate)
            guard estimate.value != nil else { return row }
            if case .bootstrap(let reps, let seed) = interval, let statistic {
                if let reason = intervalUnavailable(estimate) {
                    row.intervalReason = reason
                } else if let interval = Agreement.bootstrap(table, reps: reps, seed: seed, statistic: { statistic($0).value }) {
                    if interval.undefined > 0 { row.note = "\(interval.undefined) of \(reps) resamples undefined" }
                    if hasWidth(low: interval.low, high: interval.high) {
                        row.low = interval.low
                        row.high = interval.high
                        row.method = "bootstrap"
                    } else {
                        row.intervalReason = sameResamples
                    }
                } else {
                    row.intervalReason = "no interval: the statistic is undefined in every resample"
                }
            } else {
                let analytic = analytic(estimate)
                if let interval = analytic.interval {
                    row.low = interval.low
                    row.high = interval.high
                    row.method = "analytic"
                } else {
                    row.intervalReason = analytic.reason
                }
            }
            return row
        }
        func add(_ name: String, _ statistic: @escaping (RatingTable) -> Estimate) {
            rows.append(withInterval(statistic(table), name: name, statistic: statistic))
        }
        let two = table.raters == 2
        for metric in metrics {
            switch metric {
            case "percent": add("percent", Agreement.percentAgreement)
            case "cohen":
                if two { add("cohen", { Agreement.cohensKappa($0, weights: weights) }) } else {
                    rows.append(AgreementRow(metric: "cohen", group: group, estimate: .undefined("Cohen's kappa compares two reviewers; \(Self.reviewerCount(table.raters)) (pass --reviewers a,b, or see conger and pairwise)", items: 0, labels: table.labelCount)))
                }
            case "scott":
                if two { add("scott", Agreement.scottsPi) } else {
                    rows.append(AgreementRow(metric: "scott", group: group, estimate: .undefined("Scott's pi compares two reviewers; \(Self.reviewerCount(table.raters)) (pass --reviewers a,b)", items: 0, labels: table.labelCount)))
                }
            case "fleiss": add("fleiss", { Agreement.fleissKappa($0, weights: weights) })
            case "conger": add("conger", { Agreement.congersKappa($0, weights: weights) })
            case "randolph": add("randolph", Agreement.randolphKappa)
            case "krippendorff": add("krippendorff", { Agreement.krippendorffAlpha($0, level: level) })
            case "gwet": add("gwet", { Agreement.gwetAC1($0, weights: weights) })
            case "pairwise":
                var values: [Double] = []
                var sharing = 0
                var firstReason: String?
                for a in 0..<table.raters {
                    for b in (a + 1)..<max(a + 1, table.raters) {
                        let pair = table.selecting(raters: [a, b])
                        let estimate = Agreement.cohensKappa(pair, weights: weights)
                        // A pair's interval is analytic whatever the method (no bootstrap per pair).
                        rows.append({
                            var row = AgreementRow(metric: "cohen:\(reviewers[a])~\(reviewers[b])", group: group, estimate: estimate)
                            guard estimate.value != nil else { return row }
                            let analytic = analytic(estimate)
                            if let interval = analytic.interval {
                                row.low = interval.low
                                row.high = interval.high
                                row.method = "analytic"
                            } else {
                                row.intervalReason = analytic.reason
                            }
                            return row
                        }())
                        if estimate.itemsUsed > 0 {
                            sharing += 1
                            if estimate.value == nil, firstReason == nil { firstReason = estimate.reason }
                        }
                        if let value = estimate.value { values.append(value) }
                    }
                }
                let mean: Estimate
                if !values.isEmpty {
                    mean = Estimate(value: values.reduce(0, +) / Double(values.count), reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: values.count, itemsDropped: 0, labels: table.labelCount)
                } else if sharing == 0 {
                    mean = .undefined("no two reviewers share items", items: 0, labels: table.labelCount)
                } else {
                    mean = .undefined("Cohen's kappa is undefined for every pair that shares items (\(sharing) \(sharing == 1 ? "pair" : "pairs")): \(firstReason ?? "undefined")", items: 0, labels: table.labelCount)
                }
                rows.append(AgreementRow(metric: "pairwise-mean", group: group, estimate: mean, note: values.isEmpty ? nil : "mean over \(values.count) \(values.count == 1 ? "pair" : "pairs")"))
            default: break
            }
        }
        return rows
    }
}
