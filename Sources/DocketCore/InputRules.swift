/// Rules for reading input exactly: well-formed UTF-8, item ids and reviewer names. Every path
/// that reads one of these calls the function here, so the paths cannot disagree.

// MARK: - UTF-8

/// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
/// Input bytes are never repaired: text that is not UTF-8 is refused, so two distinct inputs can
/// never become the same stored string.
public enum UTF8Check {
    /// The offset of the first byte that does not begin a well-formed sequence, or nil when every
    /// byte is part of one.
    /// - Complexity: O(n); ASCII bytes take one comparison each.
    public static func firstInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            var trailing = 0
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // range of the first continuation byte
            switch lead {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0  // no overlong three-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; high = 0x9F  // no surrogates
            case 0xF0: trailing = 3; low = 0x90  // no overlong four-byte forms
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; high = 0x8F  // nothing above U+10FFFF
            default: return i  // a continuation byte, C0/C1 (overlong) or F5...FF
            }
            guard i + trailing < n, bytes[i + 1] >= low, bytes[i + 1] <= high else { return i }
            var k = 2
            while k <= trailing {
                guard bytes[i + k] & 0xC0 == 0x80 else { return i }
                k += 1
            }
            i += trailing + 1
        }
        return nil
    }

    public static func firstInvalid(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { firstInvalid($0) }
    }

    public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { firstInvalid(bytes) == nil }

    public static func isValid(_ bytes: [UInt8]) -> Bool { firstInvalid(bytes) == nil }

    /// The text with every byte that is not part of a well-formed sequence written as `\xNN`, to
    /// name a field whose key holds bad bytes.
    public static func escaped(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out = ""
        var start = 0
        while start < bytes.count {
            let rest = UnsafeBufferPointer(rebasing: bytes[start...])
            guard let bad = firstInvalid(rest) else {
                out += String(decoding: rest, as: UTF8.self)
                break
            }
            out += String(decoding: UnsafeBufferPointer(rebasing: rest[..<bad]), as: UTF8.self)
            let byte = rest[bad]
            out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            start += bad + 1
        }
        return out
    }

    public static func escaped(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { escaped($0) }
    }

    /// The problem reported for a field (or a line) that is not UTF-8.
    public static let problem = "invalid UTF-8"
}

// MARK: - Stored text

/// The one rule for text a project stores, on either backend: no NUL character (U+0000).
/// PostgreSQL's text cannot hold one, so a project that took it on SQLite could not move to a
/// team's server; it is refused where the text comes in, naming the field.
public enum StoredText {
    public static let nulProblem = "holds a NUL character (U+0000), which a project cannot store; remove it"

    public static func hasNUL(_ text: String) -> Bool { text.utf8.contains(0) }

    /// Whether any string or key inside `value` holds a NUL character.
    public static func hasNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return hasNUL(text)
        case .array(let elements): return elements.contains { hasNUL($0) }
        case .object(let members): return members.contains { hasNUL($0.0) || hasNUL($0.1) }
        case .null, .bool, .number: return false
        }
    }
}

// MARK: - Item ids

public enum ItemID {
    /// Why `id` cannot be an item id, or nil when it can. An id must not be empty nor only
    /// whitespace, and must not hold a line break or any other control character (C0, DEL, C1,
    /// U+2028, U+2029): ids are printed one per line and typed on command lines.
    public static func problem(_ id: String) -> String? {
        if id.isEmpty { return "must not be empty" }
        // Printable ASCII with something besides spaces, the usual id, needs no Unicode tables.
        var printable = true, onlySpaces = true
        for byte in id.utf8 {
            if byte < 0x20 || byte >= 0x7F { printable = false; break }
            if byte != 0x20 { onlySpaces = false }
        }
        if printable, !onlySpaces { return nil }
        var onlySpace = true
        for (offset, scalar) in id.unicodeScalars.enumerated() {
            if isBreakOrControl(scalar) {
                return "must not contain line breaks or control characters (\(codePoint(scalar)) at character \(offset + 1))"
            }
            if !scalar.properties.isWhitespace { onlySpace = false }
        }
        if onlySpace { return "must not be only whitespace" }
        return nil
    }

    static func isBreakOrControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}

/// `U+00A0` notation.
func codePoint(_ scalar: Unicode.Scalar) -> String {
    let hex = String(scalar.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}

// MARK: - Reviewer names

/// Why a reviewer name was refused.
public struct ReviewerNameError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// A clause, e.g. "it ends with a space".
    public var reason: String
    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }
    public var description: String { "'\(name)' is not a valid reviewer name: \(reason)" }
}

/// The one rule for reviewer names, used by `reviewers add`, every `--as`, `import labels` and
/// every store lookup, so `ana` and `ana ` or the NFC and NFD spellings of `ána` can never be two
/// reviewers.
public enum ReviewerName {
    public static let maxLength = 64

    /// The name in Unicode NFC, or why it cannot be a reviewer name: empty, longer than
    /// `maxLength` characters, starting or ending with whitespace, holding whitespace other than
    /// a plain space, or holding a control, format (invisible: zero-width, bidi), separator,
    /// default-ignorable or unassigned character.
    public static func normalised(_ raw: String) throws(ReviewerNameError) -> String {
        let name = nfc(raw)
        guard !name.isEmpty else { throw ReviewerNameError(name: raw, reason: "it is empty") }
        if let first = name.unicodeScalars.first, first.properties.isWhitespace {
            throw ReviewerNameError(name: raw, reason: "it starts with whitespace")
        }
        if let last = name.unicodeScalars.last, last.properties.isWhitespace {
            throw ReviewerNameError(name: raw, reason: "it ends with whitespace")
        }
        for (offset, scalar) in name.unicodeScalars.enumerated() {
            if let kind = refusedKind(scalar) {
                throw ReviewerNameError(name: raw, reason: "it holds \(kind) (\(codePoint(scalar)) at character \(offset + 1))")
            }
        }
        let length = name.count
        guard length <= maxLength else {
            throw ReviewerNameError(name: raw, reason: "it has \(length) characters; the most is \(maxLength)")
        }
        return name
    }

    static func refusedKind(_ scalar: Unicode.Scalar) -> String? {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control: return "a control character"
        case .format: return "an invisible formatting character"
        case .lineSeparator, .paragraphSeparator: return "a line break"
        case .unassigned, .surrogate: return "an unassigned character"
        case .privateUse: return "a private-use character"
        default: break
        }
        if properties.isDefaultIgnorableCodePoint { return "an invisible character" }
        if properties.isWhitespace, scalar != " " { return "whitespace other than a plain space" }
        return nil
    }

    /// Unicode Normalization Form C, by the standard library's normaliser (the same one
    /// Foundation's `precomposedStringWithCanonicalMapping` uses), so the core needs no Foundation.
    public static func nfc(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }
}
