import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

/// The shared-machine install, as people meet it: `scripts/install-shared` installs the binary
/// set-group-id to a fresh group and creates a project only that group can open; three Unix
/// accounts (an admin, a lead and a reviewer, none in the group) then run Docket with runuser.
/// Root only (it creates accounts and a group, and removes them after); skipped with the reason
/// otherwise.
@Suite(.serialized) struct SharedInstallTests {
    /// One installation in a fresh directory, with its accounts; `remove()` undoes the system changes.
    final class Install {
        let directory: String
        let binary: String
        let project: String
        let group: String
        let admin: String, lead: String, reviewer: String

        init?() throws {
            guard geteuid() == 0 else {
                print("skipped SharedInstallTests: they create Unix accounts and a group, which needs root")
                return nil
            }
            for tool in ["/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/groupdel", "/usr/sbin/runuser"] where !FileManager.default.isExecutableFile(atPath: tool) {
                print("skipped SharedInstallTests: \(tool) is missing")
                return nil
            }
            // Short, unique names: accounts and groups are machine-wide.
            let tag = String(getpid() % 100_000)
            admin = "dka\(tag)"; lead = "dkl\(tag)"; reviewer = "dkr\(tag)"; group = "dkg\(tag)"
            directory = Sandbox().directory
            chmod(directory, 0o755)
            binary = directory + "/bin/docket"
            project = directory + "/project/review.db"
            try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
            chmod(directory + "/bin", 0o755)
            for name in [admin, lead, reviewer] {
                _ = try Self.run(["/usr/sbin/useradd", "--no-create-home", "--shell", "/bin/sh", name])
                try FileManager.default.createDirectory(atPath: directory + "/home-" + name, withIntermediateDirectories: false)
                _ = try Self.run(["/bin/chown", name, directory + "/home-" + name])
            }
            let install = try Self.run([
                Fixtures.repositoryRoot + "/scripts/install-shared", "--binary", Fixtures.docketBinary, "--install", binary,
                "--group", group, "--project", project, "--admin", admin, "--", "--labels", "safe,unsafe", "--seed", "1",
            ])
            #expect(install.status == 0, "\(install.errors)")
        }

        func remove() {
            for name in [admin, lead, reviewer] { _ = try? Self.run(["/usr/sbin/userdel", name]) }
            _ = try? Self.run(["/usr/sbin/groupdel", group])
        }

        func home(_ name: String) -> String { directory + "/home-" + name }

        /// Runs `docket ARGS --db PROJECT` as `user` through runuser, with `stdin` as input.
        func docket(_ user: String, _ arguments: [String], stdin: String = "", environment: [String] = []) throws -> (status: Int32, output: String, errors: String) {
            try Self.run(["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env"] + environment + [binary] + arguments + ["--db", project], stdin: stdin, in: home(user))
        }

        static func run(_ arguments: [String], stdin: String = "", in directory: String? = nil) throws -> (status: Int32, output: String, errors: String) {
            try runProgram(arguments, stdin: stdin, in: directory)
        }
    }

