import DocketCore
import Testing

/// Issue 11, "Inputs are read exactly": UTF-8, ids, reviewer names and times.
@Suite struct UTF8CheckTests {
    @Test func acceptsWellFormedAndRefusesEveryIllFormedSequence() {
        let good: [[UInt8]] = [
            [], Array("plain ascii".utf8), Array("ána 東京 🙂".utf8),
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ]
        for bytes in good { #expect(UTF8Check.firstInvalid(bytes) == nil, "\(bytes)") }
        let bad: [([UInt8], Int)] = [
            ([0x75, 0xC3], 1),  // truncated: "u\xc3"
            ([0x63, 0x61, 0x66, 0xE9], 3),  // Latin-1 "café"
            ([0x80], 0),  // lone continuation byte
            ([0xC0, 0xAF], 0), ([0xC1, 0xBF], 0),  // overlong two-byte forms
            ([0xE0, 0x80, 0xAF], 0),  // overlong three-byte form
            ([0xED, 0xA0, 0x80], 0),  // UTF-16 surrogate D800
            ([0xF0, 0x80, 0x80, 0xAF], 0),  // overlong four-byte form
            ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
            ([0xF5, 0x80, 0x80, 0x80], 0), ([0xFF], 0),
            ([0x61, 0xE2, 0x82], 1),  // truncated three-byte sequence
            ([0xE2, 0x28, 0xA1], 0),  // bad continuation
        ]
        for (bytes, offset) in bad { #expect(UTF8Check.firstInvalid(bytes) == offset, "\(bytes)") }
    }

    @Test func agreesWithTheStandardLibraryOnRandomBytes() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let count = Int(random.next(below: 8))
            // Bias towards the interesting range: lead and continuation bytes.
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next(below: 2) == 0 ? 0x80 + random.next(below: 0x80) : random.next(below: 256)) }
            #expect(UTF8Check.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }

    @Test func escapesOnlyTheBadBytes() {
        #expect(UTF8Check.escaped([0x75, 0xC3]) == "u\\xC3")
        #expect(UTF8Check.escaped(Array("á".utf8) + [0x0A, 0xFF, 0x62]) == "á\n\\xFFb")
    }

