import DocketCommandTestSupport
import DocketCommands
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

// The pager, the editor and single-key mode on a real terminal: the real `docket` binary is
// started from an interactive bash, the first process of a tmux pane, exactly as a reviewer
// starts it, so bash's job control gives it a foreground process group of its own; `less` and
// `vi` must share that group to read the keyboard. Assertions read the screen (`capture-pane`),
// the terminal's process groups (`ps -o pid,pgid,tpgid,stat`) and the database afterwards.

/// One process on a terminal, as `ps -o pid=,pgid=,tpgid=,stat=,args=` shows it.
private struct TerminalProcess: CustomStringConvertible {
    var pid: pid_t
    var group: pid_t
    var foregroundGroup: pid_t
    var state: String
    var command: String

    /// The program's name: the first word of its command line, without a directory.
    var program: String { String(command.split(separator: " ").first?.split(separator: "/").last ?? "") }
    /// In the terminal's foreground process group and not stopped (by SIGTTIN/SIGTTOU or otherwise).
    var ownsTheTerminal: Bool { group == foregroundGroup && !state.contains("T") }
    var description: String { "\(pid) pgid \(group) tpgid \(foregroundGroup) \(state) \(command)" }
}

/// Tools the tests drive, and the Debian package each comes from (scripts/test installs them).
private let tools = ["tmux": "tmux", "bash": "bash", "less": "less", "vi": "vim-tiny", "ps": "procps"]

/// The path of `tool` on PATH, or nil.
private func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Fails the test with a sentence saying what to install when a tool is missing (never skips).
private func requireTools(_ needed: [String]) -> Bool {
    let missing = needed.filter { which($0) == nil }
    for tool in missing {
        Issue.record("""
            `\(tool)` is not on PATH, and this test drives the real program in a terminal. Install it \
            (Debian package \(tools[tool] ?? tool)): scripts/test does it, or run \
            DOCKET_SETUP_EXTRA="tmux bash less vim-tiny procps" scripts/setup.
            """)
    }
    return missing.isEmpty
}

/// A tmux server of its own, with one 100×30 pane whose first process is an interactive bash.
/// Never started with Foundation's Process: see `spawnAndWait`.
private final class ShellPane {
    let sandbox: Sandbox
    let socket: String
    let name = "review"
    private let capture: String
    private let captureName: String

    init(sandbox: Sandbox, label: String) {
        self.sandbox = sandbox
        self.socket = "docket-fg-\(label)-\(getpid())"
        self.captureName = "tmux-\(label).txt"
        // Output goes through a file, not a pipe: the tmux server would inherit a pipe and hold it open.
        self.capture = sandbox.path(captureName)
    }

    /// Runs tmux with `arguments`; its exit status and standard output.
    @discardableResult
    func tmux(_ arguments: [String]) -> (status: Int32, output: String) {
        let status = spawnAndWait(["/usr/bin/env", "tmux", "-L", socket] + arguments, stdoutPath: capture)
        return (status, sandbox.read(captureName) ?? "")
    }

