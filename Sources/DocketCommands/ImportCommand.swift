import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import items or labels from JSONL or CSV.",
        subcommands: [Items.self, Labels.self]
    )

    struct Items: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import items to review.",
            discussion: """
                Fields: id (required, unique), prompt, response, responses (2 or more candidates), category, risk (0..1), uncertainty (0..1) or probs (class probabilities), diversity (0..1) or embedding (array of numbers), gold (a declared label), meta (a JSON object). In CSV, responses, probs, embedding and meta cells hold JSON text. Every bad row is reported as FILE:LINE: field: problem and nothing is imported, unless --rejects FILE is given: then the valid rows are imported and the others are written to FILE with their reasons. Importing the same item again changes nothing.

                Example: docket import items SampleData/items.jsonl
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("A .jsonl or .csv file, or - for standard input (with --format).", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("jsonl or csv (default: from the file's extension).", valueName: "format"))
        var format: String?

        @Option(help: ArgumentHelp("How to compute uncertainty from probs: entropy, margin or least-confidence.", valueName: "measure"))
        var uncertainty: String = "entropy"

        @Flag(help: "Replace the content of items that already exist with different content.")
        var update = false

        @Option(help: ArgumentHelp("Import the valid rows and write the invalid ones, with reasons, to this JSONL file.", valueName: "file"))
        var rejects: String?

        @Option(name: .customLong("max-errors"), help: "How many problems to list before summarising.")
        var maxErrors: Int = 50

        func run(in context: CommandContext) throws {
            guard let measure = UncertaintyMeasure(rawValue: uncertainty) else {
                throw CommandError.invalidOption(name: "--uncertainty", value: uncertainty, reason: "use entropy, margin or least-confidence")
            }
            let kind = try RowFormat.resolve(file: file, format: format)
            let store = try database.open(in: context)
            let settings = try store.projectSettings()
            let reader = file == "-" ? try context.openStandardInput() : try LineReader(path: file)
            var rejectsWriter: RejectsWriter?
            if let rejects { rejectsWriter = try RejectsWriter(path: rejects) }
            let parser = ItemRowParser(labels: settings.labels, measure: measure)
            let importer = RowFileImporter(reader: reader, format: kind, console: context.console, maxListed: maxErrors, rejects: rejectsWriter)
            let summary = try store.importItems(update: update, source: reader.name, at: context.clock()) { sink in
                try importer.run { fields in
                    switch parser.parse(fields) {
                    case .invalid(let problems): return problems
                    case .valid(let item):
                        if case .failure(let problem) = try sink.add(item) { return [problem] }
                        return []
                    }
                }
            }
            rejectsWriter?.finish(keep: summary.committed && summary.rejected > 0)
            guard summary.committed else {
                throw CommandError.importRejected(file: reader.name, problems: importer.problemCount)
            }
            var parts = ["\(Format.count(summary.inserted)) new"]
            if summary.unchanged > 0 { parts.append("\(Format.count(summary.unchanged)) unchanged") }
            if summary.updated > 0 { parts.append("\(Format.count(summary.updated)) updated") }
            var message = "Imported \(reader.name): " + parts.joined(separator: ", ") + ".\n"
            if summary.rejected > 0, let rejects {
                message += "\(Format.count(summary.rejected)) \(summary.rejected == 1 ? "row was" : "rows were") rejected and written to \(rejects).\n"
            }
            context.console.write(message)
        }
    }
}

extension ImportCommand {
    struct Labels: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import historical labels (item, reviewer, label, optional created_at and rubric).",
            discussion: """
                Loads feedback given elsewhere, for agreement statistics and aggregation. Columns (CSV) or fields (JSONL): item, reviewer, label, and optionally created_at (ISO 8601) and rubric (a rubric version number). Unknown items are an error unless --create-items; unknown reviewers are registered. Every bad row is reported with its file and line and nothing is imported, unless --rejects FILE. Importing the same labels again changes nothing.

                Example: docket import labels SampleData/labels.csv
                """
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: ArgumentHelp("A .jsonl or .csv file, or - for standard input (with --format).", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("jsonl or csv (default: from the file's extension).", valueName: "format")) var format: String?
        @Flag(name: .customLong("create-items"), help: "Create items that do not exist yet (with only their id).") var createItems = false
        @Option(help: ArgumentHelp("Import the valid rows and write the invalid ones, with reasons, to this JSONL file.", valueName: "file")) var rejects: String?
        @Option(name: .customLong("max-errors"), help: "How many problems to list before summarising.") var maxErrors: Int = 50

        func run(in context: CommandContext) throws {
            let kind = try RowFormat.resolve(file: file, format: format)
            let store = try database.open(in: context)
            let reader = file == "-" ? try context.openStandardInput() : try LineReader(path: file)
            var rejectsWriter: RejectsWriter?
            if let rejects { rejectsWriter = try RejectsWriter(path: rejects) }
            let importer = RowFileImporter(reader: reader, format: kind, console: context.console, maxListed: maxErrors, rejects: rejectsWriter)
            importer.requiredColumn = "item"
            let summary = try store.importLabels(createItems: createItems, source: reader.name, at: context.clock()) { sink in
                try importer.run { fields in
                    switch LabelRowParser.parse(fields) {
                    case .invalid(let problems): return problems
                    case .valid(let row):
                        if case .failure(let problem) = try sink.add(row) { return [problem] }
                        return []
                    }
                }
            }
            rejectsWriter?.finish(keep: summary.committed && summary.rejected > 0)
            guard summary.committed else { throw CommandError.importRejected(file: reader.name, problems: importer.problemCount) }
            var message = "Imported labels from \(reader.name): \(Format.count(summary.inserted)) new"
            if summary.unchanged > 0 { message += ", \(Format.count(summary.unchanged)) unchanged" }
            message += ".\n"
            if summary.rejected > 0, let rejects {
                message += "\(Format.count(summary.rejected)) \(summary.rejected == 1 ? "row was" : "rows were") rejected and written to \(rejects).\n"
            }
            context.console.write(message)
        }
    }
}

/// Reads one row of a labels file.
enum LabelRowParser {
    static let fields = ["item", "reviewer", "label", "created_at", "rubric"]

    static func parse(_ fields: [(String, RawField)]) -> RowResult<LabelRow> {
        var problems: [FieldProblem] = []
        var values: [String: String] = [:]
        for (name, raw) in fields {
            guard Self.fields.contains(name) else {
                problems.append(FieldProblem(field: name, problem: "unknown field (known fields: \(Self.fields.joined(separator: ", ")))"))
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
        for required in ["item", "reviewer", "label"] where (values[required] ?? "").isEmpty {
            problems.append(FieldProblem(field: required, problem: "required"))
        }
        var createdAt: Instant?
        if let text = values["created_at"] {
            createdAt = Instant.parse(text)
            if createdAt == nil { problems.append(FieldProblem(field: "created_at", problem: "'\(text)' is not an ISO 8601 time (e.g. 2026-11-29T10:00:00Z)")) }
        }
        var rubric: Int?
        if let text = values["rubric"] {
            rubric = Int(text)
            if rubric == nil { problems.append(FieldProblem(field: "rubric", problem: "'\(text)' is not a rubric version number")) }
        }
        guard problems.isEmpty else { return .invalid(problems) }
        return .valid(LabelRow(item: values["item"]!, reviewer: values["reviewer"]!, label: values["label"]!, createdAt: createdAt, rubric: rubric))
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

/// Writes rejected rows as JSONL: {"line": N, "errors": ["field: problem", …], "raw": "…"}.
/// Goes through a temporary file, renamed into place only if the import commits.
final class RejectsWriter {
    let path: String
    let temporary: String
    let file: UnsafeMutablePointer<FILE>

    init(path: String) throws(CommandError) {
        self.path = path
        self.temporary = path + ".partial-\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            throw .cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        self.file = file
    }

    func write(line: Int, problems: [FieldProblem], raw: String) {
        var object = JSONObjectWriter()
        object.set("line", line)
        object.set("errors", .array(problems.map { .string($0.description) }))
        object.set("raw", raw)
        fputs(object.value.encoded() + "\n", file)
    }

    func finish(keep: Bool) {
        fclose(file)
        if keep { rename(temporary, path) } else { unlink(temporary) }
    }
}

/// Streams rows from a JSONL or CSV file to a handler, collecting every problem with its line.
final class RowFileImporter {
    let reader: LineReader
    let format: RowFormat
    let console: any Console
    let maxListed: Int
    let rejects: RejectsWriter?
    /// A column the CSV header must have.
    var requiredColumn: String? = "id"
    private(set) var problemCount = 0
    private(set) var rejectedRows = 0
    private var listed = 0

    /// Handles one row's fields; returns its problems (none when the row was taken).
    typealias Handler = ([(String, RawField)]) throws -> [FieldProblem]
    private var handler: Handler = { _ in [] }

    init(reader: LineReader, format: RowFormat, console: any Console, maxListed: Int, rejects: RejectsWriter?) {
        self.reader = reader
        self.format = format
        self.console = console
        self.maxListed = maxListed
        self.rejects = rejects
    }

    func report(line: Int, _ problems: [FieldProblem], raw: @autoclosure () -> String) {
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

    func run(_ handler: @escaping Handler) throws -> ImportDecision {
        self.handler = handler
        let progress = ProgressBar(console: console, label: "importing \(reader.name)")
        var rows = 0
        switch format {
        case .jsonl: rows = try runJSONL(progress: progress)
        case .csv: rows = try runCSV(progress: progress)
        }
        progress.finish()
        if listed > maxListed {
            console.writeError("\(reader.name): … and \(Format.count(listed - maxListed)) more problems.\n")
        }
        if rows == 0, problemCount == 0 {
            console.writeError("\(reader.name): no rows found.\n")
        }
        if problemCount > 0, rejects == nil { return .rollback }
        return .commit(rejected: rejectedRows)
    }

    private func add(_ fields: [(String, RawField)], line: Int, raw: () -> String) throws {
        let problems = try handler(fields)
        if !problems.isEmpty { report(line: line, problems, raw: raw()) }
    }

    private func runJSONL(progress: ProgressBar) throws -> Int {
        var rows = 0
        while let _ = try reader.nextLine({ bytes throws -> Void in
            let line = reader.lineNumber
            // Blank lines are allowed between records.
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            rows += 1
            let raw = { String(decoding: bytes, as: UTF8.self) }
            let value: JSONValue
            do { value = try JSON.parse(bytes: bytes) } catch {
                report(line: line, [FieldProblem(field: "json", problem: "\(error)")], raw: raw())
                return
            }
            guard case .object(let members) = value else {
                report(line: line, [FieldProblem(field: "json", problem: "each line must be a JSON object, got \(value.typeName)")], raw: raw())
                return
            }
            try add(members.map { ($0.0, RawField.json($0.1)) }, line: line, raw: raw)
            if rows & 0x3FF == 0 { progress.update(done: reader.bytesRead, total: reader.size, rows: rows) }
        }) {}
        return rows
    }

    private func runCSV(progress: ProgressBar) throws -> Int {
        var csv = CSVRecordReader()
        var header: [String]?
        var rows = 0
        var recordStart = 1
        var rawLines: [String] = []
        while let _ = try reader.nextLine({ bytes throws -> Void in
            let line = reader.lineNumber
            if !csv.pending { recordStart = line; rawLines.removeAll(keepingCapacity: true) }
            if rejects != nil { rawLines.append(String(decoding: bytes, as: UTF8.self)) }
            let record: [String]?
            do { record = try csv.feed(bytes) } catch {
                report(line: recordStart, [FieldProblem(field: "csv", problem: "\(error)")], raw: rawLines.joined(separator: "\n"))
                return
            }
            guard let record else { return }
            guard let columns = header else {
                try checkHeader(record, line: recordStart)
                header = record
                return
            }
            if record.count == 1, record[0].isEmpty { return }
            rows += 1
            guard record.count == columns.count else {
                report(line: recordStart, [FieldProblem(field: "csv", problem: "the row has \(record.count) fields, the header has \(columns.count)")], raw: rawLines.joined(separator: "\n"))
                return
            }
            var fields: [(String, RawField)] = []
            for (name, cell) in zip(columns, record) where !cell.isEmpty { fields.append((name, .text(cell))) }
            try add(fields, line: recordStart, raw: { rawLines.joined(separator: "\n") })
            if rows & 0x3FF == 0 { progress.update(done: reader.bytesRead, total: reader.size, rows: rows) }
        }) {}
        do { try csv.finish() } catch {
            report(line: recordStart, [FieldProblem(field: "csv", problem: "\(error)")], raw: rawLines.joined(separator: "\n"))
        }
        if header == nil { console.writeError("\(reader.name): the file is empty; a CSV file needs a header line.\n") }
        return rows
    }

    private func checkHeader(_ header: [String], line: Int) throws {
        var seen = Set<String>()
        var problems: [FieldProblem] = []
        for name in header {
            if !seen.insert(name).inserted { problems.append(FieldProblem(field: name, problem: "column named twice in the header")) }
        }
        if let required = requiredColumn, !header.contains(required) {
            problems.append(FieldProblem(field: required, problem: "the header has no \(required) column"))
        }
        if !problems.isEmpty { report(line: line, problems, raw: header.joined(separator: ",")) }
    }
}