    @Test func jsonNamesTheMemberHoldingTheBadBytes() throws {
        func failure(_ bytes: [UInt8]) -> JSONSyntaxError? {
            do { _ = try JSON.parse(bytes: bytes); return nil } catch { return error }
        }
        // In a value: the two ids that used to collide as "u\u{FFFD}".
        let first = failure(Array(#"{"id":"u"#.utf8) + [0xC3] + Array(#""}"#.utf8))
        #expect(first?.isInvalidUTF8 == true)
        #expect(first?.member == "id")
        #expect(failure(Array(#"{"id":"u"#.utf8) + [0xC4] + Array(#""}"#.utf8))?.member == "id")
        // Nested inside a member, after an escape (the slow path).
        #expect(failure(Array(#"{"id":"a","meta":{"k":"x\n"#.utf8) + [0xE9] + Array(#""}}"#.utf8))?.member == "meta")
        // In a key: the key, with the bad byte escaped.
        #expect(failure(Array(#"{"pr"#.utf8) + [0xE9] + Array(#"":"x"}"#.utf8))?.member == "pr\\xE9")
        // Outside every string: the whole line.
        let outside = failure(Array(#"{"id":"a"} "#.utf8) + [0xFF])
        #expect(outside?.isInvalidUTF8 == true)
        #expect(outside?.member == nil)
        // A plain syntax error stays one.
        #expect(failure(Array(#"{"id":}"#.utf8))?.isInvalidUTF8 == false)
        // Valid UTF-8 is read exactly.
        #expect(try JSON.parse(bytes: Array(#"{"id":"ána \u00e1"}"#.utf8)) == .object([("id", .string("ána á"))]))
    }

    @Test func csvMarksTheFieldsThatAreNotUTF8() throws {
        var reader = CSVRecordReader()
        let latin1: [UInt8] = Array("a,caf".utf8) + [0xE9] + Array(",\"x".utf8) + [0xFF] + Array("\"".utf8)
        #expect(try reader.feed(latin1)?.count == 3)
        #expect(reader.invalidFields == [
            CSVRecordReader.InvalidField(index: 1, escaped: "caf\\xE9"), CSVRecordReader.InvalidField(index: 2, escaped: "x\\xFF"),
        ])
        // A quoted field over two lines, bad on the second.
        #expect(try reader.feed(Array("b,\"one".utf8)) == nil)
        #expect(try reader.feed([0xFE, 0x22]) == ["b", "one\n\u{FFFD}"])
        #expect(reader.invalidFields == [CSVRecordReader.InvalidField(index: 1, escaped: "one\n\\xFE")])
        #expect(try reader.feed(Array("ok,ána".utf8)) == ["ok", "ána"])
        #expect(reader.invalidFields.isEmpty)
    }
}

@Suite struct ItemIDRuleTests {
    @Test func blankIdsAndIdsWithLineBreaksOrControlsAreRefused() {
        #expect(ItemID.problem("item-1") == nil)
        #expect(ItemID.problem(" padded ") == nil)
        #expect(ItemID.problem("") == "must not be empty")
        #expect(ItemID.problem("   ") == "must not be only whitespace")
        #expect(ItemID.problem("\u{3000}\u{A0}") == "must not be only whitespace")
        #expect(ItemID.problem("a\nb") == "must not contain line breaks or control characters (U+000A at character 2)")
        #expect(ItemID.problem("a\r") == "must not contain line breaks or control characters (U+000D at character 2)")
        #expect(ItemID.problem("\u{1B}[31mx") == "must not contain line breaks or control characters (U+001B at character 1)")
        #expect(ItemID.problem("x\u{85}") == "must not contain line breaks or control characters (U+0085 at character 2)")
        #expect(ItemID.problem("x\u{2028}y") == "must not contain line breaks or control characters (U+2028 at character 2)")
    }
}

@Suite struct ReviewerNameTests {
    func refusal(_ name: String) -> String? {
        do { _ = try ReviewerName.normalised(name); return nil } catch { return error.description }
    }

    @Test func normalisesToNFC() throws {
        let nfc = "\u{E1}na", nfd = "a\u{301}na"
        #expect(Array(nfc.utf8) != Array(nfd.utf8))
        #expect(Array(try ReviewerName.normalised(nfd).utf8) == Array(nfc.utf8))
        #expect(Array(try ReviewerName.normalised(nfc).utf8) == Array(nfc.utf8))
        #expect(try ReviewerName.normalised("Ana López") == "Ana López")
    }

    @Test func refusesWhatCouldMakeTwoReviewersLookLikeOne() {
        #expect(refusal("") == "'' is not a valid reviewer name: it is empty")
        #expect(refusal("ana ") == "'ana ' is not a valid reviewer name: it ends with whitespace")
        #expect(refusal(" ana") == "' ana' is not a valid reviewer name: it starts with whitespace")
        #expect(refusal("ana\u{A0}") == "'ana\u{A0}' is not a valid reviewer name: it ends with whitespace")
        #expect(refusal("a\tb") == "'a\tb' is not a valid reviewer name: it holds a control character (U+0009 at character 2)")
        #expect(refusal("a\u{1B}]0;x\u{7}") == "'a\u{1B}]0;x\u{7}' is not a valid reviewer name: it holds a control character (U+001B at character 2)")
        #expect(refusal("an\u{200B}a") == "'an\u{200B}a' is not a valid reviewer name: it holds an invisible formatting character (U+200B at character 3)")
        #expect(refusal("ana\u{202E}") == "'ana\u{202E}' is not a valid reviewer name: it holds an invisible formatting character (U+202E at character 4)")
        #expect(refusal("a\u{2028}b") == "'a\u{2028}b' is not a valid reviewer name: it holds a line break (U+2028 at character 2)")
        #expect(refusal("a\u{A0}b") == "'a\u{A0}b' is not a valid reviewer name: it holds whitespace other than a plain space (U+00A0 at character 2)")
        #expect(refusal("a\u{115F}b") == "'a\u{115F}b' is not a valid reviewer name: it holds an invisible character (U+115F at character 2)")
        #expect(refusal(String(repeating: "a", count: 64)) == nil)
        #expect(refusal(String(repeating: "é", count: 65)) == "'\(String(repeating: "é", count: 65))' is not a valid reviewer name: it has 65 characters; the most is 64")
    }
}

@Suite struct RFC3339Tests {
    func reason(_ text: String) -> String? {
        do { _ = try Instant.parse(text); return nil } catch { return error.reason }
    }

    @Test func parsesTimesWithAZoneAndBareDates() throws {
        #expect(try Instant.parse("1970-01-01") == Instant(milliseconds: 0))
        #expect(try Instant.parse("2000-02-29T00:00:00.123Z") == Instant(milliseconds: 951_782_400_123))
        #expect(try Instant.parse("2026-11-18T11:06:40Z") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-18t11:06:40z") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-18 11:06:40Z") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-18T12:06:40+01:00") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-18T11:06:40.123456789-00:00") == Instant(milliseconds: 1_795_000_000_123))
        #expect(try Instant.parse("2026-11-19T01:06:40+14:00") == Instant(milliseconds: 1_795_000_000_000))
        #expect(try Instant.parse("2026-11-17T21:06:40-14:00") == Instant(milliseconds: 1_795_000_000_000))
        // A leap second at the end of a UTC day is the next midnight, as in POSIX time.
        #expect(try Instant.parse("2016-12-31T23:59:60Z") == Instant.parse("2017-01-01T00:00:00Z"))
        #expect(try Instant.parse("2017-01-01T00:59:60+01:00") == Instant.parse("2017-01-01T00:00:00Z"))
    }

    @Test func datesThatDoNotExistAreErrorsNotRollovers() {
        #expect(reason("2026-02-30") == "February 2026 has 28 days")
        #expect(reason("2026-04-31") == "April 2026 has 30 days")
        #expect(reason("2026-04-31T10:00:00Z") == "April 2026 has 30 days")
        #expect(reason("2025-02-29") == "February 2025 has 28 days")
        #expect(reason("1900-02-29") == "February 1900 has 28 days")
        #expect(reason("2028-02-29") == nil)
        #expect(reason("2000-02-29") == nil)
        #expect(reason("2026-13-01") == "there is no month 13")
        #expect(reason("2026-00-10") == "there is no month 0")
        #expect(reason("2026-01-00") == "January 2026 has 31 days")
        #expect(reason("2026-11-18T24:00:00Z") == "24:00:00 is not a time of day")
        #expect(reason("2026-11-18T10:60:00Z") == "10:60:00 is not a time of day")
        #expect(reason("2026-11-18T10:00:61Z") == "10:00:61 is not a time of day")
        #expect(reason("2026-11-18T10:00:60Z") == "a leap second (:60) comes only at 23:59:60 UTC")
    }

    /// Times are written back in UTC with four-digit years: one an offset moves out of those
    /// years is refused where it is read, not written back as another time.
    @Test func timesOutsideFourDigitYearsInUTCAreRefused() throws {
        let outside = "it falls outside the years 0000 to 9999 in UTC, the times Docket can write back"
        #expect(reason("9999-12-31T23:59:59-14:00") == outside)
        #expect(reason("9999-12-31T10:00:00-14:00") == outside)
        #expect(reason("0000-01-01T00:00:00+01:00") == outside)
        #expect(reason("9999-12-31T23:59:60Z") == outside)
        #expect(try Instant.parse("0000-01-01T00:00:00Z") == Instant.earliest)
        #expect(try Instant.parse("9999-12-31T23:59:59.999Z") == Instant.latest)
        #expect(try Instant.parse("9999-12-31T23:59:59.999+14:00") == Instant(milliseconds: Instant.latest.milliseconds - 14 * 3_600_000))
        #expect(try Instant.parse("9999-12-31T23:59:59-14:00".replacingOccurrences(of: "23:59:59-14:00", with: "09:59:59-14:00")).iso8601 == "9999-12-31T23:59:59.000Z")
        #expect(Instant.earliest.iso8601 == "0000-01-01T00:00:00.000Z")
        #expect(Instant.latest.iso8601 == "9999-12-31T23:59:59.999Z")
        // Read back exactly what is written, at both ends.
        #expect(try Instant.parse(Instant.earliest.iso8601) == Instant.earliest)
        #expect(try Instant.parse(Instant.latest.iso8601) == Instant.latest)
    }

    @Test func offsetsLieWithinFourteenHours() {
        #expect(reason("2026-11-18T10:00:00+14:01") == "the offset +14:01 is outside -14:00...+14:00")
        #expect(reason("2026-11-18T10:00:00-15:00") == "the offset -15:00 is outside -14:00...+14:00")
        #expect(reason("2026-11-18T10:00:00+99:00") == "the offset +99:00 is outside -14:00...+14:00")
        #expect(reason("2026-11-18T10:00:00+01:60") == "the offset +01:60 is outside -14:00...+14:00")
    }

    @Test func aTimeWithoutAZoneIsAnErrorWithASentence() {
        #expect(reason("2026-11-18T11:06:40") == "the time has no zone; add Z for UTC or an offset such as +01:00")
        #expect(reason("2026-11-18 11:06:40.5") == "the time has no zone; add Z for UTC or an offset such as +01:00")
        #expect(reason("2026-11-18T11:06Z") == "give the seconds too (HH:MM:SS)")
        #expect(reason("2026-11-18 11:06") == "give the seconds too (HH:MM:SS)")
    }

    @Test func anythingElseIsMalformed() {
        let malformed = "give an RFC 3339 time such as 2026-11-29T10:00:00Z or 2026-11-29T11:00:00+01:00, or a date such as 2026-11-29"
        for bad in ["", "yesterday", "26-11-18", "2026-1-18", "2026/11/18", "2026-11-18T", "2026-11-18T11:06:40Zjunk", "2026-11-18T11:06:40.Z",
                    "2026-11-18T11:06:40+0100", "2026-11-18T11:06:40+01", "2026-11-18X11:06:40Z", "+2026-11-18"] {
            #expect(reason(bad) == malformed, "\(bad)")
        }
        do { _ = try Instant.parse("2026-02-30") } catch {
            #expect(error.description == "'2026-02-30' is not a valid time: February 2026 has 28 days")
        }
    }
}

/// One rule for text a project stores: no NUL character, on either backend, refused where the
/// text comes in with the field named.
@Suite struct StoredTextTests {
    let parser = ItemRowParser(labels: ["safe", "unsafe"])

    func problems(_ fields: [(String, RawField)]) -> [String] {
        if case .invalid(let problems) = parser.parse(fields) { return problems.map(\.description) }
        return []
    }

    @Test func aNULInAnyItemTextIsRefusedNamingTheField() throws {
        let nul = StoredText.nulProblem
        #expect(problems([("id", .text("a")), ("prompt", .json(.string("x\u{0}y")))]) == ["prompt: \(nul)"])
        #expect(problems([("id", .text("a")), ("response", .text("\u{0}"))]) == ["response: \(nul)"])
        #expect(problems([("id", .text("a")), ("category", .text("c\u{0}"))]) == ["category: \(nul)"])
        #expect(problems([("id", .text("a")), ("responses", .json(.array([.string("ok"), .string("n\u{0}")])))]) == ["responses: element 2 \(nul)"])
        #expect(problems([("id", .text("a")), ("meta", .json(.object([("k\u{0}", .number(1))])))]) == ["meta: a key or string \(nul)"])
        #expect(problems([("id", .text("a")), ("meta", .text(#"{"deep":[{"s":"\u0000"}]}"#))]) == ["meta: a key or string \(nul)"])
        #expect(problems([("id", .text("a\u{0}"))]).count == 1)
        // Everything else of the row is still checked.
        #expect(problems([("id", .text("a")), ("prompt", .text("\u{0}")), ("risk", .text("2"))]) == ["prompt: \(nul)", "risk: must be between 0 and 1, got 2"])
        #expect(problems([("id", .text("a")), ("prompt", .text("fine \u{1} text"))]) == [])
    }

    @Test func aNULInFeedbackTextIsRefused() throws {
        let definition = try #require({ () -> TaskDefinition? in
            if case .valid(let definition) = TaskDefinition.read(.object([("labels", .array([.string("safe"), .string("unsafe")]))])) { return definition }
            return nil
        }())
        var note = FeedbackDraft(kind: .note)
        note.text = "a\u{0}b"
        #expect(FeedbackRules.problem(with: note, definition: definition, responses: 1) == "The text \(StoredText.nulProblem).")
        note.text = "a b"
        #expect(FeedbackRules.problem(with: note, definition: definition, responses: 1) == nil)
        var critique = FeedbackDraft(kind: .critique)
        critique.text = "\u{0}"
        #expect(FeedbackRules.problem(with: critique, definition: definition, responses: 1) == "The text \(StoredText.nulProblem).")
    }

