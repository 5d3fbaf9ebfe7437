/// A reviewer's own progress, for the session's header: what they did today, how long an item
/// takes them, and what is left for them. It says nothing about the project's selections or
/// budget position, so a gold item mixed into the queue looks like any other.
public struct ReviewerPace: Equatable, Sendable {
    /// Items this reviewer finished since the start of their day.
    public var doneToday: Int
    /// Seconds spent on each of the reviewer's recent finished items (any order).
    public var recentSeconds: [Double]
    /// Items this reviewer may still be served (in progress with room and not had, plus new
    /// selections the budget still allows).
    public var left: Int

    public init(doneToday: Int, recentSeconds: [Double], left: Int) {
        self.doneToday = doneToday
        self.recentSeconds = recentSeconds
        self.left = left
    }

    /// The median seconds per item, or nil before the first finished item.
    /// - Complexity: O(n log n) in the number of recent items.
    public var medianSeconds: Double? {
        let sorted = recentSeconds.filter { $0.isFinite && $0 >= 0 }.sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Estimated seconds to finish what is left, at the median pace; nil without a pace.
    public var etaSeconds: Double? { medianSeconds.map { $0 * Double(left) } }

    /// The header's words: `3 done today · 12 s/item · 40 left · about 8 min`.
    public var summary: String {
        var parts = ["\(doneToday) done today"]
        if let median = medianSeconds { parts.append("\(Self.duration(median, compact: true))/item") }
        parts.append("\(left) left")
        if let eta = etaSeconds, eta >= 1, left > 0 { parts.append("about \(Self.duration(eta, compact: false))") }
        return parts.joined(separator: " · ")
    }

    /// `12 s`, `4 min`, `2 h 5 min` — whole units, never false precision.
    public static func duration(_ seconds: Double, compact: Bool) -> String {
        let total = Int(max(0, min(seconds, 1e9)).rounded())
        if total < 60 { return "\(total) s" }
        let minutes = (total + 30) / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60, rest = minutes % 60
        return rest == 0 || compact ? "\(hours) h" : "\(hours) h \(rest) min"
    }
}
