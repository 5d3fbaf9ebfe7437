import Foundation
import Testing

@testable import DocketCommands

@Suite struct SanitizeTests {
    @Test func zeroWidthCharactersAreShown() {
        #expect(Sanitize.inline("pass\u{200B}word") == #"pass\u{200b}word"#)
        #expect(Sanitize.inline("a\u{200C}b\u{200D}c") == #"a\u{200c}b\u{200d}c"#)
        #expect(Sanitize.inline("word\u{2060}joiner") == #"word\u{2060}joiner"#)
        #expect(Sanitize.inline("x\u{2061}\u{2062}\u{2063}\u{2064}y") == #"x\u{2061}\u{2062}\u{2063}\u{2064}y"#)
        #expect(Sanitize.inline("\u{FEFF}start") == #"\u{feff}start"#)
        #expect(Sanitize.block("mid\u{FEFF}dle") == #"mid\u{feff}dle"#)
    }

    @Test func lineAndParagraphSeparatorsAreShownNotBroken() {
        #expect(Sanitize.inline("one\u{2028}two\u{2029}three") == #"one\u{2028}two\u{2029}three"#)
        // In a block, real newlines and tabs stay; the separators do not become line breaks.
        #expect(Sanitize.block("one\u{2028}two\nthree\u{2029}\tfour") == "one\\u{2028}two\nthree\\u{2029}\tfour")
    }

    @Test func everyBidiControlIsShown() {
        // The "Trojan Source" trick: an override and isolates that make code read differently.
        #expect(Sanitize.inline("access\u{202E}\u{2066}// admin\u{2069}\u{2066}") == #"access\u{202e}\u{2066}// admin\u{2069}\u{2066}"#)
        let controls: [(Unicode.Scalar, String)] = [
            ("\u{061C}", #"\u{61c}"#), ("\u{200E}", #"\u{200e}"#), ("\u{200F}", #"\u{200f}"#),
            ("\u{202A}", #"\u{202a}"#), ("\u{202B}", #"\u{202b}"#), ("\u{202C}", #"\u{202c}"#),
            ("\u{202D}", #"\u{202d}"#), ("\u{202E}", #"\u{202e}"#),
            ("\u{2066}", #"\u{2066}"#), ("\u{2067}", #"\u{2067}"#), ("\u{2068}", #"\u{2068}"#), ("\u{2069}", #"\u{2069}"#),
        ]
        for (scalar, shown) in controls {
            #expect(Sanitize.inline("a" + String(Character(scalar)) + "b") == "a" + shown + "b")
            #expect(Sanitize.block(String(Character(scalar))) == shown)
        }
    }

    /// U+FFFE and U+FFFF are not characters, and XML may not hold them: the HTML report, written
    /// through the same escape, stays well-formed.
    @Test func nonCharactersAreShown() {
        #expect(Sanitize.inline("a\u{FFFE}b\u{FFFF}c") == #"a\u{fffe}b\u{ffff}c"#)
        #expect(SVGChart.escape("<\u{FFFF}>") == #"&lt;\u{ffff}&gt;"#)
    }

    @Test func softHyphenIsShown() {
        #expect(Sanitize.inline("ig\u{AD}nore") == #"ig\u{ad}nore"#)
    }

    @Test func otherFormatCharactersAreShown() {
        // Mongolian vowel separator, interlinear annotation anchor, a tag character (used to
        // smuggle hidden ASCII), Arabic number sign: all general category Cf.
        #expect(Sanitize.inline("a\u{180E}b") == #"a\u{180e}b"#)
        #expect(Sanitize.inline("a\u{FFF9}b\u{FFFB}") == #"a\u{fff9}b\u{fffb}"#)
        #expect(Sanitize.inline("ok\u{E0041}\u{E0042}") == #"ok\u{e0041}\u{e0042}"#)
        #expect(Sanitize.inline("\u{0600}1") == #"\u{600}1"#)
        // Invisible look-alikes that are not Cf: the combining grapheme joiner and Hangul fillers.
        #expect(Sanitize.inline("a\u{034F}b\u{3164}c\u{FFA0}") == #"a\u{34f}b\u{3164}c\u{ffa0}"#)
    }

    @Test func visibleTextIsUnchanged() {
        for text in ["café", "cafe\u{301}", "日本語のテキスト", "Привет", "مرحبا بالعالم", "emoji 👍🏽", "x² ≤ 10 — “quoted”", "tab-free plain ASCII"] {
            #expect(Sanitize.inline(text) == text)
            #expect(Sanitize.block(text) == text)
        }
    }

    @Test func controlCharactersAndEscapesAreStillShown() {
        #expect(Sanitize.inline("\u{1B}[31mred\u{1B}[0m\r\n\t\u{7}\u{7F}\u{85}") == #"\e[31mred\e[0m\r\n\t\x07\x7f\x85"#)
        #expect(Sanitize.block("line\n\tindented\u{0}") == "line\n\tindented\\x00")
    }
}
