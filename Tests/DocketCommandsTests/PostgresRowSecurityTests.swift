import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// PostgreSQL migration 4: the database itself holds a reviewer's login role to a reviewer's
/// rights. Each person has a login role and runs the real binary; psql connections with the
/// reviewer's role try to read and write around Docket.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable, "needs DOCKET_TEST_POSTGRES (scripts/test starts a cluster)"))
struct PostgresRowSecurityTests {
    static let definition = """
        labels: [safe, unsafe]
        asks: [label]
        overlap: 2
        explore: 0
        escalation:
          - when: {no_majority: true}
            to: lead

        """
    static let items = """
        {"id":"a","prompt":"pa","response":"ra","risk":0.9}
        {"id":"b","prompt":"pb","response":"rb","risk":0.5,"gold":"unsafe"}
        {"id":"c","prompt":"pc","response":"rc","risk":0.1}

        """

    /// A project with reviewers ana and bo (their own login roles), lead lee (a member of the
    /// database's owner) and lead eve (not a member), and the roles' URLs; the roles are dropped
    /// by `cleanUp`.
    struct Team {
        var url: String
        var tag: String
        var roles: [String: String]
        func login(_ person: String) -> String { "dk\(person.prefix(1))_\(tag)" }
        func as_(_ person: String) -> String { url.replacingOccurrences(of: "://docket@", with: "://\(login(person))@") }
        func cleanUp() {
            // DROP OWNED BY needs membership in the role; the roles own nothing, and DROP ROLE ends their grants.
            for person in ["ana", "bo", "lee", "eve"] { _ = try? TestPostgres.psql(url, "DROP ROLE IF EXISTS \(login(person))") }
        }
    }

    func team() throws -> Team {
        let url = try TestPostgres.newDatabase()
        let team = Team(url: url, tag: "\(getpid() % 100_000)_\(UInt16.random(in: 0...UInt16.max))", roles: [:])
        let sandbox = Sandbox()
        #expect(try runDocket(["init", "--labels", "safe,unsafe", "--seed", "7", "--db", url]).status == 0)
        #expect(try runDocket(["config", "apply", sandbox.write("d.yaml", Self.definition), "--db", url]).status == 0)
        #expect(try runDocket(["import", "items", sandbox.write("i.jsonl", Self.items), "--db", url]).status == 0)
        try TestPostgres.psql(url, ["ana", "bo", "lee", "eve"].map { "CREATE ROLE \(team.login($0)) LOGIN;" }.joined() + "GRANT docket TO \(team.login("lee"));")
        for (person, role) in [("ana", "reviewer"), ("bo", "reviewer"), ("lee", "lead"), ("eve", "lead")] {
            let added = try runDocket(["reviewers", "add", person, "--role", role, "--user", team.login(person), "--db", url])
            #expect(added.status == 0)
            // Only eve's login is not what her role needs, and the admin is told so.
            #expect(added.errors == (person != "eve" ? "" : "docket: note: eve is a lead, but the database holds the login \(team.login("eve")) to a reviewer's rights until a database superuser runs GRANT docket TO \(team.login("eve")).\n"))
        }
        return team
    }

    /// What psql says when the statement is refused (its first line), or nil when it ran.
    func refusal(_ url: String, _ sql: String) -> String? {
        do {
            try TestPostgres.psql(url, sql)
            return nil
        } catch {
            return "\(error)".split(separator: "\n").first.map(String.init)
        }
    }

    @Test func aReviewersLoginReadsAndWritesOnlyItsOwn() throws {
        let team = try team()
        defer { team.cleanUp() }
        let ana = team.as_("ana"), bo = team.as_("bo")
        // Both review through Docket with their own logins: the same item, different labels.
        let first = try runDocketWithInput(["review", "--db", ana], stdin: "safe\nquit\n")
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.contains("Reviewing as ana."))
        let second = try runDocketWithInput(["review", "--db", bo], stdin: "unsafe\nquit\n")
        #expect(second.status == 0, "\(second.errors)")
        let owner = team.url
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM feedback") == "2")

