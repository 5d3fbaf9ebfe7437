import ArgumentParser
import DocketStore

struct MigrateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade the database to this docket's schema.",
        discussion: """
            Read commands (status, queue, check, show, log, export, agreement, report, …) open the database read-only and never migrate it, so after upgrading docket they ask for this once. Any command that writes migrates too.

            Example: docket migrate
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run(in context: CommandContext) throws {
        let path = database.path(in: context)
        let (from, to) = try StoreFactory.migrate(path)
        if from == to {
            context.console.write("\(Sanitize.inline(path)) is already at schema version \(to); nothing to do.\n")
        } else {
            context.console.write("Migrated \(Sanitize.inline(path)) from schema version \(from) to \(to).\n")
        }
    }
}
