import Foundation
import DocketStore

/// The one way Docket writes a file (exports, rejects, reports, backups).
///
/// - A target that resolves (through symlinks, `..` and hard links) to the project's database,
///   its `-wal`, `-shm` or lock file, or to an input of the same command is refused.
/// - A directory is refused; a block device is refused.
/// - A character device, a FIFO, a socket or `-`/`/dev/stdout` is written in place, without
///   renaming anything over it.
/// - A regular file (new or existing) is written to a temporary created in the target's directory
///   with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600 (so a planted symlink is never followed), every
///   write, `fsync` and the `rename` are checked, and the temporary takes the old target's mode (or
///   0666 less the umask) before it is renamed over the target. On any failure the temporary is
///   removed, the old target is untouched and a sentence is thrown. SIGINT, SIGTERM and SIGHUP
///   remove the temporary before the process ends; temporaries left by a killed process (kill -9)
///   are removed by the next write to the same target.
final class OutputFile {
    enum Kind: Equatable {
        /// A regular file written through `temporary`.
        case replace(temporary: String)
        /// A device, FIFO or standard output, written in place.
        case inPlace
    }

    let path: String
    let kind: Kind
    private var descriptor: Int32
    private var finished = false
    /// The mode the final file gets.
    private let finalMode: mode_t
    /// Bytes written, and how many of them have been handed to the disk early (`write`).
    private var written: Int64 = 0
    private var handedToDisk: Int64 = 0
    /// Bytes a temporary gathers before they are handed to the disk.
    static let writeBehind: Int64 = 8 << 20

    /// The paths a command must not write over: the files the store keeps and the command's inputs.
    static func protected(store: any StoreIdentity, inputs: [String]) -> [String] {
        inputs + store.ownedFiles
    }

