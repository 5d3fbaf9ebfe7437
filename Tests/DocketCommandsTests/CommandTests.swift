import ArgumentParser
import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

@Suite struct InitCommandTests {
    @Test func createsAProjectAndPrintsItsSettings() {
        let sandbox = Sandbox()
        let run = sandbox.run("init --labels safe,borderline,unsafe --level ordinal --overlap 2 --budget 500 --explore 0.05 --seed 9")
        #expect(run.status == 0)
        #expect(run.errors == "")
        #expect(run.output == """
            Created a project in \(sandbox.databasePath).
              labels:  safe, borderline, unsafe (ordinal)
              overlap: 2 reviewers per item
              budget:  500 items
              utility: risk=0.5,uncertainty=0.35,diversity=0.15, explore 5.0%
              lease:   20 minutes
              seed:    9

            """)
    }

    @Test func aSecondInitChangesNothing() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let before = try Data(contentsOf: URL(fileURLWithPath: sandbox.databasePath))
        let run = sandbox.run("init --labels x,y,z --overlap 3")
        #expect(run.status == 1)
        #expect(run.errors == "docket: A project already exists in \(sandbox.databasePath); nothing was changed. Use another --db path for a new project.\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.databasePath)) == before)
        #expect(sandbox.run("status --json").output.contains(#""items":0"#))
    }

    @Test func badSettingsAreRefusedWithoutCreatingAFile() {
        let sandbox = Sandbox()
        let cases: [(String, String)] = [
            ("init --level fuzzy", "docket: Invalid --level 'fuzzy': use nominal, ordinal, interval or ratio.\n"),
            ("init --weights risk=2,speed=1", "docket: Invalid --weights 'risk=2,speed=1': unknown term 'speed'; the terms are risk, uncertainty and diversity.\n"),
            ("init --labels a,,b", "docket: Invalid --labels 'a,,b': labels must be non-empty and have no surrounding spaces.\n"),
            ("init --overlap 0", "docket: Invalid --overlap '0': give a whole number of reviewers from 1 to 100.\n"),
            ("init --explore 2", "docket: Invalid --explore '2': the exploration share must be between 0 and 1.\n"),
        ]
        for (line, message) in cases {
            let run = sandbox.run(line)
            #expect(run.status == 64, "\(line)")
            #expect(run.errors == message)
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.databasePath))
    }

    @Test func databasePathComesFromTheEnvironmentWhenNotGiven() {
        let sandbox = Sandbox()
        sandbox.environment["DOCKET_DB"] = sandbox.path("env.db")
        let run = sandbox.run(["init", "--seed", "1"], useDatabase: false)
        #expect(run.status == 0)
        #expect(FileManager.default.fileExists(atPath: sandbox.path("env.db")))
    }

    @Test func commandsWithoutAProjectSaySo() {
        let sandbox = Sandbox()
        let run = sandbox.run("queue")
        #expect(run.status == 66)
        #expect(run.errors == "docket: No Docket database at \(sandbox.databasePath). Create a project with `docket init`, or point to one with --db or DOCKET_DB.\n")
    }
}

@Suite struct ImportCommandTests {
    func project() -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 2 --explore 0 --seed 1")
        return sandbox
    }

    @Test func importsJSONLAndIsIdempotent() {
        let sandbox = project()
        let file = sandbox.write("items.jsonl", Fixtures.jsonl([("a", 0.9, 0.1, 0.5), ("b", 0.2, 0.5, 0.5)]) + "\n")
        #expect(sandbox.run(["import", "items", file]).output == "Imported \(file): 2 new.\n")
        #expect(sandbox.run(["import", "items", file]).output == "Imported \(file): 0 new, 2 unchanged.\n")
    }

    /// A load large against the project drops the queue's index inside the import's transaction
    /// and builds it at the end: the index comes back exactly as the migration wrote it, a
    /// rolled-back load keeps it, and the queue reads the same as after a small load.
    @Test func aLargeLoadBuildsTheQueueIndexAtTheEnd() throws {
        let sandbox = project()
        func queueIndex() throws -> String? {
            let store = try SQLiteStore.open(path: sandbox.databasePath, access: .read)
            let statement = try store.connection.statement("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'items_unserved'")
            return try statement.step() ? statement.text(0) : nil
        }
        let definition = try #require(try queueIndex())
        // The hint of a large load drops the index inside the transaction; a rollback restores it.
        do {
            let store = try SQLiteStore.open(path: sandbox.databasePath)
            var during: String? = "not run"
            _ = try store.importItems(update: false, updateReviewed: false, source: "test", at: Instant(milliseconds: 0)) { sink in
                try sink.expect(moreRows: 49_999)
                #expect(try store.db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'items_unserved'") == .integer(1), "a small load keeps it")
                try sink.expect(moreRows: 100_000)
                during = try store.db.scalar("SELECT sql FROM sqlite_master WHERE name = 'items_unserved'").map { "\($0)" }
                return .rollback
            }
            #expect(during == nil)
        }
        #expect(try queueIndex() == definition)
        let rows = (0..<60_000).map { #"{"id":"x\#($0)","risk":0.\#(($0 * 7919) % 1000)}"# }
        let bad = sandbox.write("bad.jsonl", rows.joined(separator: "\n") + "\n{\"id\":\"\"}\n")
        let refused = sandbox.run(["import", "items", bad])
        #expect(refused.status == 65)
        #expect(refused.errors.hasPrefix("\(bad):60001: id: must not be empty\n"))
        #expect(try queueIndex() == definition)
        let file = sandbox.write("items.jsonl", rows.joined(separator: "\n") + "\n")
        #expect(sandbox.run(["import", "items", file]).output == "Imported \(file): 60,000 new.\n")
        #expect(try queueIndex() == definition)
        #expect(sandbox.run("check").status == 0)
        // The same rows in a project that already holds as many keep the index row by row; both
        // queues read the same.
        let small = project()
        let half = small.write("half.jsonl", rows.prefix(30_000).joined(separator: "\n") + "\n")
        let rest = small.write("rest.jsonl", rows.suffix(30_000).joined(separator: "\n") + "\n")
        small.run(["import", "items", half])
        small.run(["import", "items", rest])
        #expect(sandbox.run("queue --budget 50 --json").output == small.run("queue --budget 50 --json").output)
    }

    @Test func reportsEveryBadRowAndImportsNothing() {
        let sandbox = project()
        let file = sandbox.write("bad.jsonl", """
            {"id":"ok1","risk":0.5}
            {"id":"r2","risk":"high"}
            not json
            [1,2]
            {"risk":0.1,"gold":"maybe"}
            {"id":"ok1","risk":0.6}

            """)
        let run = sandbox.run(["import", "items", file])
        #expect(run.status == 65)
        #expect(run.output == "")
        #expect(run.errors == """
            \(file):2: risk: expected a number, got a string
            \(file):3: json: invalid JSON at column 2: unexpected character 'o'
            \(file):4: json: each line must be a JSON object, got an array
            \(file):5: id: required
            \(file):5: gold: 'maybe' is not a declared label (safe, unsafe)
            \(file):6: risk: item 'ok1' already exists with different risk (use --update to replace it)
            docket: Nothing was imported from \(file): 6 problems (listed above). Fix them, or pass --rejects FILE to import the valid rows and set the others aside.

            """)
        #expect(sandbox.run("status --json").output.contains(#""items":0"#))
    }

    @Test func listsProblemsUpToACap() {
        let sandbox = project()
        let rows = (1...8).map { #"{"id":"x\#($0)","risk":2}"# }.joined(separator: "\n")
        let file = sandbox.write("many.jsonl", rows)
        let run = sandbox.run(["import", "items", file, "--max-errors", "3"])
        let lines = run.errors.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[3] == "\(file): … and 5 more problems.")
    }

    @Test func rejectsFileTakesTheBadRowsAndTheRestIsImported() throws {
        let sandbox = project()
        let file = sandbox.write("mixed.jsonl", "{\"id\":\"a\",\"risk\":0.5}\n{\"id\":\"b\",\"risk\":7}\n{\"id\":\"c\"}\n")
        let rejects = sandbox.path("rejects.jsonl")
        let run = sandbox.run(["import", "items", file, "--rejects", rejects])
        #expect(run.status == 0)
        #expect(run.output == "Imported \(file): 2 new.\n1 row was rejected and written to \(rejects).\n")
        #expect(sandbox.read("rejects.jsonl") == #"{"line":2,"errors":["risk: must be between 0 and 1, got 7"],"raw":"{\"id\":\"b\",\"risk\":7}"}"# + "\n")
        #expect(sandbox.run("status --json").output.contains(#""items":2"#))
    }

    @Test func importsCSVWithQuotedMultiLineCellsAndJSONCells() {
        let sandbox = project()
        let file = sandbox.write("items.csv", #"""
            id,prompt,response,risk,probs,meta
            c1,"Say ""hi""","line one
            line two",0.5,"[0.5,0.5]","{""source"":""red-team""}"
            c2,plain,,0.25,,

            """#)
        let run = sandbox.run(["import", "items", file])
        #expect(run.errors == "")
        #expect(run.output == "Imported \(file): 2 new.\n")
        let queue = sandbox.run("queue --json").output
        #expect(queue == #"[{"rank":1,"id":"c1","utility":0.6,"risk":0.5,"uncertainty":1,"diversity":null,"policy":"exploit","propensity":1,"step":0},{"rank":2,"id":"c2","utility":0.125,"risk":0.25,"uncertainty":null,"diversity":null,"policy":"exploit","propensity":1,"step":1}]"# + "\n")
    }

    @Test func csvErrorsNameTheRecordsFirstLine() {
        let sandbox = project()
        let file = sandbox.write("bad.csv", "id,risk\na,0.5,extra\nb,\"unterminated\n")
        let run = sandbox.run(["import", "items", file])
        #expect(run.status == 65)
        #expect(run.errors.hasPrefix("""
            \(file):2: csv: the row has 3 fields, the header has 2
            \(file):3: csv: a quoted field is never closed

            """))
    }

    @Test func readsStandardInputWithAFormat() {
        let sandbox = project()
        let run = sandbox.run(["import", "items", "-", "--format", "jsonl"], stdin: #"{"id":"s1","risk":0.3}"# + "\n")
        #expect(run.output == "Imported <stdin>: 1 new.\n")
        #expect(sandbox.run(["import", "items", "-"]).errors == "docket: Cannot tell the format of -: name it .jsonl or .csv, or pass --format jsonl|csv.\n")
        #expect(sandbox.run(["import", "items", sandbox.path("missing.jsonl")]).errors == "docket: Cannot open \(sandbox.path("missing.jsonl")): No such file or directory.\n")
    }
}

@Suite struct QueueAndStatusCommandTests {
    func project(budget: Int? = nil) -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --overlap 2 --explore 0 --seed 1" + (budget.map { " --budget \($0)" } ?? ""))
        sandbox.write("items.jsonl", Fixtures.jsonl([("b", 0.5, 0.2, 0.1), ("a", 0.5, 0.2, 0.1), ("c", 0.9, 0.8, 0.7), ("\\u202eevil", 0.1, 0, 0)]))
        sandbox.run(["import", "items", sandbox.path("items.jsonl")])
        return sandbox
    }

    @Test func queueTableShowsUtilityPartsInServingOrder() {
        let sandbox = project(budget: 3)
        #expect(sandbox.run("queue --budget 10").output == """
            Next 3 of 4 unserved items (budget 0 of 3 used, 3 left).
            #  id  utility   risk  uncert.  divers.  policy   propensity
            1  c    0.8350  0.900    0.800    0.700  exploit    1.000000
            2  a    0.3350  0.500    0.200    0.100  exploit    1.000000
            3  b    0.3350  0.500    0.200    0.100  exploit    1.000000

            """)
    }

    /// Ids cannot hold control characters (InputExactnessTests); invisible ones are shown escaped.
    @Test func invisibleCharactersInIDsAreShownEscaped() {
        let sandbox = project()
        let output = sandbox.run("queue").output
        #expect(output.contains("\\u{202e}evil"))
        #expect(!output.contains("\u{202E}"))
    }

    @Test func statusAndTheSpentBudget() {
        let sandbox = project(budget: 1)
        sandbox.run("reviewers add ana")
        sandbox.run(["claim-loop", "--as", "ana", "--count", "1", "--hold"])
        #expect(sandbox.run("status --json").output == #"{"items":4,"served":1,"budget":1,"budget_used":1,"budget_left":0,"overlap":2,"reviews":0,"labels":0,"labelled_items":0,"items_complete":0,"open_leases":1,"reviewers":2}"# + "\n")
        #expect(sandbox.run("status").output == """
            items:       4
            budget:      1 of 1 used, 0 left
            reviews:     0 done, 0 items complete at overlap 2
            labels:      0 current, on 0 items
            open leases: 1
            reviewers:   2

            """)
        #expect(sandbox.run("queue").output == "The label budget is spent: 1 of 1 items handed out.\n")
    }
}

@Suite struct ReviewerAndMaintenanceCommandTests {
    @Test func addsAndListsReviewers() {
        let sandbox = Sandbox()
        sandbox.run("init --seed 1")
        // init makes its caller (here the account `admin`) the first admin, bound to their login.
        #expect(sandbox.run("reviewers list").output == """
            name   role   login  reviews  labels  added
            admin  admin  admin        0       0  2026-11-18T11:06:40.000Z

            """)
        #expect(sandbox.run("reviewers add ana --role lead").output == "Added lead ana.\n")
        #expect(sandbox.run("reviewers add bo").output == "Added reviewer bo.\n")
        #expect(sandbox.run("reviewers add bo").errors == "docket: A reviewer named 'bo' already exists.\n")
        #expect(sandbox.run("reviewers add cy --role boss").errors == "docket: Invalid --role 'boss': use reviewer, lead or admin.\n")
        #expect(sandbox.run("reviewers add cy --user cyrus").output == "Added reviewer cy.\n")
        #expect(sandbox.run("reviewers add dee --user cyrus").errors == "docket: The login 'cyrus' already acts as cy; each login is one reviewer.\n")
        for login in ["e ve", "\u{200B}bo", "../x", "$(id)", "a\u{1B}[2J"] {
            #expect(sandbox.run(["reviewers", "add", "eve", "--user", login]).errors.hasSuffix(": use only ASCII letters, digits, '_', '.', '@' and '-'.\n"), "\(login)")
        }
        #expect(sandbox.run(["reviewers", "add", "eve", "--user", "."]).errors == "docket: Cannot bind the login '.': it starts with '.'.\n")
        // Binding again: another login, or none (then nobody acts as them).
        #expect(sandbox.run("reviewers bind bo --user bob").output == "bo is now bound to the login bob.\n")
        #expect(sandbox.run("status", caller: .account("bob")).status == 0)
        #expect(sandbox.run("reviewers bind bo --user cyrus").errors == "docket: The login 'cyrus' already acts as cy; each login is one reviewer.\n")
        let neither = sandbox.run("reviewers bind bo")
        #expect(neither.status == 64 && neither.errors.hasPrefix("Error: Give --user LOGIN or --none.\n"), "\(neither.errors)")
        #expect(sandbox.run("reviewers bind bo --none").output == "bo is now bound to no login.\n")
        let nobody = sandbox.run("status", caller: .account("bob"))
        #expect(nobody.status == 77)
        #expect(nobody.errors == "docket: The login 'bob' is not bound to a reviewer of this project; an admin binds it with `docket reviewers bind NAME --user bob` (or `docket reviewers add NAME --user bob` for someone new). Nothing was changed.\n")
        #expect(sandbox.run("reviewers bind bo --user bo", caller: .account("ana")).status == 77)  // a lead may not
        #expect(sandbox.run("reviewers bind bo --user bo").status == 0)
        // Binding a login it already has changes nothing.
        let events = sandbox.run("log --json").output.split(separator: "\n").count
        #expect(sandbox.run("reviewers bind bo --user bo").output == "bo is bound to the login bo already; nothing changed.\n")
        #expect(sandbox.run("log --json").output.split(separator: "\n").count == events)
        #expect(sandbox.run("reviewers role bo --role reviewer").output == "bo is a reviewer already; nothing changed.\n")
        #expect(sandbox.run("log --json").output.split(separator: "\n").count == events)
        #expect(sandbox.run("reviewers bind bo --user x --none").errors.hasPrefix("Error: Give --user LOGIN or --none, not both.\n"))
        // Root stays an admin when registered and demoted: they can change the file anyway.
        #expect(sandbox.run("reviewers add dee --role admin").status == 0)
        #expect(sandbox.run("reviewers role admin --role reviewer", caller: .account("dee")).output == "admin is now a reviewer.\n")
        #expect(sandbox.run("reviewers role admin --role admin").output == "admin is now an admin.\n")
        #expect(sandbox.run("reviewers role dee --role lead").output == "dee is now a lead.\n")
        // Who added and bound whom is in the log.
        let added = sandbox.run("log --json").output.split(separator: "\n").filter { $0.contains(#""kind":"reviewer-added","reviewer":"cy""#) }
        #expect(added.count == 1 && added[0].contains(#""actor":"admin""#), "\(added)")
        #expect(sandbox.run(["reviewers", "add", "eve", "--user=-rf"]).errors == "docket: Cannot bind the login '-rf': it starts with '-'.\n")
        #expect(sandbox.run("reviewers list --json").output == #"[{"name":"admin","role":"admin","login":"admin","reviews":0,"labels":0,"added_at":"2026-11-18T11:06:40.000Z"},{"name":"ana","role":"lead","login":"ana","reviews":0,"labels":0,"added_at":"2026-11-18T11:06:40.000Z"},{"name":"bo","role":"reviewer","login":"bo","reviews":0,"labels":0,"added_at":"2026-11-18T11:06:40.000Z"},{"name":"cy","role":"reviewer","login":"cyrus","reviews":0,"labels":0,"added_at":"2026-11-18T11:06:40.000Z"},{"name":"dee","role":"lead","login":"dee","reviews":0,"labels":0,"added_at":"2026-11-18T11:06:40.000Z"}]"# + "\n")
    }

    @Test func checkAndBackup() {
        let sandbox = Sandbox()
        sandbox.run("init --seed 1")
        #expect(sandbox.run("check").output == "OK: integrity check passed and every invariant holds.\n")
        let target = sandbox.path("b.db")
        #expect(sandbox.run(["backup", target]).output == "Backed up \(sandbox.databasePath) to \(target).\n")
        #expect(sandbox.run(["backup", target]).errors == "docket: \(target) already exists; choose a new file for the backup.\n")
    }

    @Test func unknownCommandsAndOptionsAreUsageErrors() {
        let sandbox = Sandbox()
        let run = sandbox.run(["qeue"], useDatabase: false)
        #expect(run.status == 64)
        #expect(run.errors.contains("Unexpected argument 'qeue'") || run.errors.contains("qeue"))
    }

    /// Every command has an abstract, and every runnable command a discussion with an example.
    @Test func everyCommandIsDocumented() {
        func visit(_ command: any ParsableCommand.Type, path: [String]) {
            let configuration = command.configuration
            #expect(!configuration.abstract.isEmpty, "\(path) has no abstract")
            if command is any ContextCommand.Type, configuration.shouldDisplay {
                #expect(configuration.discussion.contains("Example: docket"), "\(path) has no example")
            }
            for sub in configuration.subcommands { visit(sub, path: path + [sub.configuration.commandName ?? "?"]) }
        }
        visit(Docket.self, path: ["docket"])
    }
}