    /// Starts the server and bash. The environment variables that would change what the tests
    /// see (a user's pager options, editor, state directory) are removed; bash keeps no history.
    func start() -> Bool {
        let shell = [
            "/usr/bin/env", "-u", "LESS", "-u", "LESSOPEN", "-u", "LESSCLOSE", "-u", "VISUAL", "-u", "EDITOR", "-u", "PAGER",
            "-u", "DOCKET_DB", "-u", "XDG_STATE_HOME", "HISTFILE=/dev/null", "bash", "--norc", "--noprofile",
        ]
        let started = tmux(["new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", sandbox.directory] + shell)
        #expect(started.status == 0, "tmux new-session exited with \(started.status)")
        guard started.status == 0 else { return false }
        // bash is ready when its prompt is drawn.
        let ready = eventually(seconds: 10) { !screen().trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        #expect(ready, "bash showed no prompt")
        return ready
    }

    func stop() { tmux(["kill-server"]) }

    /// Sends `text` as typed characters (`send-keys -l`): one key per character, no Enter.
    func type(_ text: String) {
        let result = tmux(["send-keys", "-t", name, "-l", text])
        #expect(result.status == 0, "tmux send-keys -l \(text) exited with \(result.status)")
    }

    /// Sends named keys (`Enter`, `Escape`, `C-u`).
    func press(_ keys: String...) {
        let result = tmux(["send-keys", "-t", name] + keys)
        #expect(result.status == 0, "tmux send-keys \(keys) exited with \(result.status)")
    }

    /// Types a command line and Enter.
    func enter(_ line: String) {
        type(line)
        press("Enter")
    }

    /// The visible screen; tmux drops trailing spaces from each line.
    func screen() -> String { tmux(["capture-pane", "-p", "-t", name]).output }

    /// The screen and the scrollback above it.
    func scrollback() -> String { tmux(["capture-pane", "-p", "-S", "-", "-t", name]).output }

    /// The screen's non-empty lines.
    func lines() -> [String] { screen().split(separator: "\n").map(String.init) }

    /// The line the cursor is on (the last non-empty one).
    func promptLine() -> String { lines().last ?? "" }

    /// The pane's terminal device (`/dev/pts/N`).
    func terminal() -> String {
        tmux(["display-message", "-p", "-t", name, "#{pane_tty}"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every process on the pane's terminal, with its process group and the terminal's foreground group.
    func processes() -> [TerminalProcess] {
        let tty = terminal()
        guard !tty.isEmpty else { return [] }
        let listing = sandbox.path("ps-\(socket).txt")
        _ = spawnAndWait(["/usr/bin/env", "ps", "-o", "pid=,pgid=,tpgid=,stat=,args=", "-t", tty], stdoutPath: listing)
        let text = FileManager.default.contents(atPath: listing).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return text.split(separator: "\n").compactMap { row in
            let fields = row.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true)
            guard fields.count == 5, let pid = pid_t(fields[0]), let group = pid_t(fields[1]), let foreground = pid_t(fields[2]) else { return nil }
            return TerminalProcess(pid: pid, group: group, foregroundGroup: foreground, state: String(fields[3]), command: String(fields[4]))
        }
    }

    /// The process on the pane's terminal running `program`, once there is one.
    func waitForProcess(_ program: String, excluding previous: pid_t? = nil) -> TerminalProcess? {
        var found: TerminalProcess?
        _ = eventually(seconds: 10) {
            found = processes().first { $0.program == program && $0.pid != previous }
            return found != nil
        }
        return found
    }

    /// Waits for Docket to exit and returns the status bash saw (`$?`), or nil.
    func docketExitStatus() -> Int32? {
        guard eventually(seconds: 10, { !processes().contains { $0.program == "docket" } }) else { return nil }
        enter(#"echo "docket-exit=$?""#)
        var status: Int32?
        _ = eventually(seconds: 10) {
            status = lines().compactMap { line in line.hasPrefix("docket-exit=") ? Int32(line.dropFirst("docket-exit=".count)) : nil }.last
            return status != nil
        }
        return status
    }
}

/// A project with labels safe,unsafe, overlap 1, no exploration, and the items given as
/// (id, response, risk): the queue serves them by falling risk.
private func pagerProject(_ items: [(id: String, response: String, risk: Double)]) throws -> Sandbox {
    let sandbox = Sandbox()
    let db = sandbox.databasePath
    #expect(try runDocket(["init", "--db", db, "--labels", "safe,unsafe", "--overlap", "1", "--explore", "0", "--seed", "3"]).status == 0)
    let rows = items.map { item -> String in
        JSONValue.object([
            ("id", .string(item.id)), ("prompt", .string("Prompt of \(item.id)")), ("response", .string(item.response)), ("risk", .number(item.risk)),
        ]).encoded()
    }
    sandbox.write("items.jsonl", rows.joined(separator: "\n") + "\n")
    #expect(try runDocket(["import", "items", "--db", db, sandbox.path("items.jsonl")]).status == 0)
    #expect(try runDocket(["reviewers", "add", "--db", db, "ana"]).status == 0)
    return sandbox
}

/// A task asking for a label (safe, borderline, unsafe) and a rating 1–5, with ten short items
/// k0…k9 of falling risk, so the queue serves them in that order.
private func labelAndRatingProject() throws -> Sandbox {
    let sandbox = Sandbox()
    let db = sandbox.databasePath
    #expect(try runDocket(["init", "--db", db, "--labels", "safe,borderline,unsafe", "--seed", "1"]).status == 0)
    sandbox.write("docket.yaml", """
        labels: [safe, borderline, unsafe]
        level: ordinal
        rating:
          name: helpfulness
          scale: [1, 5]
        asks: [label, rating]
        overlap: 1
        explore: 0

        """)
    let applied = try runDocket(["config", "apply", "--db", db, sandbox.path("docket.yaml")])
    #expect(applied.status == 0, "\(applied.errors)")
    let rows = (0..<10).map { #"{"id":"k\#($0)","prompt":"Prompt \#($0)","response":"Answer \#($0).","risk":\#(Double(95 - 5 * $0) / 100)}"# }
    sandbox.write("items.jsonl", rows.joined(separator: "\n") + "\n")
    #expect(try runDocket(["import", "items", "--db", db, sandbox.path("items.jsonl")]).status == 0)
    #expect(try runDocket(["reviewers", "add", "--db", db, "ana"]).status == 0)
    return sandbox
}

/// The line that starts a review session in the pane, as a reviewer would type it.
private func reviewCommand(_ sandbox: Sandbox, _ settings: String, keys: Bool = false) -> String {
    "cd \(sandbox.directory) && \(settings) TMPDIR=\(sandbox.directory) HOME=\(sandbox.directory) XDG_STATE_HOME=\(sandbox.path("state")) "
        + "\(Fixtures.docketBinary) review --db \(sandbox.databasePath) --as ana\(keys ? " --keys" : "")"
}

/// The current label given to each item, by item id.
private func currentLabel(_ store: SQLiteStore, _ item: String) throws -> SQLValue? {
    try store.db.scalar(
        "SELECT f.label FROM feedback f JOIN items i ON i.seq = f.item WHERE i.id = ? AND f.kind = 'label' AND f.id NOT IN (SELECT feedback FROM withdrawals)",
        .text(item))
}

private let longResponse = (1...100).map { "line \($0)" }.joined(separator: "\n")

@Suite(.serialized) struct ForegroundTerminalTests {
    /// A long item goes through real `less -FRX`, which owns the terminal (its process group is
    /// the foreground one, it is not stopped) and shows the item's first screenful; `q` returns to
    /// the prompt with the item's asks above it; the next command is recorded.
    @Test func longItemThroughRealLess() throws {
        guard requireTools(["tmux", "bash", "less", "ps"]) else { return }
        let sandbox = try pagerProject([("short", "Short answer.", 0.9), ("long", longResponse, 0.1)])
        let pane = ShellPane(sandbox: sandbox, label: "less")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='less -FRX'"))
        #expect(eventually { pane.promptLine() == "docket>" && pane.screen().contains("── short ·") }, "\(pane.screen())")

        pane.enter("label safe")
        // less shows one screenful: the header, the prompt and lines 1 to 24 of the response, and its `:` prompt.
        #expect(eventually { pane.promptLine() == ":" && pane.lines().contains("  line 24") }, "\(pane.screen())")
        #expect(pane.scrollback().contains("Recorded label safe."))
        let page = pane.lines()
        #expect(page.contains { $0.hasPrefix("── long ·") }, "\(pane.screen())")
        #expect(page.contains("  Prompt of long"))
        #expect(page.contains("  line 1"))
        #expect(!page.contains("  line 25"), "less showed more than a screenful: \(pane.screen())")
        let less = try #require(pane.waitForProcess("less"), "no less on the terminal: \(pane.processes())")
        #expect(less.ownsTheTerminal, "less does not own the terminal: \(pane.processes())")
        let docket = try #require(pane.processes().first { $0.program == "docket" })
        #expect(less.group == docket.group, "less is not in docket's process group: \(pane.processes())")

        pane.type("q")
        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        let back = pane.lines()
        #expect(back.suffix(2) == ["Asks: label (1 safe / 2 unsafe)", "docket>"], "\(pane.screen())")
        #expect(!pane.processes().contains { $0.program == "less" })

        pane.enter("label unsafe")
        #expect(eventually { pane.screen().contains("Session ended: 2 items reviewed.") }, "\(pane.screen())")
        #expect(pane.screen().contains("Recorded label unsafe.\nItem long done."))
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try currentLabel(store, "short") == .text("safe"))
        #expect(try currentLabel(store, "long") == .text("unsafe"))
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 2)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 2)
    }

    /// `edit` through a real `vi -u NONE` (vim-tiny on a fresh Debian) in the foreground: the
    /// typed text is stored and the diff shown; `:cq` records nothing; a vi killed with SIGKILL
    /// records nothing; the session goes on after each.
    @Test func editThroughRealVi() throws {
        guard requireTools(["tmux", "bash", "vi", "ps"]) else { return }
        let sandbox = try pagerProject([("e1", "Original response text.", 0.9), ("e2", "Other answer.", 0.1)])
        let pane = ShellPane(sandbox: sandbox, label: "vi")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "VISUAL='vi -u NONE' EDITOR='vi -u NONE'"))
        #expect(eventually { pane.promptLine() == "docket>" && pane.screen().contains("── e1 ·") }, "\(pane.screen())")

        // Change the text and write it.
        pane.enter("edit")
        let vi = try #require(pane.waitForProcess("vi"), "no vi on the terminal: \(pane.processes())")
        #expect(vi.ownsTheTerminal, "vi does not own the terminal: \(pane.processes())")
        #expect(eventually { pane.lines().first == "Original response text." }, "\(pane.screen())")
        pane.type("ggdGiCorrected by vim.")
        #expect(eventually { pane.lines().first == "Corrected by vim." }, "\(pane.screen())")
        pane.press("Escape")
        pane.type(":wq")
        pane.press("Enter")
        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.screen().contains("""
            docket> edit
            - Original response text.
            + Corrected by vim.
            Recorded edit of response A. Still asked: label.
            docket>
            """), "\(pane.screen())")

