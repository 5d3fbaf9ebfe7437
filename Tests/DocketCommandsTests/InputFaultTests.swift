import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands
@testable import DocketStore

/// A reviewer's counts from `reviewers list --json`.
func reviewCount(_ sandbox: Sandbox, _ name: String) throws -> Int {
    let listed = sandbox.run("reviewers list --json")
    guard case .array(let rows) = try JSON.parse(listed.output) else { return -1 }
    for row in rows where row["name"] == .string(name) {
        if case .number(let reviews)? = row["reviews"] { return Int(reviews) }
    }
    return -1
}

/// Inputs that fail part way, lines that never end, and sessions whose output is gone: nothing
/// is taken that was not read whole, nor answered that was not shown.
@Suite(.serialized) struct InputFaultTests {
    /// The line reader gives every line exactly, across its buffer's refills, and refuses a
    /// line longer than its limit with the line's number instead of growing without bound.
    @Test func theLineReaderIsExactAndBounded() throws {
        let sandbox = Sandbox()
        var generator = SplitMix64(seed: 5)
        var lines: [String] = []
        for index in 0..<3000 {
            let length = Int(generator.next() % 300)
            lines.append(String(repeating: Character(UnicodeScalar(UInt8(97 + index % 26))), count: length))
        }
        // CRLF endings, a BOM on the first line, no line break after the last.
        let text = "\u{FEFF}" + lines.joined(separator: "\r\n")
        let path = sandbox.write("lines.txt", text)
        let reader = try LineReader(path: path, maxLineBytes: 300)
        var read: [String] = []
        while let line = try reader.nextLine({ String(decoding: $0, as: UTF8.self) }) { read.append(line) }
        #expect(read == lines)
        #expect(reader.lineNumber == 3000)
        #expect(reader.bytesRead == Int64(text.utf8.count))

        // A line of exactly the limit is read; one byte more is refused, naming its line.
        let exact = sandbox.write("exact.txt", "a\n" + String(repeating: "x", count: 100) + "\nb")
        let fits = try LineReader(path: exact, maxLineBytes: 100)
        var count = 0
        while try fits.nextLine({ _ in () }) != nil { count += 1 }
        #expect(count == 3)
        for ending in ["\n", "", "\r\n"] {
            let long = sandbox.write("long.txt", "a\n" + String(repeating: "x", count: 101) + ending + "b\n")
            let reader = try LineReader(path: long, maxLineBytes: 100)
            #expect(try reader.nextLine({ String(decoding: $0, as: UTF8.self) }) == "a")
            #expect(throws: CommandError.lineTooLong(path: long, line: 2, limit: 100)) { try reader.nextLine({ _ in () }) }
        }
        let empty = try LineReader(path: sandbox.write("empty.txt", ""))
        #expect(try empty.nextLine({ _ in () }) == nil)
        #expect(CommandError.lineTooLong(path: "big.jsonl", line: 1001, limit: 64 << 20).description
            == "big.jsonl:1001: the line is longer than 64 MiB, the longest Docket reads; nothing was imported from it.")
    }

    /// A read that fails is an error, never the end of the file: the rows read before it are
    /// not kept (`/proc/self/mem` fails its first read with EIO).
    @Test func aReadErrorIsNotTheEndOfTheFile() throws {
        let sandbox = outputProject(items: 5)
        let imported = sandbox.run(["import", "items", "/proc/self/mem", "--format", "jsonl"])
        #expect(imported.status == 74, "\(imported.errors)")
        #expect(imported.errors == "docket: Cannot read /proc/self/mem: Input/output error; nothing read from it was kept.\n")
        #expect(imported.output == "")
        let labels = sandbox.run(["import", "labels", "/proc/self/mem", "--format", "csv"])
        #expect(labels.status == 74, "\(labels.errors)")
    }

    /// A line longer than the limit ends the import with the file and line named, and the rows
    /// before it are not kept, with --rejects too (the line cannot be set aside whole).
    @Test func aLineLongerThanTheLimitImportsNothing() throws {
        let sandbox = outputProject(items: 5)
        let before = sandbox.run("status --json").output
        let path = sandbox.path("huge.jsonl")
        let good = (0..<1000).map { #"{"id":"pre-\#($0)"}"# }.joined(separator: "\n") + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(good.utf8))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"id":"huge","prompt":""#.utf8))
        let block = Data(repeating: 0x61, count: 1 << 20)
        for _ in 0..<65 { handle.write(block) }
        handle.write(Data("\"}\n{\"id\":\"after\"}\n".utf8))
        try handle.close()
        for extra in [[], ["--rejects", sandbox.path("rejects.jsonl")]] {
            let run = sandbox.run(["import", "items", path] + extra)
            #expect(run.status == 65, "\(run.errors)")
            #expect(run.errors == "docket: \(path):1001: the line is longer than 64 MiB, the longest Docket reads; nothing was imported from it.\n")
            #expect(sandbox.run("status --json").output == before)
            #expect(!FileManager.default.fileExists(atPath: sandbox.path("rejects.jsonl")))
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The rejects file appears only once the import has committed: when the commit fails
    /// (here the WAL outgrows `ulimit -f`), there is no rejects file and no item.
    @Test func theRejectsFileAppearsOnlyAfterTheCommit() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let rows = (0..<2000).map { #"{"id":"r\#($0)","prompt":"\#(String(repeating: "text ", count: 20))"}"# } + [#"{"id":"bad","risk":9}"#]
        sandbox.write("rows.jsonl", rows.joined(separator: "\n") + "\n")
        let docket = "'\(Fixtures.docketBinary)'"
        let status = shell("ulimit -f 40; \(docket) import items rows.jsonl --rejects rejects.jsonl --db '\(sandbox.databasePath)' 2> err.txt", in: sandbox)
        #expect(status != 0, "\(sandbox.read("err.txt") ?? "")")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("rejects.jsonl")))
        #expect(temporaries(in: sandbox.directory) == [])
        #expect(try SQLiteStore.open(path: sandbox.databasePath).status(at: Instant(milliseconds: 0)).items == 0)
        // Without the limit the same import commits, and the rejects file is there.
        let again = sandbox.run(["import", "items", sandbox.path("rows.jsonl"), "--rejects", sandbox.path("rejects.jsonl")])
        #expect(again.status == 0, "\(again.errors)")
        #expect(sandbox.read("rejects.jsonl") == #"{"line":2001,"errors":["risk: must be between 0 and 1, got 9"],"raw":"{\"id\":\"bad\",\"risk\":9}"}"# + "\n")
    }

    /// A rejected line that is not UTF-8 keeps its exact bytes, in base64.
    @Test func aRejectedLineKeepsItsBytes() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let path = sandbox.path("latin.jsonl")
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0x72, 0xFF, 0x22, 0x7D, 0x0A]) + Data(#"{"id":"ok"}"#.utf8) + Data([0x0A]))
        let run = sandbox.run(["import", "items", path, "--rejects", sandbox.path("rejects.jsonl")])
        #expect(run.status == 0, "\(run.errors)")
        let rejects = try #require(sandbox.read("rejects.jsonl"))
        #expect(rejects == #"{"line":1,"errors":["id: invalid UTF-8"],"raw_base64":"eyJpZCI6InL/In0="}"# + "\n")
        #expect(Data(base64Encoded: "eyJpZCI6InL/In0=") == Data([0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0x72, 0xFF, 0x22, 0x7D]))
        // CSV records keep their lines too; base64 of lengths 0, 1 and 2 past a group of three.
        #expect(RawLine(text: "").base64 == "")
        #expect(RawLine(text: "f").base64 == "Zg==")
        #expect(RawLine(text: "fo").base64 == "Zm8=")
        #expect(RawLine(text: "foobar").base64 == "Zm9vYmFy")
    }

    /// Once standard output fails, a session takes no further answer: nothing is recorded for
    /// items nobody saw.
    @Test func aSessionWhoseOutputFailsRecordsNothingUnseen() throws {
        let sandbox = outputProject(items: 40)
        sandbox.run("reviewers add bo")
        let docket = "'\(Fixtures.docketBinary)'"
        let db = "--db '\(sandbox.databasePath)'"
        let full = shell("printf 'safe\\nsafe\\nsafe\\nsafe\\n' | \(docket) review --as bo \(db) > /dev/full 2> err.txt", in: sandbox)
        #expect(full == 74, "\(sandbox.read("err.txt") ?? "")")
        #expect(sandbox.read("err.txt") == "docket: Cannot write to standard output: No space left on device.\n")
        #expect(try reviewCount(sandbox, "bo") == 0)
        #expect(sandbox.run("queue --json").status == 0)
        // A reader that goes away after 100 bytes: 141, and at most the item it saw is answered.
        let piped = spawnAndWait(["/bin/bash", "-c", "set -o pipefail; yes safe | \(docket) review --as bo --json \(db) 2> '\(sandbox.path("err2.txt"))' | head -c 100 > /dev/null"], stdoutPath: sandbox.path("o.txt"))
        #expect(piped == 141)
        #expect(try reviewCount(sandbox, "bo") <= 1)
        // Triage takes no severity once its output is gone.
        sandbox.run("reviewers add lee --role lead")
        sandbox.run(["review", "--as", "ana"], stdin: "flag unsafe 3 x\nquit\n")
        let waiting = sandbox.run(["triage", "--as", "lee"], stdin: "q\n").output
        #expect(waiting.contains("Triage as lee: 1 item."), "\(waiting)")
        let triage = shell("printf '2\\n2\\n2\\n' | \(docket) triage --as lee \(db) > /dev/full 2> err.txt", in: sandbox)
        #expect(triage == 74)
        #expect(!sandbox.run("log").output.contains("triage"))
    }

    /// Two writers opening a database kept in rollback mode (a fresh backup) at once: the
    /// switch to WAL waits for the other instead of failing at once.
    @Test func twoFirstWritersOnARollbackFileBothSucceed() throws {
        let sandbox = outputProject(items: 5)
        sandbox.write("one.jsonl", (0..<3000).map { #"{"id":"one-\#($0)"}"# }.joined(separator: "\n") + "\n")
        sandbox.write("two.jsonl", (0..<3000).map { #"{"id":"two-\#($0)"}"# }.joined(separator: "\n") + "\n")
        for round in 0..<8 {
            let copy = sandbox.path("copy-\(round).db")
            #expect(sandbox.run(["backup", copy]).status == 0)
            let first = try startDocket(["import", "items", sandbox.path("one.jsonl"), "--db", copy])
            let second = try startDocket(["import", "items", sandbox.path("two.jsonl"), "--db", copy])
            let (a, b) = (first.finish(), second.finish())
            #expect(a.status == 0, "round \(round): \(a.errors)")
            #expect(b.status == 0, "round \(round): \(b.errors)")
            #expect(try SQLiteStore.open(path: copy).status(at: Instant(milliseconds: 0)).items == 6005)
        }
    }

    /// A task definition that holds no settings is refused, not applied as one with every
    /// default; a device that never ends is refused at a bound.
    @Test func anEmptyOrEndlessTaskDefinitionIsRefused() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let before = sandbox.run("config show").output
        for text in ["", "# only a comment\n", "\n\n"] {
            let path = sandbox.write("empty.yaml", text)
            let run = sandbox.run(["config", "apply", path])
            #expect(run.status == 65, "\(text): \(run.errors)")
            #expect(run.errors.hasPrefix("\(path): the file holds no settings (it is empty, or only comments)\n"), "\(run.errors)")
        }
        let endless = sandbox.run(["config", "apply", "/dev/zero"])
        #expect(endless.status == 66)
        #expect(endless.errors == "docket: Cannot open /dev/zero: it is longer than 16 MiB, far more than a task definition holds.\n")
        #expect(sandbox.run("config show").output == before)
    }

    /// `config show` writes a label's control characters as visible escapes in its comment too,
    /// so what it writes applies again as the same rubric.
    @Test func configShowRoundTripsALabelWithAControlCharacter() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let path = sandbox.write("h.yaml", "labels: [\"s\", \"unsafe\\e]0;T\\a\"]\nlevel: ordinal\n")
        #expect(sandbox.run(["config", "apply", path]).status == 0)
        let shown = sandbox.run("config show").output
        #expect(!shown.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(shown.contains("# harmful: not set, so [unsafe\\e]0;T\\x07] (the last label of the ordered scale) by default\n"), "\(shown)")
        let copy = sandbox.write("copy.yaml", shown)
        let again = sandbox.run(["config", "apply", copy])
        #expect(again.status == 0, "\(again.errors)")
        #expect(sandbox.run("config show").output == shown)
    }

    /// Options that would compute over nothing, or print a negative zero.
    @Test func emptyAndNegativeZeroOptions() throws {
        let sandbox = outputProject(items: 5)
        let empty = sandbox.run(["agreement", "--reviewers", ""])
        #expect(empty.status == 64)
        #expect(empty.errors == "docket: Invalid --reviewers '': name reviewers separated by commas, with no empty name.\n")
        for list in [",", "r1,", ",r1", "r1,,r2"] { #expect(sandbox.run(["agreement", "--reviewers", list]).status == 64, "\(list)") }
        #expect(sandbox.run(["agreement", "--reviewers", "r1,r2"]).status == 0)
        let bar = sandbox.run(["calibrate", "--bar=-0"])
        #expect(!bar.output.contains("-0.00"), "\(bar.output)")
        // migrate names what is in the way, and writes nothing beside it.
        for target in ["/dev/null", sandbox.directory, sandbox.write("exists.db", "")] {
            let run = sandbox.run(["migrate", "--to", target])
            #expect(run.status != 0)
            #expect(run.errors == "docket: \(target) already exists; name a new file for the copy. Nothing was written.\n", "\(run.errors)")
        }
    }

    /// Input lines of a session that are not UTF-8 are ignored with a sentence, never stored with
    /// U+FFFD in place of what was typed.
    @Test func aSessionIgnoresLinesThatAreNotUTF8() throws {
        let sandbox = outputProject(items: 40)
        sandbox.run("reviewers add bo")
        let docket = "'\(Fixtures.docketBinary)'"
        let status = shell("printf 'note caf\\351\\nquit\\n' | \(docket) review --as bo --db '\(sandbox.databasePath)' > out.txt 2> err.txt", in: sandbox)
        #expect(status == 0)
        #expect(sandbox.read("err.txt")?.contains("docket: a line of input that is not UTF-8 text was refused; nothing of it was recorded.\n") == true, "\(sandbox.read("err.txt") ?? "") \(sandbox.read("out.txt") ?? "")")
        #expect(!sandbox.run(["log", "--reviewer", "bo"]).output.contains("caf"))
    }

    /// A CSV header line that cannot be read is the header's problem (nothing imported, even
    /// with --rejects), said once; an empty CSV file imports nothing, as an empty JSONL file does.
    @Test func anUnreadableCSVHeaderAndAnEmptyFile() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        let path = sandbox.write("rows.jsonl", #"{"id":"x1"}"# + "\n" + #"{"id":"x2"}"# + "\n")
        for extra in [[], ["--rejects", sandbox.path("r.jsonl")]] {
            let run = sandbox.run(["import", "items", path, "--format", "csv"] + extra)
            #expect(run.status == 65)
            #expect(run.errors == """
                \(path):1: csv: a quote inside an unquoted field at column 2 (quote the whole field and double inner quotes)
                docket: Nothing was imported from \(path): 1 problem (listed above). Every row depends on the header line, so fix it first; --rejects sets aside bad rows, not a bad header.

                """)
            #expect(!FileManager.default.fileExists(atPath: sandbox.path("r.jsonl")))
        }
        for name in ["empty.csv", "empty.jsonl"] {
            let run = sandbox.run(["import", "items", sandbox.write(name, "")])
            #expect(run.status == 0)
            #expect(run.errors == "\(sandbox.path(name)): no rows found.\n")
            #expect(run.output == "Imported \(sandbox.path(name)): 0 new.\n")
        }
    }

    /// `check` on a file with a damaged page lists what SQLite's integrity check found, instead
    /// of ending on the bare "malformed" of an invariant's query that read the same pages.
    @Test func checkListsTheDamageOfADamagedFile() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels a,b --seed 1")
        sandbox.write("k.jsonl", (0..<3000).map { #"{"id":"k\#($0)","prompt":"\#(String(repeating: "p", count: 200))"}"# }.joined(separator: "\n") + "\n")
        #expect(sandbox.run(["import", "items", sandbox.path("k.jsonl")]).status == 0)
        let connection = try Connection(path: sandbox.databasePath, flags: [.readWrite])
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let pages = try connection.int("PRAGMA page_count")
        let handle = try #require(FileHandle(forUpdatingAtPath: sandbox.databasePath))
        handle.seek(toFileOffset: UInt64(4096 * (pages / 4) + 100))
        handle.write(Data(repeating: 0xFF, count: 300))
        try handle.close()
        let run = sandbox.run("check")
        #expect(run.status == 1)
        #expect(run.errors.hasPrefix("violation: sqlite-integrity: "), "\(run.output) \(run.errors)")
        #expect(run.errors.hasSuffix("violations.\n") || run.errors.hasSuffix("violation.\n"), "\(run.errors)")
    }

    /// A CSV record is bounded like a line: a quoted cell that runs over many lines ends the
    /// import at the limit, naming the line the record starts on.
    @Test func aCSVRecordOverManyLinesIsBounded() throws {
        let sandbox = Sandbox()
        let path = sandbox.write("open.csv", "id,prompt\nx1,fine\nx2,\"" + String(repeating: "aaaaaaaaa\n", count: 30))
        let reader = try LineReader(path: path, maxLineBytes: 100)
        let importer = RowFileImporter(reader: reader, format: .csv, console: RecordingConsole(), maxListed: 10, rejects: nil)
        #expect(throws: CommandError.recordTooLong(path: path, line: 3, limit: 100)) {
            _ = try importer.run(prepare: { $0 }) { _ in [] }
        }
        #expect(CommandError.recordTooLong(path: "a.csv", line: 3, limit: 64 << 20).description
            == "a.csv:3: the record that starts here is longer than 64 MiB (a quoted cell that is never closed?); nothing was imported from it.")
    }

    /// NUL is refused in label rows, in a task definition, and in a skip's reason; an empty
    /// mapping is no definition.
    @Test func nulInLabelsAndDefinitionsAndAnEmptyMapping() throws {
        let sandbox = outputProject(items: 40)
        let labels = sandbox.write("l.jsonl", #"{"item":"o1","reviewer":"zed","label":"sa\u0000fe"}"# + "\n")
        let run = sandbox.run(["import", "labels", labels])
        #expect(run.status == 65)
        #expect(run.errors.hasPrefix("\(labels):1: label: \(StoredText.nulProblem)\n"), "\(run.errors)")
        let yaml = sandbox.write("n.yaml", "labels: [safe, \"un\\0safe\"]\n")
        let applied = sandbox.run(["config", "apply", yaml])
        #expect(applied.status == 65)
        #expect(applied.errors.hasPrefix("\(yaml):1: labels: a name or text \(StoredText.nulProblem)\n"), "\(applied.errors)")
        let empty = sandbox.write("e.yaml", "{}\n")
        let none = sandbox.run(["config", "apply", empty])
        #expect(none.status == 65)
        #expect(none.errors.hasPrefix("\(empty): the file holds no settings (an empty mapping)\n"), "\(none.errors)")
        sandbox.run("reviewers add bo")
        let docket = "'\(Fixtures.docketBinary)'"
        _ = shell("printf 'skip r\\000s\\nquit\\n' | \(docket) review --as bo --db '\(sandbox.databasePath)' > out.txt 2>&1", in: sandbox)
        #expect(sandbox.read("out.txt")?.contains("! The reason \(StoredText.nulProblem).") == true, "\(sandbox.read("out.txt") ?? "")")
        // A line that is not UTF-8 inside a text typed line by line abandons the text.
        _ = shell("printf 'critique\\nab\\376\\nfine\\n.\\nquit\\n' | \(docket) review --as bo --db '\(sandbox.databasePath)' > out.txt 2>&1", in: sandbox)
        #expect(sandbox.read("out.txt")?.contains("Critique abandoned; nothing was recorded.") == true, "\(sandbox.read("out.txt") ?? "")")
        #expect(try reviewCount(sandbox, "bo") == 0)
        #expect(!sandbox.run(["log", "--reviewer", "bo"]).output.contains("critique"))
    }
}
