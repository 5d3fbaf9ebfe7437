import ArgumentParser
import DocketStore

struct MigrateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade the database to this docket's schema, or copy a project to another backend.",
        discussion: """
            Read commands (status, queue, check, show, log, export, agreement, report, …) open the database read-only and never migrate it, so after upgrading docket they ask for this once. Any command that writes migrates too.

            With --to, copies the whole project (items, reviewers, rubric versions, assignments with their policies and propensities, feedback, withdrawals, escalations, decisions and their revisions, rounds, the audit log, saved models) into a new SQLite file or an empty PostgreSQL database, in one snapshot of the source and one transaction on the destination, then checks the copy. Ids, times and every statistic stay the same.

            Example: docket migrate
            Example: docket migrate --from review.db --to postgres://docket@db.internal:5432/safety
            Example: docket migrate --from postgres://docket@db.internal/safety --to snapshot.db
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("The project to copy (default: --db, $DOCKET_DB, ./docket.db).", valueName: "location"))
    var from: String?
    @Option(help: ArgumentHelp("Where to copy it: a new SQLite file, or an empty PostgreSQL database (postgres://…).", valueName: "location"))
    var to: String?

    func run(in context: CommandContext) throws {
        guard let to else {
            if from != nil { throw ValidationError("--from names the project to copy; say where with --to.") }
            let path = database.path(in: context)
            do {
                let store = try StoreFactory.open(path, access: .read, acceptingOlderSchema: true)
                _ = try Authority.actor(for: .migrate, as: nil, store: store, context: context)
            }
            let (from, to) = try StoreFactory.migrate(path)
            if from == to {
                context.console.write("\(Sanitize.inline(PostgresLocation.withoutPassword(path))) is already at schema version \(to); nothing to do.\n")
            } else {
                context.console.write("Migrated \(Sanitize.inline(PostgresLocation.withoutPassword(path))) from schema version \(from) to \(to).\n")
            }
            return
        }
        let source = from ?? database.path(in: context)
        let store = try StoreFactory.open(source, access: .read)
        _ = try Authority.actor(for: .migrate, as: nil, store: store, context: context)
        // What reviewers' logins left for a staff login (PostgreSQL) is done before the copy.
        try store.applyEscalationBacklog()
        if store.ownedFiles.contains(to) || source == to {
            throw CommandError.cannotWrite(path: PostgresLocation.withoutPassword(to), reason: "it is the project being copied")
        }
        let summary = try ProjectCopy.copy(from: store, to: to)
        let copy = try StoreFactory.open(to, access: .read)
        let violations = try copy.check()
        let counts = summary.rows.filter { $0.count > 0 }.map { "\($0.count) \($0.table)" }.joined(separator: ", ")
        context.console.write("Copied \(Sanitize.inline(store.location)) to \(Sanitize.inline(copy.location)): \(counts.isEmpty ? "no rows" : counts).\n")
        guard violations.isEmpty else {
            for violation in violations { context.console.writeError("docket: the copy fails a check: \(Sanitize.inline(violation.description))\n") }
            throw CommandError.checkFailed(violations: violations.count)
        }
        context.console.write("docket check passes on the copy.\n")
        // A PostgreSQL copy is used by its login role: say so when nobody there would be let in.
        if let caller = try copy.sessionCaller(), !caller.privileged, try copy.person(boundTo: caller.login) == nil {
            context.console.writeError(
                "docket: Note: the login role '\(Sanitize.inline(caller.login))' is bound to no reviewer of the copy, so Docket refuses it there; "
                + "bind an admin to it on the source (docket reviewers add NAME --role admin --user \(Sanitize.inline(caller.login))) and copy again, or use the copy as a superuser.\n")
        }
    }
}
