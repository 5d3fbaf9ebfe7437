import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

@Suite struct CalibrationTests {
    /// Gold items: g1 (safe), g2 (unsafe). Reviewer a is always right, b always wrong.
    func project() -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 3")
        var items = ""
        for i in 1...4 { items += #"{"id":"g\#(i)","gold":"\#(i % 2 == 1 ? "safe" : "unsafe")"}"# + "\n" }
        for i in 1...4 { items += #"{"id":"x\#(i)"}"# + "\n" }
        sandbox.write("items.jsonl", items)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        var labels = "item,reviewer,label,created_at\n"
        for i in 1...4 {
            let truth = i % 2 == 1 ? "safe" : "unsafe", wrong = i % 2 == 1 ? "unsafe" : "safe"
            labels += "g\(i),a,\(truth),2026-11-02T10:00:00Z\ng\(i),b,\(wrong),2026-11-02T10:00:00Z\ng\(i),c,\(truth),2026-11-10T10:00:00Z\n"
            labels += "x\(i),a,safe,2026-11-10T10:00:00Z\nx\(i),b,unsafe,2026-11-10T10:00:00Z\nx\(i),c,safe,2026-11-10T10:00:00Z\n"
        }
        sandbox.write("labels.csv", labels)
        sandbox.run(["import", "labels", sandbox.path("labels.csv")])
        return sandbox
    }

    @Test func goldAccuracyWithWilsonIntervalsAndFlags() throws {
        let sandbox = project()
        // x5, x6: ten shared items in all, the minimum κ vs others and the DS skill need.
        sandbox.write("more.csv", "item,reviewer,label\nx5,a,safe\nx5,b,unsafe\nx5,c,safe\nx6,a,safe\nx6,b,unsafe\nx6,c,safe\n")
        sandbox.run(["import", "labels", sandbox.path("more.csv"), "--create-items"])
        let rows = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue
        #expect(rows.map { $0["reviewer"]! } == [.string("a"), .string("b"), .string("c")])
        #expect(rows[0]["gold_answered"] == .number(4))
        #expect(rows[0]["gold_accuracy"] == .number(1))
        #expect(rows[1]["gold_accuracy"] == .number(0))
        // Wilson interval for 0 of 4: [0, 0.4898908364545974] (statsmodels).
        #expect(rows[1]["gold_ci_low"] == .number(0))
        #expect(abs(rows[1]["gold_ci_high"]!.numberValue! - 0.4898908364545974) < 1e-12)
        #expect(rows[1]["flagged"] == .bool(true))
        #expect(rows[0]["flagged"] == .bool(false))
        // Under the default `ties: escalate` a split between the two others is no consensus: a and c
        // always have one other on each side, so they have none; b always faces a and c agreeing.
        #expect(rows[0]["kappa_vs_consensus"] == .null && rows[0]["kappa_items"] == .number(0))
        #expect(rows[2]["kappa_vs_consensus"] == .null && rows[2]["kappa_reason"]?.textValue != nil)
        #expect(rows[1]["kappa_items"] == .number(10))
        let text = sandbox.run("calibrate --bar 0.9").output
        #expect(text.contains("below 0.90"))
        // With `ties: declared-order` a split goes to safe, as before the setting existed: c agrees with a.
        sandbox.write("d.yaml", "labels: [safe, unsafe]\nasks: [label]\nties: declared-order\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
        let ordered = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue
        #expect(ordered[2]["kappa_vs_consensus"]!.numberValue! > ordered[1]["kappa_vs_consensus"]!.numberValue!)
    }

    @Test func driftFlagsAShiftBetweenWeeks() throws {
        let sandbox = project()
        let rows = try JSON.parse(sandbox.run("drift --window week --json").output).arrayValue
        #expect(rows.count == 2)
        #expect(rows[0]["group"] == .string("week of 2026-11-02"))
        #expect(rows[1]["group"] == .string("week of 2026-11-09"))
        #expect(rows[0]["labels"] == .number(8))
        #expect(rows[1]["labels"] == .number(16))
        #expect(rows[0]["p_value"] == .null)
        // Week 1: 4 safe / 4 unsafe; week 2: 10 safe / 6 unsafe.
        let psi = (10.0 / 16 - 0.5) * log((10.0 / 16) / 0.5) + (6.0 / 16 - 0.5) * log((6.0 / 16) / 0.5)
        #expect(abs(rows[1]["psi"]!.numberValue! - psi) < 1e-12)
        #expect(sandbox.run("drift --window fortnight").status == 64)
    }

    @Test func goldItemsAreMixedIntoQueuesWithoutCountingAgainstOverlapOrBudget() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 1 --budget 3 --explore 0 --seed 11")
        sandbox.write("docket.yaml", "labels: [safe, unsafe]\nasks: [label]\noverlap: 1\nbudget: 3\nexplore: 0\ncalibration: {gold_rate: 0.5, bar: 0.8}\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("docket.yaml")]).status == 0)
        var items = ""
        for i in 1...3 { items += #"{"id":"g\#(i)","gold":"safe","risk":0.01}"# + "\n" }
        for i in 1...6 { items += #"{"id":"x\#(i)","risk":0.\#(i)}"# + "\n" }
        sandbox.write("items.jsonl", items)
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        let run = sandbox.run(["review", "--as", "ana", "--json"], stdin: String(repeating: "safe\n", count: 12))
        let shown = try run.output.split(separator: "\n").map { try JSON.parse(String($0)) }.filter { $0["type"] == .string("item") }.compactMap { $0["id"]?.textValue }
        let goldShown = shown.filter { $0.hasPrefix("g") }
        #expect(!goldShown.isEmpty)
        #expect(Set(goldShown).count == goldShown.count)
        // The budget of 3 was spent on queue items only.
        #expect(shown.filter { $0.hasPrefix("x") }.count == 3)
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM events WHERE kind = 'gold-mixed'") == Int64(goldShown.count))
        #expect(try store.check() == [])
        // Nothing in what the reviewer saw says gold.
        #expect(!run.output.lowercased().contains("gold"))
    }
}
