import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Reads one row of a labels file.
enum LabelRowParser {
    static let fields = ["item", "reviewer", "label", "created_at", "rubric"]

    static func parse(_ fields: [(String, RawField)]) -> RowResult<LabelRow> {
        var problems: [FieldProblem] = []
        var values: [String: String] = [:]
        for (name, raw) in fields {
            guard Self.fields.contains(name) else {
                problems.append(Self.unknownField(name))
                continue
            }
            switch raw {
            case .text(let text): values[name] = text
            case .json(.string(let text)): values[name] = text
            case .json(.number(let number)): values[name] = JSONText.number(number)
            case .json(.null): break
            case .json(let other): problems.append(FieldProblem(field: name, problem: "expected text, got \(other.typeName)"))
            }
        }
        // (The item id and the reviewer's name have rules of their own that refuse any control character.)
        for name in Self.fields where name != "item" && name != "reviewer" && values[name].map(StoredText.hasNUL) == true {
            problems.append(FieldProblem(field: name, problem: StoredText.nulProblem))
        }
        for required in ["item", "reviewer", "label"] where (values[required] ?? "").isEmpty {
            problems.append(FieldProblem(field: required, problem: "required"))
        }
        // The item may be created (--create-items): the id rule of item imports applies.
        if let item = values["item"], !item.isEmpty, let problem = ItemID.problem(item) {
            problems.append(FieldProblem(field: "item", problem: problem))
        }
        if let reviewer = values["reviewer"], !reviewer.isEmpty {
            do { values["reviewer"] = try ReviewerName.normalised(reviewer) } catch {
                problems.append(FieldProblem(field: "reviewer", problem: error.description))
            }
        }
        var createdAt: Instant?
        if let text = values["created_at"] {
            do { createdAt = try Instant.parse(text) } catch {
                problems.append(FieldProblem(field: "created_at", problem: error.description))
            }
        }
        var rubric: Int?
        if let text = values["rubric"] {
            rubric = Int(text)
            if rubric == nil { problems.append(FieldProblem(field: "rubric", problem: "'\(text)' is not a rubric version number")) }
        }
        guard problems.isEmpty else { return .invalid(problems) }
        return .valid(LabelRow(item: values["item"]!, reviewer: values["reviewer"]!, label: values["label"]!, createdAt: createdAt, rubric: rubric))
    }

    /// The problem reported for a field (or a CSV column) that is not a field of a labels row.
    static func unknownField(_ name: String) -> FieldProblem {
        FieldProblem(field: name, problem: "unknown field (known fields: \(fields.joined(separator: ", ")))")
    }
}

enum RowFormat: String {
    case jsonl, csv

    static func resolve(file: String, format: String?) throws(CommandError) -> RowFormat {
        if let format {
            guard let kind = RowFormat(rawValue: format.lowercased()) else {
                throw .invalidOption(name: "--format", value: format, reason: "use jsonl or csv")
            }
            return kind
        }
        let lower = file.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonl }
        if lower.hasSuffix(".csv") { return .csv }
        throw .unknownFormat(path: file)
    }
}

/// A row's lines as read, for the rejects file: bytes, joined by a line break when a CSV record
/// spans lines.
struct RawLine {
    private(set) var bytes: [UInt8] = []

    init() {}
    init(_ line: UnsafeBufferPointer<UInt8>) { bytes = Array(line) }
    init(text: String) { bytes = Array(text.utf8) }

    mutating func append(line: UnsafeBufferPointer<UInt8>) {
        if !bytes.isEmpty { bytes.append(0x0A) }
        bytes.append(contentsOf: line)
    }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// The text, or nil when the bytes are not UTF-8.
    var text: String? { UTF8Check.isValid(bytes) ? String(decoding: bytes, as: UTF8.self) : nil }

    /// The bytes in base64 (RFC 4648, with padding).
    var base64: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Writes rejected rows as JSONL: {"line": N, "errors": ["field: problem", …], "raw": "…"}.
/// Goes through `OutputFile`: written and synced before the import commits (a failure to write it
/// rolls the import back), put in place only after the commit.
final class RejectsWriter {
    let path: String
    private let file: OutputFile
    private var failure: CommandError?