    /// Opens `path` for writing; see the type's description.
    /// - Parameter protecting: paths the target must not resolve to (see `protected(store:inputs:)`).
    /// - Parameter suffix: names the temporary's random part (tests pass a fixed one).
    init(path: String, protecting: [String], suffix: () -> String = OutputFile.randomSuffix) throws(CommandError) {
        self.path = path
        if path == "-" || path == "/dev/stdout" {
            descriptor = dup(STDOUT_FILENO)
            guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: Self.reason()) }
            kind = .inPlace
            finalMode = 0
            return
        }
        guard !path.isEmpty else { throw .cannotWrite(path: "''", reason: "the name is empty") }
        if let clash = Self.clash(of: path, with: protecting) {
            throw .cannotWrite(path: path, reason: "it is \(clash), which this command must not overwrite")
        }
        var info = stat()
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFDIR: throw .cannotWrite(path: path, reason: "it is a directory; name a file")
            case S_IFBLK: throw .cannotWrite(path: path, reason: "it is a block device")
            case S_IFCHR, S_IFIFO, S_IFSOCK:
                descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
                guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: Self.reason()) }
                kind = .inPlace
                finalMode = 0
                return
            default:
                // The old file's permissions, never its set-user-ID, set-group-ID or sticky bits.
                finalMode = info.st_mode & 0o777
            }
        } else if errno == ENOENT || errno == ENOTDIR {
            guard errno == ENOENT else { throw .cannotWrite(path: path, reason: Self.reason()) }
            let mask = umask(0)
            umask(mask)
            finalMode = 0o666 & ~mask
        } else {
            throw .cannotWrite(path: path, reason: Self.reason())
        }
        let (fd, temporary) = try Self.createTemporary(for: path, suffix: suffix)
        descriptor = fd
        kind = .replace(temporary: temporary)
    }

    /// Creates `PATH.partial-PID-RANDOM` beside `path` with O_CREAT|O_EXCL|O_NOFOLLOW and mode
    /// 0600, registered for removal on SIGINT/SIGTERM/SIGHUP; stale ones of dead processes go first.
    static func createTemporary(for path: String, suffix: () -> String = randomSuffix) throws(CommandError) -> (Int32, String) {
        removeStaleTemporaries(of: path)
        for _ in 0..<16 {
            let candidate = "\(path).partial-\(getpid())-\(suffix())"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                TemporaryFiles.register(candidate)
                return (fd, candidate)
            }
            if errno != EEXIST { throw .cannotWrite(path: path, reason: reason()) }
        }
        throw .cannotWrite(path: path, reason: "no temporary name was free beside it")
    }

    /// An empty private temporary beside `path` for a writer that opens it by name (the backup);
    /// the caller unregisters it with `TemporaryFiles.unregister` when done.
    static func reserveTemporary(for path: String) throws(CommandError) -> String {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw .cannotWrite(path: path, reason: "it is a directory; name a file")
        }
        let (fd, temporary) = try createTemporary(for: path)
        close(fd)
        return temporary
    }

    deinit { abandon() }

    /// Writes all of `bytes`, or throws (the caller then abandons the file).
    func write(_ bytes: UnsafeRawBufferPointer) throws(CommandError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw .readerGone(path: path) }
                throw .cannotWrite(path: path, reason: Self.reason())
            }
            offset += written
        }
        self.written += Int64(bytes.count)
        // A large file's pages start for the disk as it is written, so the `fsync` of `commit`
        // waits for the last few megabytes rather than for the whole file (a 929 MB export: the
        // fsync took 0.4 s, and the writes themselves got slower as dirty pages piled up).
        // POSIX_FADV_DONTNEED starts the writing of the dirty range and drops only pages already
        // clean; it is advice, so its failure changes nothing.
        if case .replace = kind, self.written - handedToDisk >= Self.writeBehind {
            _ = posix_fadvise(descriptor, off_t(handedToDisk), off_t(self.written - handedToDisk), POSIX_FADV_DONTNEED)
            handedToDisk = self.written
        }
    }

    func write(_ bytes: [UInt8]) throws(CommandError) {
        let failure: CommandError? = bytes.withUnsafeBytes { raw -> CommandError? in
            do throws(CommandError) { try write(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    func write(_ text: String) throws(CommandError) {
        try write(Array(text.utf8))
    }

    /// Makes the file durable and puts it in place.
    func commit() throws(CommandError) {
        guard !finished else { return }
        try makeDurable()
        finished = true
        guard case .replace(let temporary) = kind else { return }
        defer { TemporaryFiles.unregister(temporary) }
        guard rename(temporary, path) == 0 else {
            let reason = Self.reason()
            unlink(temporary)
            throw .cannotWrite(path: path, reason: reason)
        }
        // Make the rename itself durable.
        let directory = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// Writes the file's bytes to the disk and closes it, without putting it in place yet: for a
    /// file that must appear only once something else has happened (the rejects of an import,
    /// after its commit). `commit` then puts it in place, `abandon` removes it.
    func makeDurable() throws(CommandError) {
        guard !finished, descriptor >= 0 else { return }
        switch kind {
        case .inPlace:
            let failed = close(descriptor) != 0 && errno != EINTR
            descriptor = -1
            if failed {
                finished = true
                throw .cannotWrite(path: path, reason: Self.reason())
            }
        case .replace(let temporary):
            if fsync(descriptor) != 0 || fchmod(descriptor, finalMode) != 0 {
                let reason = Self.reason()
                close(descriptor)
                descriptor = -1
                finished = true
                unlink(temporary)
                TemporaryFiles.unregister(temporary)
                throw .cannotWrite(path: path, reason: reason)
            }
            let closed = close(descriptor) == 0
            descriptor = -1
            guard closed else {
                let reason = Self.reason()
                finished = true
                unlink(temporary)
                TemporaryFiles.unregister(temporary)
                throw .cannotWrite(path: path, reason: reason)
            }
        }
    }

    /// Removes the temporary (the old target stays as it was). Safe to call more than once.
    func abandon() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if case .replace(let temporary) = kind {
            unlink(temporary)
            TemporaryFiles.unregister(temporary)
        }
    }

    // MARK: Helpers

    static func randomSuffix() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 36) }

    static func reason() -> String {
        switch errno {
        case ENOSPC: return "the disk is full (\(String(cString: strerror(errno))))"
        case EDQUOT: return "the disk quota is exhausted"
        default: return String(cString: strerror(errno))
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The canonical form of a path that may not exist yet: its directory resolved, then its name;
    /// an existing target is resolved whole (through a final symlink too).
    static func canonical(_ path: String) -> String? {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        guard let directory = realpath(directory(of: path), nil) else { return nil }
        defer { free(directory) }
        let base = baseName(of: path)
        let prefix = String(cString: directory)
        return (prefix == "/" ? "" : prefix) + "/" + base
    }

    /// Names what `path` would overwrite among `protected`, or nil. `-` among them stands for
    /// standard input: whatever file or pipe it is may not be written either.
    static func clash(of path: String, with protected: [String]) -> String? {
        let target = canonical(path)
        var targetInfo = stat()
        let targetExists = stat(path, &targetInfo) == 0
        if protected.contains("-"), targetExists {
            var input = stat()
            if fstat(STDIN_FILENO, &input) == 0, input.st_dev == targetInfo.st_dev, input.st_ino == targetInfo.st_ino {
                return "this command's standard input"
            }
        }
        for other in protected where !other.isEmpty && other != "-" {
            var otherInfo = stat()
            let sameFile = targetExists && stat(other, &otherInfo) == 0
                && otherInfo.st_dev == targetInfo.st_dev && otherInfo.st_ino == targetInfo.st_ino
            if sameFile || (target != nil && target == canonical(other)) {
                return describe(other, among: protected)
            }
        }
        return nil
    }

    private static func describe(_ path: String, among protected: [String]) -> String {
        for suffix in ["-wal", "-shm", "-journal", ".lock"] where path.hasSuffix(suffix) && protected.contains(String(path.dropLast(suffix.count))) {
            return "the project database's \(suffix.dropFirst()) file"
        }
        if protected.contains(path + "-wal") { return "the project database" }
        return "an input of this command (\(path))"
    }

    /// Removes `PATH.partial-PID-*` files whose process no longer exists (a killed export).
    static func removeStaleTemporaries(of path: String) {
        let directory = directory(of: path)
        let prefix = baseName(of: path) + ".partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pidText = rest.split(separator: "-").first, let pid = Int32(pidText), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }
}

/// Temporaries being written, removed by a signal handler if the process is interrupted.
/// The table is fixed-size C memory so the handler stays async-signal-safe.
enum TemporaryFiles {
    static let slots = 8
    static let width = 4096
    nonisolated(unsafe) static let table: UnsafeMutablePointer<CChar> = {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: slots * width)
        pointer.initialize(repeating: 0, count: slots * width)
        return pointer
    }()
    nonisolated(unsafe) static var installed = false

    static func register(_ path: String) {
        let bytes = Array(path.utf8CString)
        guard bytes.count <= width else { return }
        installHandlers()
        for slot in 0..<slots where table[slot * width] == 0 {
            for (index, byte) in bytes.enumerated().reversed() { table[slot * width + index] = byte }
            return
        }
    }

    static func unregister(_ path: String) {
        for slot in 0..<slots where table[slot * width] != 0 && String(cString: table + slot * width) == path {
            table[slot * width] = 0
        }
    }

    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                for slot in 0..<TemporaryFiles.slots where TemporaryFiles.table[slot * TemporaryFiles.width] != 0 {
                    unlink(TemporaryFiles.table + slot * TemporaryFiles.width)
                }
                signal(received, SIG_DFL)
                raise(received)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            var previous = sigaction()
            sigaction(signalNumber, nil, &previous)
            // Keep a disposition someone else chose (the review session's SIGINT handler, an ignored signal).
            if previous.__sigaction_handler.sa_handler == nil {
                sigaction(signalNumber, &action, nil)
            }
        }
    }
}
