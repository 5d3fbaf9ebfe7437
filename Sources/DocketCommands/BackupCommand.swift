import ArgumentParser
import DocketCore
import DocketStore

struct BackupCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database, even while reviewers are working.",
        discussion: """
            The copy is always an SQLite file: SQLite's online backup API for an SQLite project, and for a PostgreSQL project one REPEATABLE READ snapshot copied row for row (the same copy `docket migrate --to` makes).

            Example: docket backup backups/docket-2026-11-29.db
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The new file to write; it must not exist.", valueName: "file")) var file: String

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(for: .backup, in: context, acceptingOlderSchema: true).store
        if let clash = OutputFile.clash(of: file, with: OutputFile.protected(store: store, inputs: [])) {
            throw CommandError.cannotWrite(path: file, reason: "it is \(clash), which this command must not overwrite")
        }
        guard file != "-", !file.hasPrefix("/dev/") else {
            throw CommandError.cannotWrite(path: file, reason: "a backup is a database file; name a new file")
        }
        let temporary = try OutputFile.reserveTemporary(for: file)
        // SQLite may keep a journal (or a write-ahead log) beside the temporary while it writes.
        let sidecars = ["-journal", "-wal", "-shm"].map { temporary + $0 }
        for sidecar in sidecars { TemporaryFiles.register(sidecar) }
        defer {
            TemporaryFiles.unregister(temporary)
            for sidecar in sidecars { TemporaryFiles.unregister(sidecar) }
        }
        do {
            try store.backup(to: file, through: temporary)
        } catch {
            if case .backupTargetExists = error { throw error }
            // Like every other writer: a sentence naming the file, and EX_CANTCREAT.
            var reason = "\(error)"
            while reason.hasSuffix(".") { reason.removeLast() }
            throw CommandError.cannotWrite(path: file, reason: reason)
        }
        context.console.write("Backed up \(Sanitize.inline(store.location)) to \(Sanitize.inline(file)).\n")
    }
}
