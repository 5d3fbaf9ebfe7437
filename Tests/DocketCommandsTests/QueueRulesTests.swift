import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Transcripts of issue 12's queue findings: partial feedback and the overlap, `docket check`,
/// and gold mixing.
@Suite struct QueueRulesTranscriptTests {
    /// Current session labels per item, by reviewer.
    func labellers(_ sandbox: Sandbox) throws -> [String: [String]] {
        let store = try SQLiteStore.open(path: sandbox.databasePath, access: .read)
        let statement = try store.db.statement(
            """
            SELECT i.id, r.name FROM feedback f JOIN items i ON i.seq = f.item JOIN reviewers r ON r.id = f.reviewer
            WHERE f.kind = 'label' AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id) ORDER BY i.id, r.name
            """)
        var result: [String: [String]] = [:]
        while try statement.step() { result[statement.text(0), default: []].append(statement.text(1)) }
        return result
    }

    /// ana labels i1 and quits before the rating; her lease runs out. bo and cy review after it:
    /// i1 gets bo only (ana's label holds the second place), so it ends with two labels, not
    /// three, and `docket check` agrees. ana's next session resumes i1 with what she gave.
    @Test func aReviewerWhoQuitsHalfWayKeepsHerPlace() throws {
        let sandbox = reviewProject(reviewers: ["ana", "bo", "cy"])
        let first = sandbox.run(["review", "--as", "ana"], stdin: "label unsafe\nquit\n")
        #expect(first.status == 0)
        #expect(first.output.contains("i1 stays yours"))
        sandbox.clock.advance(seconds: 21 * 60)
        let bo = sandbox.run(["review", "--as", "bo"], stdin: "label safe\nrate 4\nquit\n")
        #expect(bo.output.contains("── i1 ") && bo.output.contains("Item i1 done."))
        let cy = sandbox.run(["review", "--as", "cy"], stdin: "label safe\nrate 4\nquit\n")
        #expect(!cy.output.contains("── i1 "))
        #expect(try labellers(sandbox)["i1"] == ["ana", "bo"])
        #expect(sandbox.run("check").status == 0)

        let again = sandbox.run(["review", "--as", "ana"], stdin: "rate 2\nquit\n")
        #expect(again.status == 0)
        #expect(again.output.contains("Resuming the item you had open.\n── i1 "))
        #expect(again.output.contains("Given: label unsafe\n"))
        #expect(again.output.contains("Recorded rating 2.\nItem i1 done."))
        #expect(try labellers(sandbox)["i1"] == ["ana", "bo"])
        let check = sandbox.run("check")
        #expect(check.status == 0 && check.output == "OK: integrity check passed and every invariant holds.\n")
    }

    /// An item over its overlap, made by hand in SQL (a third label under a lease that ended, as
    /// the old rule allowed), fails `docket check` with the item's id.
    @Test func checkNamesAnItemOverItsOverlap() throws {
        let sandbox = reviewProject(reviewers: ["ana", "bo", "cy"])
        sandbox.run(["review", "--as", "bo"], stdin: "label safe\nrate 4\nquit\n")
        sandbox.run(["review", "--as", "cy"], stdin: "label safe\nrate 4\nquit\n")
        #expect(sandbox.run("check").status == 0)
        do {
            let store = try SQLiteStore.open(path: sandbox.databasePath)
            try store.db.execute(
                """
                PRAGMA ignore_check_constraints = 1;
                INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at, closed_at)
                SELECT i.seq, r.id, 'expired', 0, 1, 1 FROM items i, reviewers r WHERE i.id = 'i1' AND r.name = 'ana';
                INSERT INTO feedback (item, reviewer, assignment, kind, label, created_at)
                SELECT a.item, a.reviewer, a.id, 'label', 'unsafe', 1 FROM assignments a JOIN reviewers r ON r.id = a.reviewer WHERE r.name = 'ana';
                """)
        }
        let check = sandbox.run("check")
        #expect(check.status == 1)
        #expect(check.errors.contains("violation: overlap-exceeded: item i1 has 3 counted reviews (2 done, 0 open, 1 ended with feedback), over its overlap of 2\n"))
    }

    /// `gold_rate: 1.0`: the session serves every gold item, then ordinary ones (a gold item the
    /// queue later selects is not offered to the reviewer again), and later sessions work.
    @Test func goldRateOneFallsBackToOrdinaryItemsInASession() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 1 --explore 0 --seed 5")
        sandbox.write("docket.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 1\nexplore: 0\ncalibration: {gold_rate: 1.0, bar: 0.8}\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("docket.yaml")]).status == 0)
        var items = ""
        for i in 1...2 { items += #"{"id":"g\#(i)","gold":"safe","risk":0.9\#(i)}"# + "\n" }
        for i in 1...3 { items += #"{"id":"x\#(i)","risk":0.\#(i)}"# + "\n" }
        sandbox.write("items.jsonl", items)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        func session() -> (run: CommandRun, shown: [String]) {
            let run = sandbox.run(["review", "--as", "ana", "--json"], stdin: String(repeating: "safe\n", count: 10))
            let lines = run.output.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
            return (run, lines.filter { $0["type"] == .string("item") }.compactMap { $0["id"]?.textValue })
        }
        let (run, shown) = session()
        #expect(run.status == 0)
        #expect(!run.output.contains(#""type":"error""#))
        #expect(shown.prefix(2).sorted() == ["g1", "g2"])
        #expect(shown.dropFirst(2).sorted() == ["x1", "x2", "x3"])
        #expect(run.output.contains(#""reason":"empty""#))
        // A later session of ana's works: new items reach her.
        sandbox.write("more.jsonl", #"{"id":"x4","risk":0.05}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("more.jsonl")])
        let (later, laterShown) = session()
        #expect(later.status == 0 && !later.output.contains(#""type":"error""#))
        #expect(laterShown == ["x4"])
        #expect(sandbox.run("check").status == 0)
    }
}