        // `:cq` makes vi exit with a failure: nothing is recorded.
        pane.enter("edit")
        let second = try #require(pane.waitForProcess("vi", excluding: vi.pid), "no vi on the terminal: \(pane.processes())")
        #expect(second.ownsTheTerminal, "\(pane.processes())")
        #expect(eventually { pane.lines().first == "Original response text." }, "\(pane.screen())")
        pane.type(":cq")
        pane.press("Enter")
        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.screen().contains("""
            docket> edit
            The editor 'vi -u NONE' exited with status 1; nothing was recorded.
            Edit abandoned; nothing was recorded.
            docket>
            """), "\(pane.screen())")

        // vi killed with SIGKILL: nothing is recorded and the next command works. (A killed vi
        // leaves the terminal on its alternate screen, so the session's text is drawn over
        // vi's last screen: look for it anywhere on the screen.)
        pane.enter("edit")
        let third = try #require(pane.waitForProcess("vi", excluding: second.pid), "no vi on the terminal: \(pane.processes())")
        #expect(third.ownsTheTerminal, "\(pane.processes())")
        #expect(eventually { pane.lines().first == "Original response text." }, "\(pane.screen())")
        #expect(kill(third.pid, SIGKILL) == 0)
        let killed = #/The editor 'vi -u NONE' was ended by signal 9 \(SIGKILL\); nothing was recorded\.\nEdit abandoned; nothing was recorded\./#
        #expect(eventually { pane.screen().contains(killed) }, "\(pane.screen())")
        pane.enter("label safe")
        #expect(eventually { pane.screen().contains("── e2 ·") }, "\(pane.screen())")
        #expect(pane.screen().contains("Recorded label safe.\nItem e1 done."), "\(pane.screen())")
        pane.enter("quit")
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM feedback WHERE kind = 'edit'") == 1)
        #expect(try store.db.scalar("SELECT text FROM feedback WHERE kind = 'edit'") == .text("Corrected by vim."))
        #expect(try store.db.scalar("SELECT target FROM feedback WHERE kind = 'edit'") == .text("A"))
        #expect(try currentLabel(store, "e1") == .text("safe"))
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 2)
        // The temporary files (and vi's swap files, even the killed one's) were in TMPDIR, the sandbox.
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.directory).filter { $0.hasPrefix("docket-edit-") }.isEmpty)
    }

    /// `PAGER=true` quits at once on a 20,000-line item: the session survives (no SIGPIPE, no
    /// trap), prints the item plainly, and the next command works.
    @Test func pagerThatQuitsAtOnce() throws {
        guard requireTools(["tmux", "bash", "ps"]) else { return }
        let huge = (1...20_000).map { "row \($0)" }.joined(separator: "\n")
        let sandbox = try pagerProject([("huge", huge, 0.9), ("short", "Short answer.", 0.1)])
        let pane = ShellPane(sandbox: sandbox, label: "true")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER=true"))
        #expect(eventually(seconds: 20) { pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.lines().suffix(4) == ["  row 19999", "  row 20000", "Asks: label (1 safe / 2 unsafe)", "docket>"], "\(pane.screen())")
        #expect(pane.processes().contains { $0.program == "docket" })

        pane.enter("label safe")
        #expect(eventually { pane.screen().contains("── short ·") && pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.screen().contains("Recorded label safe.\nItem huge done."), "\(pane.screen())")
        pane.enter("label unsafe")
        #expect(eventually { pane.screen().contains("Session ended: 2 items reviewed.") }, "\(pane.screen())")
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try currentLabel(store, "huge") == .text("safe"))
        #expect(try currentLabel(store, "short") == .text("unsafe"))
    }

    /// A pager that quits at once without reading (`sleep 0.1`, well within the fifth of a
    /// second `Console.page` allows) on an item taller than the terminal but small enough to fit
    /// in the pipe (100 short lines): the item should then be printed plainly. It is not: see the
    /// known issue. (`PAGER=true` shows the same, but only when Docket's write wins the race with
    /// `true`'s exit, which is most of the time on an idle machine.)
    @Test func pagerThatQuitsAtOnceOnAnItemThatFitsInThePipe() throws {
        guard requireTools(["tmux", "bash"]) else { return }
        let sandbox = try pagerProject([("medium", longResponse, 0.9)])
        let pane = ShellPane(sandbox: sandbox, label: "sleep")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='sleep 0.1'"))
        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        // The pager read none of the text: it is shown plainly.
        #expect(eventually(seconds: 5) { pane.lines().suffix(3) == ["  line 100", "Asks: label (1 safe / 2 unsafe)", "docket>"] }, "\(pane.screen())")
        pane.enter("quit")
        #expect(pane.docketExitStatus() == 0)
    }

    /// `less` killed with SIGKILL while it shows the item: the session says so, prints the item
    /// plainly, the terminal still echoes what is typed, and the next command works.
    @Test func pagerKilledWithSigkill() throws {
        guard requireTools(["tmux", "bash", "less", "ps"]) else { return }
        let sandbox = try pagerProject([("long", longResponse, 0.9), ("short", "Short answer.", 0.1)])
        let pane = ShellPane(sandbox: sandbox, label: "kill")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='less -FRX'"))
        #expect(eventually { pane.promptLine() == ":" && pane.lines().contains("  line 24") }, "\(pane.screen())")
        let less = try #require(pane.waitForProcess("less"), "no less on the terminal: \(pane.processes())")
        #expect(less.ownsTheTerminal, "less does not own the terminal: \(pane.processes())")
        #expect(kill(less.pid, SIGKILL) == 0)

        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.lines().suffix(3) == ["  line 100", "Asks: label (1 safe / 2 unsafe)", "docket>"], "\(pane.screen())")
        let said = #/The pager 'less -FRX' was ended by signal 9 \(SIGKILL\); showing the text here\.\n── long ·/#
        #expect(pane.scrollback().contains(said), "\(pane.scrollback())")
        #expect(!pane.processes().contains { $0.program == "less" })

        // Typed text is echoed on the prompt line (the terminal's modes were restored).
        pane.type("label safe")
        #expect(eventually { pane.promptLine() == "docket> label safe" }, "\(pane.screen())")
        pane.press("Enter")
        #expect(eventually { pane.screen().contains("── short ·") && pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.screen().contains("Recorded label safe.\nItem long done."), "\(pane.screen())")
        pane.enter("label unsafe")
        #expect(eventually { pane.screen().contains("Session ended: 2 items reviewed.") }, "\(pane.screen())")
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try currentLabel(store, "long") == .text("safe"))
        #expect(try currentLabel(store, "short") == .text("unsafe"))
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 2)
    }

    /// Single-key mode: ten items that ask for a label and a rating are finished with exactly 20
    /// keypresses and no Enter, and what is stored is exactly what was typed, item by item.
    @Test func twentyKeysFinishTenItems() throws {
        guard requireTools(["tmux", "bash"]) else { return }
        let sandbox = try labelAndRatingProject()
        let pane = ShellPane(sandbox: sandbox, label: "keys")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='less -FRX'", keys: true))

        let labelKeys = [3, 1, 2, 3, 3, 1, 2, 1, 3, 2]
        let ratingKeys = [4, 2, 5, 1, 3, 5, 4, 2, 1, 3]
        let labels = ["safe", "borderline", "unsafe"]
        var keystrokes = 0
        /// The id in the last item header on the screen.
        func shownItem() -> String? {
            pane.lines().last { $0.hasPrefix("── ") }.map { String($0.dropFirst(3).prefix { $0 != " " }) }
        }
        for index in 0..<10 {
            let labelPrompt = "label: 1 safe  2 borderline  3 unsafe · u undo · s skip · : command · ? keys >"
            #expect(eventually { shownItem() == "k\(index)" && pane.promptLine() == labelPrompt }, "item k\(index): \(pane.screen())")
            pane.type(String(labelKeys[index]))
            keystrokes += 1
            #expect(eventually { pane.promptLine().hasPrefix("rating: 1–5 · u undo") }, "item k\(index): \(pane.screen())")
            pane.type(String(ratingKeys[index]))
            keystrokes += 1
        }
        #expect(keystrokes == 20)
        #expect(eventually { pane.screen().contains("Session ended: 10 items reviewed.") }, "\(pane.screen())")
        #expect(pane.screen().contains("Nothing is left for you to review. Thank you!"))
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 10)
        #expect(try store.db.int("SELECT count(*) FROM assignments") == 10)
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 20)
        #expect(try store.db.int("SELECT count(*) FROM withdrawals") == 0)
        let stored = try store.db.scalar("""
            SELECT group_concat(answer, ' ') FROM (
                SELECT i.id || '=' || max(f.label) || '/' || CAST(max(f.rating) AS INTEGER) AS answer
                FROM feedback f JOIN items i ON i.seq = f.item GROUP BY i.id ORDER BY i.id)
            """)
        let typed = (0..<10).map { "k\($0)=\(labels[labelKeys[$0] - 1])/\(ratingKeys[$0])" }.joined(separator: " ")
        #expect(stored == .text(typed))
    }

    /// Line mode on a real terminal: `3 4` and Enter (four keys and Enter) give label 3 and
    /// rating 4 and finish the item.
    @Test func bareAnswersInLineMode() throws {
        guard requireTools(["tmux", "bash"]) else { return }
        let sandbox = try labelAndRatingProject()
        let pane = ShellPane(sandbox: sandbox, label: "bare")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='less -FRX'"))
        #expect(eventually { pane.promptLine() == "docket>" && pane.screen().contains("── k0 ·") }, "\(pane.screen())")
        pane.type("3 4")
        #expect(eventually { pane.promptLine() == "docket> 3 4" }, "\(pane.screen())")
        pane.press("Enter")
        #expect(eventually { pane.screen().contains("── k1 ·") && pane.promptLine() == "docket>" }, "\(pane.screen())")
        #expect(pane.screen().contains("""
            docket> 3 4
            Recorded label unsafe. Still asked: rating.
            Recorded rating 4.
            Item k0 done.
            """), "\(pane.screen())")
        pane.enter("quit")
        #expect(pane.docketExitStatus() == 0)

        let store = try SQLiteStore.open(path: sandbox.databasePath)
        #expect(try currentLabel(store, "k0") == .text("unsafe"))
        #expect(try store.db.scalar("SELECT f.rating FROM feedback f JOIN items i ON i.seq = f.item WHERE i.id = 'k0' AND f.kind = 'rating'") == .real(4))
        #expect(try store.db.int("SELECT count(*) FROM feedback") == 2)
        #expect(try store.db.int("SELECT count(*) FROM assignments WHERE state = 'done'") == 1)
    }

    /// Ctrl-Z then `fg` in single-key mode and in line mode: the session takes up its own
    /// terminal mode again, so a key still answers at once and Tab still completes.
    @Test func ctrlZThenFgKeepsTheSessionsTerminalMode() throws {
        guard requireTools(["tmux", "bash"]) else { return }
        let sandbox = try labelAndRatingProject()
        let pane = ShellPane(sandbox: sandbox, label: "jobs")
        defer { pane.stop() }
        guard pane.start() else { return }
        pane.enter(reviewCommand(sandbox, "PAGER='less -FRX'", keys: true))
        let labelPrompt = "label: 1 safe  2 borderline  3 unsafe · u undo · s skip · : command · ? keys >"
        #expect(eventually { pane.promptLine() == labelPrompt }, "\(pane.screen())")
        pane.press("C-z")
        #expect(eventually { pane.screen().contains("Stopped") }, "\(pane.screen())")
        pane.enter("fg")
        // No Enter: in the session's own mode the key answers at once.
        #expect(eventually { pane.promptLine() == labelPrompt }, "\(pane.screen())")
        pane.type("3")
        #expect(eventually { pane.screen().contains("Recorded label unsafe. Still asked: rating.") }, "\(pane.screen())")
        pane.press("Tab")
        #expect(eventually { pane.screen().contains("Line mode:") }, "\(pane.screen())")
        #expect(eventually { pane.promptLine() == "docket>" }, "\(pane.screen())")
        pane.press("C-z")
        #expect(eventually { pane.screen().components(separatedBy: "Stopped").count == 3 }, "\(pane.screen())")
        pane.enter("fg")
        pane.type("pro")
        pane.press("Tab")
        #expect(eventually { pane.promptLine() == "docket> progress" }, "\(pane.screen())")
        pane.press("C-u")
        pane.enter("quit")
        #expect(pane.docketExitStatus() == 0)
    }
}
