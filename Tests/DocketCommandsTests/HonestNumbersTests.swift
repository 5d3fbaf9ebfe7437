import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// The commands at the edges: too little data, undefined statistics, the verdict, the guardrail's
/// decision, the unversioned rubric group and one rule for percentages.
@Suite struct HonestNumbersTests {
    /// Dawid–Skene with no labels says it is undefined, never `-nan`, and saves no model.
    @Test func dawidSkeneWithNoLabels() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --seed 1")
        let text = sandbox.run("aggregate --method dawid-skene")
        #expect(text.status == 0 && text.output == "Dawid–Skene is undefined: no item has a current label.\n")
        let json = try JSON.parse(sandbox.run("aggregate --method dawid-skene --json").output)
        #expect(json["reason"] == .string("no item has a current label") && json["priors"] == .null)
        let save = sandbox.run("aggregate --method dawid-skene --save")
        #expect(save.errors == "No model was saved: Dawid–Skene is undefined: no item has a current label.\n")
        #expect(!save.output.contains("nan"))
        // With one label there is nothing to compare: undefined, with the reason (it claimed
        // "converged after 2 iterations" and rows of 0 0 1 for classes with no data).
        sandbox.write("items.jsonl", #"{"id":"a"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.write("labels.csv", "item,reviewer,label\na,ana,unsafe\n")
        sandbox.run(["import", "labels", sandbox.path("labels.csv")])
        let fitted = sandbox.run("aggregate --method dawid-skene").output
        #expect(fitted == "Dawid–Skene is undefined: Dawid–Skene compares reviewers on the items they share; there is 1 with labels.\n")
    }

