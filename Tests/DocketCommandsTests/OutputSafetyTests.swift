import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

/// A project with `items` items and a few labels, so exports have content.
func outputProject(items: Int = 40) -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,unsafe --overlap 1 --explore 0 --seed 3")
    sandbox.write("items.jsonl", (0..<items).map { #"{"id":"o\#($0)","prompt":"prompt \#($0)","response":"response \#($0) with words","risk":\#(Double($0 % 10) / 10)}"# }.joined(separator: "\n") + "\n")
    sandbox.run(["import", "items", sandbox.path("items.jsonl")])
    sandbox.run("reviewers add ana")
    sandbox.run(["review", "--as", "ana"], stdin: String(repeating: "safe\n", count: min(items, 10)))
    // Labels from elsewhere on every item, so the labels export grows with the project.
    sandbox.write("labels.csv", "item,reviewer,label\n" + (0..<items).flatMap { ["o\($0),r1,safe", "o\($0),r2,\($0 % 3 == 0 ? "unsafe" : "safe")"] }.joined(separator: "\n") + "\n")
    sandbox.run(["import", "labels", sandbox.path("labels.csv")])
    return sandbox
}

/// Files in `directory` whose name contains `.partial-`.
func temporaries(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".partial-") }
}

func sha(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { SHA256.hex(String(decoding: $0, as: UTF8.self)) }
}

/// Runs a shell line (for redirections a test cannot make in-process) and returns its status.
func shell(_ line: String, in sandbox: Sandbox) -> Int32 {
    spawnAndWait(["/bin/sh", "-c", "cd '\(sandbox.directory)' && " + line], stdoutPath: sandbox.path("shell-out.txt"))
}

