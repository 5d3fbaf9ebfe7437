/// Pieces of dataset export that need no IO: CSV cells, deterministic splits, near-duplicate clusters.
public enum CSVText {
    /// One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled.
    /// A cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is
    /// neutralised with a leading apostrophe, since reviewers' free text ends up in spreadsheets.
    public static func cell(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        let needsQuotes = value.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard needsQuotes else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A numeric cell is written as is (a negative number is data, not a formula).
    public static func number(_ value: Double) -> String { JSONText.number(value) }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}

/// Assigns groups (items or clusters) to named splits, deterministically: a group's share of the
/// unit interval comes from a SplitMix64 seeded by the seed and the FNV-1a hash of the group key,
/// so the same key always lands in the same split, whatever else is exported.
public struct SplitPlan: Equatable, Sendable {
    public var splits: [(name: String, fraction: Double)]
    public var seed: UInt64

    public static func == (a: SplitPlan, b: SplitPlan) -> Bool {
        a.seed == b.seed && a.splits.map(\.name) == b.splits.map(\.name) && a.splits.map(\.fraction) == b.splits.map(\.fraction)
    }

    /// Parses `train=0.9,eval=0.1`; each fraction lies in (0, 1], each name once and without
    /// whitespace or control characters, and they sum to 1.
    public static func parse(_ text: String, seed: UInt64) throws(CoreError) -> SplitPlan {
        var splits: [(String, Double)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, !pieces[0].isEmpty, let fraction = Double(pieces[1]) else {
                throw .invalidSetting(name: "split", value: text, reason: "write each split as name=fraction, e.g. train=0.9,eval=0.1")
            }
            // A split name becomes a field value and often a file name: no spaces, no control or
            // invisible format characters (`tr ain`, a tab, a zero-width space).
            guard pieces[0].unicodeScalars.allSatisfy({ scalar in
                !scalar.properties.isWhitespace && ![.control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator].contains(scalar.properties.generalCategory)
            }) else {
                throw .invalidSetting(name: "split", value: text, reason: "a split name cannot contain spaces or control characters")
            }
            guard fraction.isFinite, fraction > 0, fraction <= 1 else {
                throw .invalidSetting(name: "split", value: text, reason: "the fraction of '\(pieces[0])' must be above 0 and at most 1")
            }
            guard !splits.contains(where: { $0.0 == pieces[0] }) else {
                throw .invalidSetting(name: "split", value: text, reason: "the split '\(pieces[0])' is named twice")
            }
            splits.append((pieces[0], fraction))
        }
        let total = splits.reduce(0) { $0 + $1.1 }
        guard !splits.isEmpty, abs(total - 1) < 1e-9 else {
            throw .invalidSetting(name: "split", value: text, reason: "the fractions must add up to 1")
        }
        return SplitPlan(splits: splits.map { (name: $0.0, fraction: $0.1) }, seed: seed)
    }

    public func split(for key: String) -> String {
        var generator = SplitMix64(seed: seed ^ Self.fnv1a(key))
        let u = generator.nextUnit()
        var cumulative = 0.0
        for split in splits {
            cumulative += split.fraction
            if u < cumulative { return split.name }
        }
        return splits.last!.name
    }

    /// FNV-1a, 64-bit.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
