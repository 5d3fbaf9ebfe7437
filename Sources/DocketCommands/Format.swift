import DocketCore
import Foundation

enum Format {
    /// 1234567 → "1,234,567".
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    static func fixed(_ value: Double?, _ digits: Int = 3) -> String {
        guard let value else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    /// A share as a percentage, by the one rule (`Percent.text`: one decimal, always).
    static func percent(_ value: Double?) -> String { Percent.text(value) }

    /// Wraps a line of Docket's own text (`Asks: …`, a decision) at word boundaries so no line is
    /// wider than `width` columns: the first line starts at the margin, the ones after it with
    /// `indent` (a hanging indent). Runs of spaces become one; a word longer than a line is cut.
    /// Lines are joined with "\n", without a trailing newline. Uses `TextWrap.wrap`.
    static func hangingWrap(_ text: String, width: Int, indent: String = "  ") -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let words = line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            guard let first = TextWrap.wrap(words, width: width).first, first.count < words.count else { return words }
            let rest = words.dropFirst(first.count).drop(while: { $0 == " " })
            return ([first] + TextWrap.wrap(String(rest), width: width, indent: indent)).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Renders rows as aligned columns; `rightAligned` marks numeric columns.
    /// Cells are data (category names, labels): each is made inert (`Sanitize.inline`) whatever
    /// the output is, and columns are measured in terminal columns.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let header = header.map(Sanitize.inline)
        let rows = rows.map { $0.map(Sanitize.inline) }
        var widths = header.map { TextWrap.columns($0) }
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count { widths[column] = max(widths[column], TextWrap.columns(cell)) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: max(0, (column < widths.count ? widths[column] : 0) - TextWrap.columns(cell)))
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Builds a JSON object by hand with stable key order and number formatting.
struct JSONObjectWriter {
    private var members: [(String, JSONValue)] = []
    mutating func set(_ key: String, _ value: JSONValue) { members.append((key, value)) }
    mutating func set(_ key: String, _ value: String?) { members.append((key, value.map { .string($0) } ?? .null)) }
    mutating func set(_ key: String, _ value: Double?) { members.append((key, value.map { .number($0) } ?? .null)) }
    mutating func set(_ key: String, _ value: Int?) { members.append((key, value.map { .number(Double($0)) } ?? .null)) }
    var value: JSONValue { .object(members) }
}
