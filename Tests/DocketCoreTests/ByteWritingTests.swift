import Foundation
import Testing

@testable import DocketCore

/// The bulk exports' byte writers: a `WriteBuffer` gets exactly the bytes a `[UInt8]` gets, and
/// the remembered dates write what a fresh formatter writes.
@Suite struct ByteWritingTests {
    /// Strings with every kind of escape, numbers and literals, written into both outputs.
    @Test func writeBufferGetsTheBytesAnArrayGets() {
        var array: [UInt8] = []
        var buffer = WriteBuffer(capacity: 8)  // grows many times
        defer { buffer.deallocate() }
        let texts = ["", "plain", "quote \" and \\ back", "tab\tnew\nline\r", "\u{1B}[31mred\u{7}", "C1 \u{85} and \u{2028}\u{2029}", "é漢字🙂", String(repeating: "x", count: 5000)]
        for text in texts {
            JSONText.appendString(text, to: &array)
            JSONText.appendString(text, to: &buffer)
        }
        for number in [0, -0.0, 1, -7, 0.4, 1.0 / 3, 1e300, -2.5e-8, .nan, .infinity, 9_007_199_254_740_994] {
            JSONText.appendNumber(number, to: &array)
            JSONText.appendNumber(number, to: &buffer)
        }
        for integer: Int64 in [0, 9, -10, .max, .min] {
            JSONText.appendInteger(integer, to: &array)
            JSONText.appendInteger(integer, to: &buffer)
        }
        JSONText.appendLiteral(",\"x\":", to: &array)
        JSONText.appendLiteral(",\"x\":", to: &buffer)
        #expect(buffer.array == array)
        #expect(buffer.count == array.count)
        buffer.removeLast()
        #expect(buffer.array == Array(array.dropLast()))
        buffer.removeAll()
        #expect(buffer.count == 0 && buffer.array == [])
    }

    @Test func escapesAreExact() {
        #expect(JSONText.string("a\"b\\c\n\u{1}\u{7F}\u{85}\u{2028}") == #""a\"b\\c\n\u0001\u007f\u0085\u2028""#)
        #expect(JSONText.number(-0x1p63) == "-9.223372036854776e+18")
        var integers: [UInt8] = []
        JSONText.appendInteger(.min, to: &integers)
        #expect(String(decoding: integers, as: UTF8.self) == "-9223372036854775808")
    }

    /// Days that share a slot of the table (64 apart), written in turn, each come out right; so
    /// do the ends of time.
    @Test func rememberedDatesAreTheDatesOfEachInstant() {
        let day: Int64 = 86_400_000
        let base = Instant(milliseconds: 1_795_000_000_000)  // 2026-11-18T11:06:40.000Z
        let cases: [(Int64, String)] = [
            (base.milliseconds, "2026-11-18T11:06:40.000Z"),
            (base.milliseconds + 64 * day, "2027-01-21T11:06:40.000Z"),
            (base.milliseconds + 1, "2026-11-18T11:06:40.001Z"),
            (base.milliseconds - 128 * day + 3_599_999, "2026-07-13T12:06:39.999Z"),
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (64 * day, "1970-03-06T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (.max, "8994-08-17T07:12:55.807Z"),
            (.min, "5055-05-16T16:47:04.192Z"),
        ]
        var text = ISO8601Bytes()
        var out: [UInt8] = []
        for round in 0..<2 {
            for (milliseconds, expected) in cases {
                out.removeAll()
                text.append(Instant(milliseconds: milliseconds), to: &out)
                #expect(String(decoding: out, as: UTF8.self) == expected, "round \(round)")
                #expect(Instant(milliseconds: milliseconds).iso8601 == expected)
            }
        }
    }

    /// `majority` reads `Votes.top`; `majorityIndex` (calibration, tie breaking) reads counts:
    /// the two agree on every count vector of three labels up to 4 votes, under every tie rule.
    @Test func majorityAgreesWithMajorityIndex() {
        let declared = ["safe", "borderline", "unsafe"]
        for a in 0...4 { for b in 0...4 { for c in 0...4 {
            let answers = zip(declared, [a, b, c]).flatMap { label, count in
                (0..<count).map { LabelAnswer(id: Int64($0), reviewer: "\(label)\($0)", value: label, withdrawn: false, rubric: nil, createdAt: Instant(milliseconds: 0)) }
            }
            let votes = LabelRules.votes(answers, declared: declared)
            for rule in [TieRule.escalate, .severe, .declaredOrder] {
                let final = LabelRules.majority(votes, ties: rule)
                guard let pick = LabelRules.majorityIndex([a, b, c], ties: rule) else {
                    #expect(final == .none)
                    continue
                }
                #expect(final.label == pick.index.map { declared[$0] }, "\([a, b, c]) \(rule)")
                #expect(final.tied == pick.tied.map { declared[$0] })
                #expect(final.source == (pick.tied.isEmpty ? .majority : .tie))
            }
        }}}
    }
}

/// A buffer a huge record grew gives the memory back once emptied, and keeps working.
@Suite struct WriteBufferMemoryTests {
    @Test func emptyingGivesBackWhatAHugeRecordTook() {
        var buffer = WriteBuffer(capacity: 1024)
        defer { buffer.deallocate() }
        let big = [UInt8](repeating: 0x61, count: 1 << 20)
        big.withUnsafeBytes { buffer.append(bytes: $0.baseAddress!, count: $0.count) }
        #expect(buffer.count == 1 << 20 && buffer.allocated >= 1 << 20)
        buffer.removeAll(keepingAtMost: 4096)
        #expect(buffer.count == 0 && buffer.allocated == 4096)
        JSONText.appendString("after", to: &buffer)
        #expect(buffer.array == Array(#""after""#.utf8))
        // Within the limit the memory stays.
        buffer.removeAll(keepingAtMost: 1 << 16)
        #expect(buffer.allocated == 4096)
    }
}
