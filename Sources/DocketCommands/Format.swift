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

    static func percent(_ value: Double) -> String {
        let text = String(format: "%.1f", value * 100)
        return (text.hasSuffix(".0") ? String(text.dropLast(2)) : text) + "%"
    }

    /// Renders rows as aligned columns; `rightAligned` marks numeric columns.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
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
