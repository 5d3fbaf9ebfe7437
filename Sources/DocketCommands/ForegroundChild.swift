import Foundation

/// Runs an interactive helper program (the pager, the editor) in the terminal's foreground.
///
/// The child is spawned with `posix_spawn` in Docket's own process group, so it is in the
/// terminal's foreground group whenever Docket is: `less` and `vim` can read the keyboard and set
/// terminal modes without being stopped by SIGTTIN/SIGTTOU. (Foundation's `Process` puts the
/// child in a new group, which froze sessions.) While it runs, Docket ignores SIGINT and SIGQUIT
/// as `system(3)` does, so Ctrl-C goes to the helper; afterwards the terminal's modes are restored,
/// whatever state a killed helper left them in.
enum ForegroundChild {
    enum Outcome: Equatable {
        /// The child could not be started at all.
        case failedToStart(String)
        case exited(Int32)
        case signaled(Int32)

        var succeeded: Bool { self == .exited(0) }

        /// A sentence for when the helper did not succeed.
        var explanation: String {
            switch self {
            case .failedToStart(let reason): return "could not be started (\(reason))"
            case .exited(127): return "was not found (exit status 127)"
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "was ended by signal \(signal)\(signalName(signal).map { " (\($0))" } ?? "")"
            }
        }
    }

    struct Result {
        var outcome: Outcome
        /// How many bytes of the text given on standard input the child read (all of them for a
        /// pager that showed everything; none for one that quit at once).
        var consumed: Int
    }

    /// Shell metacharacters: a command holding none of them is run with `exec`, so the helper
    /// replaces the shell (its signals and exit are its own, and no shell reports "Killed").
    static func runsDirectly(_ command: String) -> Bool {
        !command.contains { "|&;<>()$`\\\"'*?[#~=%!{}\n".contains($0) }
    }

    /// `command` run by the shell, with `exec` when it is a plain command line.
    static func script(_ command: String, arguments: String = "") -> String {
        (runsDirectly(command) ? "exec " : "") + command + arguments
    }

    /// Runs `/bin/sh -c command` with `arguments` as `$1…`, feeding `input` (when given) to its
    /// standard input through a pipe; standard output and error stay the terminal's.
    /// - Parameter whileWaiting: called about every `waitingInterval` seconds while the child
    ///   runs (the session renews its lease: a reviewer may read or write for a long time).
    static func run(shell command: String, arguments: [String] = [], input: [UInt8]? = nil, whileWaiting: (() -> Void)? = nil) -> Result {

        // Terminal modes, to put back after the child (a killed pager leaves raw mode behind).
        var savedModes = termios()
        let haveModes = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &savedModes) == 0
        defer {
            if haveModes {
                var modes = savedModes
                _ = tcsetattr(STDIN_FILENO, TCSADRAIN, &modes)
            }
        }

        var pipeEnds: [Int32] = [-1, -1]
        if input != nil {
            guard pipe(&pipeEnds) == 0 else {
                return Result(outcome: .failedToStart(String(cString: strerror(errno))), consumed: 0)
            }
            // Neither end may leak into other children; the child gets the read end as its stdin.
            _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil { posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], STDIN_FILENO) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default dispositions for what Docket ignores or handles, and no
        // signals blocked. No POSIX_SPAWN_SETPGROUP: it stays in Docket's (foreground) group.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // Ignore keyboard signals while the child has the keyboard, as system(3) does.
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        var oldInterrupt = sigaction(), oldQuit = sigaction()
        sigaction(SIGINT, &ignore, &oldInterrupt)
        sigaction(SIGQUIT, &ignore, &oldQuit)
        defer {
            sigaction(SIGINT, &oldInterrupt, nil)
            sigaction(SIGQUIT, &oldQuit, nil)
        }

        let argv = ["sh", "-c", command, "sh"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, &cArguments, environ)
        guard spawned == 0 else {
            if input != nil {
                close(pipeEnds[0])
                close(pipeEnds[1])
            }
            return Result(outcome: .failedToStart(String(cString: strerror(spawned))), consumed: 0)
        }

        var status: Int32 = 0
        var exited = false
        var consumed = 0
        var waiting = Waiting(call: whileWaiting)
        if let input {
            // Docket keeps the read end too, so that after the child exits it can count what the
            // child left unread (FIONREAD). Writes are non-blocking: while the pipe is full, Docket
            // waits for room or for the child to exit, whichever comes first.
            _ = fcntl(pipeEnds[1], F_SETFL, fcntl(pipeEnds[1], F_GETFL) | O_NONBLOCK)
            var written = 0
            input.withUnsafeBufferPointer { bytes in
                while written < bytes.count, !exited {
                    let count = write(pipeEnds[1], bytes.baseAddress! + written, bytes.count - written)
                    if count > 0 {
                        written += count
                        continue
                    }
                    if count < 0, errno == EINTR { continue }
                    guard count < 0, errno == EAGAIN || errno == EWOULDBLOCK else { break }
                    var room = pollfd(fd: pipeEnds[1], events: Int16(POLLOUT), revents: 0)
                    _ = poll(&room, 1, 50)
                    if waitpid(pid, &status, WNOHANG) == pid { exited = true }
                    waiting.tick()
                }
            }
            close(pipeEnds[1])
            if !exited {
                _ = waiting.wait(for: pid, status: &status)
                exited = true
            }
            var unread: Int32 = 0
            if ioctl(pipeEnds[0], UInt(FIONREAD), &unread) != 0 { unread = 0 }
            close(pipeEnds[0])
            consumed = max(0, written - Int(unread))
        } else {
            guard waiting.wait(for: pid, status: &status) else {
                return Result(outcome: .failedToStart(String(cString: strerror(errno))), consumed: 0)
            }
        }
        let outcome: Outcome = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        if case .signaled = outcome, isatty(STDOUT_FILENO) == 1 {
            // A killed full-screen program leaves its screen behind: leave the alternate screen,
            // and put the cursor keys and keypad back to normal.
            TerminalConsole.writeAll(STDOUT_FILENO, "\u{1B}[?1049l\u{1B}[?1l\u{1B}>")
        }
        return Result(outcome: outcome, consumed: consumed)
    }

    /// How often `whileWaiting` is called while a helper runs.
    static let waitingInterval: UInt64 = 5_000_000_000

    /// Calls the waiting work every `waitingInterval` while the child runs.
    struct Waiting {
        let call: (() -> Void)?
        var last = DispatchTime.now().uptimeNanoseconds

        mutating func tick() {
            guard let call else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now - last >= ForegroundChild.waitingInterval else { return }
            last = now
            call()
        }

        /// Waits for `pid` to end, ticking meanwhile; false when waiting failed (errno says why).
        mutating func wait(for pid: pid_t, status: inout Int32) -> Bool {
            while true {
                let ended = waitpid(pid, &status, call == nil ? 0 : WNOHANG)
                if ended == pid { return true }
                if ended < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                _ = poll(nil, 0, 200)
                tick()
            }
        }
    }

    static func signalName(_ signal: Int32) -> String? {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGQUIT: return "SIGQUIT"
        default: return nil
        }
    }
}
