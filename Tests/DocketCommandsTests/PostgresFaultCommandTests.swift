import DocketCommandTestSupport
import DocketCommands
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// What each command says when its PostgreSQL server cannot be reached or refuses it: one
/// sentence on standard error naming host and port (no text of the network library), nothing on
/// standard output, and an exit status a script can act on; and what `init` refuses.
@Suite(.enabled(if: TestPostgres.isAvailable)) struct PostgresFaultCommandTests {
    /// Every command that opens a project, with the arguments it needs to get that far.
    static let commands: [[String]] = [
        ["init", "--labels", "a,b"], ["config", "show"], ["config", "apply", "docket.yaml"], ["import", "items", "items.jsonl"],
        ["import", "labels", "labels.csv"], ["review", "--as", "ana"], ["queue"], ["status"], ["reviewers", "add", "ana"],
        ["reviewers", "list"], ["reviewers", "role", "ana", "--role", "lead", "--as", "lee"], ["report"], ["round", "start", "r1"],
        ["round", "close"], ["agreement"], ["aggregate"], ["calibrate"], ["drift"], ["triage", "--as", "lee"], ["escalations"],
        ["adjudicate", "--as", "lee"], ["show", "i1", "--as", "lee"], ["export", "--format", "labels"], ["log"], ["backup", "copy.db"],
        ["check"], ["migrate"], ["migrate", "--to", "copy.db"],
    ]

    static func sandbox() -> Sandbox {
        let sandbox = Sandbox()
        sandbox.write("docket.yaml", "labels: [a, b]\n")
        sandbox.write("items.jsonl", #"{"id":"i1","prompt":"p","response":"r"}"# + "\n")
        sandbox.write("labels.csv", "item,reviewer,label\ni1,ana,a\n")
        return sandbox
    }

    /// Runs `arguments` in the sandbox's directory, with `--db location`.
    static func run(_ sandbox: Sandbox, _ arguments: [String], db location: String) -> CommandRun {
        // File arguments name the sandbox's files.
        let resolved = arguments.map { ["docket.yaml", "items.jsonl", "labels.csv", "copy.db"].contains($0) ? sandbox.path($0) : $0 }
        return sandbox.run(resolved + ["--db", location], useDatabase: false)
    }

    @Test(arguments: commands) func aServerNobodyListensOn(arguments: [String]) {
        let port = closedPort()
        let sandbox = Self.sandbox()
        let run = Self.run(sandbox, arguments, db: "postgres://docket@127.0.0.1:\(port)/docket")
        #expect(run.status == 69)
        #expect(run.output == "")
        #expect(run.errors == "docket: Cannot reach the PostgreSQL server at 127.0.0.1 port \(port): connection refused. Check that it is running and that --db names the right host and port.\n")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("copy.db")))
    }

    @Test(arguments: commands) func aRoleTheServerDoesNotKnow(arguments: [String]) throws {
        let admin = try #require(TestPostgres.adminURL)
        let location = try PostgresLocation(parsing: admin, environment: [:])
        let sandbox = Self.sandbox()
        let url = "postgres://nobody_here:secret@127.0.0.1:\(location.port)/docket"
        let run = Self.run(sandbox, arguments, db: url)
        #expect(run.status == 66)
        #expect(run.output == "")
        #expect(run.errors == "docket: Cannot open the database postgres://nobody_here@127.0.0.1:\(location.port)/docket: the PostgreSQL server at 127.0.0.1 port \(location.port) refused the login: role \"nobody_here\" does not exist.\n")
    }

    /// A host name that cannot be resolved, and a socket directory with no server, by the real binary.
    @Test func aBadHostAndAMissingSocketByTheBinary() throws {
        let host = try runDocket(["status", "--db", "postgres://docket@nonexistent.invalid:5432/docket"])
        #expect(host.status == 69)
        #expect(host.output == "")
        #expect(host.errors == "docket: Cannot reach the PostgreSQL server at nonexistent.invalid port 5432: the host name could not be resolved. Check that it is running and that --db names the right host and port.\n")
        let sandbox = Sandbox()
        let socket = try runDocket(["review", "--as", "ana", "--db", "postgres://docket@/docket?host=\(sandbox.directory)&port=5999"])
        #expect(socket.status == 69)
        #expect(socket.output == "")
        #expect(socket.errors == "docket: Cannot reach the PostgreSQL server at the socket in \(sandbox.directory) (port 5999): no such file or directory. Check that it is running and that --db names the right host and port.\n")
    }

    @Test func initOnADatabaseThatHoldsAProject() throws {
        let url = try TestPostgres.newDatabase()
        let sandbox = Self.sandbox()
        let first = Self.run(sandbox, ["init", "--labels", "a,b", "--seed", "1"], db: url)
        #expect(first.status == 0)
        #expect(first.output.hasPrefix("Created a project in \(url).\n  labels:  a, b (nominal)\n"))
        let second = Self.run(sandbox, ["init", "--labels", "x,y", "--seed", "2"], db: url)
        #expect(second.status == 1)
        #expect(second.output == "")
        #expect(second.errors == "docket: A project already exists in \(url); nothing was changed. Use another --db path for a new project.\n")
        #expect(try TestPostgres.psql(url, "SELECT labels || ' ' || seed FROM project") == #"["a","b"] 1"#)
    }

    @Test func initOnADatabaseWithTablesOfItsOwn() throws {
        let url = try TestPostgres.newDatabase()
        try TestPostgres.psql(url, "CREATE TABLE customers (id int); CREATE TABLE orders (id int)")
        let run = Self.run(Self.sandbox(), ["init", "--labels", "a,b"], db: url)
        #expect(run.status == 66)
        #expect(run.output == "")
        #expect(run.errors == "docket: \(url) is not a Docket database: the database already holds tables that are not Docket's (customers, orders); give each project a database of its own. Docket left it unchanged; point --db at a Docket database, or give `docket init` a new path.\n")
        #expect(try TestPostgres.psql(url, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'") == "customers,orders")
    }

    /// A password in the URL is never shown (the test cluster trusts loopback logins, so any password works).
    @Test func initNeverShowsThePassword() throws {
        let url = try TestPostgres.newDatabase()
        let withPassword = url.replacingOccurrences(of: "postgres://docket@", with: "postgres://docket:s3cret@")
        let sandbox = Self.sandbox()
        let created = Self.run(sandbox, ["init", "--labels", "a,b"], db: withPassword)
        #expect(created.status == 0)
        #expect(created.output.hasPrefix("Created a project in \(url.replacingOccurrences(of: "postgres://docket@", with: "postgres://docket:***@")).\n"))
        let again = Self.run(sandbox, ["init", "--labels", "a,b"], db: withPassword)
        #expect(again.errors == "docket: A project already exists in \(url); nothing was changed. Use another --db path for a new project.\n")
        for run in [created, again] { #expect(!(run.output + run.errors).contains("s3cret")) }
    }
}