    init(path: String, protecting: [String]) throws(CommandError) {
        self.path = path
        self.file = try OutputFile(path: path, protecting: protecting)
    }

    func write(line: Int, problems: [FieldProblem], raw: RawLine) {
        guard failure == nil else { return }
        var object = JSONObjectWriter()
        object.set("line", line)
        object.set("errors", .array(problems.map { .string($0.description) }))
        // The line as it was: as text when it is UTF-8, else its exact bytes in base64 (a JSON
        // string cannot hold them, and replacing them would lose what the file said).
        if let text = raw.text { object.set("raw", text) } else { object.set("raw_base64", raw.base64) }
        do { try file.write(object.value.encoded() + "\n") } catch { failure = error }
    }

    /// Before the import commits: makes the file durable when it holds rejected rows (else
    /// removes it), or throws, so the import rolls back when its rejects cannot be kept.
    func prepare(keep: Bool) throws(CommandError) {
        if let failure {
            file.abandon()
            throw failure
        }
        if keep { try file.makeDurable() } else { file.abandon() }
    }

    /// After the import committed: puts the file in place (nothing, if `prepare` removed it).
    func putInPlace() throws(CommandError) {
        do { try file.commit() } catch {
            guard case .cannotWrite(let path, let reason) = error else { throw error }
            throw .cannotWrite(path: path, reason: reason + "; the import itself was committed")
        }
    }

    func abandon() { file.abandon() }
}

/// Streams rows from a JSONL or CSV file to a handler, collecting every problem with its line.
///
/// Two stages on two cores: reading, parsing and `prepare` (the row's own rules, pure) on a
/// thread of their own; `apply` (the store) and every report on the calling thread, in line
/// order, so the problems listed and the rejects file are those of reading row by row.
final class RowFileImporter {
    let reader: LineReader
    let format: RowFormat
    let console: any Console
    let maxListed: Int
    let rejects: RejectsWriter?
    /// A column the CSV header must have.
    var requiredColumn: String? = "id"
    /// The problem of a CSV column that is not a field of a row, or nil for a known column. An
    /// unknown column is reported once, at the header's line, not once per row.
    var unknownColumn: (String) -> FieldProblem? = { ItemRowParser.isKnown($0) ? nil : ItemRowParser.unknownField($0) }
    /// The CSV header had problems: every row depends on it, so nothing is imported, even with --rejects.
    /// Told, on the applying side, how far the reading is: bytes read, the input's size when
    /// known, and rows read.
    var onProgress: ((_ done: Int64, _ total: Int64?, _ rows: Int) throws -> Void)?
    private(set) var headerRefused = false
    private(set) var problemCount = 0
    private(set) var rejectedRows = 0
    private var listed = 0

    /// What the reading stage found, in line order: a row to apply (with its raw text when a
    /// rejects file may need it), problems to report, or how far the reading is.
    enum Step<Prepared> {
        case row(line: Int, Prepared, raw: RawLine?)
        case problems(line: Int, [FieldProblem], raw: RawLine, header: Bool)
        case progress(done: Int64, total: Int64?, rows: Int)
        case notice(String)
    }

    init(reader: LineReader, format: RowFormat, console: any Console, maxListed: Int, rejects: RejectsWriter?) {
        self.reader = reader
        self.format = format
        self.console = console
        self.maxListed = maxListed
        self.rejects = rejects
    }

    func report(line: Int, _ problems: [FieldProblem], raw: @autoclosure () -> RawLine) {
        problemCount += problems.count
        rejectedRows += 1
        rejects?.write(line: line, problems: problems, raw: raw())
        for problem in problems {
            if listed < maxListed {
                console.writeError("\(reader.name):\(line): \(problem.field): \(Sanitize.inline(problem.problem))\n")
            }
            listed += 1
        }
    }

