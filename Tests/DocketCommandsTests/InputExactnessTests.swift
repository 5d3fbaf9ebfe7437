import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands

/// Issue 11, "Inputs are read exactly": transcripts of imports, options and task definitions
/// that used to be read approximately.
@Suite struct InputExactnessTests {
    func project() -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 2 --explore 0 --seed 1")
        return sandbox
    }

    /// Writes raw bytes (the Sandbox's `write` takes text, which is always UTF-8).
    @discardableResult
    func write(_ sandbox: Sandbox, _ name: String, _ bytes: [UInt8]) -> String {
        let path = sandbox.path(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func items(_ sandbox: Sandbox) -> String { sandbox.run("status --json").output }

    // MARK: UTF-8

    @Test func invalidUTF8InJSONLIsRefusedNamingTheField() {
        let sandbox = project()
        // These two used to import as "1 new, 1 unchanged": both became "u\u{FFFD}".
        let file = write(sandbox, "bad.jsonl",
            Array(#"{"id":"u"#.utf8) + [0xC3] + Array("\"}\n".utf8)
            + Array(#"{"id":"u"#.utf8) + [0xC4] + Array("\"}\n".utf8)
            + Array(#"{"id":"ok","prompt":"caf"#.utf8) + [0xE9] + Array("\"}\n".utf8)
            + Array(#"{"id":"k","pr"#.utf8) + [0xE9] + Array(#"mpt":"x"}"#.utf8) + [0x0A]
            + Array(#"{"id":"z"} "#.utf8) + [0xFF, 0x0A]
            + Array(#"{"id":"fine","prompt":"café"}"#.utf8) + [0x0A])
        let run = sandbox.run(["import", "items", file])
        #expect(run.status == 65)
        #expect(run.output == "")
        #expect(run.errors == """
            \(file):1: id: invalid UTF-8
            \(file):2: id: invalid UTF-8
            \(file):3: prompt: invalid UTF-8
            \(file):4: pr\\xE9mpt: invalid UTF-8
            \(file):5: line: invalid UTF-8
            docket: Nothing was imported from \(file): 5 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        #expect(items(sandbox).contains(#""items":0"#))
    }

    @Test func latin1CSVIsRefusedNotStoredAltered() {
        let sandbox = project()
        // "café" and "naïve" in ISO 8859-1.
        let file = write(sandbox, "latin1.csv",
            Array("id,prompt,category\n".utf8)
            + Array("c1,caf".utf8) + [0xE9] + Array(",ok\n".utf8)
            + Array("c2,\"two\nlines, na".utf8) + [0xEF] + Array("ve\",x".utf8) + [0xE9] + Array("\n".utf8)
            + Array("c3,café,ok\n".utf8))
        let run = sandbox.run(["import", "items", file])
        #expect(run.status == 65)
        #expect(run.errors == """
            \(file):2: prompt: invalid UTF-8
            \(file):3: prompt: invalid UTF-8
            \(file):3: category: invalid UTF-8
            docket: Nothing was imported from \(file): 3 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        #expect(items(sandbox).contains(#""items":0"#))
        // The same file in UTF-8 imports exactly.
        let good = sandbox.write("utf8.csv", "id,prompt,category\nc1,café,ok\nc3,naïve,ok\n")
        #expect(sandbox.run(["import", "items", good]).output == "Imported \(good): 2 new.\n")
    }

    @Test func invalidUTF8InLabelsIsRefusedToo() {
        let sandbox = project()
        sandbox.write("items.jsonl", #"{"id":"a"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        let csv = write(sandbox, "labels.csv", Array("item,reviewer,label\na,jos".utf8) + [0xE9] + Array(",safe\n".utf8))
        let run = sandbox.run(["import", "labels", csv])
        #expect(run.status == 65)
        #expect(run.errors.hasPrefix("\(csv):2: reviewer: invalid UTF-8\n"))
        let jsonl = write(sandbox, "labels.jsonl", Array(#"{"item":"a","reviewer":"ana","label":"saf"#.utf8) + [0xE9] + Array("\"}\n".utf8))
        #expect(sandbox.run(["import", "labels", jsonl]).errors.hasPrefix("\(jsonl):1: label: invalid UTF-8\n"))
        #expect(sandbox.run("reviewers list --json").output.components(separatedBy: #""name""#).count == 2)  // the admin only
    }

    @Test func aHeaderColumnThatIsNotUTF8IsNamedWithItsBytes() {
        let sandbox = project()
        let file = write(sandbox, "h.csv", Array("id,pr".utf8) + [0xE9] + Array("\na,x\n".utf8))
        let run = sandbox.run(["import", "items", file])
        #expect(run.status == 65)
        #expect(run.errors.hasPrefix("\(file):1: pr\\xE9: invalid UTF-8\n"))
    }

    // MARK: Unknown columns and ids

    @Test func anUnknownCSVColumnIsReportedOnceAtTheHeader() {
        let sandbox = project()
        let file = sandbox.write("typo.csv", "id,rsik,prompt\na,0.5,p\nb,0.7,q\nc,0.1,r\n")
        for extra in [[], ["--rejects", sandbox.path("rejects.jsonl")]] {
            let run = sandbox.run(["import", "items", file] + extra)
            #expect(run.status == 65)
            #expect(run.errors == """
                \(file):1: rsik: unknown field (known fields: id, prompt, response, responses, category, risk, uncertainty, probs, diversity, embedding, gold, meta; put anything else in meta)
                docket: Nothing was imported from \(file): 1 problem (listed above). Every row depends on the header line, so fix it first; --rejects sets aside bad rows, not a bad header.

                """)
        }
        #expect(sandbox.read("rejects.jsonl") == nil)
        #expect(items(sandbox).contains(#""items":0"#))
        let labels = sandbox.write("labels.csv", "item,reviewer,label,when\na,ana,safe,x\nb,ana,safe,y\n")
        #expect(sandbox.run(["import", "labels", labels, "--create-items"]).errors.hasPrefix("""
            \(labels):1: when: unknown field (known fields: item, reviewer, label, created_at, rubric)
            docket: Nothing was imported
            """))
    }

    @Test func blankIdsAndIdsWithLineBreaksOrControlsAreRefused() {
        let sandbox = project()
        let file = sandbox.write("ids.jsonl", """
            {"id":"   "}
            {"id":"a\\nb"}
            {"id":"\\u001b[31mred"}
            {"id":"x\\u2028y"}
            {"id":"fine"}

            """)
        #expect(sandbox.run(["import", "items", file]).errors == """
            \(file):1: id: must not be only whitespace
            \(file):2: id: must not contain line breaks or control characters (U+000A at character 2)
            \(file):3: id: must not contain line breaks or control characters (U+001B at character 1)
            \(file):4: id: must not contain line breaks or control characters (U+2028 at character 2)
            docket: Nothing was imported from \(file): 4 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        let csv = sandbox.write("ids.csv", "id,prompt\n\"two\nlines\",p\n\" \",q\n")
        #expect(sandbox.run(["import", "items", csv]).errors.hasPrefix("""
            \(csv):2: id: must not contain line breaks or control characters (U+000A at character 4)
            \(csv):4: id: must not be only whitespace

            """))
        // import labels --create-items creates items: the same rule.
        let labels = sandbox.write("labels.csv", "item,reviewer,label\n\" \",ana,safe\n")
        #expect(sandbox.run(["import", "labels", labels, "--create-items"]).errors.hasPrefix("\(labels):2: item: must not be only whitespace\n"))
    }

    // MARK: --update

    func reviewedProject() -> Sandbox {
        let sandbox = project()
        sandbox.write("items.jsonl", """
            {"id":"a","prompt":"old prompt","responses":["one","two"],"risk":0.1}
            {"id":"b","prompt":"unreviewed","risk":0.1}

            """)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.write("labels.csv", "item,reviewer,label\na,ana,safe\n")
        #expect(sandbox.run(["import", "labels", sandbox.path("labels.csv")]).status == 0)
        return sandbox
    }

    @Test func updateRefusesNewTextForItemsWithFeedback() {
        let sandbox = reviewedProject()
        let file = sandbox.write("new.jsonl", """
            {"id":"b","prompt":"rewritten","risk":0.1}
            {"id":"a","prompt":"new prompt","responses":["one","2"],"risk":0.1}

            """)
        let run = sandbox.run(["import", "items", file, "--update"])
        #expect(run.status == 65)
        #expect(run.errors == """
            \(file):2: prompt: item 'a' already has feedback (or is on a reviewer's screen), given on its current prompt and responses; replacing that text would pair those judgements with text nobody reviewed, so it was refused (pass --update-reviewed to replace it anyway; the old text is kept in the log)
            docket: Nothing was imported from \(file): 1 problem (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        // Nothing was imported: b keeps its text too.
        #expect(!sandbox.run(["log", "--json"]).output.contains("item-updated"))
        // Other fields of a reviewed item may change.
        let risk = sandbox.write("risk.jsonl", #"{"id":"a","prompt":"old prompt","responses":["one","two"],"risk":0.9}"# + "\n")
        #expect(sandbox.run(["import", "items", risk, "--update"]).output == "Imported \(risk): 0 new, 1 updated.\n")
    }

    @Test func updateReviewedReplacesTheTextAndTheLogKeepsTheOldText() throws {
        let sandbox = reviewedProject()
        let file = sandbox.write("new.jsonl", """
            {"id":"a","prompt":"new prompt","responses":["one","2"],"risk":0.1}
            {"id":"b","prompt":"rewritten","risk":0.1}

            """)
        let run = sandbox.run(["import", "items", file, "--update-reviewed"])
        #expect(run.errors == "")
        #expect(run.output == "Imported \(file): 0 new, 2 updated.\n")
        let events = sandbox.run(["log", "--json"]).output.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
        let updates = events.filter { $0["kind"] == .string("item-updated") }
        #expect(updates.count == 2)
        #expect(updates[0]["item"] == .string("a"))
        #expect(updates[0]["detail"]?.encoded() == #"{"source":"\#(file)","fields":["prompt","responses"],"had_feedback":true,"old":{"prompt":"old prompt","responses":["one","two"]},"actor":"admin"}"#)
        #expect(updates[1]["item"] == .string("b"))
        #expect(updates[1]["detail"]?.encoded() == #"{"source":"\#(file)","fields":["prompt"],"had_feedback":false,"old":{"prompt":"unreviewed"},"actor":"admin"}"#)
    }

    // MARK: Reviewer names

    @Test func reviewerNamesAreOneRuleOnEveryPath() {
        let sandbox = project()
        sandbox.write("items.jsonl", #"{"id":"a"}"# + "\n" + #"{"id":"b"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        let nfd = "a\u{301}na", nfc = "\u{E1}na"
        // reviewers add: NFD is stored as NFC.
        #expect(sandbox.run(["reviewers", "add", nfd]).output.hasPrefix("Added reviewer \(nfc). The name is not a login, so nobody acts as them yet"))
        #expect(sandbox.run(["reviewers", "add", nfc]).errors == "docket: A reviewer named '\(nfc)' already exists.\n")
        // import labels: the NFC spelling, and the NFD one, are that same reviewer.
        sandbox.write("labels.csv", "item,reviewer,label\na,\(nfc),safe\nb,\(nfd),unsafe\n")
        #expect(sandbox.run(["import", "labels", sandbox.path("labels.csv")]).output == "Imported labels from \(sandbox.path("labels.csv")): 2 new.\n")
        #expect(sandbox.run(["reviewers", "list", "--json"]).output.components(separatedBy: #""name""#).count == 3)  // the admin and \(nfc)
        #expect(sandbox.run(["reviewers", "list", "--json"]).output.contains(#""labels":2"#))
        // --as finds it by either spelling.
        #expect(sandbox.run(["log", "--reviewer", nfd]).status == 0)
        #expect(sandbox.run(["review", "--as", nfd], stdin: "quit\n").output.hasPrefix("Reviewing as \(nfc)."))

        // The same refusal, word for word, on every path.
        let refusal = "'ana ' is not a valid reviewer name: it ends with whitespace"
        let add = sandbox.run(["reviewers", "add", "ana "])
        #expect(add.status == 64)
        #expect(add.errors == "docket: \(refusal).\n")
        let review = sandbox.run(["review", "--as", "ana "], stdin: "quit\n")
        #expect(review.status == 64)
        #expect(review.errors == "docket: \(refusal).\n")
        #expect(sandbox.run(["log", "--reviewer", "ana "]).errors == "docket: \(refusal).\n")
        #expect(sandbox.run(["triage", "--as", "ana "]).errors == "docket: \(refusal).\n")
        #expect(sandbox.run(["reviewers", "role", nfc, "--role", "lead", "--as", "ana "]).errors == "docket: \(refusal).\n")
        let labels = sandbox.write("spaced.jsonl", #"{"item":"a","reviewer":"ana ","label":"safe"}"# + "\n" + #"{"item":"a","reviewer":"an\u200ba","label":"safe"}"# + "\n")
        #expect(sandbox.run(["import", "labels", labels]).errors == """
            \(labels):1: reviewer: \(refusal)
            \(labels):2: reviewer: 'an\\u{200b}a' is not a valid reviewer name: it holds an invisible formatting character (U+200B at character 3)
            docket: Nothing was imported from \(labels): 2 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        #expect(sandbox.run(["reviewers", "list", "--json"]).output.components(separatedBy: #""name""#).count == 3)  // the admin and \(nfc)
    }

    // MARK: Times

    @Test func timesAreStrictRFC3339Everywhere() {
        let sandbox = project()
        sandbox.write("items.jsonl", #"{"id":"a"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        let file = sandbox.write("labels.csv", """
            item,reviewer,label,created_at
            a,ana,safe,2026-02-30
            a,bo,safe,2026-04-31T10:00:00Z
            a,cy,safe,2026-11-29T10:00:00+15:00
            a,di,safe,2026-11-29T10:00:00
            a,ed,safe,2026-11-29

            """)
        #expect(sandbox.run(["import", "labels", file]).errors == """
            \(file):2: created_at: '2026-02-30' is not a valid time: February 2026 has 28 days
            \(file):3: created_at: '2026-04-31T10:00:00Z' is not a valid time: April 2026 has 30 days
            \(file):4: created_at: '2026-11-29T10:00:00+15:00' is not a valid time: the offset +15:00 is outside -14:00...+14:00
            \(file):5: created_at: '2026-11-29T10:00:00' is not a valid time: the time has no zone; add Z for UTC or an offset such as +01:00
            docket: Nothing was imported from \(file): 4 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        #expect(sandbox.run(["log", "--since", "2026-04-31"]).errors == "docket: Invalid --since '2026-04-31': April 2026 has 30 days.\n")
        #expect(sandbox.run(["log", "--since", "2026-11-29T10:00:00"]).errors == "docket: Invalid --since '2026-11-29T10:00:00': the time has no zone; add Z for UTC or an offset such as +01:00.\n")
        #expect(sandbox.run(["export", "--format", "labels", "--as-of", "2026-02-30T00:00:00Z"]).errors == "docket: Invalid --as-of '2026-02-30T00:00:00Z': February 2026 has 28 days.\n")
        #expect(sandbox.run(["export", "--format", "labels", "--since", "2026-11-29T10:00:00-14:30"]).errors == "docket: Invalid --since '2026-11-29T10:00:00-14:30': the offset -14:30 is outside -14:00...+14:00.\n")
        #expect(sandbox.run(["export", "--format", "labels", "--until", "2026-11-29 10:00"]).errors == "docket: Invalid --until '2026-11-29 10:00': give the seconds too (HH:MM:SS).\n")
        // A bare date is midnight UTC.
        #expect(sandbox.run(["log", "--since", "2026-11-29"]).status == 0)
    }

    // MARK: YAML

    @Test(.timeLimit(.minutes(1))) func aBillionLaughsIsRefusedAtOnce() throws {
        let sandbox = project()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/yaml/billion-laughs.yaml").path
        let size = try #require(FileManager.default.attributesOfItem(atPath: fixture)[.size] as? Int)
        #expect(size < 600)
        // Unbounded, this expansion takes gigabytes and minutes; the one-minute time limit catches
        // a regression without making a timing target of a unit test (speed lives in scripts/bench).
        let run = sandbox.run(["config", "apply", fixture])
        #expect(run.status == 65)
        #expect(run.errors == """
            \(fixture): refused: the YAML expands to more than 100,000 values (aliases nested too deeply)
            docket: \(fixture) was not applied: 1 problem (listed above).

            """)
        // Nothing changed.
        #expect(sandbox.run(["config", "show", "--json"]).output.contains(#""rubric_version":1"#))
    }

    @Test func yamlThatIsNotUTF8IsRefused() {
        let sandbox = project()
        let file = write(sandbox, "latin1.yaml", Array("labels: [safe, unsafe]\nguidelines: caf".utf8) + [0xE9] + [0x0A])
        #expect(sandbox.run(["config", "apply", file]).errors == """
            \(file):2: invalid UTF-8
            docket: \(file) was not applied: 1 problem (listed above).

            """)
    }

    @Test func smallAliasesStillWork() {
        let sandbox = project()
        let file = sandbox.write("aliases.yaml", """
            labels: &labels [safe, unsafe]
            flag_reasons: *labels

            """)
        #expect(sandbox.run(["config", "apply", file]).status == 0)
    }
}
