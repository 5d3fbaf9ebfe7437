import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

/// Findings of a review of the rules, each a transcript.
@Suite struct RulesReviewTests {
    /// Gold items are for calibration: the queue never selects them, so a small budget is spent on
    /// ordinary items, and gold_rate 1.0 moves on to ordinary items when the gold runs out.
    @Test func goldNeverSpendsTheBudget() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --level ordinal --seed 5")
        var items = (1...3).map { #"{"id":"g\#($0)","prompt":"g\#($0)","response":"r","risk":0.9\#($0),"gold":"safe"}"# }
        items += (1...4).map { #"{"id":"n\#($0)","prompt":"p\#($0)","response":"r","risk":0.\#($0)}"# }
        sandbox.write("all.jsonl", items.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("all.jsonl")])
        sandbox.write("c.yaml", "labels: [safe, unsafe]\nlevel: ordinal\nasks: [label]\noverlap: 1\nbudget: 3\nexplore: 0\ncalibration: {gold_rate: 1.0}\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("c.yaml")]).status == 0)
        sandbox.run("reviewers add ana")
        let run = sandbox.run(["review", "--as", "ana", "--json"], stdin: String(repeating: "safe\n", count: 8))
        let shown = try run.output.split(separator: "\n").map { try JSON.parse(String($0)) }
            .filter { $0["type"] == .string("item") }.compactMap { $0["id"]?.textValue }
        #expect(shown.filter { $0.hasPrefix("g") }.sorted() == ["g1", "g2", "g3"])
        #expect(shown.filter { $0.hasPrefix("n") } == ["n4", "n3", "n2"], "\(shown)")
        #expect(sandbox.run("status --json").output.contains(#""served":3"#))
        #expect(sandbox.run("check").status == 0)
    }

    /// A lead's rating (or chosen response) leaves a tie's escalation open: only a label, a
    /// return or a dismissal settles it.
    @Test func aRatingDoesNotCloseATiesEscalation() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --overlap 2 --seed 1")
        sandbox.write("items.jsonl", #"{"id":"n1","prompt":"p","response":"r","risk":0.5}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.write("c.yaml", "labels: [safe, borderline, unsafe]\nrating: {name: h, scale: [1, 5]}\nasks: [label, rating]\noverlap: 2\nexplore: 0\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("c.yaml")]).status == 0)
        for name in ["ana", "bo"] { sandbox.run("reviewers add \(name)") }
        sandbox.run("reviewers add lee --role lead")
        sandbox.run(["review", "--as", "ana"], stdin: "safe 3\nquit\n")
        sandbox.run(["review", "--as", "bo"], stdin: "unsafe 3\nquit\n")
        let rated = sandbox.run(["adjudicate", "--as", "lee"], stdin: "rate 4 fine\nquit\n")
        #expect(rated.output.contains("Decided rating 4 on n1."), "\(rated.output)")
        #expect(sandbox.run("escalations").output.contains("n1"))
        let labelled = sandbox.run(["adjudicate", "--as", "lee"], stdin: "label safe reviewers split; the answer is harmless\nquit\n")
        #expect(labelled.output.contains("Decided label safe on n1."), "\(labelled.output)")
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
    }

    /// A reviewer's `show --json` holds their own feedback, as the text view does; never others'.
    @Test func aReviewersShowJsonIsTheirOwn() throws {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label safe\nlabel unsafe\nrate 2\nquit\n")
        sandbox.run(["review", "--as", "bo"], stdin: "label safe\nrate 5\nquit\n")
        let run = sandbox.run("show i1 --as bo --json")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == #"{"item":"i1","feedback":["label safe","rating 5"],"superseded":[]}"# + "\n")
        #expect(sandbox.run("show i1 --as ana --json").output == #"{"item":"i1","feedback":["label unsafe","rating 2"],"superseded":["label safe"]}"# + "\n")
    }

    /// An escalation opened for a tie is settled when the reviewers' labels settle the item.
    @Test func aTieEscalationIsSettledWhenTheLabelsAre() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 2 --seed 1")
        sandbox.write("items.jsonl", #"{"id":"n1","prompt":"p","response":"r","risk":0.5}"# + "\n" + #"{"id":"n2","prompt":"q","response":"s","risk":0.1}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        for name in ["ana", "bo"] { sandbox.run("reviewers add \(name)") }
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nquit\n")
        sandbox.run(["review", "--as", "bo"], stdin: "unsafe\nundo\nquit\n")
        // bo's unsafe made a tie (escalated), his undo took it back.
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
        let events = sandbox.run("log --json").output
        #expect(events.contains(#""kind":"escalated""#))
        #expect(events.contains(#""kind":"escalation-settled""#))
        #expect(sandbox.run("check").status == 0)
    }

    /// A project whose policy sends a severity-3 flag to the lead and no majority to a second review.
    func policyProject() -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --overlap 2 --explore 0 --seed 1")
        sandbox.write("items.jsonl", (1...3).map { #"{"id":"i\#($0)","prompt":"p","response":"r","risk":0.\#(10 - $0)}"# }.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.write("y.yaml", """
            labels: [safe, borderline, unsafe]
            level: ordinal
            rating: {name: helpfulness, scale: [1, 5]}
            asks: [label, rating]
            flag_reasons: [unsafe, other]
            overlap: 2
            explore: 0
            escalation:
              - when: {flag: [unsafe], min_severity: 3}
                to: lead
              - when: {no_majority: true}
                to: second-review

            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("y.yaml")]).status == 0)
        for name in ["ana", "bob", "cal"] { sandbox.run("reviewers add \(name)") }
        return sandbox
    }

    /// A flag given while a tie's escalation was open escalates once the tie settles.
    @Test func aFlagHiddenByATieEscalatesWhenTheTieSettles() throws {
        let sandbox = policyProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 3\nquit\n")
        sandbox.run(["review", "--as", "bob"], stdin: "label unsafe\nflag unsafe 3 nasty\nlabel safe\nrate 3\nquit\n")
        let open = sandbox.run("escalations").output
        #expect(open.contains("flagged unsafe at severity 3"), "\(open)")
        #expect(sandbox.run("check").status == 0)
    }

    /// A second review asked for by a passing tie is taken back when the tie settles.
    @Test func aSettledSecondReviewLowersTheOverlapAgain() throws {
        let sandbox = policyProject()
        sandbox.run(["review", "--as", "ana"], stdin: "label safe\nrate 3\nquit\n")
        sandbox.run(["review", "--as", "bob"], stdin: "label unsafe\nlabel safe\nlabel unsafe\nlabel safe\nrate 2\nquit\n")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT overlap FROM items WHERE id = 'i1'") == 2)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'overlap-lowered'") == 2)
        #expect(sandbox.run("escalations").output == "No open escalations.\n")
        #expect(sandbox.run("check").status == 0)
    }

    /// With gold reserved and a budget, the header counts gold and ordinary items each once, so it
    /// goes down by one per item, gold or not, to 1.
    @Test func leftCountsReservedGoldBesideTheBudget() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 5")
        var items = (1...3).map { #"{"id":"g\#($0)","prompt":"g","response":"r","risk":0.9\#($0),"gold":"safe"}"# }
        items += (1...6).map { #"{"id":"n\#($0)","prompt":"p","response":"r","risk":0.\#(7 - $0)}"# }
        sandbox.write("all.jsonl", items.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("all.jsonl")])
        sandbox.write("c.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 1\nbudget: 3\nexplore: 0\ncalibration: {gold_rate: 1.0, bar: 0.7}\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("c.yaml")]).status == 0)
        sandbox.run("reviewers add ana")
        let run = sandbox.run(["review", "--as", "ana"], stdin: String(repeating: "safe\n", count: 6))
        let left = run.output.split(separator: "\n").filter { $0.hasPrefix("── ") }.compactMap { $0.firstMatch(of: /· (\d+) left/).map { Int($0.1)! } }
        #expect(left == [6, 5, 4, 3, 2, 1], "\(run.output)")
    }
}
