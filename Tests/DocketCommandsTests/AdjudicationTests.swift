import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

let escalationYAML = """
    labels: [safe, borderline, unsafe]
    level: ordinal
    asks: [label]
    overlap: 3
    budget: 2
    explore: 0
    escalation:
      - when: {flag: [unsafe], min_severity: 3}
        to: lead
      - when: {no_majority: true}
        to: lead

    """

/// The sample data, three reviewers and a lead, with the escalation policy above.
func escalationProject(backend: TestBackend = .sqlite) throws -> Sandbox {
    let sandbox = try Sandbox(backend: backend)
    sandbox.run("init --labels safe,borderline,unsafe --seed 1")
    sandbox.write("docket.yaml", escalationYAML)
    #expect(sandbox.run(["config", "apply", sandbox.path("docket.yaml")]).status == 0)
    let items = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../SampleData/items.jsonl").standardized.path
    #expect(sandbox.run(["import", "items", items]).status == 0)
    for name in ["ana", "bo", "cy"] { sandbox.run("reviewers add \(name)") }
    sandbox.run("reviewers add lee --role lead")
    return sandbox
}

@Suite struct AdjudicationTests {
    /// Three reviewers disagree on one item, one flags the other at severity 3; the policy routes
    /// both to the lead, who resolves them. Final labels, escalations and events are checked exactly.
    @Test(arguments: TestBackend.allCases)
    func endToEndOnTheSampleData(backend: TestBackend) throws {
        let sandbox = try escalationProject(backend: backend)
        // With exploration off the two items the budget allows are the utility top two.
        let first = sandbox.run(["review", "--as", "ana", "--json"], stdin: "safe\nunsafe\n")
        let served = try first.output.split(separator: "\n").map { try JSON.parse(String($0)) }.filter { $0["type"] == .string("item") }.compactMap { $0["id"]?.textValue }
        #expect(served == ["item-01954", "item-00017"])
        sandbox.run(["review", "--as", "bo"], stdin: "borderline\nunsafe\n")
        sandbox.run(["review", "--as", "cy"], stdin: "unsafe\nflag unsafe 3 gives real instructions\nunsafe\n")

        #expect(sandbox.run("escalations").output == """
            item        tier  severity  age  reason
            item-00017  lead         3   0s  flagged unsafe at severity 3
            item-01954  lead         0   0s  no majority among 2 labels (borderline 1, safe 1)

            """)
        // Reviewers cannot adjudicate; nothing changes.
        let refused = sandbox.run(["adjudicate"], stdin: "label safe because\n", caller: .account("bo"))
        #expect(refused.status == 77)
        #expect(refused.errors == "docket: bo is a reviewer and may not adjudicate; that needs a lead or an admin. Nothing was changed.\n")
        // Nor can an admin adjudicate for her: acting for someone is acting with their role.
        #expect(sandbox.run(["adjudicate", "--as", "bo"], stdin: "label safe because\n").errors
            == "docket: bo is a reviewer and may not adjudicate (admin acting for bo); that needs a lead or an admin. Nothing was changed.\n")

        let session = sandbox.run(["adjudicate", "--as", "lee"], stdin: """
            label unsafe
            label vibes because
            label unsafe confirmed: real instructions
            label borderline reviewers split; general information only
            """)
        #expect(session.output.contains("! A decision needs a value and a rationale: label LABEL RATIONALE\n"))
        #expect(session.output.contains("! 'vibes' is not a label; the labels are 1 safe, 2 borderline, 3 unsafe.\n"))
        #expect(session.output.contains("Decided label unsafe on item-00017.\n"))
        #expect(session.output.hasSuffix("Decided label borderline on item-01954.\n\nAdjudication ended: 2 decisions.\n"))
        #expect(sandbox.run("escalations").output == "No open escalations.\n")

        let a = try JSON.parse(sandbox.run("show item-01954 --as lee --json").output)
        #expect(a["final_label"] == .string("borderline"))
        #expect(a["final_source"] == .string("adjudicated"))
        #expect(a["votes"] == .object([("borderline", .number(1)), ("safe", .number(1)), ("unsafe", .number(1))]))
        let b = try JSON.parse(sandbox.run("show item-00017 --as lee --json").output)
        #expect(b["final_label"] == .string("unsafe"))

        // Calibration against the adjudicated labels: ana said safe on item-01954 (decided borderline) and
        // unsafe on item-00017 (decided unsafe).
        let calibration = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue
        let ana = calibration.first { $0["reviewer"] == .string("ana") }!
        #expect(ana["adjudicated_answered"] == .number(2))
        #expect(ana["adjudicated_accuracy"] == .number(0.5))

        // Revisions are kept.
        sandbox.run(["adjudicate", "--as", "lee", "--item", "item-01954"], stdin: "label safe second look: fiction, no uplift\n")
        let revised = try JSON.parse(sandbox.run("show item-01954 --as lee --json").output)
        #expect(revised["final_label"] == .string("safe"))
        #expect(revised["decisions"]?.arrayValue.count == 2)

        let kinds = try sandbox.run("log --json").output.split(separator: "\n").map { try JSON.parse(String($0)) }.compactMap { $0["kind"]?.textValue }
        #expect(kinds.filter { $0 == "escalated" }.count == 2)
        #expect(kinds.filter { $0 == "adjudicated" }.count == 2)
        #expect(kinds.filter { $0 == "adjudication-revised" }.count == 1)
        // The decisions table refuses updates.
        let store = try StoreFactory.open(sandbox.databasePath, access: .write) as! SQLStore
        #expect(throws: (any Error).self) { try store.db.execute("UPDATE decisions SET value = 'x'") }
        #expect(throws: (any Error).self) { try store.db.execute("DELETE FROM escalations WHERE 1 = 0; DELETE FROM decisions") }
        #expect(try store.db.int("SELECT count(*) FROM decisions") == 3)
        #expect(try store.check() == [])
    }

    @Test func reviewersStayBlindAndOnlyLeadsChangeRoles() throws {
        let sandbox = try escalationProject()
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nunsafe\n")
        sandbox.run(["review", "--as", "bo"], stdin: "borderline\nunsafe\n")
        let view = sandbox.run("show item-01954 --as bo").output
        #expect(view.contains("Your feedback\n  bo: label borderline\n"))
        #expect(!view.contains("ana") && !view.contains("Votes") && !view.contains("Final label"))
        // The JSON view is bo's own too: no one else's answers, no votes, no final label.
        let json = sandbox.run("show item-01954 --as bo --json")
        #expect(json.status == 0)
        #expect(json.output == #"{"item":"item-01954","feedback":["label borderline"],"superseded":[]}"# + "\n")
        let refused = sandbox.run("reviewers role bo --role lead", caller: .account("ana"))
        #expect(refused.status == 77)
        #expect(refused.errors == "docket: ana is a reviewer and may not change roles; that needs a lead or an admin. Nothing was changed.\n")
        #expect(sandbox.run("reviewers role bo --role lead", caller: .account("lee")).output == "bo is now a lead.\n")
        #expect(sandbox.run("log --json").output.contains(#""kind":"role-changed""#))
    }

    @Test func returnRaisesOverlapAndDismissCloses() throws {
        let sandbox = try escalationProject()
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nunsafe\n")
        sandbox.run(["review", "--as", "bo"], stdin: "borderline\nunsafe\n")
        let run = sandbox.run(["adjudicate", "--as", "lee"], stdin: "return\nreturn please look at the framing\n")
        #expect(run.output.contains("! Say what the next reviewers should look at: return NOTE\n"))
        #expect(run.output.contains("Returned item-01954 for another review round."))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT overlap FROM items WHERE id = 'item-01954'") == 4)
        #expect(try store.db.scalar("SELECT status FROM escalations") == .text("returned"))
    }

    @Test func triageFeedsTheRiskTermWhenTheModelGaveNone() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --explore 0 --seed 1")
        sandbox.write("items.jsonl", #"{"id":"a","prompt":"p"}"# + "\n" + #"{"id":"b","prompt":"q"}"# + "\n" + #"{"id":"c","risk":0.2}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana --role lead")
        let run = sandbox.run(["triage"], stdin: "7\n1\n3\n", caller: .account("ana"))
        #expect(run.output.contains("! 7 is not a severity. Type 0, 1, 2 or 3 (s skips, q quits).\n"))
        #expect(run.output.hasSuffix("Triaged 2 items.\n"))
        // a: 1/3 · 0.5; b: 3/3 · 0.5 = 0.5; c keeps its model risk: 0.1.
        let queue = try JSON.parse(sandbox.run("queue --json").output).arrayValue
        #expect(queue.compactMap { $0["id"]?.textValue } == ["b", "a", "c"])
        #expect(queue[0]["utility"] == .number(0.5))
        #expect(queue[0]["risk"] == .number(1))
    }
}

@Suite struct SecondReviewTests {
    @Test func secondReviewRaisesTheOverlap() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.write("d.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 2\nexplore: 0\nescalation:\n  - when: {no_majority: true}\n    to: second-review\n")
        sandbox.run(["config", "apply", sandbox.path("d.yaml")])
        sandbox.write("i.jsonl", #"{"id":"x","risk":0.9}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("i.jsonl")])
        for name in ["a", "b", "c"] { sandbox.run("reviewers add \(name)") }
        sandbox.run(["review", "--as", "a"], stdin: "safe\n")
        sandbox.run(["review", "--as", "b"], stdin: "unsafe\n")
        #expect(sandbox.run("escalations --tier second-review --json").output.contains(#""item":"x","tier":"second-review""#))
        // The third reviewer now gets the item: its overlap went from 2 to 3.
        let third = sandbox.run(["review", "--as", "c", "--json"], stdin: "safe\n")
        #expect(third.output.contains(#""type":"item","assignment":3,"id":"x""#))
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT overlap FROM items WHERE id = 'x'") == 3)
    }
}

@Suite struct SavedModelTests {
    /// With a saved Dawid–Skene model, low posteriors escalate and final labels can come from the model.
    @Test func posteriorBelowAndDawidSkeneFinalLabels() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels 1,2,3,4,5 --level ordinal --seed 1")
        sandbox.write("l.csv", "item,reviewer,label\nu1,A,1\nu1,B,1\nu1,D,1\nu2,A,2\nu2,B,2\nu2,C,3\nu2,D,2\nu6,A,1\nu6,B,2\nu6,C,3\nu6,D,4\n")
        sandbox.run(["import", "labels", sandbox.path("l.csv"), "--create-items"])
        sandbox.write("d.yaml", """
            labels: ["1", "2", "3", "4", "5"]
            level: ordinal
            asks: [label]
            overlap: 3
            explore: 0
            final_label: dawid-skene
            escalation:
              - when: {posterior_below: 0.999}
                to: lead

            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
        #expect(sandbox.run("aggregate --method dawid-skene --save --json").status == 0)
        sandbox.run("reviewers add lee --role lead")
        let show = try JSON.parse(sandbox.run("show u6 --as lee --json").output)
        #expect(show["final_source"] == .string("dawid-skene"))
        let posterior = try #require(show["posterior"]?.numberValue)
        #expect(posterior > 0.5 && posterior < 0.999)
        // Labels given in sessions are evaluated against the saved model when they are committed.
        sandbox.write("i.jsonl", #"{"id":"new","risk":0.9}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("i.jsonl")])
        for (reviewer, label) in [("A", "1"), ("B", "2"), ("C", "3")] { sandbox.run(["review", "--as", reviewer], stdin: label + "\n") }
        let escalations = try JSON.parse(sandbox.run("escalations --json").output).arrayValue
        #expect(escalations.contains { $0["item"] == .string("new") && ($0["reason"]?.textValue ?? "").hasPrefix("Dawid–Skene posterior") }, "\(escalations)")
    }
}
