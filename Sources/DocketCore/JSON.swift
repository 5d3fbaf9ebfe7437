/// A JSON value with object keys kept in their input order.
///
/// Docket parses its own JSON because import speed is a product requirement: a row of an items
/// file is parsed straight from bytes, numbers with at most 15 significant digits and a small
/// exponent take Clinger's exact fast path, and everything else falls back to `Double(String)`,
/// so every number is read exactly (correctly rounded).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value for `key` in an object, or nil. Linear: objects in rows are small.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Where and why a JSON text could not be parsed.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based column (byte offset) in the text.
    public var column: Int
    public var message: String
    /// The text is not well-formed UTF-8 (bytes are never replaced with U+FFFD).
    public var isInvalidUTF8 = false
    /// For invalid UTF-8 in a top-level object: the member whose key or value holds the bad
    /// bytes (its key, bad bytes written `\xNN`); nil when they are outside every member.
    public var member: String?
    /// The string holding the bad bytes, written with `\xNN` escapes.
    var badString: String?

    public init(column: Int, message: String) {
        self.column = column
        self.message = message
    }

    public var description: String { "invalid JSON at column \(column): \(message)" }
}

public enum JSON {
    /// Parses one complete JSON text.
    /// - Complexity: O(n) in the length of the text.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses one complete JSON text from UTF-8 bytes.
    /// Strings must be well-formed UTF-8: bad bytes are an error (`isInvalidUTF8`) naming the
    /// top-level member that holds them, never replaced.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        do throws(JSONSyntaxError) {
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.index < bytes.count { throw parser.error("unexpected text after the value") }
            return value
        } catch {
            // Bad bytes outside strings stop the parser as a syntax error; they are reported as
            // invalid UTF-8 of the whole text.
            if !error.isInvalidUTF8, let bad = UTF8Check.firstInvalid(bytes) {
                var invalid = JSONSyntaxError(column: bad + 1, message: UTF8Check.problem)
                invalid.isInvalidUTF8 = true
                throw invalid
            }
            throw error
        }
    }

    public static func parse(bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in try parse(bytes: buffer) }
    }
}

struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(column: index + 1, message: message)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard index < bytes.count else { throw error("unexpected end of text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character '\(Self.printable(bytes[index]))'")
        }
    }

    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        guard index + count <= bytes.count else { throw error("unexpected end of text") }
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            index += offset
            throw error("unexpected character '\(Self.printable(bytes[index]))'")
        }
        index += count
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyColumn = index
            let key: String
            do { key = try parseString() } catch {
                var error = error
                if depth == 0, error.isInvalidUTF8, error.member == nil { error.member = error.badString }
                throw error
            }
            if members.contains(where: { $0.0 == key }) {
                throw JSONSyntaxError(column: keyColumn + 1, message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do { value = try parseValue(depth: depth + 1) } catch {
                var error = error
                if depth == 0, error.isInvalidUTF8, error.member == nil { error.member = key }
                throw error
            }
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text in an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text in an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes. Non-ASCII bytes are validated once the string's end is known.
        var high: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                if high >= 0x80, let bad = UTF8Check.firstInvalid(raw) { throw invalidUTF8(raw, at: start + bad) }
                let text = String(decoding: raw, as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in a string (escape it)") }
            high |= byte
            index += 1
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if let bad = UTF8Check.firstInvalid(scalars) {
                    throw scalars.withUnsafeBufferPointer { invalidUTF8($0, at: start + bad) }
                }
                index += 1
                return String(decoding: scalars, as: UTF8.self)
            }
            if byte < 0x20 { throw error("control character in a string (escape it)") }
            if byte != UInt8(ascii: "\\") { scalars.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append(0x22)
            case UInt8(ascii: "\\"): scalars.append(0x5C)
            case UInt8(ascii: "/"): scalars.append(0x2F)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw error("unpaired surrogate in \\u escape")
                }
                scalars.append(contentsOf: Array(String(UnicodeScalar(code)!).utf8))
            default:
                index -= 2
                throw error("invalid escape '\\\(Self.printable(escape))'")
            }
        }
        throw error("unterminated string")
    }

    func invalidUTF8(_ string: UnsafeBufferPointer<UInt8>, at offset: Int) -> JSONSyntaxError {
        var error = JSONSyntaxError(column: offset + 1, message: UTF8Check.problem)
        error.isInvalidUTF8 = true
        error.badString = UTF8Check.escaped(string)
        return error
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zero in a number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(bytes[index] - 0x30) } else { exponent += 1 }
                if mantissa != 0 { digits += 1 }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(bytes[index] - 0x30)
                    exponent -= 1
                    if mantissa != 0 { digits += 1 }
                }
                index += 1
            }
        }
        var explicitExponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) {
                if explicitExponent < 100_000 { explicitExponent = explicitExponent * 10 + Int(bytes[index] - 0x30) }
                index += 1
            }
            if exponentNegative { explicitExponent = -explicitExponent }
        }
        exponent += explicitExponent
        // Clinger's fast path: both the mantissa and 10^|e| are exact doubles, so one rounding.
        if digits <= 15, mantissa <= (1 << 53), abs(exponent) <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / Self.powersOfTen[-exponent] : value * Self.powersOfTen[exponent]
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw JSONSyntaxError(column: start + 1, message: "number out of range") }
        return value
    }
}

