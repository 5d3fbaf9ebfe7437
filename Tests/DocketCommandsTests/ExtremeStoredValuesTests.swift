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

    /// Reviewers and labels written by hand: names that differ only in Unicode form (NFC é and
    /// NFD e + U+0301 are equal Swift strings, different SQLite texts), negative and huge reviewer
    /// ids. The statistics keep one column per reviewer and never trap.
    @Test func reviewersWhoseNamesReadTheSameAndOddIdsNeverTrap() throws {
        let sandbox = reviewProject()
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        let names = ["\u{E9}", "e\u{301}"]
        for (id, name) in zip([Int64(-5), Int64.max], names) {
            try store.db.run("INSERT INTO reviewers (id, name, role, created_at) VALUES (?, ?, 'reviewer', 0)", .integer(id), .text(name))
        }
        try store.db.run("INSERT INTO reviewers (id, name, role, created_at) VALUES (70000, 'far', 'reviewer', 0)")
        for (offset, reviewer) in [Int64(-5), Int64.max, 70000].enumerated() {
            for item in 1...2 {
                try store.db.run(
                    "INSERT INTO feedback (item, reviewer, kind, label, created_at, source) VALUES (?, ?, 'label', ?, ?, 'import')",
                    .integer(Int64(item)), .integer(reviewer), .text(offset == 2 ? "unsafe" : "safe"), .integer(1_795_000_000_000 + Int64(offset)))
            }
        }
        for arguments in [["aggregate", "--json"], ["agreement"], ["drift"], ["report"], ["calibrate"], ["export", "--format", "labels"]] {
            let run = try runDocket(arguments + ["--db", sandbox.databasePath])
            #expect(run.status == 0 || run.status == 1, "\(arguments): exit \(run.status)\n\(run.errors)")
            #expect(!run.errors.contains("Fatal error"), "\(arguments): \(run.errors)")
        }
        // Three reviewers, three columns: each item has 2 × safe and 1 × unsafe.
        let aggregate = try runDocket(["aggregate", "--json", "--db", sandbox.databasePath])
        let items = try JSON.parse(aggregate.output)["items"]
        guard case .array(let rows)? = items else { Issue.record("no items in \(aggregate.output)"); return }
        for row in rows {
            #expect(row["reviewers"] == .number(3), "\(row)")
            #expect(row["votes"]?["safe"] == .number(2) && row["votes"]?["unsafe"] == .number(1), "\(row)")
        }
    }
}
