/// The sane range of every numeric project setting: one rule for `init` flags and `docket.yaml`
/// alike. A value outside its range is refused with a sentence naming the bound, so no setting
/// can overflow a later computation (a lease added to a time, an overlap stored as a JSON
/// number, a weight multiplied into a utility). Non-finite numbers are never in range.
public enum SettingBounds {
    /// Reviewers per item.
    public static let overlap = 1...100
    /// Distinct items that may be handed out (no cap is a separate choice, not a number).
    public static let budget = 0...1_000_000_000
    /// How long a claim holds an item: one minute to one week.
    public static let leaseMinutes = 1...10_080
    /// Each utility weight.
    public static let weight = 0.0...1000.0
    /// The ends of a rating scale.
    public static let ratingPoint = -100...100
    /// Flag severities.
    public static let severity = 0...3

    public static let overlapRule = "give a whole number of reviewers from \(overlap.lowerBound) to \(overlap.upperBound)"
    public static let budgetRule = "give a whole number of items from \(budget.lowerBound) to \(budget.upperBound)"
    public static let exploreRule = "the exploration share must be between 0 and 1"
    public static let shareRule = "give a share from 0 to 1"
    public static let ratingScaleRule =
        "expected [lowest, highest] whole numbers from \(ratingPoint.lowerBound) to \(ratingPoint.upperBound) with lowest < highest"
    public static let severityRule = "give a whole number from \(severity.lowerBound) to \(severity.upperBound)"
    public static func weightRule(_ term: String) -> String {
        "the weight of \(term) must be a number from 0 to \(text(weight.upperBound))"
    }
    /// `whole`: the `init` flag takes whole minutes; `docket.yaml` takes any number of minutes.
    public static func leaseRule(whole: Bool) -> String {
        "give a \(whole ? "whole " : "")number of minutes from \(leaseMinutes.lowerBound) to \(leaseMinutes.upperBound) (one week)"
    }

    /// A lease of `minutes` in seconds, or nil when it lies outside `leaseMinutes` or is not finite.
    public static func leaseSeconds(minutes: Double) -> Int? {
        guard minutes.isFinite, minutes >= Double(leaseMinutes.lowerBound), minutes <= Double(leaseMinutes.upperBound) else { return nil }
        return Int((minutes * 60).rounded())
    }

    /// Whether a lease in seconds lies within `leaseMinutes`.
    public static func containsLease(seconds: Int) -> Bool {
        (leaseMinutes.lowerBound * 60...leaseMinutes.upperBound * 60).contains(seconds)
    }

    /// Whether `value` is finite and within `range`.
    public static func contains(_ range: ClosedRange<Double>, _ value: Double) -> Bool {
        value.isFinite && range.contains(value)
    }

    /// A number as a person typed it: `nan`, `inf` and `-inf` by name (JSON would say null),
    /// others in their shortest form.
    public static func text(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return JSONText.number(value)
    }
}