// MARK: - Encoding

extension JSONValue {
    /// Compact JSON text. With `sortedKeys`, object members are written in key order, which
    /// gives a canonical form for hashing and for deterministic output.
    public func encoded(sortedKeys: Bool = false) -> String {
        var bytes: [UInt8] = []
        encode(into: &bytes, sortedKeys: sortedKeys)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the JSON text as UTF-8 bytes (the fast path for writing datasets).
    @inlinable
    public func encode<Out: ByteOutput>(into out: inout Out, sortedKeys: Bool) {
        switch self {
        case .null: JSONText.appendNull(to: &out)
        case .bool(let value): JSONText.appendBool(value, to: &out)
        case .number(let value): JSONText.appendNumber(value, to: &out)
        case .string(let value): JSONText.appendString(value, to: &out)
        case .array(let elements):
            out.append(0x5B)
            for (offset, element) in elements.enumerated() {
                if offset > 0 { out.append(0x2C) }
                element.encode(into: &out, sortedKeys: sortedKeys)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            let ordered = sortedKeys ? members.sorted { $0.0 < $1.0 } : members
            for (offset, member) in ordered.enumerated() {
                if offset > 0 { out.append(0x2C) }
                JSONText.appendString(member.0, to: &out)
                out.append(0x3A)
                member.1.encode(into: &out, sortedKeys: sortedKeys)
            }
            out.append(0x7D)
        }
    }
}

/// Helpers for writing JSON text by hand, with stable number formatting. The writers are
/// generic over where the bytes go (`ByteOutput`) and inlinable, so a bulk export's calls are
/// specialised for its buffer.
public enum JSONText {
    /// Integral values within ±2^53 print without a fraction; other finite values print in
    /// Swift's shortest round-tripping form; non-finite values print as `null`.
    public static func number(_ value: Double) -> String {
        var bytes: [UInt8] = []
        appendNumber(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `number(value)` as bytes (the one place of the rule), integers digit by digit
    /// without building a string.
    @inlinable
    public static func appendNumber<Out: ByteOutput>(_ value: Double, to out: inout Out) {
        guard value.isFinite else { appendNull(to: &out); return }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            appendInteger(Int64(value), to: &out)
        } else {
            appendUTF8("\(value)", to: &out)
        }
    }

    /// Appends an integer in decimal.
    @inlinable
    public static func appendInteger<Out: ByteOutput>(_ value: Int64, to out: inout Out) {
        if value < 0 { out.append(0x2D) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, written from the end
        var start = 24
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: 48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(bytes: buffer.baseAddress! + start, count: 24 - start)
        }
    }

    @inlinable
    public static func appendNull<Out: ByteOutput>(to out: inout Out) { appendLiteral("null", to: &out) }

    @inlinable
    public static func appendBool<Out: ByteOutput>(_ value: Bool, to out: inout Out) { appendLiteral(value ? "true" : "false", to: &out) }

    /// Appends ASCII text given at compile time (punctuation and member names) as it is.
    @inlinable
    public static func appendLiteral<Out: ByteOutput>(_ text: StaticString, to out: inout Out) {
        out.append(bytes: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Appends a string's UTF-8 bytes as they are (no quoting, no escaping).
    @inlinable
    public static func appendUTF8<Out: ByteOutput>(_ text: String, to out: inout Out) {
        var text = text
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress { out.append(bytes: base, count: bytes.count) }
        }
    }

    /// Appends a string, or null when there is none.
    @inlinable
    public static func appendString<Out: ByteOutput>(_ value: String?, to out: inout Out) {
        if let value { appendString(value, to: &out) } else { appendNull(to: &out) }
    }

    /// Appends an instant as a quoted `Instant.iso8601` string, or null when there is none.
    @inlinable
    public static func appendInstant<Out: ByteOutput>(_ value: Instant?, to out: inout Out) {
        guard let value else { appendNull(to: &out); return }
        out.append(0x22)
        value.appendISO8601(to: &out)
        out.append(0x22)
    }

    /// `appendInstant`, through `text`, which remembers the last date it wrote.
    @inlinable
    public static func appendInstant<Out: ByteOutput>(_ value: Instant?, with text: inout ISO8601Bytes, to out: inout Out) {
        guard let value else { appendNull(to: &out); return }
        out.append(0x22)
        text.append(value, to: &out)
        out.append(0x22)
    }

    public static func string(_ value: String) -> String {
        var out: [UInt8] = []
        appendString(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a quoted JSON string. Control characters (C0, DEL, C1) and U+2028/U+2029 are
    /// written as \u escapes, so the text is safe in any JSON reader and on any terminal.
    @inlinable
    public static func appendString<Out: ByteOutput>(_ value: String, to out: inout Out) {
        out.append(0x22)
        var value = value
        value.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var i = 0
            let n = bytes.count
            var runStart = 0
            while i < n {
                let byte = base[i]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte < 0x7F { i += 1; continue }
                if byte >= 0x80 {
                    // C1 controls (C2 80–9F) and U+2028/U+2029 (E2 80 A8/A9) are escaped; other UTF-8 passes.
                    if byte == 0xC2, i + 1 < n, base[i + 1] >= 0x80, base[i + 1] <= 0x9F {
                        if i > runStart { out.append(bytes: base + runStart, count: i - runStart) }
                        appendEscape(UInt32(base[i + 1]), to: &out); i += 2; runStart = i; continue
                    }
                    if byte == 0xE2, i + 2 < n, base[i + 1] == 0x80, base[i + 2] == 0xA8 || base[i + 2] == 0xA9 {
                        if i > runStart { out.append(bytes: base + runStart, count: i - runStart) }
                        appendEscape(base[i + 2] == 0xA8 ? 0x2028 : 0x2029, to: &out); i += 3; runStart = i; continue
                    }
                    i += 1
                    continue
                }
                if i > runStart { out.append(bytes: base + runStart, count: i - runStart) }
                switch byte {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(0x6E)
                case 0x0D: out.append(0x5C); out.append(0x72)
                case 0x09: out.append(0x5C); out.append(0x74)
                default: appendEscape(UInt32(byte), to: &out)
                }
                i += 1
                runStart = i
            }
            if n > runStart { out.append(bytes: base + runStart, count: n - runStart) }
        }
        out.append(0x22)
    }

    /// `\u` and four lowercase hex digits.
    @usableFromInline
    static func appendEscape<Out: ByteOutput>(_ code: UInt32, to out: inout Out) {
        out.append(0x5C)
        out.append(0x75)
        for shift in stride(from: 12, through: 0, by: -4) {
            let digit = UInt8(truncatingIfNeeded: (code >> UInt32(shift)) & 0xF)
            out.append(digit < 10 ? 48 + digit : 87 + digit)
        }
    }
}
