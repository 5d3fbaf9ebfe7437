import Testing

@testable import DocketStore

/// The helpers of the labels export's scan: texts made once, names by id.
@Suite struct ScanHelpersTests {
    @Test func internedTextsAreTheTextsOfTheirBytes() {
        var interner = TextInterner()
        func text(_ s: String) -> String {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { interner.text($0) }
        }
        #expect(text("unsafe") == "unsafe")
        #expect(text("safe") == "safe")
        #expect(text("unsafe") == "unsafe")
        #expect(text("") == "")
        #expect(text("é漢") == "é漢")
        // Beyond the texts it keeps, each is still made right.
        for k in 0..<200 { #expect(text("label \(k)") == "label \(k)") }
        #expect(text("label 199") == "label 199" && text("safe") == "safe" && text("unsaf") == "unsaf")
        // Bytes that are not UTF-8 read as the replacement character, as `text(_:)` reads them.
        let invalid: [UInt8] = [0x61, 0xFF]
        #expect(invalid.withUnsafeBufferPointer { interner.text($0) } == "a\u{FFFD}")
    }

    @Test func valuesByIdSmallLargeAndNegative() {
        var names = ValuesById<String>()
        names[3] = "ana"
        names[1] = "ben"
        names[70_000] = "far"
        names[-5] = "negative"
        names[Int64.max] = "max"
        #expect(names[3] == "ana" && names[1] == "ben" && names[70_000] == "far" && names[-5] == "negative" && names[Int64.max] == "max")
        #expect(names[0] == nil && names[2] == nil && names[4] == nil && names[69_999] == nil && names[Int64.min] == nil)
        names[3] = nil
        #expect(names[3] == nil)
    }
}