    /// Reads every row: `prepare` turns its fields into what `apply` takes (on the reading
    /// thread), and `apply` returns the row's problems (none when it was taken).
    func run<Prepared>(prepare: ([(String, RawField)]) -> Prepared, apply: (Prepared) throws -> [FieldProblem]) throws -> ImportDecision {
        let progress = ProgressBar(console: console, label: "importing \(reader.name)")
        func handle(_ step: Step<Prepared>) throws {
            switch step {
            case .row(let line, let prepared, let raw):
                let problems = try apply(prepared)
                if !problems.isEmpty { report(line: line, problems, raw: raw ?? RawLine()) }
            case .problems(let line, let problems, let raw, let header):
                if header { headerRefused = true }
                report(line: line, problems, raw: raw)
            case .progress(let done, let total, let rows):
                progress.update(done: done, total: total, rows: rows)
                try onProgress?(done, total, rows)
            case .notice(let text):
                console.writeError(text)
            }
        }
        var rows = 0
        try Pipeline.run(
            produce: { send in
                var batch: [Step<Prepared>] = []
                batch.reserveCapacity(Self.batchSize)
                rows = try read(prepare: prepare) { step in
                    batch.append(step)
                    if batch.count == Self.batchSize {
                        try send(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty { try send(batch) }
            },
            consume: { batch in for step in batch { try handle(step) } })
        progress.finish()
        if listed > maxListed {
            console.writeError("\(reader.name): … and \(Format.count(listed - maxListed)) more problems.\n")
        }
        if rows == 0, problemCount == 0 {
            console.writeError("\(reader.name): no rows found.\n")
        }
        if headerRefused {
            rejects?.abandon()
            return .rollback
        }
        if problemCount > 0, rejects == nil { return .rollback }
        // The rejects file is on the disk before the import commits (if it cannot be written,
        // the import rolls back and nothing is lost) and put in place after the commit.
        try rejects?.prepare(keep: rejectedRows > 0)
        return .commit(rejected: rejectedRows)
    }

    /// Rows handed from the reading thread to the store at a time.
    static let batchSize = 256

    /// The error of an import that was rolled back.
    func rejection() -> CommandError {
        headerRefused
            ? .importHeaderRejected(file: reader.name, problems: problemCount)
            : .importRejected(file: reader.name, problems: problemCount)
    }

    /// The reading stage: every row and problem of the file, in order, through `emit`; returns
    /// the number of rows. Touches only the reader and the settings, never the counts.
    private func read<Prepared>(prepare: ([(String, RawField)]) -> Prepared, _ emit: (Step<Prepared>) throws -> Void) throws -> Int {
        switch format {
        case .jsonl: return try readJSONL(prepare: prepare, emit)
        case .csv: return try readCSV(prepare: prepare, emit)
        }
    }

    private func readJSONL<Prepared>(prepare: ([(String, RawField)]) -> Prepared, _ emit: (Step<Prepared>) throws -> Void) throws -> Int {
        var rows = 0
        let keepRaw = rejects != nil
        while let _ = try reader.nextLine({ bytes throws -> Void in
            let line = reader.lineNumber
            // Blank lines are allowed between records.
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            rows += 1
            let raw = { RawLine(bytes) }
            let value: JSONValue
            do throws(JSONSyntaxError) { value = try JSON.parse(bytes: bytes) } catch {
                // Bad bytes are never replaced: the row is refused, naming the field that holds them.
                let problem = error.isInvalidUTF8
                    ? FieldProblem(field: error.member ?? "line", problem: UTF8Check.problem)
                    : FieldProblem(field: "json", problem: "\(error)")
                try emit(.problems(line: line, [problem], raw: raw(), header: false))
                return
            }
            guard case .object(let members) = value else {
                try emit(.problems(line: line, [FieldProblem(field: "json", problem: "each line must be a JSON object, got \(value.typeName)")], raw: raw(), header: false))
                return
            }
            try emit(.row(line: line, prepare(members.map { ($0.0, RawField.json($0.1)) }), raw: keepRaw ? raw() : nil))
            if rows & 0x3FF == 0 { try emit(.progress(done: reader.bytesRead, total: reader.size, rows: rows)) }
        }) {}
        return rows
    }

    private func readCSV<Prepared>(prepare: ([(String, RawField)]) -> Prepared, _ emit: (Step<Prepared>) throws -> Void) throws -> Int {
        var csv = CSVRecordReader()
        var header: [String]?
        var rows = 0
        var recordStart = 1
        var rawLines = RawLine()
        let keepRaw = rejects != nil
        // Columns left out of every row: unknown, or named with bytes that are not UTF-8 (both
        // reported once, at the header).
        var skipped: [Bool] = []
        var columnNames: [String] = []
        // A header line that cannot be read leaves nothing to read the rows by.
        var headerUnreadable = false
        var recordBytes = 0
        while let _ = try reader.nextLine({ bytes throws -> Void in
            guard !headerUnreadable else { return }
            let line = reader.lineNumber
            if !csv.pending { recordStart = line; rawLines.removeAll(); recordBytes = 0 }
            // A quoted cell may hold line breaks: the record, not only the line, is bounded.
            recordBytes += bytes.count + 1
            if recordBytes > reader.maxLineBytes { throw CommandError.recordTooLong(path: reader.name, line: recordStart, limit: reader.maxLineBytes) }
            if keepRaw { rawLines.append(line: bytes) }
            let record: [String]?
            do { record = try csv.feed(bytes) } catch {
                headerUnreadable = header == nil
                try emit(.problems(line: recordStart, [FieldProblem(field: "csv", problem: "\(error)")], raw: rawLines, header: headerUnreadable))
                return
            }
            guard let record else { return }
            guard let columns = header else {
                columnNames = record
                for bad in csv.invalidFields { columnNames[bad.index] = bad.escaped }
                skipped = try checkHeader(record, invalid: csv.invalidFields, line: recordStart, emit)
                header = record
                return
            }
            if record.count == 1, record[0].isEmpty { return }
            rows += 1
            if !csv.invalidFields.isEmpty {
                let problems = csv.invalidFields.map { bad in
                    FieldProblem(field: bad.index < columnNames.count ? columnNames[bad.index] : "line", problem: UTF8Check.problem)
                }
                try emit(.problems(line: recordStart, problems, raw: rawLines, header: false))
                return
            }
            guard record.count == columns.count else {
                try emit(.problems(
                    line: recordStart, [FieldProblem(field: "csv", problem: "the row has \(record.count) fields, the header has \(columns.count)")],
                    raw: rawLines, header: false))
                return
            }
            var fields: [(String, RawField)] = []
            for index in 0..<columns.count where !record[index].isEmpty && !skipped[index] {
                fields.append((columns[index], .text(record[index])))
            }
            try emit(.row(line: recordStart, prepare(fields), raw: keepRaw ? rawLines : nil))
            if rows & 0x3FF == 0 { try emit(.progress(done: reader.bytesRead, total: reader.size, rows: rows)) }
        }) {}
        do { try csv.finish() } catch {
            try emit(.problems(line: recordStart, [FieldProblem(field: "csv", problem: "\(error)")], raw: rawLines, header: header == nil))
        }
        // An empty file imports nothing, as an empty JSONL file does ("no rows found").
        return rows
    }

    /// Reports every problem of the header line at once; returns the columns to leave out of rows.
    private func checkHeader<Prepared>(
        _ header: [String], invalid: [CSVRecordReader.InvalidField], line: Int, _ emit: (Step<Prepared>) throws -> Void
    ) throws -> [Bool] {
        var seen = Set<String>()
        var problems: [FieldProblem] = []
        var skipped = [Bool](repeating: false, count: header.count)
        let invalidNames = Dictionary(uniqueKeysWithValues: invalid.map { ($0.index, $0.escaped) })
        for (index, name) in header.enumerated() {
            if let escaped = invalidNames[index] {
                problems.append(FieldProblem(field: escaped, problem: UTF8Check.problem))
                skipped[index] = true
                continue
            }
            if !seen.insert(name).inserted { problems.append(FieldProblem(field: name, problem: "column named twice in the header")) }
            if let unknown = unknownColumn(name) {
                problems.append(unknown)
                skipped[index] = true
            }
        }
        if let required = requiredColumn, !header.contains(required) {
            problems.append(FieldProblem(field: required, problem: "the header has no \(required) column"))
        }
        if !problems.isEmpty { try emit(.problems(line: line, problems, raw: RawLine(text: header.joined(separator: ",")), header: true)) }
        return skipped
    }
}
