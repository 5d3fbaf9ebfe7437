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
                Fields: id (required, unique), prompt, response, responses (2 or more candidates), category, risk (0..1), uncertainty (0..1) or probs (class probabilities), diversity (0..1) or embedding (array of numbers), gold (a declared label), meta (a JSON object). In CSV, responses, probs, embedding and meta cells hold JSON text. Text must be UTF-8; ids must not be blank or hold line breaks or control characters. Every bad row is reported as FILE:LINE: field: problem and nothing is imported, unless --rejects FILE is given: then the valid rows are imported and the others are written to FILE with their reasons. Importing the same item again changes nothing; --update replaces changed content, except the prompt and responses of items that already have feedback, which need --update-reviewed.

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

        @Flag(help: "Replace the content of items that already exist with different content (not the prompt or responses of items with feedback).")
        var update = false

        @Flag(name: .customLong("update-reviewed"), help: "Like --update, and also replace the prompt and responses of items that already have feedback (the old text is kept in the log).")
        var updateReviewed = false

        @Option(help: ArgumentHelp("Import the valid rows and write the invalid ones, with reasons, to this JSONL file.", valueName: "file"))
        var rejects: String?

        @Option(name: .customLong("max-errors"), help: "How many problems to list before summarising, 0 to 1000000.")
        var maxErrors: Int = 50

        func run(in context: CommandContext) throws {
            try OptionBounds.whole("--max-errors", maxErrors, OptionBounds.listedErrors, "problems")
            guard let measure = UncertaintyMeasure(rawValue: uncertainty) else {
                throw CommandError.invalidOption(name: "--uncertainty", value: uncertainty, reason: "use entropy, margin or least-confidence")
            }
            let kind = try RowFormat.resolve(file: file, format: format)
            let store = try database.open(for: .importItems, in: context).store
            let settings = try store.projectSettings()
            let reader = file == "-" ? try context.openStandardInput() : try LineReader(path: file)
            var rejectsWriter: RejectsWriter?
            if let rejects { rejectsWriter = try RejectsWriter(path: rejects, protecting: OutputFile.protected(store: store, inputs: [file])) }
            // Removes the rejects' temporary unless the import committed and put it in place.
            defer { rejectsWriter?.abandon() }
            let parser = ItemRowParser(labels: settings.labels, measure: measure)
            let importer = RowFileImporter(reader: reader, format: kind, console: context.console, maxListed: maxErrors, rejects: rejectsWriter)
            let summary = try store.importItems(update: update || updateReviewed, updateReviewed: updateReviewed, source: reader.name, at: context.clock()) { sink in
                // The rows still to come, estimated from the bytes read so far, let the store
                // choose how to maintain its indexes.
                importer.onProgress = { done, total, rows in
                    guard let total, done > 0, total > done else { return }
                    try sink.expect(moreRows: Int(Double(total - done) / Double(done) * Double(rows)))
                }
                // Parsing and checking rows on one core, the store on the other.
                return try importer.run(prepare: parser.parse) { parsed in
                    switch parsed {
                    case .invalid(let problems): return problems
                    case .valid(let item):
                        if case .failure(let problem) = try sink.add(item) { return [problem] }
                        return []
                    }
                }
            }
            guard summary.committed else {
                throw importer.rejection()
            }
            try rejectsWriter?.putInPlace()
            var parts = ["\(Format.count(summary.inserted)) new"]
            if summary.unchanged > 0 { parts.append("\(Format.count(summary.unchanged)) unchanged") }
            if summary.updated > 0 { parts.append("\(Format.count(summary.updated)) updated") }
            var message = "Imported \(Sanitize.inline(reader.name)): " + parts.joined(separator: ", ") + ".\n"
            if summary.rejected > 0, let rejects {
                message += "\(Format.count(summary.rejected)) \(summary.rejected == 1 ? "row was" : "rows were") rejected and written to \(Sanitize.inline(rejects)).\n"
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
                Loads feedback given elsewhere, for agreement statistics and aggregation. Columns (CSV) or fields (JSONL): item, reviewer, label, and optionally created_at (RFC 3339 with a zone, e.g. 2026-11-29T10:00:00Z, or a date for midnight UTC) and rubric (a rubric version number). Reviewer names are normalised to Unicode NFC and must not start or end with whitespace or hold control or invisible characters. Unknown items are an error unless --create-items; unknown reviewers are registered. Every bad row is reported with its file and line and nothing is imported, unless --rejects FILE. Importing the same labels again changes nothing.

                Example: docket import labels SampleData/labels.csv
                """
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: ArgumentHelp("A .jsonl or .csv file, or - for standard input (with --format).", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("jsonl or csv (default: from the file's extension).", valueName: "format")) var format: String?
        @Flag(name: .customLong("create-items"), help: "Create items that do not exist yet (with only their id).") var createItems = false
        @Option(help: ArgumentHelp("Import the valid rows and write the invalid ones, with reasons, to this JSONL file.", valueName: "file")) var rejects: String?
        @Option(name: .customLong("max-errors"), help: "How many problems to list before summarising, 0 to 1000000.") var maxErrors: Int = 50

        func run(in context: CommandContext) throws {
            try OptionBounds.whole("--max-errors", maxErrors, OptionBounds.listedErrors, "problems")
            let kind = try RowFormat.resolve(file: file, format: format)
            let store = try database.open(for: .importLabels, in: context).store
            let reader = file == "-" ? try context.openStandardInput() : try LineReader(path: file)
            var rejectsWriter: RejectsWriter?
            if let rejects { rejectsWriter = try RejectsWriter(path: rejects, protecting: OutputFile.protected(store: store, inputs: [file])) }
            defer { rejectsWriter?.abandon() }
            let importer = RowFileImporter(reader: reader, format: kind, console: context.console, maxListed: maxErrors, rejects: rejectsWriter)
            importer.requiredColumn = "item"
            importer.unknownColumn = { LabelRowParser.fields.contains($0) ? nil : LabelRowParser.unknownField($0) }
            let summary = try store.importLabels(createItems: createItems, source: reader.name, at: context.clock()) { sink in
                try importer.run(prepare: LabelRowParser.parse) { parsed in
                    switch parsed {
                    case .invalid(let problems): return problems
                    case .valid(let row):
                        if case .failure(let problem) = try sink.add(row) { return [problem] }
                        return []
                    }
                }
            }
            guard summary.committed else { throw importer.rejection() }
            try rejectsWriter?.putInPlace()
            var message = "Imported labels from \(Sanitize.inline(reader.name)): \(Format.count(summary.inserted)) new"
            if summary.unchanged > 0 { message += ", \(Format.count(summary.unchanged)) unchanged" }
            message += ".\n"
            if summary.rejected > 0, let rejects {
                message += "\(Format.count(summary.rejected)) \(summary.rejected == 1 ? "row was" : "rows were") rejected and written to \(Sanitize.inline(rejects)).\n"
            }
            context.console.write(message)
        }
    }
}
