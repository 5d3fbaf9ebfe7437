import ArgumentParser
import DocketCore
import DocketStore
#if canImport(Glibc)
import Glibc
#endif

/// The shared-machine install (`scripts/install-shared`): the project directory and its files
/// belong to a group (mode 2770 and 0660) that reviewers are not members of, and the installed
/// binary is set-group-id to it, so only Docket, which knows the caller's real user id, opens the
/// database. The process opens the project with the group and then gives the group up for good
/// (real, effective and saved group ids all become the caller's own) before it reads an input
/// file, writes an output, starts a pager or an editor, or keeps history: nothing the caller names
/// is touched with the group's rights, and no child can regain them.
enum SharedMode {
    /// True when the process runs with a group other than the caller's own (set-group-id).
    static var isElevated: Bool { getegid() != getgid() }

    /// Gives the group up for good. A process that cannot must not go on: it exits.
    static func dropGroup() {
        guard isElevated else { return }
        let real = getgid(), group = getegid()
        // Setting the real group id sets the saved one to the new effective one: all three are
        // the caller's own afterwards, which the check below confirms by trying to go back.
        // (Root may take any group back, so for root the last check would prove nothing.)
        if setregid(real, real) != 0 || getegid() != real || (geteuid() != 0 && setegid(group) == 0) {
            let message = "docket: Cannot give up the set-group-id group; stopping.\n"
            _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            _exit(71)  // EX_OSERR
        }
    }

    /// Opens the project a command names with the group, when it is a shared project: an SQLite
    /// file (never a server URL, never a symbolic link) of the effective group, in a set-group-id
    /// directory of that group. Anything else is opened later, without the group, with the
    /// caller's own rights. Commands that do not open a project (init, migrate) get nothing.
    static func openProject(for command: any ParsableCommand, in context: CommandContext) throws(StoreError) -> (any ReviewStore)? {
        guard let project = command as? any ProjectCommand else { return nil }
        let path = project.database.path(in: context)
        guard !PostgresLocation.isURL(path), isGroupProject(path) else { return nil }
        // The files SQLite and Docket keep beside the database were made by the installer; one
        // made now would belong to this caller, so a missing one stops here.
        for suffix in ["-wal", "-shm", ".lock"] where !isGroupFile(path + suffix) {
            throw .cannotOpen(path: path, reason: "its \(suffix) file is missing or not the group's; an admin runs scripts/install-shared again")
        }
        if project.access == .write {
            // Opening to write migrates an older schema: only for someone the project knows.
            let (caller, own) = try DatabaseOptions.onReadOnlyLook(path, context: context) { probe throws(StoreError) in
                try Authority.caller(of: probe, context: context)
            }
            guard caller.privileged || own != nil else { throw .denied(.notRegistered(login: caller.login)) }
        }
        let store = try StoreFactory.open(path, access: project.access, acceptingOlderSchema: project.acceptsOlderSchema)
        return DatabaseOptions.tellingWaits(store, console: context.console)
    }

    /// A Docket database of the group: a regular file (not a symbolic link) of the effective group,
    /// closed to others, in a set-group-id directory of that group, not one of SQLite's or
    /// Docket's side files, starting with SQLite's header and Docket's application id. Anything
    /// else is opened later with the caller's own rights (and so, inside the group's directory,
    /// not at all).
    static func isGroupProject(_ path: String) -> Bool {
        isGroupFile(path) && StoreFactory.isSharedProject(path)
    }

    static func isGroupFile(_ path: String) -> Bool {
        var file = stat()
        return lstat(path, &file) == 0 && (file.st_mode & S_IFMT) == S_IFREG && file.st_gid == getegid()
    }
}

/// A command that opens one project, with the access it needs (the shared install opens it
/// before the command runs, see `SharedMode`).
protocol ProjectCommand: ContextCommand {
    var database: DatabaseOptions { get }
    var access: DatabaseAccess { get }
    var acceptsOlderSchema: Bool { get }
}

extension ProjectCommand {
    var acceptsOlderSchema: Bool { false }
}

extension ShowCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension CalibrateCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension TriageCommand: ProjectCommand { var access: DatabaseAccess { .write } }
extension CheckCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension AgreementCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension RoundCommand.Start: ProjectCommand { var access: DatabaseAccess { .write } }
extension RoundCommand.Close: ProjectCommand { var access: DatabaseAccess { .write } }
extension ImportCommand.Items: ProjectCommand { var access: DatabaseAccess { .write } }
extension ImportCommand.Labels: ProjectCommand { var access: DatabaseAccess { .write } }
extension LogCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension AggregateCommand: ProjectCommand { var access: DatabaseAccess { save ? .write : .read } }
extension EscalationsCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension QueueCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension ReportCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension StatusCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension ExportCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension ReviewCommand: ProjectCommand { var access: DatabaseAccess { .write } }
extension AdjudicateCommand: ProjectCommand { var access: DatabaseAccess { .write } }
extension DriftCommand: ProjectCommand { var access: DatabaseAccess { .read } }
extension ConfigCommand.Apply: ProjectCommand { var access: DatabaseAccess { .write } }
extension ConfigCommand.Show: ProjectCommand { var access: DatabaseAccess { .read } }
extension BackupCommand: ProjectCommand {
    var access: DatabaseAccess { .read }
    var acceptsOlderSchema: Bool { true }
}
extension ReviewersCommand.SetRole: ProjectCommand { var access: DatabaseAccess { .write } }
extension ReviewersCommand.Add: ProjectCommand { var access: DatabaseAccess { .write } }
extension ReviewersCommand.List: ProjectCommand { var access: DatabaseAccess { .read } }
extension ReviewersCommand.Bind: ProjectCommand { var access: DatabaseAccess { .write } }