        // psql with ana's login: her own answer only, no gold labels, nothing of the leads'.
        #expect(try TestPostgres.psql(ana, "SELECT count(*) || ' ' || string_agg(label, ',') FROM feedback") == "1 safe")
        #expect(try TestPostgres.psql(ana, "SELECT count(DISTINCT reviewer) FROM events WHERE kind <> 'lease-expired'") == "1")
        #expect(try TestPostgres.psql(ana, "SELECT count(*) FROM items") == "3")
        for sql in ["SELECT gold FROM items", "SELECT * FROM escalations", "SELECT * FROM decisions", "SELECT * FROM models",
                    "SELECT * FROM escalation_backlog"] {
            #expect(refusal(ana, sql)?.contains("permission denied for table") == true, "\(sql)")
        }
        // Nor can it write as anyone else, or make itself more than it is.
        let boID = try TestPostgres.psql(owner, "SELECT id FROM reviewers WHERE name = 'bo'")
        let anaID = try TestPostgres.psql(owner, "SELECT id FROM reviewers WHERE name = 'ana'")
        // bo's review of a.
        let boLease = try TestPostgres.psql(owner, "SELECT id || ' ' || item FROM assignments WHERE reviewer = \(boID) ORDER BY id LIMIT 1").split(separator: " ")
        #expect(boLease.count == 2)
        let boAssignment = boLease.first.map(String.init) ?? "0", boItem = boLease.last.map(String.init) ?? "0"
        let refusals: [(String, String)] = [
            ("UPDATE reviewers SET role = 'admin' WHERE name = 'ana'", "permission denied for table reviewers"),
            ("UPDATE reviewers SET login = '\(team.login("ana"))' WHERE name = 'lee'", "permission denied for table reviewers"),
            ("INSERT INTO reviewers (name, role, created_at) VALUES ('mallory', 'admin', 0)", "permission denied for table reviewers"),
            ("INSERT INTO feedback (item, reviewer, assignment, kind, label, created_at) VALUES (\(boItem), \(boID), \(boAssignment), 'label', 'safe', 0)",
             "a reviewer's login may only give feedback as itself, on its own open assignment"),
            ("INSERT INTO feedback (item, reviewer, kind, label, created_at, source) VALUES (1, \(anaID), 'label', 'unsafe', 0, 'import')",
             "a reviewer's login may only give feedback as itself, on its own open assignment"),
            ("INSERT INTO decisions (item, lead, kind, value, rationale, created_at) VALUES (1, \(anaID), 'label', 'safe', 'x', 0)",
             "permission denied for table decisions"),
            ("INSERT INTO escalations (item, tier, rule, reason, created_at) VALUES (1, 'lead', 1, 'x', 0)", "permission denied for table escalations"),
            ("UPDATE items SET gold = 'safe' WHERE id = 'c'", "permission denied for table items"),
            ("UPDATE items SET taken = 0 WHERE id = 'a'", "permission denied for table items"),
            ("UPDATE items SET utility = 1 WHERE id = 'a'", "item a was selected already; a reviewer's login may not change it"),
            ("UPDATE project SET budget = 1000", "permission denied for table project"),
            ("UPDATE project SET served = 0", "a reviewer's login may only count one more selection, of the item selected at that step"),
            ("UPDATE project SET served = served + 1", "a reviewer's login may only count one more selection, of the item selected at that step"),
            ("UPDATE items SET served_at = 1, policy = 'exploit', propensity = 1, selection_step = 7 WHERE id = 'c'",
             "item c may only be selected at the project's next step"),
            ("UPDATE assignments SET reviewer = \(anaID) WHERE id = \(boAssignment)", "permission denied for table assignments"),
            ("INSERT INTO events (at, kind, reviewer, detail) VALUES (0, 'feedback', \(boID), '{}')", "a reviewer's login may only log its own review's events"),
            ("INSERT INTO events (at, kind, reviewer, detail) VALUES (0, 'role-changed', \(anaID), '{}')", "a reviewer's login may only log its own review's events"),
            ("INSERT INTO events (at, kind, reviewer, detail) VALUES (0, 'feedback', \(anaID), '{\"actor\":\"docket\"}')",
             "a reviewer's login may only log its own review's events"),
            ("INSERT INTO events (at, kind, reviewer, detail) VALUES (0, 'lease-expired', \(boID), '{\"assignment\":\(boAssignment)}')",
             "a reviewer's login may only log its own review's events"),
            ("INSERT INTO events (id, at, kind, reviewer) VALUES (100000, 0, 'claimed', \(anaID))", "a reviewer's login may not choose the id of a new row of events"),
            ("INSERT INTO escalation_backlog (feedback) SELECT id FROM feedback", "a reviewer's login may only queue feedback it gives or withdraws in the same transaction"),
            ("SELECT * FROM event_links", "permission denied for table event_links"),
            ("BEGIN; LOCK TABLE assignments IN ACCESS EXCLUSIVE MODE; COMMIT", "permission denied for table assignments"),
            ("INSERT INTO withdrawals (feedback, reviewer, at) SELECT id, \(anaID), 0 FROM feedback WHERE reviewer = \(boID)", ""),
            ("INSERT INTO event_links (event, link) VALUES (1000000, repeat('0', 64))", "permission denied for table event_links"),
            ("DELETE FROM feedback", "permission denied for table feedback"),
            ("ALTER TABLE feedback DISABLE ROW LEVEL SECURITY", "must be owner of table feedback"),
            ("DROP POLICY feedback_own ON feedback", "must be owner of relation feedback"),
        ]
        for (sql, message) in refusals {
            if message.isEmpty {
                // bo's feedback is invisible to ana, so this withdraws nothing.
                #expect(refusal(ana, sql) == nil, "\(sql)")
            } else {
                #expect(refusal(ana, sql) == "ERROR:  \(message)", "\(sql)")
            }
        }
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM withdrawals") == "0")
        // A temporary table cannot stand in for the reviewers table the policies and guard read.
        let spoof = """
            CREATE TEMP TABLE reviewers (id bigint, login text, role text); INSERT INTO reviewers VALUES (\(boID), current_user, 'reviewer');
            SELECT count(*) FROM public.feedback
            """
        #expect(try TestPostgres.psql(ana, spoof) == "1")

