import DocketCore

/// Range checks for numeric command-line options. Every numeric option has a sane range, and a
/// value outside it (non-finite numbers included) is refused before any work starts, with
/// `Invalid --name 'value': give … from A to B.`, so no option can overflow, allocate without
/// bound or loop without end. Project settings have their own bounds in `SettingBounds`.
enum OptionBounds {
    /// A whole number of `what` ("resamples") within `range`.
    static func whole(_ name: String, _ value: Int, _ range: ClosedRange<Int>, _ what: String) throws(CommandError) {
        try whole(name, value, range, phrase: "a whole number of \(what)")
    }

    /// A whole number within `range`, named by `phrase` ("a severity").
    static func whole(_ name: String, _ value: Int, _ range: ClosedRange<Int>, phrase: String) throws(CommandError) {
        guard range.contains(value) else {
            throw .invalidOption(name: name, value: String(value), reason: "give \(phrase) from \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// A finite number within `range`; `what` names it ("a share", "a tolerance").
    static func number(_ name: String, _ value: Double, _ range: ClosedRange<Double>, _ what: String) throws(CommandError) {
        guard SettingBounds.contains(range, value) else {
            throw .invalidOption(
                name: name, value: SettingBounds.text(value),
                reason: "give \(what) from \(SettingBounds.text(range.lowerBound)) to \(SettingBounds.text(range.upperBound))")
        }
    }

    /// A finite number strictly between `low` and `high`.
    static func number(_ name: String, _ value: Double, above low: Double, below high: Double, _ what: String) throws(CommandError) {
        guard value.isFinite, value > low, value < high else {
            throw .invalidOption(
                name: name, value: SettingBounds.text(value),
                reason: "give \(what) above \(SettingBounds.text(low)) and below \(SettingBounds.text(high))")
        }
    }

    /// A comma-separated list that names nothing twice (after `normalise`, when given).
    static func distinct(_ name: String, _ list: String, _ values: [String], what: String) throws(CommandError) {
        var seen = Set<String>()
        for value in values where !seen.insert(value).inserted {
            throw .invalidOption(name: name, value: list, reason: "the \(what) '\(value)' is named twice; name each once")
        }
    }

    // The ranges, named once so the help texts, the checks and the README agree.
    static let reps = 1...10_000
    static let maxIterations = 1...10_000
    static let tolerance = 0.0...1.0
    static let queueLength = 0...1_000_000
    static let listedErrors = 0...1_000_000
    static let triageLimit = 1...100_000
    static let rubricVersion = 1...1_000_000
    static let psi = 0.0...100.0
    static let targetWidth = 0.001...1.0
    // The hidden benchmark commands.
    static let benchCount = 0...1_000_000
    static let benchRepeats = 1...10_000
}
