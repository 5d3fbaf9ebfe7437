import ArgumentParser
import Foundation
import DocketCore
import DocketStore

/// A command that runs against a `CommandContext` instead of the process's globals.
protocol ContextCommand: ParsableCommand {
    func run(in context: CommandContext) throws
}

/// Where the database is: `--db PATH|URL`, else `$DOCKET_DB`, else `./docket.db`.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The project: an SQLite file, or a PostgreSQL database as postgres://USER@HOST:PORT/DATABASE (default: $DOCKET_DB, else ./docket.db).",
            valueName: "path|url"))
    var db: String?

    func path(in context: CommandContext) -> String {
        if let db { return db }
        if let fromEnvironment = context.environment["DOCKET_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "docket.db"
    }

    /// The location as messages show it: a PostgreSQL URL without its password.
    func displayPath(in context: CommandContext) -> String {
        Sanitize.inline(PostgresLocation.withoutPassword(path(in: context)))
    }

    /// For commands that change the database: opens it read-write, migrating an older schema,
    /// and decides who acts (`Authority`): the action is refused unless the acting role may take it.
    func open(for action: Action, as name: String? = nil, in context: CommandContext) throws(StoreError) -> (store: any ReviewStore, actor: Actor) {
        if let preopened = context.preopened {
            return (preopened, try Authority.actor(for: action, as: name, store: preopened, context: context))
        }
        // Decided before the project is opened to write, which migrates an older schema and
        // makes the lock file: a refused caller changes nothing at all.
        let actor = try Self.onReadOnlyLook(path(in: context), context: context) { probe throws(StoreError) in
            try Authority.decide(for: action, as: name, store: probe, context: context)
        }
        let store = Self.tellingWaits(try StoreFactory.open(path(in: context), access: .write), console: context.console)
        try store.recordActor(actor)
        try store.applyEscalationBacklog()
        return (store, actor)
    }

    /// For commands that only read: opens it SQLITE_OPEN_READONLY and changes nothing (no
    /// migration, no WAL switch, no lock file); an older schema is an error that names `docket migrate`.
    /// Who acts is decided as for `open`.
    func openForReading(
        for action: Action, as name: String? = nil, in context: CommandContext, acceptingOlderSchema: Bool = false
    ) throws(StoreError) -> (store: any ReviewStore, actor: Actor) {
        let store: any ReviewStore
        if let preopened = context.preopened { store = preopened } else {
            store = Self.tellingWaits(
                try StoreFactory.open(path(in: context), access: .read, acceptingOlderSchema: acceptingOlderSchema), console: context.console)
        }
        let actor = try Authority.actor(for: action, as: name, store: store, context: context)
        // A no-op unless the schema is current (PostgreSQL, migration 5) and the login is staff.
        try store.applyEscalationBacklog()
        return (store, actor)
    }

    /// Runs `body` on a read-only store of the project (an older schema as it is) that is closed
    /// again before this returns: the store is this function's alone, so it is released at its
    /// end. It must be: opening a file another connection of this process has open, and closing
    /// it, drops that connection's POSIX locks on it (they belong to the process), after which
    /// another process can take the database for unused, delete its write-ahead log and lose
    /// what was committed. Nothing may open the project again while `body` runs.
    static func onReadOnlyLook<T>(
        _ location: String, context: CommandContext, _ body: (any ReviewStore) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        let probe = try StoreFactory.open(location, access: .read, acceptingOlderSchema: true)
        return try body(probe)
    }

    /// A store that says on standard error, as one line, why nothing happens while it waits for
    /// its server (PostgreSQL: reconnecting after a lost connection) and when it goes on.
    static func tellingWaits(_ store: any ReviewStore, console: any Console) -> any ReviewStore {
        store.setWaitNotice { [weak console] sentence in console?.writeError("docket: " + Sanitize.inline(sentence) + "\n") }
        return store
    }
}

public struct Docket: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "docket",
        abstract: "A terminal-first human review queue for AI model outputs.",
        discussion: """
            Docket keeps a project in one SQLite file, or in one PostgreSQL database for a team on many machines (--db postgres://USER@HOST:PORT/DATABASE): items to review, reviewers, leases and feedback. Start with `docket init`, load items with `docket import items FILE`, add reviewers with `docket reviewers add NAME`, and look at the queue with `docket queue`.
            """,
        version: DocketVersion.current,
        subcommands: [
            InitCommand.self, ConfigCommand.self, ImportCommand.self, ReviewCommand.self, QueueCommand.self, StatusCommand.self, ReviewersCommand.self,
            ReportCommand.self, RoundCommand.self, AgreementCommand.self, AggregateCommand.self, CalibrateCommand.self, DriftCommand.self, TriageCommand.self, EscalationsCommand.self, AdjudicateCommand.self, ShowCommand.self, ExportCommand.self, LogCommand.self, BackupCommand.self, CheckCommand.self, MigrateCommand.self, ClaimBenchCommand.self, QueueTimingCommand.self, ReviewTimingCommand.self, StatsTimingCommand.self, ClusterTimingCommand.self,
        ]
    )

    public init() {}
}

