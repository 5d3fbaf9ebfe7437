/// A point in time, as milliseconds since the Unix epoch. The core never reads a clock:
/// callers pass instants in.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }
    /// Saturates at the ends of time instead of trapping (a lease stored by an older build may be huge).
    public func adding(seconds: Int) -> Instant {
        let (delta, overflowed) = Int64(seconds).multipliedReportingOverflow(by: 1000)
        let (sum, overflowedSum) = milliseconds.addingReportingOverflow(delta)
        guard !overflowed, !overflowedSum else { return Instant(milliseconds: seconds < 0 ? .min : .max) }
        return Instant(milliseconds: sum)
    }

    /// Milliseconds from `earlier` to this instant, saturating instead of trapping (a time stored
    /// by hand may be anything).
    public func milliseconds(since earlier: Instant) -> Int64 {
        let (difference, overflowed) = milliseconds.subtractingReportingOverflow(earlier.milliseconds)
        guard !overflowed else { return milliseconds < earlier.milliseconds ? .min : .max }
        return difference
    }

    /// Days since the epoch, rounded down (so a time before it is in day -1), without overflow.
    @usableFromInline
    var epochDay: Int64 {
        let (days, remainder) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        return remainder < 0 ? days - 1 : days
    }

    /// ISO 8601 in UTC with milliseconds, e.g. `2026-11-29T10:56:43.000Z`.
    public var iso8601: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `iso8601` as bytes (`ISO8601Bytes`, the one writer of the form).
    @inlinable
    public func appendISO8601<Out: ByteOutput>(to out: inout Out) {
        ISO8601Bytes.append(self, to: &out)
    }

    public var description: String { iso8601 }

    /// The Monday (UTC) of this instant's ISO week, as `YYYY-MM-DD`. 1970-01-01 was a Thursday.
    public var isoWeekStart: String {
        let days = epochDay
        let monday = days - ((days % 7 + 7 + 3) % 7)
        let (start, overflowed) = monday.multipliedReportingOverflow(by: 86_400_000)
        // The first days of year 0000 belong to a week that starts in year -1, which a
        // four-digit year cannot write: their week is named by the first day Docket writes.
        if !overflowed, start < Instant.earliest.milliseconds, self >= Instant.earliest { return "0000-01-01" }
        // A Monday before the first representable instant: the day itself stands for its week.
        return String((overflowed ? self : Instant(milliseconds: start)).iso8601.prefix(10))
    }

    /// Parses an RFC 3339 time, the one parser for every time Docket reads (import fields and
    /// command-line options): `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or an offset `±HH:MM`
    /// within ±14:00. `T` may be a space or lower case, `Z` lower case; fractions beyond
    /// milliseconds are truncated; a leap second (`:60`) is taken only at 23:59 UTC and read as
    /// the next day's midnight. A bare date `YYYY-MM-DD` is midnight UTC. Dates are checked
    /// against the calendar (no `2026-02-30`), and a time without a zone is an error, not a guess.
    public static func parse(_ text: String) throws(TimeParseError) -> Instant {
        let chars = Array(text.utf8)
        var index = 0
        func fail(_ reason: String) -> TimeParseError { TimeParseError(text: text, reason: reason) }
        let malformed = "give an RFC 3339 time such as 2026-11-29T10:00:00Z or 2026-11-29T11:00:00+01:00, or a date such as 2026-11-29"
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= chars.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<digits {
                let c = chars[index]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
                index += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard index < chars.count, chars[index] == c else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else { throw fail(malformed) }
        guard (1...12).contains(month) else { throw fail("there is no month \(month)") }
        let length = daysIn(month: month, year: year)
        guard (1...length).contains(day) else {
            throw fail("\(monthNames[Int(month) - 1]) \(year) has \(length) days")
        }
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, millis: Int64 = 0, offset: Int64 = 0
        if index < chars.count {
            // 84 T, 116 t, 32 space.
            guard expect(84) || expect(116) || expect(32) else { throw fail(malformed) }
            guard let h = number(2), expect(58), let m = number(2) else { throw fail(malformed) }
            guard expect(58), let s = number(2) else {
                throw fail("give the seconds too (HH:MM:SS)")
            }
            guard h < 24, m < 60, s <= 60 else {
                throw fail("\(pad(h)):\(pad(m)):\(pad(s)) is not a time of day")
            }
            hour = h; minute = m; second = s
            if expect(46) {
                var scale: Int64 = 100
                var digits = 0
                while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                    millis += Int64(chars[index] - 48) * scale
                    scale /= 10
                    index += 1
                    digits += 1
                }
                guard digits > 0 else { throw fail(malformed) }
            }
            if index == chars.count {
                throw fail("the time has no zone; add Z for UTC or an offset such as +01:00")
            }
            if expect(90) || expect(122) {  // Z, z
            } else if chars[index] == 43 || chars[index] == 45 {
                let sign: Int64 = chars[index] == 45 ? -1 : 1
                index += 1
                guard let oh = number(2), expect(58), let om = number(2) else { throw fail(malformed) }
                guard om < 60, oh * 60 + om <= 14 * 60 else {
                    throw fail("the offset \(sign < 0 ? "-" : "+")\(pad(oh)):\(pad(om)) is outside -14:00...+14:00")
                }
                offset = sign * (oh * 60 + om)
            } else {
                throw fail(malformed)
            }
            guard index == chars.count else { throw fail(malformed) }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60
        var instant = Instant(milliseconds: seconds * 1000 + millis)
        if second == 60 {
            // A leap second is inserted only at the end of a UTC day.
            let utcSecondOfDay = ((seconds - 1) % 86_400 + 86_400) % 86_400
            guard utcSecondOfDay == 86_399 else {
                throw fail("a leap second (:60) comes only at 23:59:60 UTC")
            }
            instant = Instant(milliseconds: seconds * 1000)
        }
        // Every time is written back in UTC with a four-digit year, so one that an offset moves
        // out of those years could not be written as it was read.
        guard instant >= earliest, instant <= latest else {
            throw fail("it falls outside the years 0000 to 9999 in UTC, the times Docket can write back")
        }
        return instant
    }

    /// The first and last instants with a four-digit year in UTC: 0000-01-01T00:00:00.000Z and
    /// 9999-12-31T23:59:59.999Z.
    public static let earliest = Instant(milliseconds: -62_167_219_200_000)
    public static let latest = Instant(milliseconds: 253_402_300_799_999)

    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func pad(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// Why a text is not a time Docket reads.
public struct TimeParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    /// A clause naming the problem and the fix, e.g. "February 2026 has 28 days".
    public var reason: String
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }
    public var description: String { "'\(text)' is not a valid time: \(reason)" }
}

