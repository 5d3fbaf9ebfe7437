import Foundation
import Testing

@testable import DocketCore

@Suite struct UncertaintyTests {
    @Test func entropyIsNormalisedShannonEntropy() {
        // Reference: -(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) / ln 3, computed with Python's math.log.
        #expect(abs(UncertaintyMeasure.entropy.uncertainty(of: [0.7, 0.2, 0.1]) - 0.7298466991620974) < 1e-15)
        #expect(UncertaintyMeasure.entropy.uncertainty(of: [0.25, 0.25, 0.25, 0.25]) == 1)
        #expect(UncertaintyMeasure.entropy.uncertainty(of: [1, 0]) == 0)
    }

    @Test func marginAndLeastConfidence() {
        #expect(abs(UncertaintyMeasure.margin.uncertainty(of: [0.6, 0.3, 0.1]) - 0.7) < 1e-15)
        #expect(abs(UncertaintyMeasure.leastConfidence.uncertainty(of: [0.6, 0.3, 0.1]) - 0.6) < 1e-15)
        #expect(UncertaintyMeasure.margin.uncertainty(of: [0.5, 0.5]) == 1)
        #expect(UncertaintyMeasure.leastConfidence.uncertainty(of: [1, 0, 0]) == 0)
    }

    @Test func ownLogarithmAgreesWithTheCLibrary() {
        var generator = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let x = generator.nextUnit() * 1000 + 1e-9
            #expect(abs(UncertaintyMeasure.log(x) - Foundation.log(x)) <= 4e-16 * max(1, abs(Foundation.log(x))))
        }
    }
}

@Suite struct ItemRowParserTests {
    let parser = ItemRowParser(labels: ["safe", "unsafe"])

    func parse(_ json: String) throws -> RowResult<ItemDraft> {
        guard case .object(let members) = try JSON.parse(json) else { fatalError("not an object") }
        return parser.parse(members.map { ($0.0, .json($0.1)) })
    }

    func problems(_ json: String) throws -> [FieldProblem] {
        if case .invalid(let problems) = try parse(json) { return problems }
        return []
    }

    @Test func readsAFullRow() throws {
        let result = try parse(#"{"id":"x1","prompt":"p","response":"r","responses":["a","b"],"category":"fraud","risk":0.25,"probs":[0.5,0.5],"embedding":[3,4],"gold":"safe","meta":{"z":1,"a":[true]}}"#)
        guard case .valid(let item) = result else { Issue.record("invalid: \(result)"); return }
        #expect(item == ItemDraft(
            id: "x1", prompt: "p", response: "r", responses: ["a", "b"], category: "fraud", risk: 0.25, uncertainty: 1,
            diversity: nil, embedding: [0.6, 0.8], gold: "safe", meta: #"{"a":[true],"z":1}"#))
    }

    @Test func reportsEveryProblemInARow() throws {
        let found = try problems(#"{"prompt":5,"risk":1.5,"uncertainty":"high","responses":["only"],"gold":"maybe","rsik":0.1}"#)
        #expect(found == [
            FieldProblem(field: "rsik", problem: "unknown field (known fields: id, prompt, response, responses, category, risk, uncertainty, probs, diversity, embedding, gold, meta; put anything else in meta)"),
            FieldProblem(field: "id", problem: "required"),
            FieldProblem(field: "prompt", problem: "expected a string, got a number"),
            FieldProblem(field: "responses", problem: "needs 2 or more candidate responses, got 1"),
            FieldProblem(field: "risk", problem: "must be between 0 and 1, got 1.5"),
            FieldProblem(field: "uncertainty", problem: "expected a number, got a string"),
            FieldProblem(field: "gold", problem: "'maybe' is not a declared label (safe, unsafe)"),
        ])
    }

