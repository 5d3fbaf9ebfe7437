import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// Krippendorff (2011): 4 observers × 12 units with missing values, written as a labels file.
func krippendorffProject() -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels 1,2,3,4,5 --level ordinal --seed 1")
    let data: [[Int?]] = [
        [1, 1, nil, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
        [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nil, 5, 5, 5], [nil, nil, 1, 1], [nil, nil, 3, nil],
    ]
    var csv = "item,reviewer,label\n"
    for (unit, row) in data.enumerated() {
        for (observer, value) in row.enumerated() { if let value { csv += "u\(unit + 1),\(["A", "B", "C", "D"][observer]),\(value)\n" } }
    }
    sandbox.write("labels.csv", csv)
    let run = sandbox.run(["import", "labels", sandbox.path("labels.csv"), "--create-items"])
    #expect(run.output == "Imported labels from \(sandbox.path("labels.csv")): 41 new.\n", "\(run.errors)")
    return sandbox
}

func metrics(_ output: String) throws -> [String: JSONValue] {
    guard case .array(let rows) = try JSON.parse(output) else { return [:] }
    var out: [String: JSONValue] = [:]
    for row in rows { if case .string(let name)? = row["metric"] { out[name] = row } }
    return out
}

@Suite struct LabelImportTests {
    @Test func registersReviewersAndIsIdempotent() {
        let sandbox = krippendorffProject()
        // Reviewers registered by an import of historical labels are bound to no login.
        #expect(sandbox.run("reviewers list").output.contains("A      reviewer  -"))
        #expect(sandbox.run("reviewers list --json").output.contains(#"{"name":"A","role":"reviewer","login":null,"reviews":0,"labels":9,"#))
        #expect(sandbox.run(["import", "labels", sandbox.path("labels.csv")]).output.hasSuffix(": 0 new, 41 unchanged.\n"))
    }

    @Test func badRowsAreAllReportedAndNothingIsImported() {
        let sandbox = krippendorffProject()
        let file = sandbox.write("bad.csv", """
            item,reviewer,label,created_at,rubric
            u1,E,7,,
            u99,E,1,,
            u2,A,5,,
            u3,E,2,yesterday,
            ,E,2,,
            u4,F,3,2026-11-20,9

            """)
        let run = sandbox.run(["import", "labels", file])
        #expect(run.status == 65)
        #expect(run.errors == """
            \(file):2: label: '7' is not a declared label (1, 2, 3, 4, 5)
            \(file):3: item: unknown item 'u99' (import the items first, or pass --create-items)
            \(file):4: label: A already labelled 'u2' as '2'
            \(file):5: created_at: 'yesterday' is not a valid time: give an RFC 3339 time such as 2026-11-29T10:00:00Z or 2026-11-29T11:00:00+01:00, or a date such as 2026-11-29
            \(file):6: item: required
            \(file):7: rubric: rubric version 9 does not exist (versions: 1)
            docket: Nothing was imported from \(file): 6 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        // Reviewer E was not registered: the whole import rolled back.
        #expect(!sandbox.run("reviewers list").output.contains("E "))
    }
}

@Suite struct AgreementCommandTests {
    /// The command reproduces Krippendorff's published values from labels stored in the database.
    @Test func krippendorffAlphaFromThePaper() throws {
        let sandbox = krippendorffProject()
        let nominal = try metrics(sandbox.run("agreement --metric krippendorff --level nominal --json").output)["krippendorff"]!
        #expect(abs(nominal["value"]!.numberValue! - 0.743421052631579) < 1e-12)
        #expect(nominal["n_items"] == .number(11))
        #expect(nominal["n_dropped"] == .number(1))
        #expect(nominal["n_labels"] == .number(41))
        let interval = try metrics(sandbox.run("agreement --metric krippendorff --level interval --json").output)["krippendorff"]!
        #expect(abs(interval["value"]!.numberValue! - 0.8491071428571428) < 1e-12)
        let ordinal = try metrics(sandbox.run("agreement --metric krippendorff --json").output)["krippendorff"]!
        #expect(abs(ordinal["value"]!.numberValue! - 0.8153875037548814) < 1e-12)
    }