/// The level of measurement of a project's labels; it decides which agreement statistics apply.
public enum MeasurementLevel: String, CaseIterable, Sendable, Codable {
    case nominal, ordinal, interval, ratio
}

public enum Role: String, CaseIterable, Sendable, Codable {
    case reviewer, lead, admin
}

/// Weights of the three utility terms. The seed notebook's defaults are 0.5 / 0.35 / 0.15.
public struct UtilityWeights: Equatable, Sendable {
    public var risk: Double
    public var uncertainty: Double
    public var diversity: Double

    public init(risk: Double, uncertainty: Double, diversity: Double) {
        self.risk = risk
        self.uncertainty = uncertainty
        self.diversity = diversity
    }

    public static let notebook = UtilityWeights(risk: 0.5, uncertainty: 0.35, diversity: 0.15)

    /// Parses `risk=0.5,uncertainty=0.35,diversity=0.15`. Terms left out keep their default.
    /// Every weight must be finite and within `SettingBounds.weight`, each term given once, and at least one positive.
    public static func parse(_ text: String, defaults: UtilityWeights = .notebook) throws(CoreError) -> UtilityWeights {
        var weights = defaults
        var seen = Set<String>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2 else {
                throw .invalidSetting(name: "weights", value: text, reason: "write each weight as name=value, e.g. risk=0.5,uncertainty=0.35,diversity=0.15")
            }
            let name = pieces[0].trimmingSpaces
            guard let value = Double(pieces[1].trimmingSpaces), SettingBounds.contains(SettingBounds.weight, value) else {
                throw .invalidSetting(name: "weights", value: text, reason: SettingBounds.weightRule(name))
            }
            guard seen.insert(name).inserted else {
                throw .invalidSetting(name: "weights", value: text, reason: "the weight of \(name) is given twice")
            }
            switch name {
            case "risk": weights.risk = value
            case "uncertainty": weights.uncertainty = value
            case "diversity": weights.diversity = value
            default:
                throw .invalidSetting(name: "weights", value: text, reason: "unknown term '\(name)'; the terms are risk, uncertainty and diversity")
            }
        }
        guard weights.hasPositiveTerm else {
            throw .invalidSetting(name: "weights", value: text, reason: UtilityWeights.allZeroRule)
        }
        return weights
    }

    /// The one rule for `init --weights` and `weights:` in docket.yaml: all-zero weights would
    /// make every utility 0 and the queue an alphabetical list.
    public var hasPositiveTerm: Bool { risk + uncertainty + diversity > 0 }
    public static let allZeroRule = "at least one weight must be positive"

    public var description: String {
        "risk=\(JSONText.number(risk)),uncertainty=\(JSONText.number(uncertainty)),diversity=\(JSONText.number(diversity))"
    }
}

