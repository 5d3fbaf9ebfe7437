import Foundation
import Testing

@testable import DocketCore

@Suite struct JSONTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSON.parse(#" {"a": [1, -2.5, 3e2, true, false, null], "b": {"c": "d"}, "e": ""} "#)
        #expect(value == .object([
            ("a", .array([.number(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null])),
            ("b", .object([("c", .string("d"))])),
            ("e", .string("")),
        ]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSON.parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\n\té😀"))
    }

    @Test(arguments: [
        (#"{"a":1,}"#, 8, "expected a string key"),
        (#"[1 2]"#, 4, "expected ',' or ']' in an array"),
        (#"{"a":1,"a":2}"#, 8, "duplicate key \"a\""),
        (#""abc"#, 5, "unterminated string"),
        (#"01"#, 2, "leading zero in a number"),
        (#"tru"#, 1, "unexpected end of text"),
        (#"{"a":"\q"}"#, 7, "invalid escape '\\q'"),
        (#"1 2"#, 3, "unexpected text after the value"),
        (#""\ud800""#, 8, "unpaired surrogate in \\u escape"),
        ("\"a\u{01}\"", 3, "control character in a string (escape it)"),
    ])
    func reportsSyntaxErrorsWithTheirColumn(text: String, column: Int, message: String) {
        #expect(throws: JSONSyntaxError(column: column, message: message)) { try JSON.parse(text) }
    }

    @Test func rejectsExcessiveNesting() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(deep) }
    }

    /// Numbers must be read exactly as the standard library's correctly rounded parser reads them.
    @Test func numbersMatchCorrectlyRoundedParsing() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let mantissa = generator.next() >> UInt64(generator.next(below: 64))
            let exponent = Int(generator.next(below: 60)) - 30
            let digits = Int(generator.next(below: 20))
            var text = String(mantissa)
            if digits > 0, digits < text.count { text.insert(".", at: text.index(text.startIndex, offsetBy: text.count - digits)) }
            if generator.next(below: 2) == 0 { text += "e\(exponent)" }
            if generator.next(below: 2) == 0 { text = "-" + text }
            guard let expected = Double(text), expected.isFinite else { continue }
            #expect(try JSON.parse(text) == .number(expected), "\(text)")
        }
        #expect(try JSON.parse("0.1") == .number(0.1))
        #expect(try JSON.parse("9007199254740993") == .number(9007199254740992))
        #expect(try JSON.parse("2.2250738585072014e-308") == .number(2.2250738585072014e-308))
        #expect(throws: JSONSyntaxError(column: 1, message: "number out of range")) { try JSON.parse("1e400") }
    }

    @Test func encodesCanonicallyWithSortedKeysAndStableNumbers() throws {
        let value = try JSON.parse(#"{"b":[1.0,0.1,1e-7,-0.0],"a":"x\u0001y\n","c":{"z":1,"y":2}}"#)
        #expect(value.encoded(sortedKeys: true) == #"{"a":"x\u0001y\n","b":[1,0.1,1e-07,0],"c":{"y":2,"z":1}}"#)
        #expect(value.encoded() == #"{"b":[1,0.1,1e-07,0],"a":"x\u0001y\n","c":{"z":1,"y":2}}"#)
        #expect(JSONText.number(.nan) == "null")
        #expect(try JSON.parse(value.encoded()) == value)
    }
}

@Suite struct SHA256Tests {
    @Test func matchesFIPSTestVectors() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct CSVTests {
    func records(_ lines: [String]) throws -> [[String]] {
        var reader = CSVRecordReader()
        var out: [[String]] = []
        for line in lines { if let record = try reader.feed(Array(line.utf8)) { out.append(record) } }
        try reader.finish()
        return out
    }

    @Test func readsQuotedFieldsDoubledQuotesAndLineBreaks() throws {
        let result = try records(["id,prompt,response", #"a,"say ""hi""","line one"#, #"line two",x"#, "b,,"])
        #expect(result == [["id", "prompt", "response"], ["a", #"say "hi""#, "line one\nline two", "x"], ["b", "", ""]])
    }

    @Test func rejectsStrayAndUnclosedQuotes() {
        #expect(throws: CSVRecordReader.SyntaxError(message: "a quote inside an unquoted field at column 3 (quote the whole field and double inner quotes)")) {
            try records([#"ab"c"#])
        }
        #expect(throws: CSVRecordReader.SyntaxError(message: "text after a closing quote at column 5")) { try records([#""ab"c"#]) }
        #expect(throws: CSVRecordReader.SyntaxError(message: "a quoted field is never closed")) { try records([#""open"#]) }
    }
}

@Suite struct SmallPiecesTests {
    @Test func instantsPrintAsISO8601InUTC() {
        #expect(Instant(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Instant(milliseconds: 951_782_400_123).iso8601 == "2000-02-29T00:00:00.123Z")
        #expect(Instant(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Instant(milliseconds: 1_795_000_000_000).iso8601 == "2026-11-18T11:06:40.000Z")
    }

    /// The byte writers behind the labels export: numbers as JSON prints them (integers within
    /// ±2^53 without a fraction, others in Swift's shortest form, non-finite as null).
    @Test func byteWritersPrintExactly() {
        let numbers: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (0.6, "0.6"), (0.2, "0.2"), (1.0 / 3, "0.3333333333333333"), (2.5e-8, "2.5e-08"),
            (1e21, "1e+21"), (-123456789, "-123456789"), (9_007_199_254_740_991, "9007199254740991"),
            (9_007_199_254_740_992, "9007199254740992.0"), (.nan, "null"), (.infinity, "null"), (-.infinity, "null"),
        ]
        for (number, text) in numbers {
            var bytes: [UInt8] = []
            JSONText.appendNumber(number, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == text, "\(number)")
            #expect(JSONText.number(number) == text)
        }
        for integer: Int64 in [0, 7, -7, 10, 1_000_000, Int64.max, Int64.min + 1, Int64.min] {
            var bytes: [UInt8] = []
            JSONText.appendInteger(integer, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(integer))
        }
        var bytes: [UInt8] = []
        JSONText.appendInstant(Instant(milliseconds: 951_782_400_123), to: &bytes)
        JSONText.appendInstant(nil, to: &bytes)
        JSONText.appendString(nil, to: &bytes)
        JSONText.appendString("a\"\u{1B}", to: &bytes)
        JSONText.appendLiteral(",", to: &bytes)
        JSONText.appendBool(false, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""2000-02-29T00:00:00.123Z"nullnull"a\"\u001b",false"#)
        // Times outside four-digit years keep their lowest digits, as before.
        #expect(Instant(milliseconds: 253_402_300_800_000).iso8601 == "0000-01-01T00:00:00.000Z")
    }

    @Test func levenshteinAndSuggestions() {
        #expect(Suggestion.levenshtein("kitten", "sitting") == 3)
        #expect(Suggestion.levenshtein("", "abc") == 3)
        #expect(Suggestion.nearest(to: "lable", in: ["label", "rate", "rank"]) == "label")
        #expect(Suggestion.nearest(to: "zzzzzz", in: ["label", "rate"]) == nil)
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        var bounded = SplitMix64(seed: 7)
        for _ in 0..<1000 { #expect(bounded.next(below: 3) < 3) }
    }
}

@Suite struct InstantParsingTests {
    @Test func parsesDatesTimesAndZones() throws {
        #expect(try Instant.parse("1970-01-01") == Instant(milliseconds: 0))
        #expect(try Instant.parse("2000-02-29T00:00:00.123Z") == Instant(milliseconds: 951_782_400_123))
        #expect(try Instant.parse("2026-11-18T11:06:40Z") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-18T12:06:40+01:00") == Instant(milliseconds: 1_795_000_000_000))
        // Strict RFC 3339 (RFC3339Tests): a time needs seconds and a zone.
        for bad in ["", "2026-13-01", "2026-11-18T25:00", "yesterday", "2026-11-18T11:06:40Zjunk", "2026-11-18T11:06:40.", "2026-11-18 11:06"] {
            #expect((try? Instant.parse(bad)) == nil, "\(bad)")
        }
    }
}
