import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

/// On PostgreSQL the acting reviewer is the one bound to the login role (current_user): one
/// login role per person, each running the real binary. A lead's login is a member of the
/// database's owner; what the database itself holds a reviewer's login to is
/// `PostgresRowSecurityTests`.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs DOCKET_TEST_POSTGRES (scripts/test starts a cluster)"))
struct PostgresRolesTests {
    @Test func theLoginRoleIsTheReviewer() throws {
        let url = try TestPostgres.newDatabase()
        let tag = "\(getpid() % 100_000)_\(UInt16.random(in: 0...UInt16.max))"
        let reviewerRole = "dkr_\(tag)", leadRole = "dkl_\(tag)", strangerRole = "dks_\(tag)"
        func asRole(_ role: String) -> String { url.replacingOccurrences(of: "://docket@", with: "://\(role)@") }
        // init by the project's owner role (docket), which becomes the first admin.
        let created = try runDocket(["init", "--labels", "safe,unsafe", "--seed", "1", "--db", url])
        #expect(created.status == 0, "\(created.errors)")
        try TestPostgres.psql(url, """
            CREATE ROLE \(reviewerRole) LOGIN; CREATE ROLE \(leadRole) LOGIN; CREATE ROLE \(strangerRole) LOGIN;
            GRANT docket TO \(leadRole)
            """)
        defer {
            for role in [reviewerRole, leadRole, strangerRole] { _ = try? TestPostgres.psql(url, "DROP ROLE IF EXISTS \(role)") }
        }
        let admin = try runDocket(["reviewers", "list", "--json", "--db", url])
        #expect(admin.output.contains(#""name":"docket","role":"admin","login":"docket""#), "\(admin.output)")
        #expect(try runDocket(["reviewers", "add", "ana", "--user", reviewerRole, "--db", url]).status == 0)
        #expect(try runDocket(["reviewers", "add", "lee", "--role", "lead", "--user", leadRole, "--db", url]).status == 0)
        let sandbox = Sandbox()
        let items = sandbox.write("items.jsonl", #"{"id":"i1","prompt":"p1","response":"r1"}"# + "\n")
        #expect(try runDocket(["import", "items", items, "--db", url]).status == 0)

        // The reviewer's own login role acts as ana, with no --as.
        let review = try runDocketWithInput(["review", "--db", asRole(reviewerRole)], stdin: "label safe\nquit\n")
        #expect(review.status == 0, "\(review.errors)")
        #expect(review.output.hasPrefix("Reviewing as ana."))
        for (arguments, sentence) in [
            (["adjudicate"], "ana is a reviewer and may not adjudicate; that needs a lead or an admin"),
            (["export", "--format", "labels"], "ana is a reviewer and may not export; that needs a lead or an admin"),
            (["reviewers", "add", "mallory"], "ana is a reviewer and may not add reviewers; that needs an admin"),
            (["review", "--as", "lee"], "ana is a reviewer and may not act as lee; only an admin may use --as for someone else"),
        ] {
            let run = try runDocket(arguments + ["--db", asRole(reviewerRole)])
            #expect(run.status == 77, "\(arguments): \(run.errors)")
            #expect(run.errors == "docket: \(sentence). Nothing was changed.\n", "\(arguments)")
        }
        // A login role bound to nobody is nobody.
        let stranger = try runDocket(["status", "--db", asRole(strangerRole)])
        #expect(stranger.status == 77)
        #expect(stranger.errors == "docket: The login '\(strangerRole)' is not bound to a reviewer of this project; an admin binds it with `docket reviewers bind NAME --user \(strangerRole)` (or `docket reviewers add NAME --user \(strangerRole)` for someone new). Nothing was changed.\n")
        // The lead sees everyone's labels; an admin acting for ana is recorded as such.
        let export = try runDocket(["export", "--format", "labels", "--db", asRole(leadRole)])
        #expect(export.status == 0 && export.output.contains(#""label":"safe""#), "\(export.errors)")
        #expect(try runDocket(["reviewers", "role", "lee", "--role", "reviewer", "--db", asRole(leadRole)]).status == 0)  // a lead may step down
        try TestPostgres.psql(url, "REVOKE docket FROM \(leadRole)")  // and their login with them
        #expect(try runDocket(["reviewers", "role", "docket", "--role", "lead", "--db", url]).errors
            == "docket: docket is the project's last admin; make someone else an admin first. Nothing was changed.\n")
        let events = try runDocket(["log", "--json", "--db", url]).output
        #expect(events.contains(#""kind":"role-changed","reviewer":"lee""#), "\(events)")

        // Around Docket with psql, the reviewer's own login role cannot make itself an admin; the
        // owner can, and check names it afterwards.
        #expect(try runDocket(["check", "--db", url]).status == 0)
        #expect(throws: TestPostgresError.self) {
            try TestPostgres.psql(asRole(reviewerRole), "UPDATE reviewers SET role = 'admin' WHERE login = '\(reviewerRole)'")
        }
        try TestPostgres.psql(url, "UPDATE reviewers SET role = 'admin' WHERE login = '\(reviewerRole)'")
        let check = try runDocket(["check", "--db", url])
        #expect(check.status == 1)
        #expect(check.errors.contains("role-without-event: ana is admin but the log last made them reviewer"), "\(check.errors)")
    }
}

/// Runs the built binary with `stdin` as its standard input.
func runDocketWithInput(_ arguments: [String], stdin: String) throws -> (status: Int32, output: String, errors: String) {
    try runProgram([Fixtures.docketBinary] + arguments, stdin: stdin)
}
