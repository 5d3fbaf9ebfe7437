/// The per-reviewer statistics `docket calibrate` reports beside gold accuracy, with the one rule
/// for when they are defined: from at least `AgreementRows.minimumItems` items, as the agreement
/// statistics' intervals. From fewer, κ against the others and the Dawid–Skene skill rest on one
/// or two items and read 0.000 or 1.000 as though they were measured.
public enum Calibration {
    /// Items a per-reviewer statistic needs: the agreement statistics' minimum.
    public static var minimumItems: Int { AgreementRows.minimumItems }

    static func items(_ n: Int) -> String { n == 1 ? "1 item" : "\(n) items" }

    /// Cohen's kappa of a reviewer against the leave-one-out consensus, undefined (with the
    /// reason) below `minimumItems` items where both have a label.
    /// - Parameter others: how many other reviewers have labels.
    public static func kappaVsOthers(_ estimate: Estimate, others: Int) -> Estimate {
        if estimate.itemsUsed == 0 {
            let reason = others == 0 ? "no other reviewer has labels" : "no item has both the reviewer's label and a consensus of the others"
            return .undefined(reason, items: 0, dropped: estimate.itemsDropped, labels: estimate.labels)
        }
        guard estimate.value != nil, estimate.itemsUsed < minimumItems else { return estimate }
        return .undefined(
            "\(items(estimate.itemsUsed)) with both the reviewer's label and a consensus of the others; κ vs others needs at least \(minimumItems)",
            items: estimate.itemsUsed, dropped: estimate.itemsDropped, labels: estimate.labels)
    }

    /// A reviewer's Dawid–Skene skill, Σ_k π_k e_kk, or why it is undefined: the model is
    /// undefined, or the reviewer shares fewer than `minimumItems` items with other reviewers.
    /// - Parameter shared: items the reviewer labelled that another reviewer labelled too.
    public static func skill(_ result: Aggregation.DawidSkeneResult, reviewer r: Int, shared: Int) -> (value: Double?, reason: String?) {
        if let reason = result.reason { return (nil, reason) }
        if shared < minimumItems {
            return (nil, "\(items(shared)) shared with other reviewers; DS skill needs at least \(minimumItems)")
        }
        let k = result.priors.count
        return ((0..<k).reduce(0.0) { $0 + result.priors[$1] * result.confusion[r][$1][$1] }, nil)
    }
}