    @Test func csvNumbersAreDecimalOnly() {
        #expect(problems([("id", .text("a")), ("risk", .text("0x1"))]) == ["risk: expected a number, got '0x1'"])
        #expect(problems([("id", .text("a")), ("risk", .text("inf"))]) == ["risk: expected a number, got 'inf'"])
        #expect(problems([("id", .text("a")), ("risk", .text("nan"))]) == ["risk: expected a number, got 'nan'"])
        #expect(problems([("id", .text("a")), ("risk", .text("0x1p-1"))]) == ["risk: expected a number, got '0x1p-1'"])
        for accepted in ["0.5", " .5 ", "5e-1", "+0.5", "0.50", "1", "0", "-0"] {
            #expect(problems([("id", .text("a")), ("risk", .text(accepted))]) == [], "\(accepted)")
        }
        if case .valid(let draft) = parser.parse([("id", .text("a")), ("risk", .text(" .5 "))]) { #expect(draft.risk == 0.5) } else { Issue.record("refused .5") }
    }

    @Test func goldNeedsADeclaredLabelEvenWhenThereAreNone() {
        let none = ItemRowParser(labels: [])
        guard case .invalid(let problems) = none.parse([("id", .text("g1")), ("gold", .text("anything at all"))]) else {
            Issue.record("gold without labels was taken")
            return
        }
        #expect(problems.map(\.description) == ["gold: this project declares no labels, so there is nothing a gold label can be (docket config apply declares them)"])
        guard case .valid = none.parse([("id", .text("g1"))]) else {
            Issue.record("an item without gold was refused")
            return
        }
    }

    @Test func aDefinitionOrAReasonWithNULIsRefused() {
        guard case .invalid(let problems) = TaskDefinition.read(.object([("labels", .array([.string("safe"), .string("un\u{0}safe")]))])) else {
            Issue.record("a label with NUL was taken")
            return
        }
        #expect(problems.map(\.description) == ["labels: a name or text \(StoredText.nulProblem)"])
        let definition = TaskDefinition()
        #expect(FeedbackRules.problem(with: FeedbackDraft(kind: .skip, reason: "r\u{0}s"), definition: definition, responses: 1) == "The reason \(StoredText.nulProblem).")
        #expect(FeedbackRules.problem(with: FeedbackDraft(kind: .skip, reason: "fine"), definition: definition, responses: 1) == nil)
    }

    @Test func aHundredResponsesAtMost() {
        let fields: (Int) -> [(String, RawField)] = { count in [("id", .text("r")), ("responses", .json(.array((0..<count).map { .string("r\($0)") })))] }
        guard case .valid = parser.parse(fields(ItemRowParser.maxResponses)) else {
            Issue.record("\(ItemRowParser.maxResponses) responses were refused")
            return
        }
        #expect(problems(fields(101)) == ["responses: has 101 candidate responses; the most a reviewer compares is 100 (split the item, or sample the candidates)"])
    }

    /// The first days of year 0000 are in a week that starts in year -1: named by 0000-01-01.
    @Test func theWeeksOfYearZero() throws {
        #expect(try Instant.parse("0000-01-01").isoWeekStart == "0000-01-01")
        #expect(try Instant.parse("0000-01-02T23:59:59Z").isoWeekStart == "0000-01-01")
        #expect(try Instant.parse("0000-01-03").isoWeekStart == "0000-01-03")
        #expect(try Instant.parse("2026-11-29").isoWeekStart == "2026-11-23")
    }
}