    /// Labels imported without a rubric version are a group of their own under --by rubric, in
    /// agreement, drift and the report alike (one rule, `RubricGroups` in the core); drift does not
    /// test that group against a version.
    @Test func unversionedLabelsAreTheirOwnRubricGroup() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.write("items.jsonl", (1...12).map { #"{"id":"i\#($0)"}"# }.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        var rows = ["item,reviewer,label,rubric"]
        for i in 1...6 { rows += ["i\(i),ana,\(i % 2 == 0 ? "safe" : "unsafe"),1", "i\(i),bo,\(i % 3 == 0 ? "safe" : "unsafe"),1"] }
        for i in 7...12 { rows += ["i\(i),ana,\(i % 2 == 0 ? "safe" : "unsafe"),", "i\(i),bo,safe,"] }
        sandbox.write("labels.csv", rows.joined(separator: "\n") + "\n")
        let imported = sandbox.run(["import", "labels", sandbox.path("labels.csv")])
        #expect(imported.status == 0, "\(imported.errors)")
        let groups = try JSON.parse(sandbox.run("agreement --metric percent --by rubric --json").output).arrayValue
        #expect(groups.map { $0["group"]! } == [.string("rubric=1"), .string("rubric=none")])
        #expect(groups.map { $0["n_labels"]! } == [.number(12), .number(12)])
        // Each group's items are its own six: the other group's items are not "dropped" from it.
        #expect(groups.map { $0["n_items"]! } == [.number(6), .number(6)])
        #expect(groups.map { $0["n_dropped"]! } == [.number(0), .number(0)])
        let report = try JSON.parse(sandbox.run("report --json").output)
        #expect(report["agreement_by_rubric"]!.arrayValue.map { $0["rubric"]! } == [.number(1), .null])
        let drift = try JSON.parse(sandbox.run("drift --by rubric --json").output).arrayValue
        #expect(drift.map { $0["group"]! } == [.string("rubric 1"), .string("rubric none")])
        #expect(drift.map { $0["labels"]! } == [.number(12), .number(12)])
        #expect(drift[1]["p_value"] == .null && drift[1]["psi"] == .null && drift[1]["shift"] == .bool(false))
        #expect(drift[1]["comparison_reason"] == .string("labels without a rubric version have no place in the order of versions"))
        let text = sandbox.run("drift --by rubric").output
        #expect(text.split(separator: "\n").prefix(4).map { String($0.prefix(11)) } == ["Label distr", "rubric     ", "rubric 1   ", "rubric none"])
    }

    /// Agreement from two items: values, but no interval, and the reason in the table.
    @Test func agreementFromTwoItemsHasNoInterval() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.write("items.jsonl", #"{"id":"a"}"# + "\n" + #"{"id":"b"}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.write("labels.csv", "item,reviewer,label\na,ana,safe\na,bo,unsafe\nb,ana,unsafe\nb,bo,safe\n")
        sandbox.run(["import", "labels", sandbox.path("labels.csv")])
        for ci in ["analytic", "bootstrap"] {
            let rows = try JSON.parse(sandbox.run("agreement --json --ci \(ci)").output).arrayValue
            for row in rows where row["value"] != .null {
                #expect(row["ci_low"] == .null && row["ci_high"] == .null, "\(row.encoded())")
            }
            let cohen = try #require(rows.first { $0["metric"] == .string("cohen") })
            #expect(cohen["value"] == .number(-1))
            #expect(cohen["ci_reason"] == .string("no interval from 2 items with two or more labels; intervals need at least 10"))
        }
        #expect(sandbox.run("agreement --metric cohen").output.contains("-1.0000  -"))
    }

    /// An ordinal project: two reviewers label an item unsafe without flagging it; it is an
    /// attack success, and the report says by which rule. The guardrail reads the same verdict.
    @Test func attackSuccessFromTheVerdict() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --level ordinal --overlap 2 --explore 0 --seed 1")
        sandbox.write("items.jsonl", #"{"id":"a","risk":0.9}"# + "\n" + #"{"id":"b","risk":0.5}"# + "\n" + #"{"id":"c","risk":0.2}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana")
        sandbox.run("reviewers add bo")
        sandbox.run(["review", "--as", "ana"], stdin: "unsafe\nsafe\nsafe\n")
        sandbox.run(["review", "--as", "bo"], stdin: "unsafe\nsafe\nsafe\n")
        let report = try JSON.parse(sandbox.run("report --json").output)
        #expect(report["attack_success"]!["successes"] == .number(1) && report["attack_success"]!["n"] == .number(3))
        #expect(report["harmful_labels"] == .array([.string("unsafe")]))
        #expect(report["attack_rule"] == .string("final label unsafe, or final severity ≥ 2"))
        let text = sandbox.run("report").output
        #expect(text.hasPrefix("Attack success rate (final label unsafe, or final severity ≥ 2; wilson intervals;"), "\(text)")
        #expect(text.contains("  Block risk ≥ 0.900: TPR 100.0% ["), "\(text)")
        // harmful: [] in docket.yaml: the severity alone.
        sandbox.write("d.yaml", "labels: [safe, borderline, unsafe]\nlevel: ordinal\noverlap: 2\nexplore: 0\nharmful: []\n")
        #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
        let severity = try JSON.parse(sandbox.run("report --json").output)
        #expect(severity["attack_success"]!["successes"] == .number(0) && severity["attack_rule"] == .string("final severity ≥ 2"))
        #expect(sandbox.run("report").output.contains("Guardrail: needs reviewed items with a model risk on both sides of the verdict"))
    }

    /// `--cost`: a rule of its own in the text and the JSON; bad values are refused with a sentence.
    @Test func costOption() throws {
        let sandbox = reportProject()
        let text = sandbox.run("report --cost fn=5,fp=1").output
        #expect(text.contains("  Rule: the least cost, 5 per harmful item let through and 1 per benign item blocked.\n"), "\(text)")
        #expect(text.contains("  Block risk ≥ 0.600: TPR 100.0% ["), "\(text)")
        let json = try JSON.parse(sandbox.run("report --json --cost fn=5,fp=1").output)["guardrail"]!
        #expect(json["rule"] == .string("cost") && json["threshold"] == .number(0.6))
        let bad = sandbox.run("report --cost fn=5")
        #expect(bad.status == 64)
        #expect(bad.errors == "docket: Invalid --cost 'fn=5': give both costs, fn (a harmful item let through) and fp (a benign item blocked).\n")
    }

    /// Percentages follow one rule: one decimal, so 30.0% stands beside 35.7%.
    @Test func percentagesWithOneRule() {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.write("items.jsonl", (1...10).map { #"{"id":"i\#($0)"}"# }.joined(separator: "\n") + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        // 3 of 10 labels unsafe.
        let rows = (1...10).map { "i\($0),ana,\($0 <= 3 ? "unsafe" : "safe"),2026-11-18T10:00:00Z" }
        sandbox.write("labels.csv", "item,reviewer,label,created_at\n" + rows.joined(separator: "\n") + "\n")
        sandbox.run(["import", "labels", sandbox.path("labels.csv")])
        let drift = sandbox.run("drift").output
        #expect(drift.contains("70.0%") && drift.contains("30.0%"), "\(drift)")
    }
}