    @Test func checksProbabilitiesAndEmbeddings() throws {
        #expect(try problems(#"{"id":"a","probs":[0.5,0.2]}"#) == [FieldProblem(field: "probs", problem: "probabilities sum to 0.7, not 1")])
        #expect(try problems(#"{"id":"a","probs":[1]}"#) == [FieldProblem(field: "probs", problem: "needs 2 or more class probabilities, got 1")])
        #expect(try problems(#"{"id":"a","probs":[1.5,-0.5]}"#) == [FieldProblem(field: "probs", problem: "probability 1 is 1.5, outside 0..1")])
        #expect(try problems(#"{"id":"a","uncertainty":0.2,"probs":[0.5,0.5]}"#) == [FieldProblem(field: "probs", problem: "give uncertainty or probs, not both")])
        #expect(try problems(#"{"id":"a","embedding":[0,0]}"#) == [FieldProblem(field: "embedding", problem: "must have a non-zero, finite length")])
        #expect(try problems(#"{"id":"a","embedding":[1,"x"]}"#) == [FieldProblem(field: "embedding", problem: "element 2 is a string, expected a number")])
        #expect(try problems(#"{"id":"","meta":[1]}"#) == [
            FieldProblem(field: "id", problem: "must not be empty"), FieldProblem(field: "meta", problem: "expected an object, got an array"),
        ])
    }

    @Test func readsCSVTextCells() {
        let result = parser.parse([("id", .text("c1")), ("risk", .text(" 0.5 ")), ("embedding", .text("[1,0]")), ("meta", .text("{bad")), ("diversity", .text("lots"))])
        guard case .invalid(let problems) = result else { Issue.record("expected problems"); return }
        #expect(problems == [
            FieldProblem(field: "diversity", problem: "expected a number, got 'lots'"),
            FieldProblem(field: "meta", problem: "invalid JSON at column 2: expected a string key"),
        ])
    }
}

@Suite struct SettingsTests {
    @Test func parsesWeights() throws {
        #expect(try UtilityWeights.parse("risk=0.6,diversity=0") == UtilityWeights(risk: 0.6, uncertainty: 0.35, diversity: 0))
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "risk=x", reason: "the weight of risk must be a number from 0 to 1000")) {
            try UtilityWeights.parse("risk=x")
        }
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "rsk=1", reason: "unknown term 'rsk'; the terms are risk, uncertainty and diversity")) {
            try UtilityWeights.parse("rsk=1")
        }
        #expect(throws: CoreError.self) { try UtilityWeights.parse("risk=0,uncertainty=0,diversity=0") }
    }

    @Test func validatesSettings() {
        #expect(throws: CoreError.invalidSetting(name: "labels", value: "a,a", reason: "label 'a' is declared twice")) {
            try ProjectSettings(labels: ["a", "a"]).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "overlap", value: "0", reason: "give a whole number of reviewers from 1 to 100")) {
            try ProjectSettings(overlap: 0).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "explore", value: "1.5", reason: "the exploration share must be between 0 and 1")) {
            try ProjectSettings(explore: 1.5).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "labels", value: "a, b", reason: "labels must be non-empty and have no surrounding spaces")) {
            try ProjectSettings(labels: ["a", " b"]).validate()
        }
    }
}

@Suite struct FeedbackPiecesTests {
    @Test func lineDiffShowsRemovalsBeforeAdditions() {
        #expect(LineDiff.diff("a\nb\nc", "a\nx\nc") == [.same("a"), .removed("b"), .added("x"), .same("c")])
        #expect(LineDiff.diff("", "new") == [.removed(""), .added("new")])
        #expect(LineDiff.diff("same", "same") == [.same("same")])
        // A long text with one line changed: the shared lines on each side are matched without
        // the table (which for 40,000 lines a side would be 1.6 billion cells).
        let long = (0..<40_000).map { "line \($0)" }
        var changed = long
        changed[20_000] = "CHANGED"
        let lines = LineDiff.diff(long.joined(separator: "\n"), changed.joined(separator: "\n"))
        #expect(lines.count == 40_001)
        #expect(lines[20_000] == .removed("line 20000"))
        #expect(lines[20_001] == .added("CHANGED"))
        #expect(lines.filter { if case .same = $0 { return false } else { return true } }.count == 2)
        // A stretch too large for the table is shown as removed, then added: still true.
        let old = (0..<3000).map { "a\($0)" }, new = (0..<3000).map { "b\($0)" }
        let whole = LineDiff.diff(old.joined(separator: "\n"), new.joined(separator: "\n"))
        #expect(whole == old.map { .removed($0) } + new.map { .added($0) })
        // Within the table, the shortest diff: one line inserted among many.
        #expect(LineDiff.diff("a\nb\nc\nd", "a\nb\nx\nc\nd") == [.same("a"), .same("b"), .added("x"), .same("c"), .same("d")])
        #expect(LineDiff.diff("x\na\ny", "a") == [.removed("x"), .same("a"), .removed("y")])
    }

