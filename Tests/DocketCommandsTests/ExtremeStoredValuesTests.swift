import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Times and numbers written into a project by hand (or, on PostgreSQL before migration 6, by a
/// reviewer's login with psql) at the ends of their range: every command that reads them answers
/// with output or a sentence, never a trap. Run as the built binary, so a trap is an exit status.
@Suite struct ExtremeStoredValuesTests {
    @Test func timesAtTheEndsOfTimeAndHugeIdsNeverTrap() throws {
        let sandbox = reviewProject()
        sandbox.run(["review", "--as", "ana"], stdin: "safe 3\nflag unsafe 3 look\nquit\n")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let reviewer = try store.db.int("SELECT id FROM reviewers WHERE name = 'bo'")
        for at in [Int64.min + 1, Int64.max - 1] {
            try store.db.run(
                "INSERT INTO feedback (item, reviewer, kind, label, created_at, source) VALUES (1, ?, 'label', 'unsafe', ?, 'import')",
                .integer(reviewer), .integer(at))
            try store.db.run("INSERT INTO events (at, kind, reviewer, item, detail) VALUES (?, 'feedback', ?, 1, '{\"feedback\":1e20}')", .integer(at), .integer(reviewer))
            try store.db.run("INSERT INTO events (at, kind, detail) VALUES (?, 'import-labels', '{\"inserted\":1e300}')", .integer(at))
        }
        try store.db.run(
            "INSERT INTO escalations (item, tier, rule, reason, severity, created_at) VALUES (1, 'lead', 1, 'by hand', 0, ?)", .integer(Int64.min + 1))
        for arguments in [
            ["escalations"], ["escalations", "--json"], ["log"], ["log", "--json"], ["show", "i1"], ["status"],
            ["export", "--format", "events"], ["export", "--format", "escalations"], ["export", "--format", "labels"],
            ["report"], ["drift"], ["drift", "--window", "month"], ["agreement"], ["check"],
        ] {
            let run = try runDocket(arguments + ["--db", sandbox.databasePath])
            #expect(run.status == 0 || run.status == 1, "\(arguments): exit \(run.status)\n\(run.errors)")
            #expect(!run.errors.contains("Fatal error"), "\(arguments): \(run.errors)")
        }
        // The lowest four digits of a year outside 0–9999, its sign dropped: never a trap, always digits.
        #expect(Instant(milliseconds: Int64.min).iso8601 == "5055-05-16T16:47:04.192Z")
        #expect(Instant(milliseconds: Int64.max).iso8601 == "8994-08-17T07:12:55.807Z")
        #expect(Instant(milliseconds: Int64.max).milliseconds(since: Instant(milliseconds: Int64.min)) == .max)
        #expect(Instant(milliseconds: Int64.min).milliseconds(since: Instant(milliseconds: 1)) == .min)
        #expect(Instant(milliseconds: -1).isoWeekStart == "1969-12-29")
        #expect(Instant(milliseconds: 0).isoWeekStart == "1969-12-29")
        #expect(!Instant(milliseconds: Int64.min).isoWeekStart.isEmpty)
    }
}
