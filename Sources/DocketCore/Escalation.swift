/// One condition of the escalation policy.
public enum EscalationCondition: Equatable, Sendable {
    /// A flag with one of these reasons (any reason when nil) and at least this severity.
    case flag(reasons: [String]?, minimumSeverity: Int)
    /// Two or more labels and no label holds more than half of them.
    case noMajority
    /// The item's Dawid–Skene posterior for its most likely label is below this.
    case posteriorBelow(Double)
    /// The model's risk score is above this.
    case riskAbove(Double)
    /// A label on a gold item differs from the gold label.
    case goldWrong
    /// The reviewer asked for it: any flag.
    case requested
}

/// An ordered rule: the first rule whose condition holds routes the item to its tier.
public struct EscalationRule: Equatable, Sendable {
    public var condition: EscalationCondition
    public var tier: String

    public init(condition: EscalationCondition, tier: String) {
        self.condition = condition
        self.tier = tier
    }
}

/// What the policy knows about an item when feedback is committed.
public struct EscalationFacts: Sendable {
    /// The feedback just given.
    public var feedback: FeedbackDraft
    /// The votes of the item's current labels (`LabelRules.votes`).
    public var votes: Votes
    /// The item's final label (`LabelRules.finalLabel`), when known: a tie under `ties: escalate`
    /// routes the item to the lead when no rule of the policy does.
    public var final: FinalLabel?
    public var ties: TieRule
    public var posterior: Double?
    public var risk: Double?
    public var gold: String?

    /// Current label counts on the item, by label.
    public var labelCounts: [String: Int] { votes.nonZero }

    public init(feedback: FeedbackDraft, labels: ItemLabels, ties: TieRule, risk: Double? = nil, gold: String? = nil) {
        self.feedback = feedback
        self.votes = labels.votes
        self.final = labels.final
        self.ties = ties
        self.posterior = labels.posterior?.top
        self.risk = risk
        self.gold = gold
    }

    /// Facts from label counts alone (no final label, so no tie routing).
    public init(feedback: FeedbackDraft, labelCounts: [String: Int], posterior: Double? = nil, risk: Double? = nil, gold: String? = nil) {
        self.feedback = feedback
        self.votes = LabelRules.votes(counts: labelCounts, declared: [])
        self.final = nil
        self.ties = .escalate
        self.posterior = posterior
        self.risk = risk
        self.gold = gold
    }
}

public enum EscalationPolicy {
    /// The tier a tie goes to under `ties: escalate`.
    public static let tieTier = "lead"

    /// The first matching rule (1-based index), its tier and a sentence saying why. When no rule
    /// of the policy matches and the item's final label is a tie under `ties: escalate`, the
    /// implicit tie rule (numbered after the policy's rules) routes it to the lead.
    public static func evaluate(_ rules: [EscalationRule], _ facts: EscalationFacts) -> (rule: Int, tier: String, reason: String)? {
        for (index, rule) in rules.enumerated() {
            if let reason = reason(rule.condition, facts) { return (index + 1, rule.tier, reason) }
        }
        return tie(rules, facts)
    }

    /// The implicit last rule: a tie that the `ties` setting leaves without a final label goes to the lead.
    public static func tie(_ rules: [EscalationRule], _ facts: EscalationFacts) -> (rule: Int, tier: String, reason: String)? {
        guard facts.ties == .escalate, let final = facts.final, final.isTie, final.label == nil else { return nil }
        let shares = facts.votes.counts.filter { $0.count > 0 }.map { "\($0.label) \($0.count)" }.joined(separator: ", ")
        return (rules.count + 1, tieTier, "a tie between \(final.tied.joined(separator: " and ")) (\(shares)): no final label until a lead decides")
    }

    /// Whether an open escalation made by rule `rule` (1-based; one past the policy's rules is
    /// the tie rule) still has its reason under the item's current votes. Only the rules that
    /// look at the votes alone can stop holding (a tie, `no_majority`): their escalations are
    /// settled when the reviewers' labels settle the item. nil for every other rule (a flag, a
    /// request, a posterior, a risk, gold): those stay until a lead closes them.
    public static func stillHolds(rule: Int, rules: [EscalationRule], _ facts: EscalationFacts) -> Bool? {
        if rule == rules.count + 1 { return tie(rules, facts) != nil }
        guard rules.indices.contains(rule - 1), case .noMajority = rules[rule - 1].condition else { return nil }
        return reason(.noMajority, facts) != nil
    }

