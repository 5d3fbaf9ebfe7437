import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// Three items with several responses, two reviewers who rank and prefer, and a lead who chooses.
func preferenceProject() -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,unsafe --seed 1")
    sandbox.write("d.yaml", """
        labels: [safe, unsafe]
        asks: [ranking, preference]
        overlap: 2
        explore: 0

        """)
    sandbox.run(["config", "apply", sandbox.path("d.yaml")])
    sandbox.run(["import", "items", "-", "--format", "jsonl"], stdin: """
        {"id":"p1","prompt":"Pick one","responses":["a1","b1","c1"],"risk":0.9}
        {"id":"p2","prompt":"Pick two","responses":["a2","b2"],"risk":0.5}
        {"id":"p3","prompt":"Pick three","responses":["a3","b3","c3"],"risk":0.1}

        """)
    for name in ["ana", "bo"] { sandbox.run("reviewers add \(name)") }
    sandbox.run("reviewers add lee --role lead")
    // ana ranks C A B, tries to call A and B a tie (refused: it contradicts her ranking), then
    // prefers A (the same verdict, given again); on p2 she prefers B. She gives p3 back untouched.
    sandbox.run(["review", "--as", "ana"], stdin: "rank C A B\nprefer tie\nprefer A\nprefer B\nquit\n")
    sandbox.clock.advance(seconds: 60)
    // bo ranks A C B, then prefers A (the same verdict on A and B, given again); on p2 he ranks B A.
    sandbox.run(["review", "--as", "bo"], stdin: "rank A C B\nprefer a\nrank B A\nquit\n")
    sandbox.clock.advance(seconds: 3600)
    sandbox.run(["adjudicate", "--as", "lee", "--item", "p1"], stdin: "choose C the reviewers split on A\n")
    sandbox.run(["adjudicate", "--as", "lee", "--item", "p3"], stdin: "choose B only B answers\n")
    return sandbox
}

@Suite struct PreferenceExportTests {
    static func records(_ sandbox: Sandbox, _ arguments: [String] = []) throws -> [JSONValue] {
        let run = sandbox.run(["export", "--format", "preferences"] + arguments)
        #expect(run.status == 0, "\(run.errors)")
        let schema = try JSON.parse(String(contentsOf: here.appendingPathComponent("../../Schema/export/preferences.schema.json").standardized, encoding: .utf8))
        return try run.output.split(separator: "\n").map { line in
            let record = try JSON.parse(String(line))
            #expect(MiniSchema.problems(record, schema) == [], "\(line)")
            return record
        }
    }

    /// item: chosen>rejected source weight reviewer
    static func summary(_ records: [JSONValue]) -> [String] {
        records.map { r in
            let relation = r["tie"] == .bool(true) ? "=" : ">"
            let weight: String
            if case .number(let w)? = r["weight"] { weight = JSONText.number(w) } else { weight = "?" }
            return "\(r["item"]!.textValue!): \(r["chosen_response"]!.textValue!)\(relation)\(r["rejected_response"]!.textValue!) "
                + "\(r["source"]!.textValue!) \(weight) \(r["reviewer"]!.textValue!)"
        }
    }

    /// One record per reviewer and pair (her latest verdict), every pair a ranking implies, and
    /// the lead's choice, marked, even on an item no reviewer judged.
    @Test func onePairPerReviewerAndTheLeadsChoice() throws {
        let sandbox = preferenceProject()
        let records = try Self.records(sandbox)
        #expect(Self.summary(records) == [
            "p1: C>A ranking 0.5 ana", "p1: C>B ranking 1 ana", "p1: A>B preference 1 ana",
            "p1: A>C ranking 0.5 bo", "p1: C>B ranking 1 bo", "p1: A>B preference 1 bo",
            "p1: C>A adjudicated 1 lee", "p1: C>B adjudicated 1 lee",
            "p2: B>A preference 1 ana", "p2: B>A ranking 1 bo",
            "p3: B>A adjudicated 1 lee", "p3: B>C adjudicated 1 lee",
        ])
        let chosen = records.first { $0["source"] == .string("adjudicated") }!
        #expect(chosen["adjudicated_by"] == .string("lee"))
        #expect(chosen["rationale"] == .string("the reviewers split on A"))
        #expect(chosen["rubric"] == .null)
        #expect(chosen["chosen"] == .string("c1") && chosen["rejected"] == .string("a1"))
        #expect(chosen["provenance"]?["reviewers"] == .array([.string("lee")]))
        #expect(chosen["created_at"] == chosen["provenance"]?["first_feedback_at"])
        let reviewed = records.first { $0["source"] == .string("ranking") }!
        #expect(reviewed["adjudicated_by"] == .null && reviewed["rationale"] == .null)

        // No reviewer holds a tie that contradicts her ranking (the session refused it), so
        // --keep-ties adds nothing here; the core's tests cover a tie replacing a ranking's pair.
        #expect(Self.summary(try Self.records(sandbox, ["--keep-ties"])) == Self.summary(records))
        // Adjacent pairs only: ana's C A B gives C>A and A>B (her latest verdict on A and B is her
        // preference); the weights still count the pairs left out.
        #expect(Self.summary(try Self.records(sandbox, ["--adjacent"])).prefix(4) == [
            "p1: C>A ranking 0.5 ana", "p1: A>B preference 1 ana", "p1: A>C ranking 0.5 bo", "p1: C>B ranking 1 bo",
        ])
    }

    /// The lead's choice is part of the dataset as of its time, and has no rubric version.
    @Test func theLeadsChoiceFollowsAsOfAndFilters() throws {
        let sandbox = preferenceProject()
        let beforeTheLead = Instant(milliseconds: 1_795_000_000_000 + 1_800_000).iso8601
        #expect(!Self.summary(try Self.records(sandbox, ["--as-of", beforeTheLead])).contains { $0.contains("adjudicated") })
        #expect(!Self.summary(try Self.records(sandbox, ["--rubric", "2"])).contains { $0.contains("adjudicated") })
        #expect(Self.summary(try Self.records(sandbox, ["--since", beforeTheLead])) == [
            "p1: C>A adjudicated 1 lee", "p1: C>B adjudicated 1 lee", "p3: B>A adjudicated 1 lee", "p3: B>C adjudicated 1 lee",
        ])
        // A revised choice replaces the earlier one.
        sandbox.clock.advance(seconds: 60)
        sandbox.run(["adjudicate", "--as", "lee", "--item", "p3"], stdin: "choose A on second thought\n")
        #expect(Self.summary(try Self.records(sandbox)).suffix(2) == ["p3: A>B adjudicated 1 lee", "p3: A>C adjudicated 1 lee"])
        let csv = sandbox.run("export --format preferences --csv").output
        #expect(csv.hasPrefix("item,category,prompt,chosen,rejected,source,chosen_response,rejected_response,tie,weight,reviewer,rubric,created_at,adjudicated_by,rationale,provenance,split\n"))
    }
}
