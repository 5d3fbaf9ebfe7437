import Foundation
import Testing

@testable import DocketCommands

@Suite struct HangingWrapTests {
    @Test func wrapsAtWordsWithAHangingIndent() {
        let line = "Asks: label (safe / borderline / unsafe), rating 1-5 (how helpful), a critique of response A"
        #expect(Format.hangingWrap(line, width: 40, indent: "      ") == """
            Asks: label (safe / borderline /
                  unsafe), rating 1-5 (how helpful),
                  a critique of response A
            """)
    }

    @Test func aLineThatFitsIsUnchanged() {
        #expect(Format.hangingWrap("Asks: label (safe / unsafe)", width: 80) == "Asks: label (safe / unsafe)")
        #expect(Format.hangingWrap("exactly ten", width: 11) == "exactly ten")
    }

    @Test func theFirstLineUsesTheFullWidth() {
        #expect(Format.hangingWrap("aaaa bbbb cccc dddd eeee", width: 14, indent: "    ") == "aaaa bbbb cccc\n    dddd eeee")
    }

    @Test func aWordLongerThanALineIsCut() {
        #expect(Format.hangingWrap("see https://example.com/a/very/long/path/indeed now", width: 20, indent: "  ") == """
            see
              https://example.co
              m/a/very/long/path
              /indeed now
            """)
    }

    /// A word of 100,000 characters is cut in one pass into pieces of the width, nothing lost.
    @Test func aVeryLongWordIsCutIntoWholePieces() {
        let word = String((0..<100_000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        let lines = Format.hangingWrap(word, width: 50, indent: "  ").split(separator: "\n")
        // 50 on the first line, 48 after the indent on each line after it: 1 + ⌈99,950 / 48⌉.
        #expect(lines.count == 2084)
        #expect(lines.first?.count == 50)
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.count == 50 && $0.hasPrefix("  ") })
        #expect(lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined() == word)
    }

    @Test func noLineIsWiderThanTheWidth() {
        let words = (1...60).map { String(repeating: "w", count: $0 % 9 + 1) }.joined(separator: " ")
        for width in [20, 33, 57, 80] {
            let lines = Format.hangingWrap("Decision by lee: " + words, width: width, indent: "  ").split(separator: "\n")
            #expect(lines.allSatisfy { $0.count <= width })
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") && !$0.hasPrefix("   ") })
            #expect(lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ") == "Decision by lee: " + words)
        }
    }
}