    static func reason(_ condition: EscalationCondition, _ facts: EscalationFacts) -> String? {
        let feedback = facts.feedback
        switch condition {
        case let .flag(reasons, minimum):
            guard feedback.kind == .flag, let reason = feedback.reason, let severity = feedback.severity, severity >= minimum,
                reasons.map({ $0.contains(reason) }) ?? true
            else { return nil }
            return "flagged \(reason) at severity \(severity)"
        case .requested:
            guard feedback.kind == .flag else { return nil }
            return "the reviewer asked for escalation (\(feedback.reason ?? "flag"))"
        case .noMajority:
            // The same votes as every final label (LabelRules.votes): two or more, none above half.
            let votes = facts.votes
            guard votes.total >= 2, !votes.hasMajority else { return nil }
            let shares = votes.nonZero.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "no majority among \(votes.total) labels (\(shares))"
        case .posteriorBelow(let bar):
            guard let posterior = facts.posterior, posterior < bar else { return nil }
            return "Dawid–Skene posterior \(JSONText.number((posterior * 1000).rounded() / 1000)) is below \(JSONText.number(bar))"
        case .riskAbove(let bar):
            guard let risk = facts.risk, risk > bar else { return nil }
            return "model risk \(JSONText.number(risk)) is above \(JSONText.number(bar))"
        case .goldWrong:
            guard feedback.kind == .label, let gold = facts.gold, let label = feedback.label, label != gold else { return nil }
            return "a gold item was labelled \(label), not \(gold)"
        }
    }

    /// Reads rules from the task definition's `escalation` list.
    static func read(_ value: JSONValue, problem: (String, String) -> Void) -> [EscalationRule] {
        guard case .array(let entries) = value else {
            problem("escalation", "expected a list of rules, each with when and to")
            return []
        }
        var rules: [EscalationRule] = []
        for (offset, entry) in entries.enumerated() {
            let path = "escalation[\(offset)]"
            guard case .string(let tier)? = entry["to"], !tier.isEmpty else { problem(path + ".to", "name the tier the rule routes to"); continue }
            guard let when = entry["when"], case .object(let members) = when, members.count >= 1 else {
                problem(path + ".when", "give one condition: flag, requested, no_majority, posterior_below, risk_above or gold_wrong")
                continue
            }
            var condition: EscalationCondition?
            let key = members[0].0, value = members[0].1
            switch key {
            case "flag":
                var reasons: [String]?
                if case .array(let list) = value { reasons = list.compactMap { if case .string(let s) = $0 { return s } else { return nil } } }
                var minimum = 0
                if let given = when["min_severity"], given != .null {
                    guard case .number(let n) = given, n == n.rounded(), SettingBounds.contains(Double(SettingBounds.severity.lowerBound)...Double(SettingBounds.severity.upperBound), n) else {
                        problem(path + ".when.min_severity", SettingBounds.severityRule)
                        continue
                    }
                    minimum = Int(n)
                }
                condition = .flag(reasons: reasons, minimumSeverity: minimum)
            case "requested": condition = .requested
            case "no_majority": condition = .noMajority
            case "gold_wrong": condition = .goldWrong
            case "posterior_below", "risk_above":
                guard case .number(let bar) = value, (0...1).contains(bar) else { problem(path + ".when." + key, "expected a number between 0 and 1"); continue }
                condition = key == "posterior_below" ? .posteriorBelow(bar) : .riskAbove(bar)
            default:
                problem(path + ".when." + key, "unknown condition; use flag, requested, no_majority, posterior_below, risk_above or gold_wrong")
            }
            if let condition { rules.append(EscalationRule(condition: condition, tier: tier)) }
        }
        return rules
    }

    /// The rules as JSON, in the form `read` takes.
    static func encode(_ rules: [EscalationRule]) -> JSONValue {
        .array(rules.map { rule in
            var when: [(String, JSONValue)]
            switch rule.condition {
            case let .flag(reasons, minimum):
                when = [("flag", reasons.map { .array($0.map { .string($0) }) } ?? .bool(true)), ("min_severity", .number(Double(minimum)))]
            case .requested: when = [("requested", .bool(true))]
            case .noMajority: when = [("no_majority", .bool(true))]
            case .goldWrong: when = [("gold_wrong", .bool(true))]
            case .posteriorBelow(let bar): when = [("posterior_below", .number(bar))]
            case .riskAbove(let bar): when = [("risk_above", .number(bar))]
            }
            return .object([("when", .object(when)), ("to", .string(rule.tier))])
        })
    }
}
