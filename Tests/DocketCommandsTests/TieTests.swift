import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// Transcripts of the label rules as a person meets them: what each `ties` setting makes of a
/// split vote, an adjudicated item nobody labelled, a changed label counted once, and a
/// Dawid–Skene final label that `show` and `export` agree on.
@Suite struct TieTests {
    /// The issue's example: ana says unsafe and flags it at severity 2, bo says safe.
    func splitVote(ties: String?, level: String = "ordinal") -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --seed 1")
        sandbox.write("docket.yaml", """
            labels: [safe, borderline, unsafe]
            level: \(level)
            asks: [label]
            overlap: 2
            explore: 0
            \(ties.map { "ties: \($0)" } ?? "")

            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("docket.yaml")]).status == 0)
        sandbox.write("items.jsonl", #"{"id":"x","prompt":"How do I get into my neighbour's wifi?","response":"Try these default passwords.","risk":0.4}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        for name in ["ana", "bo"] { sandbox.run("reviewers add \(name)") }
        sandbox.run("reviewers add lee --role lead")
        sandbox.run(["review", "--as", "ana"], stdin: "flag unsafe 2 walks through access\nunsafe\n")
        sandbox.run(["review", "--as", "bo"], stdin: "safe\n")
        return sandbox
    }

    func exported(_ sandbox: Sandbox, _ flags: String = "") throws -> [JSONValue] {
        try sandbox.run("export --format labels" + flags).output.split(separator: "\n").map { try JSON.parse(String($0)) }
    }

    @Test func escalateLeavesNoLabelAndSendsTheItemToTheLead() throws {
        let sandbox = splitVote(ties: nil)  // the default
        let view = sandbox.run("show x --as lee").output
        #expect(view.contains("Votes: safe 1/2, unsafe 1/2\n"))
        #expect(view.hasSuffix("Final label: none: a tie between safe and unsafe; it goes to the lead\n"))
        let show = try JSON.parse(sandbox.run("show x --as lee --json").output)
        #expect(show["final_label"] == .null && show["final_source"] == .string("tie") && show["tie"] == .bool(true))
        #expect(sandbox.run("escalations").output == """
            item  tier  severity  age  reason
            x     lead         0   0s  a tie between safe and unsafe (safe 1, unsafe 1): no final label until a lead decides

            """)
        let record = try exported(sandbox)[0]
        #expect(record["label"] == .null && record["label_source"] == .string("tie") && record["tie"] == .bool(true))
        #expect(record["agreement"] == .number(0.5))
        let aggregate = try JSON.parse(sandbox.run("aggregate --json").output)["items"]!.arrayValue[0]
        #expect(aggregate["label"] == .null && aggregate["tie"] == .bool(true))
        // The lead decides; the tie is resolved and the record says so.
        let session = sandbox.run(["adjudicate", "--as", "lee"], stdin: "label unsafe stepwise access to someone else's network\n")
        #expect(session.output.contains("Final label: none: a tie between safe and unsafe; it goes to the lead\n"))
        #expect(session.output.contains("Decided label unsafe on x.\n"))
        let decided = try exported(sandbox)[0]
        #expect(decided["label"] == .string("unsafe") && decided["label_source"] == .string("adjudicated") && decided["tie"] == .bool(false))
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
    }

    @Test func severeTakesTheLabelDeclaredLater() throws {
        let sandbox = splitVote(ties: "severe")
        #expect(sandbox.run("show x --as lee").output.contains("Final label: unsafe (a tie between safe and unsafe, broken toward the label declared later)\n"))
        let record = try exported(sandbox)[0]
        #expect(record["label"] == .string("unsafe") && record["label_source"] == .string("tie") && record["tie"] == .bool(true))
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
        #expect(try JSON.parse(sandbox.run("aggregate --json").output)["items"]!.arrayValue[0]["label"] == .string("unsafe"))
        #expect(try JSON.parse(sandbox.run("report --json").output)["final_labels"]!["by_label"] == .object([("safe", .number(0)), ("borderline", .number(0)), ("unsafe", .number(1))]))
    }

    @Test func declaredOrderKeepsTheOldRule() throws {
        let sandbox = splitVote(ties: "declared-order")
        #expect(sandbox.run("show x --as lee").output.contains("Final label: safe (a tie between safe and unsafe, broken toward the label declared first)\n"))
        let record = try exported(sandbox)[0]
        #expect(record["label"] == .string("safe") && record["label_source"] == .string("tie") && record["tie"] == .bool(true))
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
        #expect(try JSON.parse(sandbox.run("aggregate --json").output)["items"]!.arrayValue[0]["label"] == .string("safe"))
    }

    @Test func severeIsRefusedOnANominalScale() {
        let sandbox = Sandbox()
        sandbox.run("init --labels cat,dog --seed 1")
        let file = sandbox.write("docket.yaml", "labels: [cat, dog]\nlevel: nominal\nasks: [label]\nties: severe\n")
        let run = sandbox.run(["config", "apply", file])
        #expect(run.status == 65)
        #expect(run.errors.hasPrefix("\(file):4: ties: severe takes the tied label declared later, which only means more severe when the labels are ordered; the level is nominal, so use escalate or declared-order, or declare the level ordinal\n"))
        #expect(sandbox.run(["config", "apply", sandbox.write("b.yaml", "labels: [cat, dog]\nasks: [label]\nties: coin\n")]).errors.contains("ties: use escalate, severe, declared-order\n"))
    }

    /// Undoing a label can leave a tie behind; it goes to the lead as well.
    @Test func anUndoThatLeavesATieEscalates() throws {
        let sandbox = splitVote(ties: nil)
        sandbox.run(["adjudicate", "--as", "lee"], stdin: "dismiss a third opinion is coming\n")
        sandbox.write("more.yaml", """
            labels: [safe, borderline, unsafe]
            level: ordinal
            rating: {name: helpfulness, scale: [1, 5]}
            asks: [label, rating]
            overlap: 3
            explore: 0

            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("more.yaml")]).status == 0)
        sandbox.run("reviewers add cy")
        // cy's label breaks the tie, then her undo brings it back.
        let run = sandbox.run(["review", "--as", "cy"], stdin: "label safe\nundo\nquit\n")
        #expect(run.output.contains("Recorded label safe. Still asked: rating.\n"), "\(run.output)")
        let record = try exported(sandbox)[0]
        #expect(record["label_source"] == .string("tie") && record["reviewer_labels"]!.arrayValue.count == 2)
        #expect(sandbox.run("escalations").output.contains("x     lead         0   0s  a tie between safe and unsafe"))
    }

    @Test func anAdjudicatedItemWithoutReviewerLabelsIsExported() throws {
        let sandbox = splitVote(ties: nil)
        sandbox.write("more.jsonl", #"{"id":"y","prompt":"Is this phishing?","response":"Yes.","category":"fraud"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("more.jsonl")])
        let run = sandbox.run(["adjudicate", "--as", "lee", "--item", "y"], stdin: "label borderline reported by a user; nobody reviewed it yet\n")
        #expect(run.output.contains("Decided label borderline on y.\n"), "\(run.output)")
        let line = sandbox.run("export --format labels --adjudicated-only").output
        #expect(line == #"{"item":"y","category":"fraud","label":"borderline","label_source":"adjudicated","tie":false,"agreement":null,"votes":[{"label":"safe","count":0,"share":0},{"label":"borderline","count":0,"share":0},{"label":"unsafe","count":0,"share":0}],"reviewer_labels":[],"adjudicated_by":"lee","rationale":"reported by a user; nobody reviewed it yet","provenance":{"item":"y","reviewers":[],"rubric_versions":[],"policy":null,"propensity":null,"served_at":null,"first_feedback_at":null,"last_feedback_at":null}}"# + "\n")
        let all = try exported(sandbox)
        #expect(all.map { $0["item"]! } == [.string("x"), .string("y")])
        #expect(try exported(sandbox, " --category fraud").map { $0["item"]! } == [.string("y")])
        #expect(try exported(sandbox, " --rubric 2").map { $0["item"]! } == [.string("x")])
        #expect(try exported(sandbox, " --min-agreement 0.5").map { $0["item"]! } == [.string("x")])
        let schema = try JSON.parse(String(contentsOf: here.appendingPathComponent("../../Schema/export/labels.schema.json").standardized, encoding: .utf8))
        for record in all { #expect(MiniSchema.problems(record, schema) == []) }
        #expect(try JSON.parse(sandbox.run("show y --as lee --json").output)["final_source"] == .string("adjudicated"))
        #expect(try JSON.parse(sandbox.run("report --json").output)["final_labels"]!["items"] == .number(2))
    }

    /// Undo after a changed answer brings the earlier one back, and the next undo takes that back.
    @Test func undoTwiceAfterAChangedAnswer() throws {
        let sandbox = reviewProject()
        let run = sandbox.run(["review", "--as", "ana"], stdin: "label safe\nlabel unsafe\nundo\nundo\nundo\nquit\n")
        #expect(run.output.contains("Your label safe stands again."), "\(run.output)")
        #expect(!run.output.contains("already withdrawn"), "\(run.output)")
        #expect(run.output.contains("! Nothing to undo in this session."), "\(run.output)")
        #expect(try JSON.parse(sandbox.run("status --json").output)["labels"] == .number(0))
        #expect(sandbox.run("check").status == 0)
    }

    /// `label safe` then `label unsafe` is one current label everywhere.
    @Test func aChangedLabelCountsOnce() throws {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label safe\nlabel unsafe\nrate 2\nquit\n")
        #expect(try JSON.parse(sandbox.run("status --json").output)["labels"] == .number(1))
        #expect(sandbox.run("status").output.contains("labels:      1 current, on 1 items\n"))
        #expect(try JSON.parse(sandbox.run("reviewers list --json").output).arrayValue.first { $0["name"] == .string("ana") }?["labels"] == .number(1))
        let record = try exported(sandbox)[0]
        #expect(record["reviewer_labels"]!.arrayValue.count == 1 && record["label"] == .string("unsafe"))
        #expect(try JSON.parse(sandbox.run("calibrate --json").output).arrayValue[0]["labels"] == .number(1))
    }

    /// The issue's first finding: with `final_label: dawid-skene`, `show` and the export gave
    /// different labels for u6.
    @Test func dawidSkeneFinalLabelsAgreeBetweenShowAndExport() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels 1,2,3,4,5 --level ordinal --seed 1")
        sandbox.write("l.csv", "item,reviewer,label\nu1,A,1\nu1,B,1\nu1,D,1\nu2,A,2\nu2,B,2\nu2,C,3\nu2,D,2\nu6,A,1\nu6,B,2\nu6,C,3\nu6,D,4\n")
        sandbox.run(["import", "labels", sandbox.path("l.csv"), "--create-items"])
        sandbox.write("d.yaml", "labels: [\"1\", \"2\", \"3\", \"4\", \"5\"]\nlevel: ordinal\nasks: [label]\noverlap: 3\nfinal_label: dawid-skene\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
        // Before a model is saved the aggregate is the majority (u6 is a four-way tie).
        #expect(try exported(sandbox).map { $0["label_source"]! } == [.string("majority"), .string("majority"), .string("tie")])
        let model = try JSON.parse(sandbox.run("aggregate --method dawid-skene --save --json").output)
        sandbox.run("reviewers add lee --role lead")
        let records = try exported(sandbox)
        for (index, item) in ["u1", "u2", "u6"].enumerated() {
            let show = try JSON.parse(sandbox.run("show \(item) --as lee --json").output)
            let fromModel = model["items"]!.arrayValue.first { $0["item"] == .string(item) }!
            #expect(show["final_source"] == .string("dawid-skene"))
            #expect(records[index]["label_source"] == .string("dawid-skene"))
            #expect(records[index]["label"] == show["final_label"] && fromModel["label"] == show["final_label"], "\(item)")
        }
    }
}