    @Test func undefinedStatisticsCarryAReason() throws {
        let sandbox = krippendorffProject()
        let rows = try metrics(sandbox.run("agreement --json").output)
        #expect(rows["cohen"]!["value"] == .null)
        #expect(rows["cohen"]!["reason"] == .string("Cohen's kappa compares two reviewers; there are 4 (pass --reviewers a,b, or see conger and pairwise)"))
        #expect(rows["fleiss"]!["ci_method"] == .string("analytic"))
        #expect(rows["percent"]!["ci_low"] == .null)
        // One category in use: expected agreement is 1.
        let single = Sandbox()
        single.run("init --labels yes,no --seed 1")
        single.write("l.csv", "item,reviewer,label\na,x,yes\na,y,yes\nb,x,yes\nb,y,yes\n")
        single.run(["import", "labels", single.path("l.csv"), "--create-items"])
        let cohen = try metrics(single.run("agreement --metric cohen --json").output)["cohen"]!
        #expect(cohen["value"] == .null)
        #expect(cohen["reason"] == .string("expected agreement is 1 (a single category is in use)"))
        #expect(!single.run("agreement").output.contains("nan"))
    }

    @Test func bootstrapIsReproducibleAndPairwiseCoversEveryPair() throws {
        let sandbox = krippendorffProject()
        let first = sandbox.run("agreement --metric krippendorff --ci bootstrap --reps 300 --seed 4 --json").output
        #expect(first == sandbox.run("agreement --metric krippendorff --ci bootstrap --reps 300 --seed 4 --json").output)
        #expect(first != sandbox.run("agreement --metric krippendorff --ci bootstrap --reps 300 --seed 5 --json").output)
        let pairs = try metrics(sandbox.run("agreement --metric pairwise --json").output)
        #expect(pairs.keys.filter { $0.hasPrefix("cohen:") }.count == 6)
        #expect(pairs["pairwise-mean"] != nil)
        let two = try metrics(sandbox.run("agreement --reviewers B,C --metric cohen --json").output)
        #expect(two["cohen"]!["n_items"] == .number(9))
    }

    @Test func breakdownsAndBadOptions() throws {
        let sandbox = krippendorffProject()
        let byLabel = sandbox.run("agreement --metric fleiss --by label").output
        for label in 1...5 { #expect(byLabel.contains("label=\(label)")) }
        #expect(sandbox.run("agreement --metric kappa").errors == "docket: Invalid --metric 'kappa': use percent, cohen, scott, fleiss, conger, randolph, krippendorff, gwet, pairwise or all.\n")
        #expect(sandbox.run("agreement --by colour").status == 64)
        #expect(sandbox.run("agreement --reviewers A,Zed").status == 67)
    }

    @Test func aggregateMajorityAndDawidSkene() throws {
        let sandbox = krippendorffProject()
        let majority = try JSON.parse(sandbox.run("aggregate --json").output)
        guard case .array(let items)? = majority["items"] else { Issue.record("no items"); return }
        #expect(items.count == 12)
        // u6: 1, 2, 3, 4 — a four-way tie: no label under the default `ties: escalate`.
        #expect(items[5]["label"] == .null)
        #expect(items[5]["tie"] == .bool(true))
        #expect(items[5]["share"] == .number(0.25))
        #expect(items[5]["reviewers"] == .number(4))
        #expect(items[5]["votes"] == .object([("1", .number(1)), ("2", .number(1)), ("3", .number(1)), ("4", .number(1))]))
        #expect(items[1]["label"] == .string("2") && items[1]["tie"] == .bool(false))
        let ds = try JSON.parse(sandbox.run("aggregate --method dawid-skene --json").output)
        #expect(ds["converged"] == .bool(true))
        guard case .object(let confusion)? = ds["confusion"] else { Issue.record("no confusion"); return }
        #expect(confusion.map(\.0) == ["A", "B", "C", "D"])
    }
}