        // Their events wait for a staff login to link them (they may not read the chain).
        let unlinked = "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_links l WHERE l.event = e.id)"
        #expect(try TestPostgres.psql(owner, unlinked) != "0")
        // The escalation policy waits for a staff login: ana's and bo's feedback is in the
        // backlog, and the lead's first command applies it.
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM escalation_backlog") == "2")
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM escalations") == "0")
        let escalations = try runDocket(["escalations", "--json", "--db", team.as_("lee")])
        #expect(escalations.status == 0, "\(escalations.errors)")
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM escalation_backlog") == "0")
        #expect(try TestPostgres.psql(owner, unlinked) == "0")
        let onPostgres = try Self.escalationFields(escalations.output)
        #expect(onPostgres == [["a", "lead", "[1]", "no majority among 2 labels (safe 1, unsafe 1)"]])
        // The same reviews on SQLite, where the policy runs at once, give the same escalation.
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 7")
        sandbox.run(["config", "apply", sandbox.write("d.yaml", Self.definition)])
        sandbox.run(["import", "items", sandbox.write("i.jsonl", Self.items)])
        sandbox.run("reviewers add ana")
        sandbox.run("reviewers add bo")
        sandbox.run(["review", "--as", "ana"], stdin: "safe\nquit\n")
        sandbox.run(["review", "--as", "bo"], stdin: "unsafe\nquit\n")
        #expect(try Self.escalationFields(sandbox.run("escalations --json").output) == onPostgres)

        // What ana's Docket shows her: her answers, counts of her own labels, no one else's.
        let status = try runDocket(["status", "--db", ana])
        #expect(status.output.contains("labels:      1 current, on 1 items (yours: the database shows your login only your own answers)\n"), "\(status.output)")
        let list = try runDocket(["reviewers", "list", "--json", "--db", ana]).output
        #expect(list.contains(#""name":"ana","role":"reviewer","login":"\#(team.login("ana"))","reviews":1,"labels":1"#), "\(list)")
        #expect(list.contains(#""name":"bo","role":"reviewer","login":"\#(team.login("bo"))","reviews":1,"labels":null"#), "\(list)")
        let show = try runDocket(["show", "a", "--json", "--db", ana])
        #expect(show.status == 0 && show.output == #"{"item":"a","feedback":["label safe"],"superseded":[]}"# + "\n", "\(show.output)\(show.errors)")

        // A lead whose login is not a member of the owner may review, not lead: Docket says why.
        let eve = try runDocket(["export", "--format", "labels", "--db", team.as_("eve")])
        #expect(eve.status == 77)
        #expect(eve.errors == "docket: eve is a lead, but the database holds the login '\(team.login("eve"))' to a reviewer's rights (it reads only its own answers and writes only as itself), so it may not export from it; a lead's or an admin's login must be a member of the database's owner: a database superuser runs GRANT docket TO \(team.login("eve")). Nothing was changed.\n")
        // What she may run shows her what the database shows her login: her own part.
        let eveShow = try runDocket(["show", "a", "--json", "--db", team.as_("eve")])
        #expect(eveShow.status == 0 && eveShow.output == #"{"item":"a","feedback":[],"superseded":[]}"# + "\n", "\(eveShow.output)\(eveShow.errors)")
        let eveLog = try runDocket(["log", "--reviewer", "ana", "--db", team.as_("eve")])
        #expect(eveLog.status == 77)
        #expect(eveLog.errors == "docket: eve is a lead, but the database shows their login only their own feedback and events, not ana's. Nothing was changed.\n")
        // The lead whose login is one sees everyone's labels.
        let export = try runDocket(["export", "--format", "labels", "--db", team.as_("lee")])
        #expect(export.status == 0 && export.output.contains(#""reviewer_labels":[{"reviewer":"ana","label":"safe""#), "\(export.errors)")

