import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing
import Yams

@testable import DocketCommands

/// `config show` writes every setting through Yams, exactly: what it writes, applied again, is the
/// same rubric version.
@Suite struct ConfigShowTests {
    /// Text that YAML must quote, escape or keep exactly: terminal escapes, C1 controls, CR, NEL,
    /// line and paragraph separators, a BOM, tabs, trailing spaces and blank lines, indentation.
    static let hostileGuidelines = "Guidelines " + Hostile.payload + "\n  indented first\ntrailing spaces   \n\ttabbed\r\nCRLF\u{85}NEL"
        + "\u{2028}LS\u{2029}PS\u{FEFF}BOM # not a comment: [x] {y} &a *a !t |\n\n\n"

    /// A definition that sets every setting away from its default, with hostile text wherever
    /// there is text.
    static let everySetting: JSONValue = .object([
        ("labels", .array(["safe", "yes", "1.50", "null", "a: b", "#x", "saf\u{1B}[32me", "bord\u{9B}1merline", "un\u{202E}safe"].map { .string($0) })),
        ("level", .string("ordinal")),
        ("rating", .object([
            ("name", .string("help" + Hostile.payload)),
            ("scale", .array([.number(0), .number(9)])),
            ("anchors", .object([("0", .string("bad " + Hostile.payload)), ("9", .string("two\nlines"))])),
        ])),
        ("asks", .array(["label", "rating", "ranking", "preference", "edit", "demonstration", "critique"].map { .string($0) })),
        ("flag_reasons", .array(["unsafe\u{1B}[5m", "other\u{9D}x", "~", "true"].map { .string($0) })),
        ("guidelines", .string(hostileGuidelines)),
        ("overlap", .number(3)),
        ("budget", .number(1_000_000_000)),
        ("weights", .object([("risk", .number(0.25)), ("uncertainty", .number(1e-05)), ("diversity", .number(1000))])),
        ("explore", .number(0.35)),
        ("lease_minutes", .number(7.5)),
        ("calibration", .object([("gold_rate", .number(0.2)), ("bar", .number(0.65))])),
        ("escalation", .array([
            .object([("when", .object([("flag", .array([.string("unsafe\u{1B}[5m")])), ("min_severity", .number(2))])), ("to", .string("lead"))]),
            .object([("when", .object([("flag", .bool(true)), ("min_severity", .number(0))])), ("to", .string("expert\u{1B}]0;x\u{07}"))]),
            .object([("when", .object([("requested", .bool(true))])), ("to", .string("lead"))]),
            .object([("when", .object([("no_majority", .bool(true))])), ("to", .string("second\u{1B}[7m"))]),
            .object([("when", .object([("gold_wrong", .bool(true))])), ("to", .string("lead"))]),
            .object([("when", .object([("posterior_below", .number(0.6))])), ("to", .string("lead"))]),
            .object([("when", .object([("risk_above", .number(0.95))])), ("to", .string("yes"))]),
        ])),
        ("final_label", .string("dawid-skene")),
        ("ties", .string("severe")),
        ("harmful", .array([.string("un\u{202E}safe"), .string("yes")])),
    ])

    @Test func theDefinitionCoversEverySetting() {
        let keys = Set(Self.everySetting.objectMembers.map(\.0))
        #expect(keys == Set(TaskDefinition.knownKeys), "set every setting of TaskDefinition.knownKeys in this definition")
        guard case .valid(let definition) = TaskDefinition.read(Self.everySetting) else {
            Issue.record("the definition does not read: \(TaskDefinition.read(Self.everySetting))")
            return
        }
        // Every setting differs from its default, so the canonical form holds each one.
        #expect(Set(definition.canonicalJSON.objectMembers.map(\.0)) == Set(TaskDefinition.knownKeys))
    }

    /// `config show > x.yaml && config apply x.yaml` makes no new rubric version, for a definition
    /// that uses every setting; the file holds the stored text exactly.
    @Test func showThenApplyIsTheSameRubric() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe --seed 1")
        let source = sandbox.write("definition.json", Self.everySetting.encoded())
        let applied = sandbox.run(["config", "apply", source])
        #expect(applied.status == 0, "\(applied.errors)")
        let before = sandbox.run(["config", "show", "--json"]).output

        let shown = sandbox.run(["config", "show"])
        #expect(shown.status == 0, "\(shown.errors)")
        let file = sandbox.write("x.yaml", shown.output)
        #expect(sandbox.run(["config", "apply", file]).output == "\(file) is rubric version 2 already; nothing changed.\n")
        #expect(sandbox.run(["config", "show", "--json"]).output == before)