/// A project's task settings.
public struct ProjectSettings: Equatable, Sendable {
    /// Declared labels, in order (the order matters for ordinal statistics).
    public var labels: [String]
    public var level: MeasurementLevel
    /// How many reviewers should see each item.
    public var overlap: Int
    /// How many distinct items may be handed out; nil means no cap.
    public var budget: Int?
    public var weights: UtilityWeights
    /// Share of new selections drawn uniformly at random (epsilon-greedy).
    public var explore: Double
    public var leaseSeconds: Int
    /// Seed of the exploration draws; fixed at init so serving is reproducible.
    public var seed: UInt64

    public init(
        labels: [String] = [], level: MeasurementLevel = .nominal, overlap: Int = 1, budget: Int? = nil,
        weights: UtilityWeights = .notebook, explore: Double = 0.1, leaseSeconds: Int = 1200, seed: UInt64 = 0
    ) {
        self.labels = labels
        self.level = level
        self.overlap = overlap
        self.budget = budget
        self.weights = weights
        self.explore = explore
        self.leaseSeconds = leaseSeconds
        self.seed = seed
    }

    /// Checks every setting and returns the first problem.
    public func validate() throws(CoreError) {
        var seen = Set<String>()
        for label in labels {
            guard !label.isEmpty, label.trimmingSpaces == label else {
                throw .invalidSetting(name: "labels", value: labels.joined(separator: ","), reason: "labels must be non-empty and have no surrounding spaces")
            }
            guard seen.insert(label).inserted else {
                throw .invalidSetting(name: "labels", value: labels.joined(separator: ","), reason: "label '\(label)' is declared twice")
            }
        }
        if let problem = numericProblems.first { throw problem }
    }

