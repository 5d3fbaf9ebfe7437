import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

/// A small fixed project: two items, two reviewers, every kind of feedback, a lead's label and choice.
func exportProject() -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,borderline,unsafe --seed 1")
    sandbox.write("d.yaml", """
        labels: [safe, borderline, unsafe]
        rating: {name: helpfulness, scale: [1, 5]}
        asks: [label, rating]
        overlap: 2
        explore: 0
        escalation:
          - when: {no_majority: true}
            to: lead

        """)
    sandbox.run(["config", "apply", sandbox.path("d.yaml")])
    // Through stdin, so the import event names no temporary path.
    sandbox.run(["import", "items", "-", "--format", "jsonl"], stdin: #"""
        {"id":"i1","prompt":"How do I pick a lock?","response":"Call a locksmith.","category":"crime","risk":0.9}
        {"id":"i2","prompt":"Say hi","responses":["Hi!","=HYPERLINK(\"x\")"],"category":"chat","risk":0.5}

        """#)
    sandbox.run("reviewers add ana")
    sandbox.run("reviewers add bo")
    sandbox.run("reviewers add lee --role lead")
    sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 4\ncritique =cmd|calc\nlabel safe\nprefer B\nrank BA\nrate 3\n")
    sandbox.clock.advance(seconds: 3600)
    sandbox.run(["review", "--as", "bo"], stdin: "label unsafe\nedit\nCall a licensed locksmith.\n.\nrate 2\nprefer a\nlabel safe\nrate 5\n")
    sandbox.clock.advance(seconds: 3600)
    sandbox.run(["adjudicate", "--as", "lee"], stdin: "label borderline the reviewers split; general advice only\n")
    // The lead's choice of a response becomes adjudicated preference pairs.
    sandbox.run(["adjudicate", "--as", "lee", "--item", "i2"], stdin: "choose A the plain greeting\n")
    return sandbox
}

@Suite struct ExportTests {
    /// Golden files for every format, and every line valid under its JSON Schema.
    @Test(arguments: ["labels", "sft", "preferences", "ratings", "critiques", "escalations", "events"])
    func goldenFilesAndSchemas(format: String) throws {
        let sandbox = exportProject()
        let run = sandbox.run(["export", "--format", format])
        #expect(run.status == 0, "\(run.errors)")
        let golden = here.appendingPathComponent("Fixtures/export/\(format).jsonl")
        if ProcessInfo.processInfo.environment["DOCKET_REGENERATE_GOLDEN"] == "1" {
            try run.output.write(to: golden, atomically: true, encoding: .utf8)
        }
        #expect(run.output == (try String(contentsOf: golden, encoding: .utf8)), "\(format) differs from its golden file")
        let schema = try JSON.parse(String(contentsOf: here.appendingPathComponent("../../Schema/export/\(format).schema.json").standardized, encoding: .utf8))
        for line in run.output.split(separator: "\n") {
            #expect(MiniSchema.problems(try JSON.parse(String(line)), schema) == [], "\(format): \(line)")
        }
        #expect(!run.output.isEmpty)
    }

    /// The labels records' remembered vote shares are the bytes `JSONText.appendNumber` writes,
    /// within the remembered totals and beyond them.
    @Test func rememberedSharesAreTheNumbersBytes() {
        let text = ExportCommand.LabelsRecordText()
        var out = WriteBuffer(capacity: 64)
        defer { out.deallocate() }
        for total in 0...40 {
            for count in 0...total {
                out.removeAll()
                text.appendShare(count, of: total, to: &out)
                #expect(out.array == Array(JSONText.number(total > 0 ? Double(count) / Double(total) : 0).utf8), "\(count)/\(total)")
            }
        }
        out.removeAll()
        text.appendShare(2, of: 3, to: &out)
        #expect(String(decoding: out.array, as: UTF8.self) == "0.6666666666666666")
    }

    @Test func outputIsDeterministicAndSplitsKeepItemsTogether() throws {
        let sandbox = exportProject()
        let first = sandbox.run("export --format ratings --split train=0.5,eval=0.5 --seed 4").output
        #expect(first == sandbox.run("export --format ratings --split train=0.5,eval=0.5 --seed 4").output)
        let rows = try first.split(separator: "\n").map { try JSON.parse(String($0)) }
        var splitOf: [String: String] = [:]
        for row in rows {
            let item = row["item"]!.textValue!, split = row["split"]!.textValue!
            #expect(splitOf[item, default: split] == split, "item \(item) is in two splits")
            splitOf[item] = split
        }
        #expect(sandbox.run("export --format ratings --split train=0.5,eval=0.6").errors == "docket: Invalid split 'train=0.5,eval=0.6': the fractions must add up to 1.\n")
    }

    @Test func filtersAndAsOf() throws {
        let sandbox = exportProject()
        let start = Instant(milliseconds: 1_795_000_000_000)
        // As of the first half hour only ana had labelled.
        let early = try sandbox.run(["export", "--format", "labels", "--as-of", Instant(milliseconds: start.milliseconds + 1_800_000).iso8601])
            .output.split(separator: "\n").map { try JSON.parse(String($0)) }
        #expect(early.map { $0["label_source"]! } == [.string("single"), .string("single")])
        let now = try sandbox.run("export --format labels").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        #expect(now[0]["label"] == .string("borderline") && now[0]["label_source"] == .string("adjudicated"))
        #expect(sandbox.run("export --format labels --adjudicated-only").output.split(separator: "\n").count == 1)
        #expect(sandbox.run("export --format labels --min-agreement 0.9").output.split(separator: "\n").count == 1)
        #expect(sandbox.run("export --format labels --category chat").output.split(separator: "\n").count == 1)
        #expect(sandbox.run("export --format preferences --adjacent").output.split(separator: "\n").count == 4)
        #expect(sandbox.run("export --format labels --since 2099-01-01").output == "")
        #expect(sandbox.run("export --format tables").status == 64)
    }

    /// The labels records are written as bytes (the fast path); CSV, splits and filters go
    /// through the same record. Golden files pin every rendering.
    @Test(arguments: [
        ("csv", ["--csv"]), ("split", ["--split", "train=0.5,eval=0.5", "--seed", "3"]),
        ("csv-split", ["--csv", "--split", "train=0.5,eval=0.5", "--seed", "3"]), ("category", ["--category", "crime"]),
        ("adjudicated", ["--adjudicated-only"]), ("min-agreement", ["--min-agreement", "0.9"]),
    ])
    func labelsInEveryRendering(name: String, flags: [String]) throws {
        let sandbox = exportProject()
        let run = sandbox.run(["export", "--format", "labels"] + flags)
        #expect(run.status == 0, "\(run.errors)")
        let golden = here.appendingPathComponent("Fixtures/export/labels-\(name).txt")
        if ProcessInfo.processInfo.environment["DOCKET_REGENERATE_GOLDEN"] == "1" {
            try run.output.write(to: golden, atomically: true, encoding: .utf8)
        }
        #expect(run.output == (try String(contentsOf: golden, encoding: .utf8)), "labels \(flags) differs from its golden file")
    }

    @Test func csvQuotesAndNeutralisesFormulas() throws {
        let sandbox = exportProject()
        let output = sandbox.run("export --format critiques --csv").output
        #expect(output.hasPrefix("item,category,reviewer,critique,rubric,created_at,provenance,split\ni2,chat,ana,'=cmd|calc,2,"))
        let prefs = sandbox.run("export --format preferences --csv").output
        #expect(prefs.contains(#","'=HYPERLINK(""x"")","#))
        #expect(CSVText.cell("a,b") == "\"a,b\"")
        #expect(CSVText.cell("-1") == "'-1")
        #expect(CSVText.cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSVText.cell("\tx") == "'\tx")
        #expect(CSVText.cell("line\nbreak") == "\"line\nbreak\"")
        #expect(CSVText.cell("plain") == "plain")
    }

    @Test func writesThroughATemporaryFile() throws {
        let sandbox = exportProject()
        let target = sandbox.path("labels.jsonl")
        sandbox.write("labels.jsonl", "old dataset\n")
        // A failed export leaves the old file as it was.
        #expect(sandbox.run(["export", "--format", "labels", "--out", target, "--as-of", "not-a-time"]).status == 64)
        #expect(sandbox.read("labels.jsonl") == "old dataset\n")
        let run = sandbox.run(["export", "--format", "labels", "--out", target])
        #expect(run.errors == "Wrote 2 labels records to \(target).\n")
        #expect(sandbox.read("labels.jsonl") == sandbox.run("export --format labels").output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.directory).filter { $0.contains(".partial-") }.isEmpty)
        #expect(sandbox.run(["export", "--format", "labels", "--out", sandbox.path("missing/dir/x.jsonl")]).status == 73)
    }

    /// Export labels, import them into a fresh project: the agreement statistics are the same.
    @Test func roundTripKeepsAgreement() throws {
        let sandbox = krippendorffProject()
        let exported = try sandbox.run("export --format labels").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        var csv = "item,reviewer,label\n"
        for record in exported {
            for entry in record["reviewer_labels"]!.arrayValue { csv += "\(record["item"]!.textValue!),\(entry["reviewer"]!.textValue!),\(entry["label"]!.textValue!)\n" }
        }
        let fresh = Sandbox()
        fresh.run("init --labels 1,2,3,4,5 --level ordinal --seed 1")
        fresh.write("labels.csv", csv)
        #expect(fresh.run(["import", "labels", fresh.path("labels.csv"), "--create-items"]).status == 0)
        let before = sandbox.run("agreement --json").output
        let after = fresh.run("agreement --json").output
        #expect(before == after)
    }
}

@Suite struct ExportCoreTests {
    @Test func nearDuplicatesShareAClusterAndSplit() {
        var generator = SplitMix64(seed: 5)
        var ids: [String] = [], vectors: [[Float]] = []
        for base in 0..<20 {
            var v = (0..<8).map { _ in Float(generator.nextUnit() * 2 - 1) }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            ids.append("b\(base)")
            vectors.append(v)
            var twin = v.map { $0 + Float(generator.nextUnit() - 0.5) * 0.004 }
            let n2 = twin.reduce(0) { $0 + $1 * $1 }.squareRoot()
            twin = twin.map { $0 / n2 }
            ids.append("b\(base)-dup")
            vectors.append(twin)
        }
        let clusters = NearDuplicateClusters.clusters(ids: ids, embeddings: vectors)
        let plan = try! SplitPlan.parse("train=0.5,eval=0.5", seed: 3)
        for base in 0..<20 {
            #expect(clusters["b\(base)-dup"] == clusters["b\(base)"], "b\(base)")
            #expect(plan.split(for: clusters["b\(base)"]!) == plan.split(for: clusters["b\(base)-dup"]!))
        }
        #expect(Set(clusters.values).count >= 15)
    }

    @Test func splitsAreStableAndNearTheirFractions() throws {
        let plan = try SplitPlan.parse("train=0.8,eval=0.2", seed: 1)
        let names = (0..<10_000).map { plan.split(for: "item-\($0)") }
        #expect(names == (0..<10_000).map { plan.split(for: "item-\($0)") })
        let eval = names.filter { $0 == "eval" }.count
        #expect((1800...2200).contains(eval))
        #expect(SplitPlan.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(SplitPlan.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }
}
