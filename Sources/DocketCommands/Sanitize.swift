/// Stored text comes from models and users and may be adversarial: control characters and
/// terminal escape sequences are shown as visible escapes, never sent raw to the terminal, and so
/// are characters a reader cannot see or that make text read differently from what it is
/// (zero-width characters, bidirectional controls, line and paragraph separators, soft hyphens,
/// every other format character), written `\u{200b}`.
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

    /// For everything written to a terminal: like `block`, and a carriage return stays where it
    /// ends a line (`\r\n`). A lone one would send the cursor back to overwrite the start of the
    /// line with what follows, so it is shown as `\r`. Text already sanitised passes unchanged (a
    /// backslash is not escaped).
    static func terminal(_ text: String) -> String {
        // Fast path: most output is plain printable text.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x09 }) { return text }
        var out = ""
        var scalars = text.unicodeScalars.makeIterator()
        var next = scalars.next()
        while let scalar = next {
            next = scalars.next()
            if scalar.value == 0x0D, next?.value == 0x0A { out.unicodeScalars.append(scalar) } else { append(scalar, to: &out, keepNewlines: true) }
        }
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
        default:
            if isHidden(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    /// Characters shown as `\u{…}` escapes: invisible, or changing how the text around them reads.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00AD,  // soft hyphen
            0x061C,  // Arabic letter mark (bidi)
            0x200B...0x200F,  // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
            0x2028, 0x2029,  // line and paragraph separators
            0x202A...0x202E,  // bidi embeddings and overrides
            0x2060...0x2064,  // word joiner, invisible operators
            0x2066...0x2069,  // bidi isolates
            0xFEFF,  // zero-width no-break space (byte order mark)
            0x034F,  // combining grapheme joiner: invisible
            0x3164, 0xFFA0,  // Hangul fillers: letters that draw nothing
            0xFFFE, 0xFFFF:  // not characters (and not allowed in XML, so the HTML report could not hold them)
            return true
        default:
            // Every other format character (Cf): more invisible controls, tag characters, ….
            return scalar.properties.generalCategory == .format
        }
    }
}