    @Test func theRoleTableHoldsForPeopleOnOneMachine() throws {
        guard let install = try Install() else { return }
        defer { install.remove() }
        let (admin, lead, reviewer) = (install.admin, install.lead, install.reviewer)
        // What the installer made: a set-group-id binary, a closed directory, files of the group.
        var info = stat()
        #expect(stat(install.binary, &info) == 0 && info.st_mode & S_ISGID != 0)
        #expect(stat(install.directory + "/project", &info) == 0 && info.st_mode & 0o7777 == 0o2770)
        for suffix in ["", "-wal", "-shm", ".lock"] {
            #expect(stat(install.project + suffix, &info) == 0 && info.st_mode & 0o777 == 0o660 && info.st_uid == 0, "review.db\(suffix)")
        }

        // The admin manages people and loads items.
        #expect(try install.docket(admin, ["reviewers", "add", reviewer]).output == "Added reviewer \(reviewer).\n")
        #expect(try install.docket(admin, ["reviewers", "add", lead, "--role", "lead"]).output == "Added lead \(lead).\n")
        let items = install.directory + "/items.jsonl"
        try (#"{"id":"i1","prompt":"p1","response":"r1"}"# + "\n" + #"{"id":"i2","prompt":"p2","response":"r2"}"# + "\n").write(toFile: items, atomically: true, encoding: .utf8)
        chmod(items, 0o644)
        #expect(try install.docket(admin, ["import", "items", items]).status == 0)

        // The reviewer reviews without --as: the binary knows them by their real user id.
        let review = try install.docket(reviewer, ["review"], stdin: "label safe\nquit\n")
        #expect(review.status == 0, "\(review.errors)")
        #expect(review.output.hasPrefix("Reviewing as \(reviewer)."))
        #expect(review.output.contains("Recorded label safe."))

        // … and may do nothing a lead or an admin does, nor act as anyone else.
        let refusals: [([String], String)] = [
            (["adjudicate"], "\(reviewer) is a reviewer and may not adjudicate; that needs a lead or an admin"),
            (["triage"], "\(reviewer) is a reviewer and may not triage; that needs a lead or an admin"),
            (["reviewers", "add", "mallory", "--role", "admin"], "\(reviewer) is a reviewer and may not add reviewers; that needs an admin"),
            (["config", "apply", items], "\(reviewer) is a reviewer and may not apply configuration; that needs an admin"),
            (["export", "--format", "labels"], "\(reviewer) is a reviewer and may not export; that needs a lead or an admin"),
            (["agreement"], "\(reviewer) is a reviewer and may not see agreement; that needs a lead or an admin"),
            (["review", "--as", lead], "\(reviewer) is a reviewer and may not act as \(lead); only an admin may use --as for someone else"),
            (["log", "--reviewer", lead], "\(reviewer) is a reviewer and sees only their own feedback and events, not \(lead)'s"),
        ]
        for (arguments, sentence) in refusals {
            let run = try install.docket(reviewer, arguments)
            #expect(run.status == 77, "\(arguments): \(run.errors)")
            #expect(run.errors == "docket: \(sentence). Nothing was changed.\n", "\(arguments)")
        }
        // Their log is their own.
        let log = try install.docket(reviewer, ["log"]).output
        #expect(log.contains("by \(reviewer)") && !log.contains("by \(lead)") && !log.contains("by \(admin)"))

        // Around Docket: the files are the group's, and the reviewer is not in it.
        #expect(try Install.run(["/usr/sbin/runuser", "-u", reviewer, "--", "/bin/cat", install.project]).status != 0)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
            let direct = try Install.run(["/usr/sbin/runuser", "-u", reviewer, "--", "/usr/bin/sqlite3", install.project, "SELECT count(*) FROM feedback"])
            #expect(direct.status != 0 && !direct.output.contains("1"), "\(direct.output)")
        }

        // A lead exports, but only as themselves: not into the group's directory …
        let intoProject = install.directory + "/project/stolen.jsonl"
        let refused = try install.docket(lead, ["export", "--format", "labels", "--out", intoProject])
        #expect(refused.status != 0 && refused.errors.contains("Permission denied"), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: intoProject))
        // … and what they write is theirs, not the group's.
        let own = install.home(lead) + "/labels.jsonl"
        #expect(try install.docket(lead, ["export", "--format", "labels", "--out", own]).status == 0)
        #expect(stat(own, &info) == 0 && info.st_gid != getgrnam(install.group)?.pointee.gr_gid)
        #expect(try install.docket(lead, ["adjudicate"], stdin: "quit\n").status == 0)
        #expect(try install.docket(lead, ["reviewers", "add", "mallory"]).status == 77)

        // The editor a reviewer starts runs without the group: real, effective, saved and file
        // system group ids are all the reviewer's own.
        let recorder = install.directory + "/bin/record-groups"
        try """
            #!/bin/sh
            grep '^Gid' /proc/$$/status > "$HOME_DIR/groups"
            echo "an edited response" > "$1"

            """.write(toFile: recorder, atomically: true, encoding: .utf8)
        chmod(recorder, 0o755)
        let run = PseudoTerminal.run(
            "/usr/sbin/runuser",
            ["-u", reviewer, "--", "/usr/bin/env", "EDITOR=\(recorder)", "HOME_DIR=\(install.home(reviewer))", install.binary, "review", "--db", install.project],
            environment: ["TERM": "xterm", "PATH": "/usr/bin:/bin"], stdinPath: nil,
            steps: [.init(waitFor: "Asks", send: "edit\r"), .init(waitFor: "edited", send: "quit\r")])
        #expect(run.status == 0, "\(run.text)")
        let groups = try String(contentsOfFile: install.home(reviewer) + "/groups", encoding: .utf8)
        let own_gid = getpwnam(reviewer)!.pointee.pw_gid
        #expect(groups == "Gid:\t\(own_gid)\t\(own_gid)\t\(own_gid)\t\(own_gid)\n", "\(groups)")
        #expect(try install.docket(admin, ["check"]).status == 0)

        // What the admin backs up or a lead exports is theirs alone (no group or other access).
        let backup = install.home(admin) + "/copy.db"
        #expect(try install.docket(admin, ["backup", backup]).status == 0)
        #expect(stat(backup, &info) == 0 && info.st_mode & 0o077 == 0, "backup mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(stat(own, &info) == 0 && info.st_mode & 0o077 == 0, "export mode \(String(info.st_mode & 0o777, radix: 8))")

        // Nothing in the group's directory but the project is opened with the group: its side
        // files, and names that do not exist, all look alike to a reviewer.
        for path in [install.project + ".lock", install.project + "-wal", install.directory + "/project/none.db"] {
            let probe = try Install.run(["/usr/sbin/runuser", "-u", reviewer, "--", install.binary, "status", "--db", path])
            #expect(probe.status == 66 && probe.errors.contains("Permission denied"), "\(path): \(probe.errors)")
        }

        // An account bound to nobody is refused before anything is opened to write.
        let stranger = "dks\(install.admin.dropFirst(3))"
        _ = try Install.run(["/usr/sbin/useradd", "--no-create-home", "--shell", "/bin/sh", stranger])
        defer { _ = try? Install.run(["/usr/sbin/userdel", stranger]) }
        let refused77 = try Install.run(["/usr/sbin/runuser", "-u", stranger, "--", install.binary, "review", "--db", install.project], stdin: "quit\n")
        #expect(refused77.status == 77, "\(refused77.errors)")

        // Readers see the latest commits, also while they are still in the write-ahead log: a
        // connection held open elsewhere keeps the log from being folded into the database.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            holder.arguments = [install.project]
            let input = Pipe()
            holder.standardInput = input
            holder.standardOutput = FileHandle.nullDevice
            try holder.run()
            input.fileHandleForWriting.write(Data(".filectrl persist_wal 1\nSELECT count(*) FROM items;\n".utf8))
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try install.docket(admin, ["reviewers", "add", "late"]).status == 0)
            let list = try install.docket(reviewer, ["reviewers", "list"])
            #expect(list.status == 0 && list.output.contains("late "), "\(list.output)\(list.errors)")
            try input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }

        // A side file gone (sqlite3 removes -wal and -shm when it closes): refused, not re-made by a reviewer.
        #expect(unlink(install.project + "-shm") == 0)
        let missing = try install.docket(reviewer, ["status"])
        #expect(missing.status == 66 && missing.errors.contains("its -shm file is missing or not the group's"), "\(missing.errors)")
        #expect(!FileManager.default.fileExists(atPath: install.project + "-shm"))
    }

    @Test func theInstallerTakesOnlyADirectoryOfItsOwn() throws {
        guard let install = try Install() else { return }
        defer { install.remove() }
        let busy = install.directory + "/busy"
        try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: false)
        try "notes".write(toFile: busy + "/notes.txt", atomically: true, encoding: .utf8)
        let run = try Install.run([
            Fixtures.repositoryRoot + "/scripts/install-shared", "--binary", Fixtures.docketBinary, "--install", install.binary,
            "--group", install.group, "--project", busy + "/p.db",
        ])
        #expect(run.status == 73)
        #expect(run.errors.contains("already holds other files"), "\(run.errors)")
        var info = stat()
        #expect(stat(busy, &info) == 0 && (info.st_mode & 0o7777 == 0o755 || info.st_mode & 0o7777 == 0o775), "the directory was left as it was")
        // Running it again on its own directory is fine.
        let again = try Install.run([
            Fixtures.repositoryRoot + "/scripts/install-shared", "--binary", Fixtures.docketBinary, "--install", install.binary,
            "--group", install.group, "--project", install.project,
        ])
        #expect(again.status == 0, "\(again.errors)")
    }
}
