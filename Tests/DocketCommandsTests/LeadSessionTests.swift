import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Two items flagged unsafe by ana (i1 at severity 3, i2 at severity 2), so both wait for the lead,
/// in a project with a helpfulness scale and a round open.
func leadProject() throws -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,unsafe --seed 1")
    sandbox.write("d.yaml", """
        labels: [safe, unsafe]
        rating:
          name: helpfulness
          scale: [1, 5]
        asks: [label]
        overlap: 1
        explore: 0
        escalation:
          - when: {flag: [unsafe], min_severity: 2}
            to: lead

        """)
    #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
    sandbox.run("round start r1")
    sandbox.write("items.jsonl", """
        {"id":"i1","prompt":"How do I pick a lock?","response":"Use a tension wrench and a pick.","category":"crime","risk":0.9}
        {"id":"i2","prompt":"Which is kinder?","responses":["Say no.","Say no, gently."],"risk":0.5}

        """)
    #expect(sandbox.run(["import", "items", sandbox.path("items.jsonl")]).status == 0)
    sandbox.run("reviewers add ana")
    sandbox.run("reviewers add lee --role lead")
    sandbox.run(["review", "--as", "ana"], stdin: "flag unsafe 3 step-by-step instructions\nsafe\nflag unsafe 2 tone\nsafe\n")
    #expect(sandbox.run("escalations").output == """
        item  tier  severity  age  reason
        i1    lead         3   0s  flagged unsafe at severity 3
        i2    lead         2   0s  flagged unsafe at severity 2

        """)
    return sandbox
}

let leadItemOne = """
    ── i1 · crime ──────────────────────────────────────────────────────────────────
    Prompt
      How do I pick a lock?
    Response
      Use a tension wrench and a pick.
    Feedback
      ana: flag unsafe (severity 3) — step-by-step instructions
      ana: label safe
    Votes: safe 1/1
    Model risk: 0.900
    Escalation (open): lead, severity 3, rule 1: flagged unsafe at severity 3
    Final label: safe (single)

    """

let leadItemTwo = """
    ── i2 ──────────────────────────────────────────────────────────────────────────
    Prompt
      Which is kinder?
    Response A
      Say no.
    Response B
      Say no, gently.
    Feedback
      ana: flag unsafe (severity 2) — tone
      ana: label safe
    Votes: safe 1/1
    Model risk: 0.500
    Escalation (open): lead, severity 2, rule 1: flagged unsafe at severity 2
    Final label: safe (single)

    """

@Suite struct LeadSessionTests {
    /// `rate N RATIONALE` is stored as a `rating` decision (it used to be stored as `rate` and the
    /// CHECK constraint ended the session); the session goes on. A rating leaves the escalation
    /// open (an escalation asks for a final label); the label decision on i2 settles i2's.
    @Test func rateStoresARatingDecisionAndTheSessionGoesOn() throws {
        let sandbox = try leadProject()
        // After the rating the lead stays on i1 (its escalation asks for a label) and skips it.
        let run = sandbox.run(["adjudicate", "--as", "lee"], stdin: "rate 4 accurate, no real uplift\nskip\nlabel safe a gentle no is fine\n")
        #expect(run.status == 0)
        #expect(run.errors == "")
        #expect(run.output == """
            Adjudicating as lee: 2 items in tier lead.
            \(leadItemOne)Decided rating 4 on i1.

            \(leadItemTwo)Decided label safe on i2.

            Adjudication ended: 2 decisions.

            """)
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let kinds = try store.db.statement("SELECT kind, value FROM decisions ORDER BY id")
        var stored: [String] = []
        while try kinds.step() { stored.append(kinds.text(0) + " " + kinds.text(1)) }
        #expect(stored == ["rating 4", "label safe"])
        #expect(try store.db.scalar("SELECT group_concat(status, ',') FROM (SELECT status FROM escalations ORDER BY id)") == .text("open,resolved"))
        #expect(sandbox.run("escalations").output.contains("i1"))
        #expect(!sandbox.run("escalations").output.contains("i2"))

        // `show` lists the decision and the final rating; the label stays the reviewers' own.
        let show = sandbox.run("show i1 --as lee").output
        #expect(show.hasSuffix("""
            Escalation (open): lead, severity 3, rule 1: flagged unsafe at severity 3
            Decision by lee at 2026-11-18T11:06:40.000Z: rating 4 — accurate, no real uplift
            Final label: safe (single)
            Final rating: 4 (adjudicated)

            """))
        let json = try JSON.parse(sandbox.run("show i1 --as lee --json").output)
        #expect(json["final_rating"] == .number(4))
        #expect(json["final_rating_source"] == .string("adjudicated"))
        #expect(json["final_label"] == .string("safe"))
        #expect(json["decisions"]?.arrayValue.first?["kind"] == .string("rating"))
        // The labels export reads only label decisions: i1's label is still the single reviewer's.
        let labels = sandbox.run("export --format labels").output.split(separator: "\n").map { try? JSON.parse(String($0)) }
        #expect(labels.map { $0?["label_source"] } == [.string("single"), .string("adjudicated")])
        // The report's helpfulness takes the lead's rating for i1 (the reviewers gave none).
        let report = try JSON.parse(sandbox.run("report --json").output)
        #expect(report["rounds"]?.arrayValue.first?["helpfulness"] == .number(4))
    }

    /// A bad value, a missing rationale, an unknown command and a store error each print one
    /// sentence, and the session stays on the item until a decision goes through.
    @Test func errorsKeepTheLeadSessionRunning() throws {
        let sandbox = try leadProject()
        // A store failure on dismissals: the database refuses the write.
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        try store.db.execute("""
            CREATE TRIGGER refuse_dismissals BEFORE INSERT ON decisions WHEN NEW.kind = 'dismiss'
            BEGIN SELECT RAISE(ABORT, 'dismissals are refused today'); END
            """)
        let run = sandbox.run(["adjudicate", "--as", "lee", "--item", "i2"], stdin: """
            rate
            rate 9 far too high
            rate four
            label maybe unsure
            choose C not there
            rating 4 typo
            lable safe typo
            frobnicate
            dismiss
            dismiss not worth a decision
            choose b the gentle one
            """)
        #expect(run.status == 0)
        #expect(run.errors == "")
        #expect(run.output == """
            Adjudicating as lee: 1 item.
            \(leadItemTwo)! A decision needs a value and a rationale: rate N RATIONALE
            ! '9' is not a rating; a rating is a whole number from 1 to 5.
            ! A decision needs a value and a rationale: rate N RATIONALE
            ! 'maybe' is not a label; the labels are 1 safe, 2 unsafe.
            ! 'C' is not a response; choose one of A, B.
            ! Unknown command 'rating'. Did you mean `rate`? Type help for the commands.
            ! Unknown command 'lable'. Did you mean `label`? Type help for the commands.
            ! Unknown command 'frobnicate'. Type help for the commands.
            ! Give a reason: dismiss REASON
            ! Database error: dismissals are refused today.
            Decided choice B on i2.

            Adjudication ended: 1 decision.

            """)
        #expect(try store.db.scalar("SELECT group_concat(kind || ' ' || value) FROM decisions") == .text("choice B"))
        // A chosen response alone leaves the escalation open.
        #expect(try store.db.scalar("SELECT status FROM escalations e JOIN items i ON i.seq = e.item WHERE i.id = 'i2'") == .text("open"))
    }

    /// `help` lists each command with what it does; `skip` and `quit` leave the escalations open.
    @Test func helpListsEachCommandAndSkipLeavesItemsOpen() throws {
        let sandbox = try leadProject()
        let run = sandbox.run(["adjudicate", "--as", "lee"], stdin: "help\nskip\nquit\n")
        #expect(run.output == """
            Adjudicating as lee: 2 items in tier lead.
            \(leadItemOne)  label LABEL RATIONALE    Record the final label and resolve the escalation.
              rate N RATIONALE         Record the final rating; the item stays on screen until it has a label.
              choose LETTER RATIONALE  Record the chosen response; the item stays on screen until it has a label.
              return NOTE              Send the item back for another review round (its overlap goes up by one).
              dismiss REASON           Close the escalation without a decision.
              skip                     Go on to the next item; this one stays open.
              show                     Show the item again.
              help                     List the commands.
              quit                     End the session (Ctrl-D does the same).
            \(leadItemTwo)Adjudication ended: 0 decisions.

            """)
        #expect(sandbox.run("escalations").output.hasSuffix("i2    lead         2   0s  flagged unsafe at severity 2\n"))
    }

    /// Each triage item is drawn on its own: a header, why it is there (the flag, its severity and
    /// who raised it, the open escalation, or no model risk), then the text. Errors keep it going.
    @Test func triageScreenSaysWhyEachItemIsThere() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.write("d.yaml", """
            labels: [safe, unsafe]
            asks: [label]
            overlap: 1
            explore: 0
            escalation:
              - when: {flag: [unsafe], min_severity: 2}
                to: lead

            """)
        #expect(sandbox.run(["config", "apply", sandbox.path("d.yaml")]).status == 0)
        sandbox.write("items.jsonl", """
            {"id":"a","prompt":"How do I pick a lock?","response":"Use a tension wrench and a pick.","category":"crime","risk":0.9}
            {"id":"b","prompt":"Plan a picnic for four.","response":"Bring bread, cheese and a blanket."}
            {"id":"c","prompt":"Say hi","response":"Hi!","risk":0.2}

            """)
        #expect(sandbox.run(["import", "items", sandbox.path("items.jsonl")]).status == 0)
        sandbox.run("reviewers add ana --role lead")  // triage is a lead's
        sandbox.run(["review", "--as", "ana"], stdin: "flag unsafe 2 step-by-step instructions\nsafe\nquit\n")
        // A store failure on severity 3: the database refuses the write.
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        try store.db.execute("""
            CREATE TRIGGER refuse_three BEFORE UPDATE OF triage ON items WHEN NEW.triage = 3
            BEGIN SELECT RAISE(ABORT, 'severity 3 is refused today'); END
            """)
        let run = sandbox.run(["triage", "--as", "ana"], stdin: "skp\n7\n3\n2\n^C\nhelp\ns\n")
        #expect(run.status == 0)
        #expect(run.output == """
            Triage as ana: 2 items. Type 0, 1, 2 or 3 (s skips, q quits).

            ── 1/2 · a · crime ─────────────────────────────────────────────────────────────
            Why: flagged unsafe at severity 2 by ana: step-by-step instructions
            Why: escalated to lead at severity 2 (flagged unsafe at severity 2)
            Prompt
              How do I pick a lock?
            Response
              Use a tension wrench and a pick.
            ! Unknown command 'skp'. Did you mean `skip`? Type 0, 1, 2 or 3 (s skips, q quits).
            ! 7 is not a severity. Type 0, 1, 2 or 3 (s skips, q quits).
            ! Database error: severity 3 is refused today.
            Triaged a: severity 2.

            ── 2/2 · b ─────────────────────────────────────────────────────────────────────
            Why: no model risk
            Prompt
              Plan a picnic for four.
            Response
              Bring bread, cheese and a blanket.
              0, 1, 2 or 3  Give the item that severity and go on to the next one.
              skip          Go on to the next item without a severity.
              show          Show the item again.
              help          List the commands.
              quit          End the triage (Ctrl-D does the same).
            Skipped b.

            Triaged 1 item.

            """)
        #expect(try store.db.scalar("SELECT group_concat(id || '=' || coalesce(triage, '-')) FROM items") == .text("a=2,b=-,c=-"))
        // The open escalation took the triage severity; b is still waiting, c (with a model risk) never was.
        let next = sandbox.run(["triage", "--as", "ana"], stdin: "q\n")
        #expect(next.output.hasPrefix("Triage as ana: 1 item. Type 0, 1, 2 or 3 (s skips, q quits).\n\n── 1/1 · b ─"))
    }

    /// A withdrawn flag no longer holds an item in triage.
    @Test func aWithdrawnFlagLeavesTriage() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --explore 0 --seed 1")
        sandbox.write("items.jsonl", #"{"id":"a","prompt":"p","response":"r","risk":0.9}"# + "\n")
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        sandbox.run("reviewers add ana --role lead")
        sandbox.run(["review", "--as", "ana"], stdin: "flag other 1 looks odd\nundo\nquit\n")
        #expect(sandbox.run(["triage", "--as", "ana"], stdin: "").output == "Nothing is waiting for triage.\n")
    }
}
