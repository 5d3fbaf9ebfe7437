/// Stored text comes from models and users and may be adversarial: control characters and
/// terminal escape sequences are shown as visible escapes, never sent raw to the terminal.
enum Sanitize {
    /// For one-line cells: every control character, including newlines and tabs, is escaped.
    static func inline(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars { append(scalar, to: &out, keepNewlines: false) }
        return out
    }

    /// For blocks of text: newlines and tabs stay, every other control character is escaped.
    static func block(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars { append(scalar, to: &out, keepNewlines: true) }
        return out
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String, keepNewlines: Bool) {
        switch scalar.value {
        case 0x0A where keepNewlines, 0x09 where keepNewlines: out.unicodeScalars.append(scalar)
        case 0x0A: out += "\\n"
        case 0x09: out += "\\t"
        case 0x0D: out += "\\r"
        case 0x1B: out += "\\e"
        case 0x00..<0x20, 0x7F, 0x80...0x9F:
            let hex = String(scalar.value, radix: 16)
            out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
        case 0x202A...0x202E, 0x2066...0x2069:
            // Bidirectional overrides can make text read differently from what it is.
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
}