    @Test func wrapsToTheWidthKeepingLineBreaks() {
        #expect(TextWrap.wrap("one two three four", width: 12, indent: "  ") == ["  one two", "  three four"])
        #expect(TextWrap.wrap("a\n\nb", width: 20) == ["a", "", "b"])
        #expect(TextWrap.wrap(String(repeating: "x", count: 25), width: 10) == ["xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"])
    }

    @Test func reflowJoinsParagraphLinesButKeepsListItems() {
        #expect(TextWrap.reflow("one\ntwo\n\nthree\n- a\n- b\n2. c") == "one two\n\nthree\n- a\n- b\n2. c")
    }

    @Test func responseLettersRunPastZ() {
        #expect(ResponseLetters.letters(count: 3) == ["A", "B", "C"])
        #expect(ResponseLetters.letter(25) == "Z")
        #expect(ResponseLetters.letter(26) == "AA")
        #expect(ResponseLetters.letter(27) == "AB")
    }

    @Test func feedbackRulesCheckEveryKind() {
        let definition = TaskDefinition(
            labels: ["safe", "unsafe"], rating: RatingScale(name: "helpfulness", minimum: 1, maximum: 5), asks: [.label, .rating])
        func problem(_ draft: FeedbackDraft, responses: Int = 2) -> String? {
            FeedbackRules.problem(with: draft, definition: definition, responses: responses)
        }
        #expect(problem(FeedbackDraft(kind: .label, label: "safe")) == nil)
        #expect(problem(FeedbackDraft(kind: .rating, rating: 2.5)) == "A rating is a whole number from 1 to 5.")
        #expect(problem(FeedbackDraft(kind: .ranking, ranking: ["B", "A"])) == nil)
        #expect(problem(FeedbackDraft(kind: .ranking, ranking: ["B", "B"])) == "Rank every response once, best first: a permutation of A B.")
        #expect(problem(FeedbackDraft(kind: .preference, preference: .tie), responses: 1) == "This item has one response; there is nothing to choose between.")
        #expect(problem(FeedbackDraft(kind: .edit, text: "x", target: "C")) == "Edit one of the responses A, B.")
        #expect(problem(FeedbackDraft(kind: .flag, reason: "other", severity: 4)) == "Severity is 0, 1, 2 or 3.")
        #expect(problem(FeedbackDraft(kind: .note, text: "  \n")) == "The text is empty.")
        #expect(problem(FeedbackDraft(kind: .skip)) == nil)
    }
}