@Suite(.serialized) struct OutputSafetyTests {
    /// Every writer refuses the database, its WAL and shm files, a symlink to it, and its own input.
    @Test func outputsNeverOverwriteTheDatabaseOrAnInput() throws {
        let sandbox = outputProject()
        let db = sandbox.databasePath
        symlink(db, sandbox.path("alias.db"))
        let before = sha(db)
        let input = sandbox.path("items.jsonl")
        let inputBefore = sha(input)
        let attempts: [[String]] = [
            ["export", "--format", "labels", "--out", db],
            ["export", "--format", "labels", "--out", db + "-wal"],
            ["export", "--format", "labels", "--out", db + "-shm"],
            ["export", "--format", "labels", "--out", sandbox.path("alias.db")],
            ["export", "--format", "labels", "--out", sandbox.directory + "/./sub/../docket.db"],
            ["report", "--html", db],
            ["import", "items", input, "--rejects", db],
            ["import", "items", input, "--rejects", input],
            ["backup", db],
        ]
        try FileManager.default.createDirectory(atPath: sandbox.path("sub"), withIntermediateDirectories: true)
        for arguments in attempts {
            let run = sandbox.run(arguments)
            #expect(run.status == 73, "\(arguments): \(run.status) \(run.errors)")
            #expect(run.errors.hasPrefix("docket: Cannot write "), "\(arguments): \(run.errors)")
            #expect(run.errors.contains("which this command must not overwrite") || run.errors.contains("already exists"), "\(arguments): \(run.errors)")
        }
        #expect(sandbox.run(["export", "--format", "labels", "--out", db]).errors == "docket: Cannot write \(db): it is the project database, which this command must not overwrite.\n")
        #expect(sandbox.run(["import", "items", input, "--rejects", input]).errors
            == "docket: Cannot write \(input): it is an input of this command (\(input)), which this command must not overwrite.\n")
        #expect(sha(input) == inputBefore)
        let store = try SQLiteStore.open(path: db)
        #expect(try store.check() == [])
        store.idle()
        #expect(sha(db) != nil && before != nil)
        #expect(temporaries(in: sandbox.directory) == [])
    }

    /// A directory is refused with a sentence (no crash, no temporary); a FIFO and a character
    /// device are written in place and stay what they were.
    @Test func directoriesAreRefusedDevicesAndFifosWrittenInPlace() throws {
        let sandbox = outputProject()
        try FileManager.default.createDirectory(atPath: sandbox.path("dir"), withIntermediateDirectories: true)
        let run = sandbox.run(["export", "--format", "labels", "--out", sandbox.path("dir")])
        #expect(run.status == 73)
        #expect(run.errors == "docket: Cannot write \(sandbox.path("dir")): it is a directory; name a file.\n")
        let rejects = sandbox.run(["import", "items", sandbox.path("items.jsonl"), "--rejects", sandbox.path("dir")])
        #expect(rejects.status == 73)
        #expect(temporaries(in: sandbox.directory) == [])

        // A FIFO: a reader drains it while the export writes.
        #expect(mkfifo(sandbox.path("fifo"), 0o600) == 0)
        let reader = shell("cat fifo > drained.txt &", in: sandbox)
        #expect(reader == 0)
        let toFifo = sandbox.run(["export", "--format", "labels", "--out", sandbox.path("fifo")])
        #expect(toFifo.status == 0, "\(toFifo.errors)")
        var info = stat()
        #expect(lstat(sandbox.path("fifo"), &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
        #expect(eventually { (sandbox.read("drained.txt") ?? "").split(separator: "\n").count == 40 })

        // A character device node (as root; a copy of /dev/null made with mknod).
        guard getuid() == 0 else {
            print("skipped the device-node case: mknod needs root")
            return
        }
        #expect(mknod(sandbox.path("null"), S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
        let toDevice = sandbox.run(["export", "--format", "labels", "--out", sandbox.path("null")])
        #expect(toDevice.status == 0, "\(toDevice.errors)")
        #expect(lstat(sandbox.path("null"), &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        #expect(temporaries(in: sandbox.directory) == [])
    }

    /// The temporary is created with O_EXCL|O_NOFOLLOW: a symlink planted at its name is never
    /// followed, so the file it points at is untouched.
    @Test func aPlantedSymlinkAtTheTemporaryNameIsNotFollowed() throws {
        let sandbox = Sandbox()
        let victim = sandbox.write("victim.txt", "precious\n")
        let target = sandbox.path("out.jsonl")
        symlink(victim, "\(target).partial-\(getpid())-fixed")
        #expect(throws: CommandError.cannotWrite(path: target, reason: "no temporary name was free beside it")) {
            _ = try OutputFile(path: target, protecting: [], suffix: { "fixed" })
        }
        #expect(sandbox.read("victim.txt") == "precious\n")
        // With a free name, the file is private while written and gets the usual mode at the end.
        let file = try OutputFile(path: target, protecting: [], suffix: { "free" })
        var info = stat()
        #expect(stat("\(target).partial-\(getpid())-free", &info) == 0 && info.st_mode & 0o777 == 0o600)
        try file.write("data\n")
        try file.commit()
        #expect(sandbox.read("out.jsonl") == "data\n")
        #expect(stat(target, &info) == 0 && info.st_mode & 0o077 != 0o077 && info.st_mode & 0o600 == 0o600)
    }

    /// A file larger than the write-behind step (its pages handed to the disk as it is written)
    /// comes out whole and byte for byte, with the records' last bytes after the last step.
    @Test func aLargeFileIsWrittenWholeThroughTheWriteBehind() throws {
        let sandbox = Sandbox()
        let target = sandbox.path("large.bin")
        let file = try OutputFile(path: target, protecting: [])
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let step = Int(OutputFile.writeBehind >> 20)
        let chunks = step * 2 + 3
        for k in 0..<chunks {
            for i in stride(from: 0, to: chunk.count, by: 4096) { chunk[i] = UInt8(truncatingIfNeeded: k &+ i >> 12) }
            try file.write(chunk)
        }
        try file.write("end\n")
        try file.commit()
        let written = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect(written.count == chunks << 20 + 4)
        for k in [0, step - 1, step, step + 1, 2 * step, chunks - 1] {
            for i in [0, 4096, (1 << 20) - 4096] {
                #expect(written[k << 20 + i] == UInt8(truncatingIfNeeded: k &+ i >> 12), "chunk \(k), byte \(i)")
            }
        }
        #expect(written.suffix(4) == Data("end\n".utf8))
        #expect(temporaries(in: sandbox.directory) == [])
    }

    /// An existing target keeps its mode when replaced.
    @Test func replacingKeepsTheTargetsMode() throws {
        let sandbox = outputProject()
        let out = sandbox.write("labels.jsonl", "old\n")
        chmod(out, 0o640)
        #expect(sandbox.run(["export", "--format", "labels", "--out", out]).status == 0)
        var info = stat()
        #expect(stat(out, &info) == 0 && info.st_mode & 0o777 == 0o640)
        #expect(sandbox.read("labels.jsonl")?.hasPrefix("{") == true)
    }

    /// Standard output errors end the command non-zero with a sentence; a closed pipe ends it quietly.
    @Test func standardOutputErrorsAreNotIgnored() throws {
        let sandbox = outputProject()
        let docket = "'\(Fixtures.docketBinary)'"
        let db = "--db '\(sandbox.databasePath)'"
        #expect(shell("\(docket) export --format labels \(db) > /dev/full 2> err.txt", in: sandbox) == 74)
        #expect(sandbox.read("err.txt") == "docket: Cannot write to standard output: No space left on device.\n")
        #expect(shell("\(docket) log \(db) > /dev/full 2> err.txt", in: sandbox) == 74)
        #expect(shell("\(docket) status \(db) >&- 2> err.txt", in: sandbox) == 74)
        #expect(sandbox.read("err.txt") == "docket: Cannot write to standard output: Bad file descriptor.\n")
        // A reader that goes away: 141 (as SIGPIPE would), and nothing on stderr.
        let big = outputProject(items: 3000)
        let status = spawnAndWait(["/bin/bash", "-c", "set -o pipefail; '\(Fixtures.docketBinary)' export --format labels --db '\(big.databasePath)' 2> '\(big.path("err.txt"))' | head -c 10 > /dev/null"], stdoutPath: big.path("o.txt"))
        #expect(status == 141)
        #expect(big.read("err.txt") == "")
    }

    /// kill -9 during an export leaves the old target intact; the next export removes the
    /// leftover temporary.
    @Test func killNineDuringExportKeepsTheOldTarget() throws {
        let sandbox = outputProject(items: 6000)
        let out = sandbox.write("events.jsonl", "the old dataset\n")
        var killedWhileWriting = false
        for _ in 0..<20 where !killedWhileWriting {
            let running = try startDocket(["export", "--format", "labels", "--db", sandbox.databasePath, "--out", out])
            #expect(eventually(seconds: 10) { !temporaries(in: sandbox.directory).isEmpty || !running.process.isRunning })
            if running.process.isRunning, !temporaries(in: sandbox.directory).isEmpty {
                kill(running.process.processIdentifier, SIGKILL)
                killedWhileWriting = true
            }
            _ = running.finish()
        }
        #expect(killedWhileWriting)
        #expect(sandbox.read("events.jsonl") == "the old dataset\n")
        #expect(temporaries(in: sandbox.directory).count == 1)
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.check() == [])
        store.idle()
        #expect(sandbox.run(["export", "--format", "labels", "--out", out]).status == 0)
        #expect(temporaries(in: sandbox.directory) == [])
        #expect(sandbox.read("events.jsonl")?.hasPrefix("{") == true)
    }

    /// SIGTERM during an export removes the temporary and leaves the old target. (Spawned with
    /// default signal dispositions: the test runner may have SIGTERM ignored, and an ignored
    /// signal is inherited.)
    @Test func sigtermDuringExportRemovesTheTemporary() throws {
        let sandbox = outputProject(items: 6000)
        let out = sandbox.write("events.jsonl", "the old dataset\n")
        var caught = false
        for _ in 0..<20 where !caught {
            let pid = spawnWithDefaultSignals([Fixtures.docketBinary, "export", "--format", "labels", "--db", sandbox.databasePath, "--out", out])
            #expect(pid > 0)
            var status: Int32 = 0
            var exited = false
            #expect(eventually(seconds: 10) {
                if waitpid(pid, &status, WNOHANG) == pid { exited = true }
                return exited || !temporaries(in: sandbox.directory).isEmpty
            })
            if !exited {
                kill(pid, SIGTERM)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                caught = (status & 0x7F) == SIGTERM
            }
        }
        #expect(caught)
        #expect(sandbox.read("events.jsonl") == "the old dataset\n")
        #expect(temporaries(in: sandbox.directory).isEmpty)
    }

    /// A full disk (a small tmpfs, as root): export, rejects, report and backup fail with a
    /// sentence, the old target is intact, no temporary is left, and the database passes check.
    @Test func aFullDiskLosesNothing() throws {
        guard getuid() == 0 else {
            print("skipped the full-disk test: mounting a tmpfs needs root")
            return
        }
        let sandbox = outputProject(items: 3000)
        let mount = sandbox.path("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard spawnAndWait(["/bin/mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", mount], stdoutPath: "/dev/null") == 0 else {
            Issue.record("could not mount a tmpfs at \(mount)")
            return
        }
        defer { _ = spawnAndWait(["/bin/umount", mount], stdoutPath: "/dev/null") }
        let old = "the old dataset\n"
        _ = FileManager.default.createFile(atPath: mount + "/events.jsonl", contents: Data(old.utf8))
        _ = FileManager.default.createFile(atPath: mount + "/events.csv", contents: Data(old.utf8))
        _ = FileManager.default.createFile(atPath: mount + "/report.html", contents: Data(old.utf8))

        let export = sandbox.run(["export", "--format", "labels", "--out", mount + "/events.jsonl"])
        #expect(export.status == 73)
        #expect(export.errors.hasPrefix("docket: Cannot write \(mount)/events.jsonl: the disk is full"), "\(export.errors)")
        let csv = sandbox.run(["export", "--format", "labels", "--csv", "--out", mount + "/events.csv"])
        #expect(csv.status == 73)
        #expect(fileText(mount + "/events.jsonl") == old)
        #expect(fileText(mount + "/events.csv") == old)

        // Rejects: 3,000 bad rows whose reasons do not fit; the import rolls back.
        sandbox.write("bad.jsonl", (0..<3000).map { #"{"id":"bad-\#($0)","risk":"very high and then some more text to take room"}"# }.joined(separator: "\n") + "\n")
        let items = try SQLiteStore.open(path: sandbox.databasePath).status(at: Instant(milliseconds: 0)).items
        let rejects = sandbox.run(["import", "items", sandbox.path("bad.jsonl"), "--rejects", mount + "/rejects.jsonl"])
        #expect(rejects.status == 73, "\(rejects.errors)")
        #expect(rejects.errors.hasSuffix("docket: Cannot write \(mount)/rejects.jsonl: the disk is full (No space left on device).\n"), "\(rejects.errors)")
        #expect(try SQLiteStore.open(path: sandbox.databasePath).status(at: Instant(milliseconds: 0)).items == items)
        #expect(!FileManager.default.fileExists(atPath: mount + "/rejects.jsonl"))

        // Backup: the database is larger than the disk.
        let backup = sandbox.run(["backup", mount + "/copy.db"])
        #expect(backup.status != 0)
        #expect(!FileManager.default.fileExists(atPath: mount + "/copy.db"))

        #expect(temporaries(in: mount) == [], "\(temporaries(in: mount))")
        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.check() == [])
    }
}