    /// Every numeric setting outside its `SettingBounds`, in the order of the settings.
    public var numericProblems: [CoreError] {
        var problems: [CoreError] = []
        if !SettingBounds.overlap.contains(overlap) {
            problems.append(.invalidSetting(name: "overlap", value: String(overlap), reason: SettingBounds.overlapRule))
        }
        if let budget, !SettingBounds.budget.contains(budget) {
            problems.append(.invalidSetting(name: "budget", value: String(budget), reason: SettingBounds.budgetRule))
        }
        for (term, value) in [("risk", weights.risk), ("uncertainty", weights.uncertainty), ("diversity", weights.diversity)]
        where !SettingBounds.contains(SettingBounds.weight, value) {
            problems.append(.invalidSetting(name: "weights", value: SettingBounds.text(value), reason: SettingBounds.weightRule(term)))
            break
        }
        if !SettingBounds.contains(0...1, explore) {
            problems.append(.invalidSetting(name: "explore", value: SettingBounds.text(explore), reason: SettingBounds.exploreRule))
        }
        if !SettingBounds.containsLease(seconds: leaseSeconds) {
            problems.append(.invalidSetting(name: "lease", value: SettingBounds.text(Double(leaseSeconds) / 60), reason: SettingBounds.leaseRule(whole: false)))
        }
        return problems
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension String {
    var trimmingSpaces: String { Substring(self).trimmingSpaces }
}

/// Writes instants as `Instant.iso8601` bytes (`2026-11-29T10:56:43.000Z`), remembering the date
/// part of the last days written (a direct-mapped table of 64 days): an export writes millions of
/// times, nearly all on days it has just written.
public struct ISO8601Bytes {
    /// Per slot (the day modulo 64): the day it holds, and that day's first 11 bytes (`YYYY-MM-DDT`).
    @usableFromInline var days: [Int64]
    @usableFromInline var dates: [(UInt64, UInt64)]

    /// The table is made at the first instant written.
    public init() {
        days = []
        dates = []
    }

    @inlinable
    public mutating func append<Out: ByteOutput>(_ instant: Instant, to out: inout Out) {
        if days.isEmpty {
            days = Array(repeating: .min, count: 64)
            dates = Array(repeating: (0, 0), count: 64)
        }
        let day = instant.epochDay
        let slot = Int(truncatingIfNeeded: day & 63)
        if days[slot] != day {
            dates[slot] = Self.date(ofDay: day)
            days[slot] = day
        }
        Self.write(instant, day: day, date: dates[slot], to: &out)
    }

    /// One instant, with nothing remembered (`Instant.appendISO8601`).
    @inlinable
    public static func append<Out: ByteOutput>(_ instant: Instant, to out: inout Out) {
        let day = instant.epochDay
        write(instant, day: day, date: date(ofDay: day), to: &out)
    }

    /// The 24 bytes of `instant`, whose day is `day` and whose date part is `date`.
    @inlinable
    static func write<Out: ByteOutput>(_ instant: Instant, day: Int64, date: (UInt64, UInt64), to out: inout Out) {
        // Wrapping arithmetic: the true value is within a day, even where days × 86,400,000 is not.
        let msOfDay = instant.milliseconds &- day &* 86_400_000
        // Fixed-width fields, written into 24 bytes on the stack and appended at once.
        let hour = msOfDay / 3_600_000, minute = msOfDay / 60000 % 60, second = msOfDay / 1000 % 60, milli = msOfDay % 1000
        var text: (UInt64, UInt64, UInt64) = (date.0, date.1, 0)
        withUnsafeMutableBytes(of: &text) { b in
            b[11] = digit(hour / 10); b[12] = digit(hour); b[13] = 58
            b[14] = digit(minute / 10); b[15] = digit(minute); b[16] = 58
            b[17] = digit(second / 10); b[18] = digit(second); b[19] = 46
            b[20] = digit(milli / 100); b[21] = digit(milli / 10); b[22] = digit(milli); b[23] = 90
            out.append(bytes: b.baseAddress!, count: 24)
        }
    }

    /// The lowest decimal digit of the magnitude, as ASCII (a field wider than its width prints
    /// its lowest digits, and a year before 0, written by hand, prints those of its magnitude).
    @inlinable
    static func digit(_ value: Int64) -> UInt8 { UInt8(truncatingIfNeeded: 48 + (value % 10).magnitude) }

    /// `YYYY-MM-DDT` of a day since the epoch, in the first 11 bytes (civil-from-days, Howard
    /// Hinnant's algorithm).
    @usableFromInline
    static func date(ofDay epochDay: Int64) -> (UInt64, UInt64) {
        let days = epochDay + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        var year = yearOfEra + era * 400
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        var text: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &text) { b in
            b[0] = digit(year / 1000); b[1] = digit(year / 100); b[2] = digit(year / 10); b[3] = digit(year); b[4] = 45
            b[5] = digit(month / 10); b[6] = digit(month); b[7] = 45; b[8] = digit(day / 10); b[9] = digit(day); b[10] = 84
        }
        return text
    }
}
