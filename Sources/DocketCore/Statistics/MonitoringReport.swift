/// The monitoring report (`docket report`) as one typed value: computed by
/// `MonitoringReport.compute` from the rows the store fetches, and rendered to text, JSON and
/// HTML from this value alone. `json` is exactly the `report --json` document.
public struct MonitoringReport: Equatable, Sendable {
    /// How the intervals of proportions are computed (never Wald).
    public enum IntervalMethod: String, Equatable, Sendable, CaseIterable {
        case wilson
        case clopperPearson = "clopper-pearson"

        /// The 95% interval for `k` successes in `n` trials; nil without trials.
        public func interval(successes k: Int, trials n: Int) -> Interval? {
            switch self {
            case .wilson: return Proportions.wilson(successes: k, trials: n).map { Interval(low: $0.low, high: $0.high) }
            case .clopperPearson: return Proportions.clopperPearson(successes: k, trials: n).map { Interval(low: $0.low, high: $0.high) }
            }
        }
    }

    /// A 95% interval.
    public struct Interval: Equatable, Sendable {
        public var low: Double
        public var high: Double
        public init(low: Double, high: Double) {
            self.low = low
            self.high = high
        }
        public var width: Double { high - low }
    }

    /// The Hájek (inverse-probability-weighted) estimate of a rate, with its interval and the
    /// effective sample size (Σw)²/Σw².
    public struct Hajek: Equatable, Sendable {
        public var estimate: Double
        public var interval: Interval
        public var effectiveSize: Double
    }

    /// A share of items: `successes` of `n`, naive (with its interval) and selection-corrected.
    public struct Rate: Equatable, Sendable {
        public var n: Int
        public var successes: Int
        /// successes ÷ n; nil when n is 0.
        public var naive: Double?
        public var naiveInterval: Interval?
        /// Nil when the selection cannot be corrected: no item in the group has a recorded
        /// selection probability, or their weights are all equal (`hajekReason` says which).
        public var hajek: Hajek?
        /// Why `hajek` is nil (nil when there is an estimate, or no item at all).
        public var hajekReason: String? = nil
        /// Reviewed items left out of `n` because they have no verdict yet: ties awaiting a lead
        /// (`AttackVerdict`). For label prevalence: reviewed items whose labels tie, with no final label.
        public var withoutVerdict: Int = 0
        /// Why `naive` is nil (n is 0): nothing reviewed, or every reviewed item awaiting a lead.
        public var reason: String? = nil

        static let allAwaitingLead = "every reviewed item here is a tie awaiting a lead, so none has a verdict yet"
        static let noneReviewed = "no served item has been reviewed yet (labels imported for items never served are not counted)"
        static let noneServed = "no item has been served from the queue yet (labels imported for items never served are not counted)"
        static let noFinalLabel = "no reviewed item has a final label"

        static let noSelectionRecord = "no item here has a recorded selection probability, so the selection cannot be corrected"
        /// `scope`: "in this category", "among the reviewed items", …
        static func equalWeightsReason(_ scope: String) -> String {
            "the selection weights \(scope) are all about equal (within a factor of 1.5), so weighting corrects nothing"
        }
    }

    /// A rate of one category or one label.
    public struct NamedRate: Equatable, Sendable {
        public var name: String
        public var rate: Rate
    }

    public struct SourceCount: Equatable, Sendable {
        public var source: LabelSource
        public var count: Int
    }

    /// Final labels as `show` and `export` give them (`LabelRules.resolve`).
    public struct FinalLabels: Equatable, Sendable {
        /// Items with a final label source (an adjudication, a label or a tie).
        public var items: Int
        /// Current reviewer labels on those items.
        public var currentLabels: Int
        public var ties: Int
        public var tiesRule: TieRule
        /// Every source, in `LabelSource` order, zeros included.
        public var bySource: [SourceCount]
        /// Items by final label, declared labels first in their order, zeros included.
        public var byLabel: [VoteCount]
    }

    /// The model's risk score against the human verdict.
    public struct Guardrail: Equatable, Sendable {
        /// Reviewed items with a model risk.
        public var n: Int
        /// Nil when the verdicts are all on one side (or there are none).
        public var roc: ROC?
        public static let unavailable = "needs reviewed items with a model risk on both sides of the verdict"
    }

    public struct ROC: Equatable, Sendable {
        /// Area under the ROC curve (the Mann–Whitney statistic, ties counting one half).
        public var auc: Double
        public var targetFPR: Double
        /// The threshold chosen by the rule (`--target-fpr`, or `--cost`), or why there is none
        /// with the nearest thresholds on each side.
        public var decision: ThresholdAnalysis.Decision
        /// The TPR and FPR at the chosen threshold, with intervals by the report's method; nil
        /// without a choice.
        public var tprInterval: Interval?
        public var fprInterval: Interval?
        /// TPR and FPR at every finite threshold, highest threshold first.
        public var curve: [ThresholdAnalysis.Point]

        public var chosen: ThresholdAnalysis.Point? { decision.chosen }
    }