        // Every setting is in the file, and every text is the stored text (read as YAML).
        let document = try #require(try Yams.load(yaml: shown.output) as? [String: Any])
        #expect(Set(document.keys) == Set(TaskDefinition.knownKeys))
        #expect(document["guidelines"] as? String == Self.hostileGuidelines)
        #expect((document["labels"] as? [Any])?.map { "\($0)" } == Self.everySetting["labels"]?.arrayValue.compactMap(\.textValue))
        #expect(document["ties"] as? String == "severe" && document["final_label"] as? String == "dawid-skene")
        // Written to a file or a pipe exactly: no sanitising (`\e` is YAML's own escape, inside
        // double quotes; the right-to-left override is the character itself).
        #expect(shown.output.contains("un\u{202E}safe"))
        #expect(!shown.output.contains(#"\u{202e}"#))
        #expect(shown.output.hasPrefix("# rubric version 2, "))
        // Readable where the text allows it.
        #expect(shown.output.contains("weights: {risk: 0.25, uncertainty: 1e-05, diversity: 1000}\n"))
        #expect(shown.output.contains("labels: [safe, 'yes', '1.50', 'null', 'a: b', '#x', "))
        #expect(shown.output.contains("calibration: {gold_rate: 0.2, bar: 0.65}\n"))
        #expect(shown.output.contains("- when: {requested: true}\n  to: lead\n"))
    }

    /// A project that never applied a file shows the definition its init settings imply, and
    /// applying that is the same rubric too.
    @Test func theInitDefinitionRoundTrips() {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 2 --budget 50 --seed 1")
        let shown = sandbox.run(["config", "show"]).output
        #expect(shown == """
            # rubric version 1, \(shown.dropFirst(20).prefix(12)), applied 2026-11-18T11:06:40.000Z
            # harmful: not set, so no label (nominal labels have no order; the severity alone decides attack success) by default
            labels: [safe, unsafe]
            level: nominal
            asks: [label]
            flag_reasons: [unsafe, policy-gap, ambiguous, other]
            overlap: 2
            budget: 50
            weights: {risk: 0.5, uncertainty: 0.35, diversity: 0.15}
            explore: 0.1
            lease_minutes: 20
            guidelines: ''

            """)
        let file = sandbox.write("x.yaml", shown)
        #expect(sandbox.run(["config", "apply", file]).output == "\(file) is rubric version 1 already; nothing changed.\n")
    }

    /// The default harmful list is shown (as a comment, so the rubric is unchanged) when the file
    /// does not declare one: the last label of an ordered scale.
    @Test func theDefaultHarmfulListIsShown() {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --level ordinal --seed 1")
        let shown = sandbox.run(["config", "show"]).output
        #expect(shown.split(separator: "\n")[1] == "# harmful: not set, so [unsafe] (the last label of the ordered scale) by default", "\(shown)")
        sandbox.write("h.yaml", "labels: [safe, borderline, unsafe]\nlevel: ordinal\nasks: [label]\nharmful: [borderline, unsafe]\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("h.yaml")]).status == 0)
        let declared = sandbox.run(["config", "show"]).output
        #expect(!declared.contains("# harmful") && declared.contains("harmful: [borderline, unsafe]\n"), "\(declared)")
    }

    /// Random text through `config show` and back: whatever the characters, the definition read
    /// from the YAML is the one shown.
    @Test func randomTextRoundTrips() throws {
        let sandbox = Sandbox()
        let pieces = [
            "a", "Z", " ", "  ", "\n", "\n\n", "\t", "\r", "\r\n", "\u{1B}", "\u{1B}[31m", "\u{07}", "\u{08}", "\u{7F}", "\u{85}", "\u{9B}",
            "\u{A0}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{200B}", "\u{202E}", "é", "😀", "#", ": ", ":", "- ", "-", "? ", "'", "\"", "\\",
            "&a", "*a", "!", "|", ">", "%", "@", "`", "{", "}", "[", "]", ",", "yes", "No", "~", "null", "1.50", "0x1F", "1:20", "2026-11-18",
            "=", "<<", "...", "---",
        ]
        var generator = SplitMix64(seed: 12)
        // Yams reads every scalar through Foundation's String(bytes:encoding:), which drops a
        // leading byte order mark, so no file `config apply` reads can start a text with one.
        func noLeadingBOM(_ text: String) -> String { text.hasPrefix("\u{FEFF}") ? "x" + text : text }
        func text(_ maximum: Int) -> String {
            noLeadingBOM((0..<Int(generator.nextUnit() * Double(maximum + 1))).map { _ in pieces[Int(generator.nextUnit() * Double(pieces.count))] }.joined())
        }
        for round in 0..<300 {
            var labels: [String] = []
            for _ in 0..<3 {
                let label = noLeadingBOM(text(4).trimmingCharacters(in: .init(charactersIn: " ")))
                if !label.isEmpty, !labels.contains(label) { labels.append(label) }
            }
            if labels.isEmpty { labels = ["x"] }
            let document: JSONValue = .object([
                ("labels", .array(labels.map { .string($0) })),
                ("rating", .object([("name", .string(text(3))), ("scale", .array([.number(1), .number(3)])), ("anchors", .object([("2", .string(text(6)))]))])),
                ("flag_reasons", .array([.string(text(3) + "r")])),
                ("guidelines", .string(text(12))),
                ("escalation", .array([.object([("when", .object([("requested", .bool(true))])), ("to", .string("t" + text(3)))])])),
            ])
            guard case .valid(let definition) = TaskDefinition.read(document) else {
                Issue.record("round \(round): \(document.encoded()) does not read")
                continue
            }
            let yaml = try TaskDefinitionFile.yaml(definition, rubric: nil)
            let path = sandbox.write("round.yaml", yaml)
            let console = RecordingConsole()
            guard let read = try? TaskDefinitionFile.read(path: path, console: console) else {
                Issue.record("round \(round): \(console.errors)\n\(document.encoded())\n\(yaml)")
                continue
            }
            #expect(read == definition, "round \(round): \(document.encoded())\n\(yaml)")
            #expect(read.contentHash == definition.contentHash)
        }
    }
}
