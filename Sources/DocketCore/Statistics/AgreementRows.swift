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

    public init(metric: String, group: String?, estimate: Estimate, low: Double? = nil, high: Double? = nil, method: String? = nil, note: String? = nil) {
        self.metric = metric
        self.group = group
        self.estimate = estimate
        self.low = low
        self.high = high
        self.method = method
        self.note = note
    }
}

/// The agreement statistics `docket agreement` reports, computed for one table of labels: each
/// metric's estimate with its interval (analytic where the literature gives a standard error,
/// else none; or a seeded bootstrap over items for every metric), clamped to [-1, 1].
public enum AgreementRows {
    public enum Interval: Sendable {
        case analytic
        case bootstrap(reps: Int, seed: UInt64)
    }

    /// - Parameters:
    ///   - reviewers: the table's raters' names, for the pairwise rows.
    ///   - metrics: percent, cohen, scott, fleiss, randolph, krippendorff, gwet, pairwise.
    /// - Complexity: the metrics' own; a bootstrap multiplies by `reps`.
    public static func compute(
        _ table: RatingTable, reviewers: [String], metrics: [String], weights: AgreementWeights, level: MeasurementLevel,
        group: String?, interval: Interval
    ) -> [AgreementRow] {
        var rows: [AgreementRow] = []
        func add(_ name: String, _ statistic: @escaping (RatingTable) -> Estimate, note: String? = nil) {
            let estimate = statistic(table)
            var row = AgreementRow(metric: name, group: group, estimate: estimate, note: note)
            if estimate.value != nil {
                if case .bootstrap(let reps, let seed) = interval {
                    if let interval = Agreement.bootstrap(table, reps: reps, seed: seed, statistic: { statistic($0).value }) {
                        row.low = interval.low
                        row.high = interval.high
                        row.method = "bootstrap"
                        if interval.undefined > 0 { row.note = "\(interval.undefined) of \(reps) resamples undefined" }
                    }
                } else if let interval = estimate.analyticInterval() {
                    row.low = max(-1, interval.0)
                    row.high = min(1, interval.1)
                    row.method = "analytic"
                } else if row.note == nil {
                    row.note = "no analytic standard error; use --ci bootstrap"
                }
            }
            rows.append(row)
        }
        let two = table.raters == 2
        for metric in metrics {
            switch metric {
            case "percent": add("percent", Agreement.percentAgreement)
            case "cohen":
                if two { add("cohen", { Agreement.cohensKappa($0, weights: weights) }) } else {
                    rows.append(AgreementRow(metric: "cohen", group: group, estimate: .undefined("Cohen's kappa compares two reviewers; there are \(table.raters) (pass --reviewers a,b, or see pairwise)", items: 0, labels: table.labelCount)))
                }
            case "scott":
                if two { add("scott", Agreement.scottsPi) } else {
                    rows.append(AgreementRow(metric: "scott", group: group, estimate: .undefined("Scott's pi compares two reviewers; there are \(table.raters) (pass --reviewers a,b)", items: 0, labels: table.labelCount)))
                }
            case "fleiss": add("fleiss", { Agreement.fleissKappa($0, weights: weights) })
            case "randolph": add("randolph", Agreement.randolphKappa)
            case "krippendorff": add("krippendorff", { Agreement.krippendorffAlpha($0, level: level) })
            case "gwet": add("gwet", { Agreement.gwetAC1($0, weights: weights) })
            case "pairwise":
                var values: [Double] = []
                for a in 0..<table.raters {
                    for b in (a + 1)..<max(a + 1, table.raters) {
                        let pair = table.selecting(raters: [a, b])
                        let name = "cohen:\(reviewers[a])~\(reviewers[b])"
                        let estimate = Agreement.cohensKappa(pair, weights: weights)
                        var row = AgreementRow(metric: name, group: group, estimate: estimate)
                        if let interval = estimate.analyticInterval() {
                            row.low = max(-1, interval.0)
                            row.high = min(1, interval.1)
                            row.method = "analytic"
                        }
                        rows.append(row)
                        if let value = estimate.value { values.append(value) }
                    }
                }
                let mean = values.isEmpty ? Estimate.undefined("no two reviewers share items", items: 0, labels: table.labelCount)
                    : Estimate(value: values.reduce(0, +) / Double(values.count), reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: values.count, itemsDropped: 0, labels: table.labelCount)
                rows.append(AgreementRow(metric: "pairwise-mean", group: group, estimate: mean, note: values.isEmpty ? nil : "mean over \(values.count) pairs"))
            default: break
            }
        }
        return rows
    }
}