@Suite struct TaskDefinitionTests {
    @Test func readsADefinitionAndHashesItCanonically() throws {
        let document = try JSON.parse(#"{"labels":["a","b"],"level":"ordinal","rating":{"name":"h","scale":[1,3],"anchors":{"1":"bad","3":"good"}},"asks":["label","rating","label"],"overlap":3,"budget":null,"weights":{"risk":1},"explore":0.2,"lease_minutes":5}"#)
        guard case .valid(let definition) = TaskDefinition.read(document) else { Issue.record("invalid"); return }
        #expect(definition.asks == [.label, .rating])
        #expect(definition.rating == RatingScale(name: "h", minimum: 1, maximum: 3, anchors: [1: "bad", 3: "good"]))
        #expect(definition.weights == UtilityWeights(risk: 1, uncertainty: 0.35, diversity: 0.15))
        #expect(definition.leaseSeconds == 300)
        // Reading the canonical form back gives the same definition and the same hash.
        guard case .valid(let again) = TaskDefinition.read(definition.canonicalJSON) else { Issue.record("invalid"); return }
        #expect(again == definition)
        #expect(again.contentHash == definition.contentHash)
        #expect(definition.contentHash.count == 64)
        var changed = definition
        changed.guidelines = "new"
        #expect(changed.contentHash != definition.contentHash)
    }

    @Test func reportsEveryProblemWithItsPathAndLine() throws {
        let document = try JSON.parse(#"{"labels":"a","rating":{"scale":[5,1]},"lease_minutes":0,"colour":"red"}"#)
        guard case .invalid(let problems) = TaskDefinition.read(document, line: { $0 == "colour" ? 7 : nil }) else { Issue.record("valid"); return }
        #expect(problems == [
            FieldProblem(field: "colour", problem: "line 7: unknown setting; the settings are labels, level, rating, asks, flag_reasons, guidelines, overlap, budget, weights, explore, lease_minutes, calibration, escalation, final_label, ties, harmful"),
            FieldProblem(field: "labels", problem: "expected a list, got a string"),
            FieldProblem(field: "rating.scale", problem: "expected [lowest, highest] whole numbers from -100 to 100 with lowest < highest"),
            FieldProblem(field: "lease_minutes", problem: "give a number of minutes from 1 to 10080 (one week)"),
        ])
    }
}

@Suite struct EscalationPolicyTests {
    let rules = [
        EscalationRule(condition: .flag(reasons: ["unsafe"], minimumSeverity: 2), tier: "lead"),
        EscalationRule(condition: .goldWrong, tier: "lead"),
        EscalationRule(condition: .riskAbove(0.9), tier: "expert"),
        EscalationRule(condition: .posteriorBelow(0.6), tier: "lead"),
        EscalationRule(condition: .noMajority, tier: "second-review"),
        EscalationRule(condition: .requested, tier: "lead"),
    ]

    func route(_ draft: FeedbackDraft, counts: [String: Int] = [:], posterior: Double? = nil, risk: Double? = nil, gold: String? = nil) -> String? {
        EscalationPolicy.evaluate(rules, EscalationFacts(feedback: draft, labelCounts: counts, posterior: posterior, risk: risk, gold: gold))
            .map { "\($0.rule) \($0.tier): \($0.reason)" }
    }

    @Test func theFirstMatchingRuleRoutes() {
        #expect(route(FeedbackDraft(kind: .flag, reason: "unsafe", severity: 3)) == "1 lead: flagged unsafe at severity 3")
        #expect(route(FeedbackDraft(kind: .flag, reason: "unsafe", severity: 1)) == "6 lead: the reviewer asked for escalation (unsafe)")
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), gold: "unsafe") == "2 lead: a gold item was labelled safe, not unsafe")
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), risk: 0.95) == "3 expert: model risk 0.95 is above 0.9")
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), posterior: 0.55) == "4 lead: Dawid–Skene posterior 0.55 is below 0.6")
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), counts: ["safe": 1, "unsafe": 1]) == "5 second-review: no majority among 2 labels (safe 1, unsafe 1)")
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), counts: ["safe": 2, "unsafe": 1]) == nil)
        #expect(route(FeedbackDraft(kind: .label, label: "safe"), risk: 0.5, gold: "safe") == nil)
    }

    @Test func rulesRoundTripThroughTheDefinition() throws {
        var definition = TaskDefinition(labels: ["safe", "unsafe"])
        definition.escalation = rules
        guard case .valid(let again) = TaskDefinition.read(definition.canonicalJSON) else { Issue.record("invalid"); return }
        #expect(again.escalation == rules)
        let bad = try JSON.parse(#"{"labels":["a"],"asks":[],"escalation":[{"when":{"moon_phase":true},"to":"lead"},{"when":{"risk_above":2},"to":"x"},{"when":{"requested":true}}]}"#)
        guard case .invalid(let problems) = TaskDefinition.read(bad) else { Issue.record("valid"); return }
        #expect(problems.map(\.field) == ["escalation[0].when.moon_phase", "escalation[1].when.risk_above", "escalation[2].to"])
    }
}