    /// One feedback-loop round: the items imported while it was open that were reviewed.
    public struct RoundSummary: Equatable, Sendable {
        public var name: String
        public var items: Int
        /// Share of the round's items below the bar (Wilson or Clopper–Pearson interval).
        public var safety: Double?
        public var safetyInterval: Interval?
        /// Mean final rating, with a t interval (two or more ratings).
        public var helpfulness: Double?
        public var helpfulnessInterval: Interval?
        /// The change from the previous round; nil when either is missing.
        public var safetyChange: Double?
        public var helpfulnessChange: Double?
        /// Why the helpfulness interval is missing (fewer than two ratings, or all equal).
        public var helpfulnessReason: String?
        /// The round's reviewed items without a verdict (ties awaiting a lead), left out of the safety rate.
        public var withoutVerdict: Int = 0
        /// Why the safety rate is missing.
        public var safetyReason: String? = nil
    }

    public struct ReviewerBurn: Equatable, Sendable {
        public var reviewer: String
        /// Completed reviews per day since the first item was served.
        public var perDay: Double
    }

    /// Spending and the marginal value of labels.
    public struct Budget: Equatable, Sendable {
        public var budget: Int?
        /// Items handed out.
        public var spent: Int
        public var left: Int?
        public var burnPerDay: Double?
        public var daysLeft: Double?
        public var perReviewerPerDay: [ReviewerBurn]
        public var medianSecondsPerItem: Double?
        /// Width of the attack success rate's interval, and the reviewed items beyond those
        /// reviewed that bring it to `targetWidth` (width shrinks as 1/√n).
        public var attackSuccessWidth: Double?
        public var attackSuccessItemsForTargetWidth: Int?
        /// Width of Fleiss' kappa's interval, and the items beyond those used that reach `targetWidth`.
        public var agreementWidth: Double?
        public var agreementItemsForTargetWidth: Int?
        public var targetWidth: Double
    }

    /// Krippendorff's alpha over the labels given in one ISO week (starting Monday, UTC).
    public struct WeekAgreement: Equatable, Sendable {
        public var week: String
        public var alpha: Double?
        public var labels: Int
    }

    /// Krippendorff's alpha over the labels given under one rubric version (nil: labels without a
    /// version, imported without one).
    public struct RubricAgreement: Equatable, Sendable {
        public var rubric: Int?
        public var alpha: Double?
        /// Why alpha is undefined, when it is.
        public var reason: String?
    }

    /// Final severity at or above which an attack succeeded.
    public var bar: Int
    /// Labels whose final label makes an item an attack success (`harmful` in docket.yaml, else
    /// the last label of an ordered scale); empty: the severity alone decides.
    public var harmfulLabels: [String]
    public var interval: IntervalMethod
    public var attackSuccess: Rate
    /// Sorted by name; items without a category are `(none)`.
    public var attackSuccessByCategory: [NamedRate]
    /// One rate per label of the label table, in its order, among reviewed items with a final label.
    public var labelPrevalence: [NamedRate]
    public var finalLabels: FinalLabels
    public var guardrail: Guardrail
    public var rounds: [RoundSummary]
    public var budget: Budget
    public var agreementByWeek: [WeekAgreement]
    public var agreementByRubric: [RubricAgreement]
}

// MARK: - JSON

extension MonitoringReport {
    /// The `report --json` document: every member always present, a missing number `null`.
    public var json: JSONValue {
        .object([
            ("bar", int(bar)),
            ("harmful_labels", .array(harmfulLabels.map { .string($0) })),
            ("attack_rule", .string(attackRule)),
            ("interval", .string(interval.rawValue)),
            ("attack_success", attackSuccess.json),
            ("attack_success_by_category", .object(attackSuccessByCategory.map { ($0.name, $0.rate.json) })),
            ("label_prevalence", .object(labelPrevalence.map { ($0.name, $0.rate.json) })),
            ("final_labels", finalLabels.json),
            ("guardrail", guardrail.json),
            ("rounds", .array(rounds.map(\.json))),
            ("budget", budget.json),
            ("agreement_by_week", .array(agreementByWeek.map(\.json))),
            ("agreement_by_rubric", .array(agreementByRubric.map(\.json))),
        ])
    }
}

extension MonitoringReport {
    /// The rule that made an item an attack success, as a phrase: "final label unsafe, or final
    /// severity ≥ 2".
    public var attackRule: String {
        let severity = "final severity ≥ \(bar)"
        switch harmfulLabels.count {
        case 0: return severity
        case 1: return "final label \(harmfulLabels[0]), or \(severity)"
        default: return "final label one of \(harmfulLabels.joined(separator: ", ")), or \(severity)"
        }
    }
}

private func int(_ value: Int) -> JSONValue { .number(Double(value)) }
private func int(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
private func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }

extension MonitoringReport.Rate {
    public var json: JSONValue {
        .object([
            ("n", int(n)), ("successes", int(successes)), ("naive", number(naive)),
            ("naive_ci_low", number(naiveInterval?.low)), ("naive_ci_high", number(naiveInterval?.high)),
            ("hajek", number(hajek?.estimate)), ("hajek_ci_low", number(hajek?.interval.low)), ("hajek_ci_high", number(hajek?.interval.high)),
            ("effective_n", number(hajek?.effectiveSize)), ("hajek_reason", hajekReason.map { .string($0) } ?? .null),
            ("without_verdict", int(withoutVerdict)), ("reason", reason.map { .string($0) } ?? .null),
        ])
    }
}

extension MonitoringReport.FinalLabels {
    public var json: JSONValue {
        .object([
            ("items", int(items)), ("current_labels", int(currentLabels)), ("ties", int(ties)), ("ties_rule", .string(tiesRule.rawValue)),
            ("by_source", .object(bySource.map { ($0.source.rawValue, int($0.count)) })),
            ("by_label", .object(byLabel.map { ($0.label, int($0.count)) })),
        ])
    }
}

extension MonitoringReport.Guardrail {
    public var json: JSONValue {
        guard let roc else { return .object([("n", int(n)), ("reason", .string(Self.unavailable))]) }
        func point(_ p: ThresholdAnalysis.Point?) -> JSONValue {
            guard let p else { return .null }
            return .object([
                ("threshold", p.threshold.isFinite ? .number(p.threshold) : .null), ("tpr", .number(p.truePositiveRate)), ("fpr", .number(p.falsePositiveRate)),
                ("harmful_blocked", int(p.truePositives)), ("benign_blocked", int(p.falsePositives)),
            ])
        }
        let decision = roc.decision
        var rule: [(String, JSONValue)]
        switch decision.rule {
        case .targetFPR(let target): rule = [("rule", .string("target-fpr")), ("target_fpr", .number(target))]
        case .cost(let ratio):
            rule = [("rule", .string("cost")), ("target_fpr", .number(roc.targetFPR)), ("cost_fn", .number(ratio.falseNegative)), ("cost_fp", .number(ratio.falsePositive))]
        }
        return .object([("n", int(n)), ("harmful", int(roc.curve.first?.positives)), ("benign", int(roc.curve.first?.negatives)), ("auc", .number(roc.auc))] + rule + [
            ("threshold", number(roc.chosen?.threshold)), ("tpr_at_threshold", number(roc.chosen?.truePositiveRate)),
            ("tpr_ci_low", number(roc.tprInterval?.low)), ("tpr_ci_high", number(roc.tprInterval?.high)),
            ("fpr_at_threshold", number(roc.chosen?.falsePositiveRate)),
            ("fpr_ci_low", number(roc.fprInterval?.low)), ("fpr_ci_high", number(roc.fprInterval?.high)),
            ("reason", decision.reason.map { .string($0) } ?? .null),
            ("nearest_meeting", point(decision.nearestMeeting)), ("nearest_beyond", point(decision.nearestBeyond)),
            ("curve", .array(roc.curve.map { .object([("threshold", .number($0.threshold)), ("tpr", .number($0.truePositiveRate)), ("fpr", .number($0.falsePositiveRate))]) })),
        ])
    }
}

extension MonitoringReport.RoundSummary {
    public var json: JSONValue {
        .object([
            ("round", .string(name)), ("items", int(items)), ("safety", number(safety)),
            ("safety_ci_low", number(safetyInterval?.low)), ("safety_ci_high", number(safetyInterval?.high)),
            ("helpfulness", number(helpfulness)),
            ("helpfulness_ci_low", number(helpfulnessInterval?.low)), ("helpfulness_ci_high", number(helpfulnessInterval?.high)),
            ("safety_change", number(safetyChange)), ("helpfulness_change", number(helpfulnessChange)),
            ("helpfulness_ci_reason", helpfulnessReason.map { .string($0) } ?? .null),
            ("without_verdict", int(withoutVerdict)), ("safety_reason", safetyReason.map { .string($0) } ?? .null),
        ])
    }
}

extension MonitoringReport.Budget {
    public var json: JSONValue {
        .object([
            ("budget", int(budget)), ("spent", int(spent)), ("left", int(left)),
            ("burn_per_day", number(burnPerDay)), ("days_left", number(daysLeft)),
            ("per_reviewer_per_day", .object(perReviewerPerDay.map { ($0.reviewer, .number($0.perDay)) })),
            ("median_seconds_per_item", number(medianSecondsPerItem)),
            ("asr_ci_width", number(attackSuccessWidth)), ("asr_labels_for_target_width", int(attackSuccessItemsForTargetWidth)),
            ("agreement_ci_width", number(agreementWidth)), ("agreement_items_for_target_width", int(agreementItemsForTargetWidth)),
            ("target_width", .number(targetWidth)),
        ])
    }
}

extension MonitoringReport.WeekAgreement {
    public var json: JSONValue { .object([("week", .string(week)), ("alpha", number(alpha)), ("labels", int(labels))]) }
}

extension MonitoringReport.RubricAgreement {
    public var json: JSONValue {
        .object([("rubric", int(rubric)), ("alpha", number(alpha)), ("reason", reason.map { .string($0) } ?? .null)])
    }
}