/// A file's text, or nil when it cannot be read.
func fileText(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// Starts a program with every signal at its default disposition and none blocked; returns its pid.
func spawnWithDefaultSignals(_ arguments: [String]) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0 else { return -1 }
    return pid
}

@Suite(.serialized) struct OutputSafetyReviewTests {
    /// `--rejects` may not overwrite the file that standard input is, nor the pipe it reads.
    @Test func rejectsNeverOverwriteStandardInput() throws {
        let sandbox = outputProject(items: 3)
        sandbox.write("in.jsonl", "{\"id\":\"a1\"}\n{\"id\":\"bad\",\"risk\":5}\n")
        let docket = "'\(Fixtures.docketBinary)' import items - --format jsonl --db '\(sandbox.databasePath)'"
        #expect(shell("\(docket) --rejects in.jsonl < in.jsonl 2> err.txt", in: sandbox) == 73)
        #expect(sandbox.read("err.txt")?.contains("it is this command's standard input") == true, "\(sandbox.read("err.txt") ?? "")")
        #expect(sandbox.read("in.jsonl") == "{\"id\":\"a1\"}\n{\"id\":\"bad\",\"risk\":5}\n")
        // A pipe as standard input and /dev/stdin as the rejects: refused, not a hang.
        #expect(shell("cat in.jsonl | timeout 10 \(docket) --rejects /dev/stdin 2> err.txt", in: sandbox) == 73)
    }