        // check: all in order; then a reviewer's login made a member of the owner is named.
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 0, "\(check.output)\(check.errors)")
        try TestPostgres.psql(owner, "GRANT docket TO \(team.login("bo"))")
        let loose = try runDocket(["check", "--db", owner])
        #expect(loose.status == 1)
        #expect(loose.errors.contains("violation: reviewer-login-unrestricted: bo is a reviewer, but their login \(team.login("bo")) is a member of the database's owner docket"), "\(loose.errors)")
        try TestPostgres.psql(owner, "REVOKE docket FROM \(team.login("bo"))")
    }

    /// An undo that brings back an answer, a change of mind, a gold item mixed into the queue and
    /// ending another reviewer's lease that is over all work for a reviewer's login, and the
    /// withdrawn label goes through the backlog.
    @Test func aReviewersSessionDoesEverythingItsRoleMay() throws {
        let team = try team()
        defer { team.cleanUp() }
        let sandbox = Sandbox()
        let calibrated = Self.definition.replacingOccurrences(of: "asks: [label]", with: "asks: [label, rating]\nrating: {name: helpfulness, scale: [1, 5]}")
            + "calibration: {gold_rate: 1}\n"
        #expect(try runDocket(["config", "apply", sandbox.write("g.yaml", calibrated), "--db", team.url]).status == 0)
        // bo labels the gold item and leaves it unfinished; the lease runs out.
        let partial = try runDocketWithInput(["review", "--db", team.as_("bo")], stdin: "safe\nquit\n")
        #expect(partial.output.contains("b stays yours, with what you gave"), "\(partial.output)")
        try TestPostgres.psql(team.url, "UPDATE assignments SET expires_at = 1 WHERE state = 'open'")
        let session = try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "unsafe\nsafe\nundo\n4\nquit\n")
        #expect(session.status == 0, "\(session.errors)")
        #expect(session.output.contains("── b ·"), "\(session.output)")  // the gold item, mixed in first at rate 1
        #expect(session.output.contains("Recorded label safe (replaces your label unsafe). Still asked: rating."), "\(session.output)")
        #expect(session.output.contains("Withdrew label safe on b. Your label unsafe stands again."), "\(session.output)")
        #expect(session.output.contains("Item b done."), "\(session.output)")
        let owner = team.url
        #expect(try TestPostgres.psql(owner, "SELECT string_agg(withdrawn::text, ',' ORDER BY id) FROM escalation_backlog") == "0,0,0,1,0")
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM assignments WHERE gold = 1") == "2")
        // ana's claim ended bo's lease, in bo's name.
        #expect(try TestPostgres.psql(owner, "SELECT r.name FROM events e JOIN reviewers r ON r.id = e.reviewer WHERE e.kind = 'lease-expired'") == "bo")
        #expect(try TestPostgres.psql(owner, "SELECT state FROM assignments a JOIN reviewers r ON r.id = a.reviewer WHERE r.name = 'bo'") == "expired")
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 0, "\(check.output)\(check.errors)")
        // The admin's next command applies the backlog; the log is still one unbroken chain.
        #expect(try runDocket(["status", "--db", owner]).status == 0)
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM escalation_backlog") == "0")
        #expect(try runDocket(["check", "--db", owner]).status == 0)
    }

    /// Answers outside the task definition are refused by the database too.
    @Test func answersOutsideTheDefinitionAreRefused() throws {
        let team = try team()
        defer { team.cleanUp() }
        let sandbox = Sandbox()
        let rated = Self.definition.replacingOccurrences(of: "asks: [label]", with: "asks: [label, rating]\nrating: {name: helpfulness, scale: [1, 5]}")
        #expect(try runDocket(["config", "apply", sandbox.write("r.yaml", rated), "--db", team.url]).status == 0)
        let ana = team.as_("ana")
        #expect(try runDocketWithInput(["review", "--db", ana], stdin: "safe\nquit\n").status == 0)
        // ana's open lease (asked for a rating too, the item stays open): assignment, item, reviewer.
        let lease = try TestPostgres.psql(team.url, "SELECT id || ',' || item || ',' || reviewer FROM assignments WHERE state = 'open'")
        #expect(!lease.isEmpty)
        for (values, message) in [
            ("'label', 'bogus', NULL, NULL", "bogus is not one of the project's labels"),
            ("'rating', NULL, 'NaN', NULL", "the rating NaN is not on the rubric's scale"),
            ("'rating', NULL, 6, NULL", "the rating 6 is not on the rubric's scale"),
            ("'flag', NULL, NULL, 'made-up'", "made-up is not one of the rubric's flag reasons"),
        ] {
            let sql = "INSERT INTO feedback (assignment, item, reviewer, kind, label, rating, reason, severity, created_at) VALUES (\(lease), \(values), "
                + (values.hasPrefix("'flag'") ? "3" : "NULL") + ", 0)"
            #expect(refusal(ana, sql) == "ERROR:  \(message)", "\(sql)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(refusal(ana, "INSERT INTO feedback (assignment, item, reviewer, kind, rating, created_at) VALUES (\(lease), 'rating', 4, \(now))") == nil)
    }

    /// Sessions that outlive a change (a fourth review, of honest use): a reviewer's session that
    /// began before a new rubric answers under the rubric it began with, as on SQLite; and a
    /// lead's session whose login stops being staff mid-way goes on as a reviewer's login.
    @Test func sessionsOutliveAConfigChangeAndADemotion() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url, sandbox = Sandbox()
        let wide = Self.definition.replacingOccurrences(of: "asks: [label]", with: "asks: [label, rating]\nrating: {name: helpfulness, scale: [1, 5]}")
        let narrow = wide.replacingOccurrences(of: "scale: [1, 5]", with: "scale: [1, 3]")
        #expect(try runDocket(["config", "apply", sandbox.write("wide.yaml", wide), "--db", owner]).status == 0)
        func session(_ person: String) throws -> (Process, Pipe, Pipe) {
            let process = Process(), input = Pipe(), output = Pipe()
            process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
            process.arguments = ["review", "--db", team.as_(person)]
            (process.standardInput, process.standardOutput, process.standardError) = (input, output, output)
            try process.run()
            return (process, input, output)
        }
        func answer(_ input: Pipe, _ lines: String) { input.fileHandleForWriting.write(Data(lines.utf8)) }
        func end(_ running: (Process, Pipe, Pipe)) throws -> String {
            try running.1.fileHandleForWriting.close()
            running.0.waitUntilExit()
            return String(decoding: running.2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let ana = try session("ana"), lee = try session("lee")
        answer(ana.1, "safe\n")
        answer(lee.1, "safe\n")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try runDocket(["config", "apply", sandbox.write("narrow.yaml", narrow), "--db", owner]).status == 0)
        #expect(try runDocket(["reviewers", "role", "lee", "--role", "reviewer", "--db", owner]).status == 0)
        try TestPostgres.psql(owner, "REVOKE docket FROM \(team.login("lee"))")
        // Something waits for a staff write when lee answers next.
        #expect(try runDocketWithInput(["review", "--db", team.as_("bo")], stdin: "unsafe\nquit\n").status == 0)
        answer(ana.1, "5\nquit\n")
        answer(lee.1, "2\nquit\n")
        let anaOutput = try end(ana), leeOutput = try end(lee)
        #expect(anaOutput.contains("Recorded rating 5."), "\(anaOutput)")
        #expect(leeOutput.contains("Recorded rating 2."), "\(leeOutput)")
        #expect(!anaOutput.contains("Database error") && !leeOutput.contains("Database error"), "\(anaOutput)\n\(leeOutput)")
        // lee's last answer waits, like any reviewer's login's, for the next staff write.
        #expect(try runDocket(["status", "--db", owner]).status == 0)
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 0, "\(check.output)\(check.errors)")
        // The database judges an answer by the rubric it is stored under.
        let me = try TestPostgres.psql(owner, "SELECT id FROM reviewers WHERE name = 'ana'")
        #expect(try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "safe\nquit\n").status == 0)
        let lease = try TestPostgres.psql(owner, "SELECT id || ',' || item FROM assignments WHERE reviewer = \(me) AND state = 'open'")
        let rubrics = try TestPostgres.psql(owner, "SELECT string_agg(id::text, ',' ORDER BY id) FROM rubrics").split(separator: ",")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        func rate(_ rubric: Substring) -> String? {
            refusal(team.as_("ana"), "INSERT INTO feedback (assignment, item, reviewer, kind, rating, rubric, created_at) VALUES (\(lease), \(me), 'rating', 5, \(rubric), \(now))")
        }
        // ana's 5 was recorded under the rubric her session showed, the wide one.
        #expect(try TestPostgres.psql(owner, "SELECT rubric FROM feedback WHERE kind = 'rating' AND reviewer = \(me) ORDER BY id LIMIT 1") == String(rubrics[rubrics.count - 2]))
        #expect(rate(rubrics[rubrics.count - 1]) == "ERROR:  the rating 5 is not on the rubric's scale")
        #expect(rate(rubrics[rubrics.count - 2]) == nil)
    }

    /// A lease taken up again and over again is ended again by another reviewer's claim (a third
    /// review found migration 6 allowed one end per lease, ever, which then failed every
    /// reviewer's claim).
    @Test func aLeaseOverTwiceEndsTwice() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url, sandbox = Sandbox()
        let rated = Self.definition.replacingOccurrences(of: "asks: [label]", with: "asks: [label, rating]\nrating: {name: helpfulness, scale: [1, 5]}")
        #expect(try runDocket(["config", "apply", sandbox.write("r.yaml", rated), "--db", owner]).status == 0)
        func runOut() throws {
            let past = Int64(Date().timeIntervalSince1970 * 1000) - 1000
            try TestPostgres.psql(owner, "UPDATE assignments SET expires_at = \(past) WHERE state = 'open'")
        }
        #expect(try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "safe\nquit\n").status == 0)  // started, stays hers
        try runOut()
        var claim = try runDocketWithInput(["review", "--db", team.as_("bo")], stdin: "quit\n")
        #expect(claim.status == 0, "\(claim.errors)")
        let resumed = try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "quit\n")  // takes it up again
        #expect(resumed.status == 0 && resumed.output.contains("Given: label safe"), "\(resumed.output)\(resumed.errors)")
        try runOut()
        claim = try runDocketWithInput(["review", "--db", team.as_("bo")], stdin: "quit\n")
        #expect(claim.status == 0, "\(claim.errors)")
        #expect(try TestPostgres.psql(owner, "SELECT count(*) FROM events WHERE kind = 'lease-expired' AND reviewer = (SELECT id FROM reviewers WHERE name = 'ana')") == "2")
        #expect(try runDocket(["status", "--db", owner]).status == 0)
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 0, "\(check.output)\(check.errors)")
    }

    /// Migration 6: times near the server's clock, flat event details, one answer per
    /// transaction, events once per kind and item about an item the login holds, and answers as
    /// FeedbackRules takes them; the database and the core agree on every answer tried.
    @Test func theBoundsOfAReviewersWrites() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url, ana = team.as_("ana")
        let sandbox = Sandbox()
        let definition = """
            labels: [safe, unsafe]
            asks: [label, rating, ranking, edit, critique]
            rating: {name: helpfulness, scale: [1, 5]}
            overlap: 2
            explore: 0

            """
        #expect(try runDocket(["config", "apply", sandbox.write("b.yaml", definition), "--db", owner]).status == 0)
        #expect(try runDocket(["import", "items", sandbox.write("d.jsonl", #"{"id":"d","prompt":"pd","responses":["x","y"],"risk":0.05}"# + "\n"), "--db", owner]).status == 0)
        let me = try TestPostgres.psql(owner, "SELECT id FROM reviewers WHERE name = 'ana'")
        let item = try TestPostgres.psql(owner, "SELECT seq FROM items WHERE id = 'd'")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let assignment = try TestPostgres.psql(owner, """
            UPDATE items SET served_at = \(now), policy = 'exploit', propensity = 1, selection_step = (SELECT served FROM project) WHERE seq = \(item);
            UPDATE project SET served = served + 1;
            INSERT INTO assignments (item, reviewer, state, claimed_at, expires_at) VALUES (\(item), \(me), 'open', \(now), \(now + 600_000)) RETURNING id
            """)
        func give(_ columns: String, _ values: String, at: Int64? = nil) -> String? {
            refusal(ana, "INSERT INTO feedback (item, reviewer, assignment, created_at, \(columns)) VALUES (\(item), \(me), \(assignment), \(at ?? now), \(values))")
        }
        // The core's rule and the database's, answer by answer, on a two-response item.
        // The definition as the project stores it, for the core's rule.
        let stored = try TestPostgres.psql(owner, "SELECT r.definition FROM project p JOIN rubrics r ON r.id = p.rubric")
        guard case .valid(let store) = TaskDefinition.read(try JSON.parse(stored)) else {
            Issue.record("the stored definition does not read: \(stored)")
            return
        }
        let drafts: [(FeedbackDraft, String, String)] = [
            (FeedbackDraft(kind: .rating, rating: 4), "kind, rating", "'rating', 4"),
            (FeedbackDraft(kind: .rating, rating: 4.5), "kind, rating", "'rating', 4.5"),
            (FeedbackDraft(kind: .ranking, ranking: ["B", "A"]), "kind, ranking", #"'ranking', '["B","A"]'"#),
            (FeedbackDraft(kind: .ranking, ranking: ["A"]), "kind, ranking", #"'ranking', '["A"]'"#),
            (FeedbackDraft(kind: .ranking, ranking: ["A", "A"]), "kind, ranking", #"'ranking', '["A","A"]'"#),
            (FeedbackDraft(kind: .ranking, ranking: ["A", "C"]), "kind, ranking", #"'ranking', '["A","C"]'"#),
            (FeedbackDraft(kind: .edit, text: "better", target: "B"), "kind, text, target", "'edit', 'better', 'B'"),
            (FeedbackDraft(kind: .edit, text: "better", target: "Q"), "kind, text, target", "'edit', 'better', 'Q'"),
            (FeedbackDraft(kind: .edit, text: "", target: "A"), "kind, text, target", "'edit', '', 'A'"),
            (FeedbackDraft(kind: .critique, text: " \n"), "kind, text", "'critique', E' \\n'"),
            (FeedbackDraft(kind: .critique, text: "too long"), "kind, text", "'critique', 'too long'"),
        ]
        for (draft, columns, values) in drafts {
            let core = FeedbackRules.problem(with: draft, definition: store, responses: 2)
            let database = give(columns, values)
            #expect((core == nil) == (database == nil), "\(draft): core \(core ?? "takes it"), database \(database ?? "takes it")")
            if database != nil { #expect(database == "ERROR:  this \(draft.kind.rawValue) is not one the task definition takes (FeedbackRules)") }
        }
        #expect(give("kind, label", "'label', 'safe'", at: 0) == "ERROR:  a reviewer's login writes times within a day of the server's clock; check this machine's clock")
        #expect(give("kind, label", "'label', 'safe'", at: -9_223_372_036_854_775_807)?.hasPrefix("ERROR:  a reviewer's login writes times within a day") == true)
        // One answer per transaction.
        #expect(refusal(ana, """
            BEGIN;
            INSERT INTO feedback (item, reviewer, assignment, created_at, kind, label) VALUES (\(item), \(me), \(assignment), \(now), 'label', 'safe');
            INSERT INTO feedback (item, reviewer, assignment, created_at, kind, label) VALUES (\(item), \(me), \(assignment), \(now), 'label', 'unsafe');
            COMMIT
            """) == "ERROR:  a reviewer's login gives one answer per transaction")
        // Events: flat details, about an item it holds, once per kind and item.
        let event = "INSERT INTO events (at, kind, reviewer, item, detail) VALUES"
        #expect(refusal(ana, "\(event) (\(now), 'claimed', \(me), \(item), '{\"assignment\":[1]}')")
            == "ERROR:  a reviewer's login writes an event's detail as one flat JSON object")
        #expect(refusal(ana, "\(event) (\(now), 'claimed', \(me), \(item), repeat('[', 2500) || repeat(']', 2500))")
            == "ERROR:  a reviewer's login writes an event's detail as one flat JSON object")
        #expect(refusal(ana, "\(event) (\(now), 'claimed', \(me), (SELECT seq FROM items WHERE id = 'c'), '{}')")
            == "ERROR:  a reviewer's login logs each event of its review once, about an item it holds")
        #expect(refusal(ana, "BEGIN; \(event) (\(now), 'claimed', \(me), \(item), '{}'); \(event) (\(now), 'claimed', \(me), \(item), '{}'); COMMIT")
            == "ERROR:  a reviewer's login logs each event of its review once, about an item it holds")
        #expect(refusal(ana, "\(event) (\(now + 172_800_000), 'claimed', \(me), \(item), '{}')")
            == "ERROR:  a reviewer's login writes times within a day of the server's clock; check this machine's clock")
    }

    /// A staff write that waited for the write lock while a reviewer's write committed still
    /// catches up with it (a statement that both took the lock and looked would read with the
    /// snapshot from before the wait and miss it; the staff's own events would then be linked
    /// past the reviewer's, which could never be linked again).
    @Test func aStaffWriteThatWaitedStillCatchesUp() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url
        // ana claims through Docket once (an item she holds), and lee's session has his item on screen.
        #expect(try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "quit\n").status == 0)
        let lee = Process(), leeInput = Pipe(), leeOutput = Pipe()
        lee.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
        lee.arguments = ["review", "--db", team.as_("lee")]
        (lee.standardInput, lee.standardOutput, lee.standardError) = (leeInput, leeOutput, leeOutput)
        try lee.run()
        Thread.sleep(forTimeInterval: 1.5)
        // ana's own write holds Docket's write lock for two seconds, then commits an event of hers
        // listed for linking; lee answers while she holds it, so his write waits for hers.
        let me = try TestPostgres.psql(owner, "SELECT id FROM reviewers WHERE name = 'ana'")
        let held = try TestPostgres.psql(owner, "SELECT id || ' ' || item FROM assignments WHERE reviewer = \(me) LIMIT 1").split(separator: " ")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let writer = try startProgram(["/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", team.as_("ana")], stdin: """
            BEGIN;
            SELECT pg_advisory_xact_lock(\(0x444F_434B));
            INSERT INTO events (at, kind, reviewer, item, detail) VALUES (\(now), 'lease-released', \(me), \(held.last ?? "0"), '{"assignment":\(held.first ?? "0")}');
            INSERT INTO event_backlog (event) SELECT max(id) FROM events WHERE reviewer = \(me);
            SELECT pg_sleep(2);
            COMMIT;

            """)
        Thread.sleep(forTimeInterval: 0.7)
        leeInput.fileHandleForWriting.write(Data("safe\nquit\n".utf8))
        try leeInput.fileHandleForWriting.close()
        let written = writer.finish()
        #expect(written.status == 0, "\(written.errors)")
        lee.waitUntilExit()
        let session = String(decoding: leeOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(lee.terminationStatus == 0 && session.contains("Recorded label safe."), "\(session)")
        // Everything ana wrote is linked, by lee's write or the next one.
        #expect(try runDocket(["status", "--db", owner]).status == 0)
        let unlinked = "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_links l WHERE l.event = e.id)"
        #expect(try TestPostgres.psql(owner, unlinked) == "0")
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 0, "\(check.output)\(check.errors)")
    }

    /// The backlog applies the policy to the item as it stood when each answer was given: a flag
    /// followed by a label escalates as the flag, as on SQLite, not as the later disagreement.
    @Test func theBacklogSeesTheItemAsItWas() throws {
        let team = try team()
        defer { team.cleanUp() }
        let sandbox = Sandbox()
        let policy = """
            labels: [safe, unsafe]
            asks: [label]
            overlap: 2
            explore: 0
            escalation:
              - when: {flag: [unsafe], min_severity: 3}
                to: lead
              - when: {no_majority: true}
                to: second-review

            """
        #expect(try runDocket(["config", "apply", sandbox.write("p.yaml", policy), "--db", team.url]).status == 0)
        #expect(try runDocketWithInput(["review", "--db", team.as_("bo")], stdin: "unsafe\nquit\n").status == 0)
        #expect(try runDocketWithInput(["review", "--db", team.as_("ana")], stdin: "flag unsafe 3 dangerous\nsafe\nquit\n").status == 0)
        let onPostgres = try runDocket(["escalations", "--json", "--db", team.as_("lee")])
        #expect(onPostgres.status == 0, "\(onPostgres.errors)")
        let lite = Sandbox()
        lite.run("init --labels safe,unsafe --seed 7")
        lite.run(["config", "apply", lite.write("p.yaml", policy)])
        lite.run(["import", "items", lite.write("i.jsonl", Self.items)])
        lite.run("reviewers add ana")
        lite.run("reviewers add bo")
        lite.run(["review", "--as", "bo"], stdin: "unsafe\nquit\n")
        lite.run(["review", "--as", "ana"], stdin: "flag unsafe 3 dangerous\nsafe\nquit\n")
        let expected = try Self.escalationFields(lite.run("escalations --json").output)
        #expect(expected == [["a", "lead", "[1]", "flagged unsafe at severity 3"]])
        #expect(try Self.escalationFields(onPostgres.output) == expected)
        // The escalation carries the time the flag was given, not the time the lead looked.
        let times = try TestPostgres.psql(team.url, "SELECT (e.created_at = f.created_at)::text FROM escalations e JOIN feedback f ON f.id = e.feedback")
        #expect(times == "true")
        #expect(try TestPostgres.psql(team.url, "SELECT overlap FROM items WHERE id = 'a'") == "2")
    }

    /// Tampering with the database's enforcement is named by check.
    @Test func checkNamesLoosenedRowSecurity() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url
        try TestPostgres.psql(owner, """
            ALTER TABLE feedback DISABLE ROW LEVEL SECURITY;
            DROP POLICY events_own ON events;
            ALTER POLICY withdrawals_own ON withdrawals USING (true);
            CREATE POLICY peek ON decisions FOR SELECT USING (true);
            GRANT SELECT (gold) ON items TO PUBLIC;
            ALTER FUNCTION docket_reviewer_of(text) RESET search_path;
            ALTER FUNCTION docket_gold_items() SECURITY INVOKER
            """)
        let check = try runDocket(["check", "--db", owner])
        #expect(check.status == 1)
        for line in [
            "violation: row-security-missing: row-level security is off for feedback, which the migrations turn it on for",
            "violation: policy-unexpected: the policy peek on decisions is not one the migrations create",
            "violation: policy-missing: the policy events_own on events is missing",
            "violation: policy-altered: the policy withdrawals_own on withdrawals is not the one the migrations create",
            "violation: grant-altered: the privileges on items.gold are public SELECT, not none but the owner's as the migrations grant them",
            "violation: function-altered: the function docket_reviewer_of() does not run with the rights or settings the migrations give it (security definer volatility s executed by public)",
            "violation: function-altered: the function docket_gold_items() does not run with the rights or settings the migrations give it (security invoker volatility s executed by public search_path=SCHEMA, pg_temp)",
        ] {
            #expect(check.errors.contains(line + "\n"), "\(line)\n\(check.errors)")
        }
    }

    /// Who owns what, who may create objects in the schema or run Docket's functions, and the
    /// columns' defaults: changed by hand, named by check; a second owner stops the check first.
    @Test func checkNamesOwnersCreatorsAndDefaults() throws {
        let team = try team()
        defer { team.cleanUp() }
        let owner = team.url, ana = team.login("ana")
        #expect(try runDocket(["check", "--db", owner]).status == 0)
        try TestPostgres.psql(owner, """
            GRANT CREATE ON SCHEMA public TO \(ana);
            REVOKE EXECUTE ON FUNCTION docket_gold_items() FROM PUBLIC;
            ALTER TABLE feedback ALTER COLUMN reviewer SET DEFAULT 3
            """)
        var check = try runDocket(["check", "--db", owner])
        #expect(check.status == 1)
        #expect(check.errors == """
            violation: column-default-altered: the default of feedback.reviewer is 3, not none as the migrations make it
            violation: function-altered: the function docket_gold_items() does not run with the rights or settings the migrations give it (security definer volatility s executed by its owner alone search_path=SCHEMA, pg_temp)
            violation: schema-open: \(ana) may create objects in Docket's schema, and so add functions, operators or tables the migrations never made; the schema's owner runs REVOKE CREATE ON SCHEMA … FROM them
            docket: The check found 3 violations.

            """, "\(check.errors)")
        // (A new owner needs CREATE on the schema, so ana keeps it for now.)
        try TestPostgres.psql(owner, """
            GRANT EXECUTE ON FUNCTION docket_gold_items() TO PUBLIC;
            ALTER TABLE feedback ALTER COLUMN reviewer DROP DEFAULT;
            GRANT \(ana) TO docket;
            ALTER TABLE feedback OWNER TO \(ana)
            """)
        check = try runDocket(["check", "--db", owner])
        #expect(check.status == 1)
        #expect(check.errors.hasPrefix("""
            violation: owner-altered: the sequence feedback_id_seq is owned by \(ana), not by docket as the rest of Docket's schema is
            violation: owner-altered: the table feedback is owned by \(ana), not by docket as the rest of Docket's schema is
            violation: check-incomplete: the other checks were not run
            """), "\(check.errors)")
        try TestPostgres.psql(owner, "ALTER TABLE feedback OWNER TO docket; REVOKE \(ana) FROM docket; REVOKE CREATE ON SCHEMA public FROM \(ana)")
        #expect(try runDocket(["check", "--db", owner]).status == 0)
    }

    /// item, tier, rule and reason of each escalation in `escalations --json`.
    static func escalationFields(_ output: String) throws -> [[String]] {
        try JSON.parse(output).arrayValue.map { escalation in
            [escalation["item"]?.textValue ?? "", escalation["tier"]?.textValue ?? "",
             escalation["rule"].map { JSONValue.array([$0]).encoded() } ?? "", escalation["reason"]?.textValue ?? ""]
        }
    }
}
