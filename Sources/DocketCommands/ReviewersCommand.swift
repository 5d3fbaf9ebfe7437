import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct ReviewersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reviewers",
        abstract: "Add and list reviewers.",
        subcommands: [Add.self, List.self, SetRole.self, Bind.self]
    )

    /// On PostgreSQL, says on standard error when the database treats the reviewer's login
    /// otherwise than their role (`LoginHold.mismatch`): the role changed, the grant did not.
    static func noteDatabaseHold(of reviewer: Reviewer, in store: any ReviewStore, context: CommandContext) throws {
        guard let login = reviewer.login, let hold = try store.databaseHold(onLogin: login),
              let note = hold.mismatch(name: reviewer.name, role: reviewer.role, login: login)
        else { return }
        context.console.writeError("docket: note: " + Sanitize.inline(note) + ".\n")
    }

    struct Bind: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind a reviewer to another login, or to none (admins only).",
            discussion: "Example: docket reviewers bind ana --user achen"
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The reviewer.") var name: String
        @Option(help: ArgumentHelp("The account (SQLite) or PostgreSQL login role that acts as them from now on.", valueName: "login"))
        var user: String?
        @Flag(help: "Bind them to no login: nobody acts as them any more (their feedback stays).") var none = false

        func validate() throws {
            if user != nil && none { throw ValidationError("Give --user LOGIN or --none, not both.") }
            if user == nil && !none { throw ValidationError("Give --user LOGIN or --none.") }
        }

        func run(in context: CommandContext) throws {
            let store = try database.open(for: .bindLogin, in: context).store
            let changed = try store.bindLogin(of: name, to: user, at: context.clock())
            let reviewer = try store.reviewer(named: name)
            let shown = Sanitize.inline(reviewer.name)
            let state = user.map { "bound to the login \(Sanitize.inline($0))" } ?? "bound to no login"
            context.console.write(changed ? "\(shown) is now \(state).\n" : "\(shown) is \(state) already; nothing changed.\n")
            try ReviewersCommand.noteDatabaseHold(of: reviewer, in: store, context: context)
        }
    }

    struct SetRole: ContextCommand {
        static let configuration = CommandConfiguration(
            commandName: "role",
            abstract: "Change a reviewer's role (leads and admins only).",
            discussion: "Example: docket reviewers role bo --role lead --as lee"
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The reviewer whose role changes.") var name: String
        @Option(help: "reviewer, lead or admin.") var role: String
        @Option(name: .customLong("as"), help: ArgumentHelp("Act as this reviewer: only an admin may name someone else (default: the reviewer bound to your login).", valueName: "name")) var actor: String?

        func run(in context: CommandContext) throws {
            guard let role = Role(rawValue: role) else {
                throw CommandError.invalidOption(name: "--role", value: role, reason: "use reviewer, lead or admin")
            }
            let (store, actor) = try database.open(for: .changeRole, as: actor, in: context)
            let changed = try store.setRole(of: name, to: role, by: actor, at: context.clock())
            let reviewer = try store.reviewer(named: name)
            let shown = Sanitize.inline(reviewer.name)
            context.console.write(changed ? "\(shown) is now \(role.withArticle).\n" : "\(shown) is \(role.withArticle) already; nothing changed.\n")
            try ReviewersCommand.noteDatabaseHold(of: reviewer, in: store, context: context)
        }
    }

    struct Add: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a reviewer.",
            discussion: "Example: docket reviewers add ana --role lead"
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The reviewer's name, as given later to --as.") var name: String
        @Option(help: "reviewer, lead or admin.") var role: String = "reviewer"
        @Option(help: ArgumentHelp("The login that acts as this reviewer: their account on this machine (SQLite), or their PostgreSQL login role (default: the reviewer's name).", valueName: "login"))
        var user: String?

        func run(in context: CommandContext) throws {
            guard let role = Role(rawValue: role) else {
                throw CommandError.invalidOption(name: "--role", value: role, reason: "use reviewer, lead or admin")
            }
            // Refused before the database is opened; the store applies the same rule (ReviewerName).
            do { _ = try ReviewerName.normalised(name) } catch { throw StoreError.invalidReviewerName(error) }
            let store = try database.open(for: .addReviewer, in: context).store
            let reviewer = try store.addReviewer(name: name, role: role, login: user, at: context.clock())
            context.console.write("Added \(reviewer.role.rawValue) \(reviewer.name)." + (reviewer.login == nil
                ? " The name is not a login, so nobody acts as them yet: bind one with `docket reviewers bind NAME --user LOGIN`.\n" : "\n"))
            try ReviewersCommand.noteDatabaseHold(of: reviewer, in: store, context: context)
        }
    }

    struct List: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "List reviewers with their roles and reviews done.",
            discussion: "Example: docket reviewers list --json"
        )

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print one JSON array.") var json = false

        func run(in context: CommandContext) throws {
            let store = try database.openForReading(for: .listReviewers, in: context).store
            let reviewers = try store.reviewers()
            if json {
                let array = JSONValue.array(reviewers.map { reviewer in
                    var object = JSONObjectWriter()
                    object.set("name", reviewer.name)
                    object.set("role", reviewer.role.rawValue)
                    object.set("login", reviewer.login)
                    object.set("reviews", reviewer.reviewsDone)
                    object.set("labels", reviewer.labels)
                    object.set("added_at", reviewer.createdAt.iso8601)
                    return object.value
                })
                context.console.write(array.encoded() + "\n")
                return
            }
            guard !reviewers.isEmpty else {
                context.console.write("No reviewers yet. Add one with `docket reviewers add NAME`.\n")
                return
            }
            context.console.write(Format.table(
                header: ["name", "role", "login", "reviews", "labels", "added"],
                rows: reviewers.map { [Sanitize.inline($0.name), $0.role.rawValue, Sanitize.inline($0.login ?? "-"), Format.count($0.reviewsDone), $0.labels.map(Format.count) ?? "-", $0.createdAt.iso8601] },
                rightAligned: [3, 4]))
        }
    }
}