    /// A reader that leaves a pipe named as --out ends the command quietly, like `| head`.
    @Test func aPipeNamedAsOutputThatClosesIsQuiet() throws {
        let sandbox = outputProject(items: 3000)
        let status = spawnAndWait(["/bin/bash", "-c", "set -o pipefail; '\(Fixtures.docketBinary)' export --format labels --out /dev/stdout --db '\(sandbox.databasePath)' 2> '\(sandbox.path("err.txt"))' | head -c 10 > /dev/null"], stdoutPath: sandbox.path("o.txt"))
        #expect(status == 141)
        #expect(sandbox.read("err.txt") == "")
    }

    /// An existing target's set-user-ID bit is never carried over; a backup gets the usual mode
    /// and fails like every other writer.
    @Test func modesAndBackupFailures() throws {
        let sandbox = outputProject(items: 3)
        let out = sandbox.write("labels.jsonl", "old\n")
        chmod(out, 0o4755)
        #expect(sandbox.run(["export", "--format", "labels", "--out", out]).status == 0)
        var info = stat()
        #expect(stat(out, &info) == 0 && info.st_mode & 0o7777 == 0o755)
        #expect(sandbox.run(["backup", "-"]).status == 73)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("-")))
        #expect(sandbox.run(["backup", sandbox.path("copy.db")]).status == 0)
        let mask = umask(0)
        umask(mask)
        #expect(stat(sandbox.path("copy.db"), &info) == 0 && info.st_mode & 0o777 == 0o666 & ~mask)
    }

    /// The lock file beside the database is never opened through a planted symlink.
    @Test func theLockFileDoesNotFollowASymlink() throws {
        let sandbox = outputProject(items: 3)
        unlink(sandbox.databasePath + ".lock")
        symlink(sandbox.path("planted"), sandbox.databasePath + ".lock")
        _ = sandbox.run("reviewers add zed")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("planted")))
    }
}