public enum DocketVersion {
    public static let current = "0.1.0"
}

/// Runs one command line against a context and returns the process exit code. Never exits.
public enum DocketCLI {
    /// Process-wide settings the live executable needs before any command runs: SIGPIPE is
    /// ignored, so writing to a closed pipe (a pager or `head` that quit) fails with EPIPE,
    /// which Docket treats as the reader having gone, instead of killing the process.
    public static func prepareProcess() {
        signal(SIGPIPE, SIG_IGN)
        // A file-size limit makes write(2) fail with EFBIG, which the output path reports and
        // cleans up after, instead of killing the process with a half-written temporary.
        signal(SIGXFSZ, SIG_IGN)
        // SIGQUIT ends the process (the Swift runtime would print a crash report instead);
        // a temporary being written is removed first (see `TemporaryFiles`).
        signal(SIGQUIT, SIG_DFL)
        // A wait for the writers' lock before any store can say it (opening a file to switch it
        // to WAL, `init` on an existing file) is said on standard error. Set once, here, before
        // any thread runs.
        StoreFactory.setProcessWaitNotice { sentence in TerminalConsole.writeAll(STDERR_FILENO, "docket: " + Sanitize.inline(sentence) + "\n") }
    }

    public static func run(_ arguments: [String], context: CommandContext) -> Int32 {
        let status = runCommand(arguments, context: context)
        // A command whose standard output could not be written did not do its job: a closed pipe
        // (`| head`) ends it quietly with 141, as SIGPIPE would; any other error is a sentence.
        switch context.console.outputFailure {
        case .readerGone?: return 141
        case .failed(let reason)?:
            context.console.writeError("docket: Cannot write to standard output: \(reason).\n")
            return 74  // EX_IOERR
        case nil: return status
        }
    }

    static func runCommand(_ arguments: [String], context: CommandContext) -> Int32 {
        do {
            var command = try Docket.parseAsRoot(arguments)
            var context = context
            if SharedMode.isElevated {
                // Set-group-id (the shared-machine install): open the project with the group, then
                // give the group up for good before anything else happens.
                context.preopened = try SharedMode.openProject(for: command, in: context)
                SharedMode.dropGroup()
                // What a command writes from a project only Docket may open (exports, backups,
                // reports, rejects) is the caller's alone: new files get no group or other access.
                if context.preopened != nil { umask(umask(0) | 0o077) }
            }
            if let runnable = command as? any ContextCommand {
                try runnable.run(in: context)
            } else {
                try command.run()  // command groups and `help`: these print help
            }
            return 0
        } catch let error as CommandError {
            return report(error, console: context.console)
        } catch let error as StoreError {
            return report(error, console: context.console)
        } catch let error as CoreError {
            return report(error, console: context.console)
        } catch {
            // Parse errors, help and version: rendered by the argument parser.
            let code = Docket.exitCode(for: error)
            let message = Docket.fullMessage(for: error)
            if code == .success {
                context.console.write(message + "\n")
            } else {
                context.console.writeError(message + "\n")
            }
            return code.rawValue
        }
    }

    /// Prints an error as a sentence on stderr and returns its exit code.
    static func report(_ error: any Error, console: any Console) -> Int32 {
        switch error {
        case let error as CommandError:
            if case .readerGone = error { return error.exitCode }  // quietly, as `| head` expects
            console.writeError("docket: \(error)\n")
            return error.exitCode
        case let error as StoreError:
            console.writeError("docket: \(error)\n")
            switch error {
            case .noDatabase, .noProject, .notDocket, .cannotOpen: return 66
            case .unknownReviewer: return 67  // EX_NOUSER
            case .invalidReviewerName: return 64  // EX_USAGE
            case .notPermitted, .denied: return 77  // EX_NOPERM
            case .invalidLogin: return 64
            case .badLocation: return 64  // EX_USAGE: the --db value itself cannot be used
            case .serverUnreachable: return 69  // EX_UNAVAILABLE: the server is down or out of reach; try again later
            case .waitStopped: return 130  // as an interrupted command's shell reports it
            default: return 1
            }
        case let error as CoreError:
            console.writeError("docket: \(error)\n")
            return 64
        case let error as ValidationError:
            console.writeError("docket: \(error.message)\n")
            return 64
        default:
            console.writeError("docket: \(error)\n")
            return 1
        }
    }
}
