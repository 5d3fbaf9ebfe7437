import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// One set of label rules (`LabelRules`): on seeded random projects every item's final label, its
/// source, its votes and how many reviewers labelled it are the same in `show --json`,
/// `export --format labels`, `aggregate --json`, the totals of `report --json` and
/// `status --json`, and the counts of `reviewers list`, `calibrate` and `agreement`.
@Suite struct ConsistencyTests {
    static let labels = ["safe", "borderline", "unsafe"]
    static let reviewers = ["ana", "bo", "cy", "dee"]
    static let methods = ["majority", "dawid-skene"]

    /// A project built by seeded random sessions: labels, relabels (the session's `label` again
    /// supersedes), undos, items left mid-review (quit after the label, before the rating) whose
    /// lease then runs out, imported labels, escalations, adjudications and their revisions,
    /// an adjudicated item nobody labelled, and for Dawid–Skene a model saved halfway.
    static func randomProject(seed: UInt64, method: String, ties: TieRule, backend: TestBackend = .sqlite) throws -> Sandbox {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 17)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next(below: UInt64(values.count)))] }
        func chance(_ p: Double) -> Bool { random.nextUnit() < p }
        let sandbox = try Sandbox(backend: backend)
        sandbox.run("init --labels safe,borderline,unsafe --seed \(seed)")
        let policy = chance(0.5) ? "escalation:\n  - when: {no_majority: true}\n    to: second-review\n" : ""
        sandbox.write("docket.yaml", """
            labels: [safe, borderline, unsafe]
            level: ordinal
            rating: {name: helpfulness, scale: [1, 5]}
            asks: [label, rating]
            overlap: \(pick([2, 2, 3]))
            explore: \(pick([0, 0.3]))
            lease_minutes: 5
            final_label: \(method)
            ties: \(ties.rawValue)
            \(policy)
            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("docket.yaml")]).status == 0)
        let items = (1...10).map { String(format: "i%02d", $0) }
        sandbox.write("items.jsonl", items.map { #"{"id":"\#($0)","prompt":"p \#($0)","response":"r","risk":\#(Double(random.next(below: 100)) / 100)}"# }.joined(separator: "\n") + "\n")
        #expect(sandbox.run(["import", "items", sandbox.path("items.jsonl")]).status == 0)
        for name in reviewers { sandbox.run("reviewers add \(name)") }
        sandbox.run("reviewers add lee --role lead")
        // Historical labels from a file, by reviewers of their own.
        var csv = "item,reviewer,label\n"
        for item in items where chance(0.3) {
            for name in ["hist1", "hist2"] where chance(0.7) { csv += "\(item),\(name),\(pick(labels))\n" }
        }
        sandbox.write("labels.csv", csv)
        #expect(sandbox.run(["import", "labels", sandbox.path("labels.csv")]).status == 0)

        func session(_ name: String) {
            var script = ""
            for _ in 0..<(2 + Int(random.next(below: 4))) {
                script += "label \(pick(labels))\n"
                if chance(0.3) { script += "label \(pick(labels))\n" }  // a change of mind supersedes
                if chance(0.15) { script += "undo\n" }
                if chance(0.15) {  // leave mid-item: the label stays, the rating never comes
                    script += "quit\n"
                    break
                }
                script += "rate \(1 + random.next(below: 5))\n"
                if chance(0.1) { script += "undo\n" }
            }
            sandbox.run(["review", "--as", name], stdin: script + "quit\n")
            sandbox.clock.advance(seconds: chance(0.3) ? 600 : 30)  // sometimes past the lease
        }
        func adjudicate() {
            var script = ""
            for _ in 0..<4 {
                switch random.next(below: 4) {
                case 0: script += "skip\n"
                case 1: script += "dismiss not now\n"
                default: script += "label \(pick(labels)) the lead's reading\n"
                }
            }
            sandbox.run(["adjudicate", "--as", "lee", "--tier", pick(["lead", "second-review"])], stdin: script + "quit\n")
        }
        for round in 0..<3 {
            for name in reviewers.shuffled(using: &random) { session(name) }
            adjudicate()
            if round == 1, method == "dawid-skene" { sandbox.run("aggregate --method dawid-skene --save") }
        }
        // Revisions of decisions, and a decision on an item nobody labelled.
        for item in items {
            let decided = (try? JSON.parse(sandbox.run("show \(item) --as lee --json").output))?["decisions"]?.arrayValue.isEmpty == false
            guard chance(decided ? 0.6 : 0.1) else { continue }
            sandbox.run(["adjudicate", "--as", "lee", "--item", item], stdin: "label \(pick(labels)) revised on a second look\n")
        }
        for name in reviewers.prefix(2) { session(name) }
        // Added last, so no session takes them: an item only a lead decided, and a tie from a file.
        sandbox.write("late.jsonl", #"{"id":"i11","prompt":"p","response":"r"}"# + "\n" + #"{"id":"i12","prompt":"p","response":"r"}"# + "\n")
        #expect(sandbox.run(["import", "items", sandbox.path("late.jsonl")]).status == 0)
        #expect(sandbox.run(["adjudicate", "--as", "lee", "--item", "i11"], stdin: "label unsafe decided without reviewers\n").status == 0)
        sandbox.write("late.csv", "item,reviewer,label\ni12,hist1,safe\ni12,hist2,unsafe\n")
        #expect(sandbox.run(["import", "labels", sandbox.path("late.csv")]).status == 0)
        return sandbox
    }

    static func json(_ run: CommandRun) throws -> JSONValue {
        #expect(run.status == 0, "\(run.errors)")
        return try JSON.parse(run.output)
    }

    static func votes(_ value: JSONValue?) -> [String: Int] {
        var out: [String: Int] = [:]
        for (label, count) in value?.objectMembers ?? [] { out[label] = Int(count.numberValue ?? -1) }
        return out
    }

    /// The same seeded project built on SQLite and on PostgreSQL: every command a reviewer, a
    /// lead or a script reads prints the same bytes on both (the location aside).
    @Test(.enabled(if: TestPostgres.isAvailable, "needs the run's PostgreSQL cluster (scripts/test)"), arguments: 0..<3 as Range<UInt64>)
    func bothBackendsPrintTheSame(seed: UInt64) throws {
        let method = Self.methods[Int(seed % 2)]
        let ties = TieRule.allCases[Int(seed % 3)]
        let sqlite = try Self.randomProject(seed: seed, method: method, ties: ties, backend: .sqlite)
        let postgres = try Self.randomProject(seed: seed, method: method, ties: ties, backend: .postgres)
        let commands = [
            "status", "status --json", "queue --budget 30", "queue --json", "reviewers list", "reviewers list --json", "escalations",
            "export --format labels", "export --format ratings", "export --format sft", "export --format preferences",
            "export --format escalations", "export --format events", "export --format labels --split train=0.5,eval=0.5 --seed 3",
            "log", "log --json", "agreement", "agreement --json", "agreement --by reviewer-pair", "aggregate --json",
            "aggregate --method dawid-skene --json", "calibrate", "calibrate --json", "report", "report --json", "drift",
            "show i01 --as lee", "show i02 --as lee --json", "show i03 --as ana", "show i12 --as lee --json", "check",
        ]
        for command in commands {
            let a = sqlite.run(command), b = postgres.run(command)
            // The two sandboxes differ only in where they are: the database and the imported files' directory.
            func same(_ text: String) -> String {
                text.replacingOccurrences(of: postgres.databasePath, with: sqlite.databasePath).replacingOccurrences(of: postgres.directory, with: sqlite.directory)
            }
            let bOutput = same(b.output)
            #expect(a.status == b.status, "\(command): exit \(a.status) on SQLite, \(b.status) on PostgreSQL: \(b.errors)")
            let difference = firstDifference(a.output, bOutput)
            #expect(
                a.output == bOutput,
                "\(command) printed differently from line \(difference.line):\n  SQLite:     \(difference.a)\n  PostgreSQL: \(difference.b)")
            #expect(a.errors == same(b.errors), "\(command) reported differently")
        }
    }

    @Test(arguments: 0..<12 as Range<UInt64>)
    func everyCommandGivesTheSameLabels(seed: UInt64) throws {
        let method = Self.methods[Int(seed % 2)]
        let ties = TieRule.allCases[Int(seed % 3)]
        let sandbox = try Self.randomProject(seed: seed, method: method, ties: ties)
        let context = "seed \(seed), final_label \(method), ties \(ties.rawValue)"
        // The Dawid–Skene aggregate is saved now, so final labels and `aggregate` read one model.
        let dawidSkene = try Self.json(sandbox.run("aggregate --method dawid-skene --save --json"))
        let majority = try Self.json(sandbox.run("aggregate --json"))
        let export = try sandbox.run("export --format labels").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        let adjudicatedOnly = try sandbox.run("export --format labels --adjudicated-only").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        let report = try Self.json(sandbox.run("report --json"))
        let status = try Self.json(sandbox.run("status --json"))
        let reviewersList = try Self.json(sandbox.run("reviewers list --json")).arrayValue
        let calibration = try Self.json(sandbox.run("calibrate --json")).arrayValue
        let agreement = try Self.json(sandbox.run("agreement --metric percent --json")).arrayValue
        #expect(sandbox.run("check").status == 0, "\(context)")

        var exported: [String: JSONValue] = [:]
        for record in export { exported[record["item"]!.textValue!] = record }
        func byItem(_ aggregate: JSONValue) -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for entry in aggregate["items"]?.arrayValue ?? [] { out[entry["item"]!.textValue!] = entry }
            return out
        }
        let majorityItems = byItem(majority), modelItems = byItem(dawidSkene)
        var labelsByReviewer: [String: Int] = [:]
        var bySource: [String: Int] = [:], byLabel: [String: Int] = [:]
        var currentLabels = 0, labelledItems = 0, tieCount = 0, sawTie = false, sawDecidedAlone = false

        for item in (1...12).map({ String(format: "i%02d", $0) }) {
            let show = try Self.json(sandbox.run("show \(item) --as lee --json"))
            let votes = Self.votes(show["votes"])
            let reviewerLabels = show["reviewer_labels"]!.arrayValue
            let total = votes.values.reduce(0, +)
            #expect(reviewerLabels.count == total, "\(context): \(item)")
            for entry in reviewerLabels { labelsByReviewer[entry["reviewer"]!.textValue!, default: 0] += 1 }
            currentLabels += total
            if total > 0 { labelledItems += 1 }

            guard let source = show["final_source"]?.textValue else {
                // No label and no decision: in no export, no aggregate.
                #expect(exported[item] == nil && majorityItems[item] == nil, "\(context): \(item)")
                continue
            }
            let label = show["final_label"]!
            let tie = show["tie"] == .bool(true)
            #expect(tie == (source == "tie"), "\(context): \(item)")
            bySource[source, default: 0] += 1
            if let text = label.textValue { byLabel[text, default: 0] += 1 }
            if tie { tieCount += 1; sawTie = true }
            if source == "adjudicated", total == 0 { sawDecidedAlone = true }

            // The export: the same label, source, tie, votes and reviewers.
            let record = try #require(exported[item], "\(context): \(item) is missing from the export")
            #expect(record["label"] == label, "\(context): \(item)")
            #expect(record["label_source"] == .string(source), "\(context): \(item)")
            #expect(record["tie"] == .bool(tie), "\(context): \(item)")
            var exportedVotes: [String: Int] = [:]
            for vote in record["votes"]!.arrayValue where vote["count"]!.numberValue! > 0 { exportedVotes[vote["label"]!.textValue!] = Int(vote["count"]!.numberValue!) }
            #expect(exportedVotes == votes, "\(context): \(item)")
            #expect(record["reviewer_labels"]!.arrayValue.count == total, "\(context): \(item)")
            #expect(record["reviewer_labels"]!.arrayValue.map { $0["reviewer"]! } == reviewerLabels.map { $0["reviewer"]! }, "\(context): \(item)")
            #expect(adjudicatedOnly.contains { $0["item"] == .string(item) } == (source == "adjudicated"), "\(context): \(item)")

            // The aggregates: the same votes and reviewers, and the same label where the aggregate decided it.
            if total > 0 {
                let vote = try #require(majorityItems[item], "\(context): \(item) is missing from aggregate")
                #expect(Self.votes(vote["votes"]) == votes, "\(context): \(item)")
                #expect(vote["reviewers"] == .number(Double(total)), "\(context): \(item)")
                if source == "single" || source == "majority" || (source == "tie" && method == "majority") {
                    #expect(vote["label"] == label && vote["tie"] == .bool(tie), "\(context): \(item) majority")
                }
                if source == "dawid-skene" || (source == "tie" && method == "dawid-skene") {
                    let model = try #require(modelItems[item], "\(context): \(item) is missing from the Dawid–Skene aggregate")
                    #expect(model["label"] == label && model["tie"] == .bool(tie), "\(context): \(item) dawid-skene")
                    #expect(model["posterior"] == show["posterior"], "\(context): \(item) posterior")
                }
            } else {
                #expect(source == "adjudicated" && majorityItems[item] == nil, "\(context): \(item)")
            }
            if method == "dawid-skene", total >= 2 {
                // Every reviewer is in the model saved just now, so the model decides (or ties).
                #expect(source == "dawid-skene" || source == "tie" || source == "adjudicated", "\(context): \(item) \(source)")
            }
        }
        #expect(export.count == bySource.values.reduce(0, +), "\(context)")

        // The report's totals.
        let finals = report["final_labels"]!
        #expect(finals["items"] == .number(Double(export.count)), "\(context)")
        #expect(finals["ties"] == .number(Double(tieCount)), "\(context)")
        #expect(finals["current_labels"] == .number(Double(currentLabels)), "\(context)")
        #expect(Self.votes(finals["by_source"]).filter { $0.value > 0 } == bySource, "\(context)")
        #expect(Self.votes(finals["by_label"]).filter { $0.value > 0 } == byLabel, "\(context)")
        // status, reviewers list and calibrate count the same current labels.
        #expect(status["labels"] == .number(Double(currentLabels)), "\(context)")
        #expect(status["labelled_items"] == .number(Double(labelledItems)), "\(context)")
        for reviewer in reviewersList {
            let name = reviewer["name"]!.textValue!
            #expect(reviewer["labels"] == .number(Double(labelsByReviewer[name] ?? 0)), "\(context): \(name)")
        }
        #expect(agreement.first?["n_labels"] == .number(Double(currentLabels)), "\(context)")
        for row in calibration {
            #expect(row["labels"] == .number(Double(labelsByReviewer[row["reviewer"]!.textValue!] ?? 0)), "\(context)")
        }
        #expect(currentLabels > 0 && export.count > 0, "\(context): the project is too small to say anything")
        #expect(sawDecidedAlone, "\(context): i11 was decided without labels")
        if method == "majority" { #expect(sawTie, "\(context): i12 is a tie") }
    }
}
