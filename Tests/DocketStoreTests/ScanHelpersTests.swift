import Testing

@testable import DocketStore

/// The helper of the labels export's scan that makes each label text once.
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
}
