import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

@testable import DocketCommands

// The proof that everything Docket prints to a terminal is inert: a project whose every stored
// text field, input file name, input field name and output file name holds terminal escape
// sequences, and every command run by the real binary with standard output and standard error on
// a pseudo-terminal. Not one raw control byte of the data may reach the terminal; off the
// terminal, data is written exactly.

/// The hostile text: each piece is something a terminal would act on or a reader would misread.
enum Hostile {
    /// CSI: colour, clear screen.
    static let csi = "\u{1B}[31mRED\u{1B}[2J"
    /// OSC 52: writes the clipboard.
    static let osc52 = "\u{1B}]52;c;aGk=\u{07}"
    /// OSC 8: a hyperlink whose target is not what it says.
    static let osc8 = "\u{1B}]8;;https://evil.example/\u{1B}\\click\u{1B}]8;;\u{1B}\\"
    /// OSC 0: sets the window title.
    static let title = "\u{1B}]0;pwned\u{07}"
    /// C1 controls: U+009B is CSI and U+009D is OSC on terminals that honour 8-bit controls.
    static let c1 = "\u{9B}31m\u{9D}0;c1\u{07}"
    /// Right-to-left override and a zero-width space: text that reads as something else.
    static let invisible = "\u{202E}txet\u{202C}pass\u{200B}word"
    /// A carriage return that would overwrite the start of the line, backspace and DEL.
    static let overwrite = "\rSPOOFED\u{08}\u{7F}"

    static let payload = csi + osc52 + osc8 + title + "\u{07}" + c1 + invisible + overwrite
    /// For CSV cells: no carriage return.
    static let payloadNoCR = csi + osc52 + osc8 + title + "\u{07}" + c1 + invisible + "\u{08}\u{7F}"

    static func text(_ tag: String) -> String { tag + " " + payload }

    static let labels = ["saf\u{1B}[32me", "bord\u{9B}1merline", "un\u{1B}]0;t\u{07}safe\u{202E}"]
    static let flagReasons = ["unsafe\u{1B}[5m", "other\u{9D}x"]
    static let tierExpert = "expert\u{1B}]0;x\u{07}"
    static let tierSecond = "second\u{1B}[7m"
    static let rounds = ["r1\u{1B}]0;round\u{07}\u{202E}", "r2\u{9B}2J"]
    /// Item ids may not hold control characters, but format characters are allowed.
    static let ids = (0..<4).map { "it\u{202E}\($0)\u{200B}" }
    static let pairID = "pair\u{200B}\u{202E}"
    static let csvIDs = ["c\u{202E}1", "c\u{202E}2"]
    static let categories = ["cat\u{1B}[32m0", "cat\u{9B}1" + title]
    /// Reviewer names Docket refuses: the refusal echoes them.
    static let refusedNames = ["x\u{1B}[31m", "osc\u{1B}]0;t\u{07}", "c1\u{9B}2J", "bidi\u{202E}", "zw\u{200B}", "cr\rSPOOF"]
    static let fileInputs = "items\u{1B}]0;title\u{07}.jsonl"
    static let fileCSV = "more\u{1B}[31m\u{07}.csv"
    static let fileBad = "bad\u{1B}]52;c;aGk=\u{07}.jsonl"
    static let fileBadCSV = "bad\u{1B}[31m.csv"
    static let fileLabels = "labels\u{1B}[1m\u{202E}.csv"
    static let fileYAML = "task\u{1B}]0;t\u{07}.yaml"
    static let fileBadYAML = "broken\u{1B}[2J.yaml"
    static let fileWrongYAML = "wrong\u{9B}1m.yaml"

    /// A YAML double-quoted scalar: everything outside printable ASCII written as `\uXXXX`.
    static func yaml(_ text: String) -> String { "\"" + escaped(text) + "\"" }

    /// A JSON string: everything outside printable ASCII written as `\uXXXX`.
    static func json(_ text: String) -> String { "\"" + escaped(text) + "\"" }

    private static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case " "..."~": out.unicodeScalars.append(scalar)
            default:
                precondition(scalar.value <= 0xFFFF)
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }

    /// A CSV cell, quoted.
    static func csv(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// The task definition: labels, rating name and anchors, flag reasons, guidelines and
    /// escalation tiers all hostile.
    static var definition: String {
        """
        labels: [\(labels.map(yaml).joined(separator: ", "))]
        level: ordinal
        rating:
          name: \(yaml("help" + payload))
          scale: [1, 5]
          anchors:
            1: \(yaml("bad " + payload))
            5: \(yaml("good " + payload))
        asks: [label, rating, preference, critique]
        flag_reasons: [\(flagReasons.map(yaml).joined(separator: ", "))]
        guidelines: \(yaml("Guidelines " + payload + "\nsecond line " + payload))
        overlap: 3
        explore: 0
        escalation:
          - when: {requested: true}
            to: lead
          - when: {gold_wrong: true}
            to: lead
          - when: {risk_above: 0.95}
            to: \(yaml(tierExpert))
          - when: {no_majority: true}
            to: \(yaml(tierSecond))

        """
    }

    /// Items: ids, prompts, responses, categories, meta keys and values, gold labels. The first is
    /// taller than the terminal, so sessions page it.
    static var items: String {
        var rows: [String] = []
        let risks = [0.99, 0.8, 0.6, 0.4]
        for (n, id) in ids.enumerated() {
            let tall = n == 0 ? String(repeating: "\nline", count: 60) : ""
            var fields = [
                "\"id\":\(json(id))", "\"prompt\":\(json("Prompt " + payload + tall))", "\"response\":\(json("Response " + payload))",
                "\"category\":\(json(categories[n % 2]))", "\"risk\":\(risks[n])",
                "\"meta\":{\(json("key\u{1B}[1m" + title)):\(json(payload))}",
            ]
            if n < 2 { fields.append("\"gold\":\(json(labels[n]))") }
            rows.append("{" + fields.joined(separator: ",") + "}")
        }
        rows.append(
            "{\"id\":\(json(pairID)),\"prompt\":\(json("Which " + payload)),\"responses\":[\(json("A " + payload)),\(json("B " + payload))],\"category\":\(json(categories[1])),\"risk\":0.7}")
        return rows.joined(separator: "\n") + "\n"
    }

    /// Items as CSV, with raw control characters in the cells.
    static var itemsCSV: String {
        "id,prompt,response,category,risk\n"
            + csvIDs.enumerated().map { n, id in
                [csv(id), csv("CSV prompt " + payloadNoCR), csv("CSV response " + payloadNoCR), csv(categories[n]), "0.3"].joined(separator: ",")
            }.joined(separator: "\n") + "\n"
    }

    /// Rows that fail, each echoing hostile text in its message: a field name, an id, a gold label,
    /// a value of the wrong type, and a line that is not JSON at all.
    static var badItems: String {
        [
            "{\(json("\u{1B}]0;pwned\u{07}")):1,\"id\":\"b1\"}",
            "{\"id\":\(json("b\u{1B}[31m2"))}",
            "{\"id\":\"b3\",\"gold\":\(json("no\u{1B}[2J" + osc52))}",
            "{\"id\":\"b4\",\"risk\":\(json(osc52)),\"responses\":[\(json(title))]}",
            "{\"id\":\"b5\",\"prompt\":\"x\u{1B}[31m\"}",
            "not json \u{1B}]0;t\u{07}",
        ].joined(separator: "\n") + "\n"
    }

    /// A CSV header naming an unknown column full of escapes.
    static var badCSV: String { "id,\(csv(osc52 + title)),prompt\nq,1,p\n" }

    /// Historical labels: hostile labels (valid) and one refused reviewer name.
    static var labelRows: String {
        "item,reviewer,label\n"
            + "\(csv(ids[2])),imp,\(csv(labels[2]))\n"
            + "\(csv(ids[3])),imp,\(csv(labels[1]))\n"
            + "\(csv(ids[3])),\(csv(refusedNames[0])),\(csv(labels[0]))\n"
            + "\(csv(ids[3])),imp2,\(csv("not" + csi))\n"
    }

    /// YAML the parser refuses, with raw control characters on the line its excerpt shows.
    static var brokenYAML: String { "labels: [a, b]\nover\u{1B}]0;t\u{07}lap: 2\nguidelines: \"\(payload)\n" }

    /// Valid YAML with wrong settings whose messages echo keys and values.
    static var wrongYAML: String {
        """
        labels: [\(yaml(labels[0])), \(yaml(labels[0]))]
        level: \(yaml("ord" + csi))
        \(yaml("over\u{1B}[31mlap")): 2
        asks: [\(yaml("label" + title))]
        flag_reasons: [\(yaml("x" + osc52))]
        escalation:
          - when: {\(yaml("flag" + csi)): [\(yaml("nope" + title))]}
            to: \(yaml("t" + osc52))

        """
    }
}

/// glibc's pseudo-terminal calls, which the Glibc module does not import (they need
/// `_XOPEN_SOURCE`), looked up at run time.
enum PTY {
    typealias Call = @convention(c) (Int32) -> Int32
    typealias NameCall = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
    static func symbol<T>(_ name: String, as type: T.Type) -> T {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("no \(name) in libc") }
        return unsafeBitCast(address, to: type)
    }
    static func grantpt(_ descriptor: Int32) -> Int32 { symbol("grantpt", as: Call.self)(descriptor) }
    static func unlockpt(_ descriptor: Int32) -> Int32 { symbol("unlockpt", as: Call.self)(descriptor) }
    static func ptsname_r(_ descriptor: Int32, _ buffer: UnsafeMutablePointer<CChar>, _ length: Int) -> Int32 {
        symbol("ptsname_r", as: NameCall.self)(descriptor, buffer, length)
    }
}

/// A pseudo-terminal for one command: its standard output and standard error (and, unless a
/// script is given, its standard input) are the terminal's slave side; everything the command
/// writes is read back from the master side.
struct PseudoTerminal {
    /// Keystrokes typed once the terminal shows `waitFor` (or after `settle` seconds).
    struct Step {
        var waitFor: String?
        var send: String
    }

    struct Run {
        var status: Int32
        var bytes: [UInt8]
        var timedOut: Bool
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    static func run(
        _ binary: String, _ arguments: [String], environment: [String: String], stdinPath: String?, steps: [Step] = [],
        settle: Double = 1.5, timeout: Double = 60
    ) -> Run {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        precondition(master >= 0, "/dev/ptmx: \(String(cString: strerror(errno)))")
        defer { close(master) }
        precondition(PTY.grantpt(master) == 0 && PTY.unlockpt(master) == 0)
        var name = [CChar](repeating: 0, count: 128)
        precondition(PTY.ptsname_r(master, &name, name.count) == 0)
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var size = winsize(ws_row: 24, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        // The test keeps the slave open too, so reading the master never sees a hang-up before
        // the child has opened it.
        let hold = open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        precondition(hold >= 0)
        defer { close(hold) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // After setsid the first terminal the child opens becomes its controlling terminal.
        if let stdinPath {
            posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, slavePath, O_RDWR, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
            posix_spawn_file_actions_adddup2(&actions, 0, 1)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc)
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | setsid))

        let argv = [binary] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cEnvironment { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary, &actions, &attributes, &cArguments, &cEnvironment)
        precondition(spawned == 0, "posix_spawn \(binary): \(String(cString: strerror(spawned)))")

        let start = Date()
        var lastSend = Date()
        var sentAt = 0  // output offset when the last step was sent
        var pending = steps[...]
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var status: Int32 = 0
        var exited = false
        var timedOut = false
        func drain(wait milliseconds: Int32) {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            while poll(&descriptor, 1, milliseconds) > 0 {
                let count = read(master, &buffer, buffer.count)
                guard count > 0 else { return }
                output += buffer[0..<count]
                if milliseconds > 0 { return }
            }
        }
        while !exited {
            drain(wait: 20)
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            if let step = pending.first {
                let shown = String(decoding: output[sentAt...], as: UTF8.self)
                if step.waitFor.map({ shown.contains($0) }) ?? false || Date().timeIntervalSince(lastSend) > settle {
                    // A moment for the program to reach its read after drawing the prompt.
                    usleep(50_000)
                    let bytes = Array(step.send.utf8)
                    _ = bytes.withUnsafeBufferPointer { write(master, $0.baseAddress!, $0.count) }
                    pending = pending.dropFirst()
                    sentAt = output.count
                    lastSend = Date()
                }
            }
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                exited = true
            }
        }
        drain(wait: 0)
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Run(status: code, bytes: output, timedOut: timedOut)
    }

    /// Every byte on the terminal that did not come from Docket's own deliberate output: an
    /// escape, a C0 or C1 control, DEL, a format character (bidi controls, zero-width
    /// characters), a line or paragraph separator, or invalid UTF-8. Allowed: `\n`, `\t`, `\r`
    /// before `\n` (the terminal's own newline translation), and the progress line's redraw,
    /// `\r` + text + `ESC [ K`. Backspace is not allowed: Docket never moves the cursor.
    static func leaks(in bytes: [UInt8]) -> [String] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let valid = String(decoding: bytes, as: UTF8.self)
            return ["invalid UTF-8 near: " + visible(String(valid.prefix(200)))]
        }
        let scalars = Array(text.unicodeScalars)
        var problems: [String] = []
        var redrawFrom: Int?  // index of the `\r` that began a progress redraw
        func report(_ index: Int, _ what: String) {
            let before = String(String.UnicodeScalarView(scalars[max(0, index - 60)..<index]))
            let after = String(String.UnicodeScalarView(scalars[(index + 1)..<min(scalars.count, index + 25)]))
            problems.append("\(what) after «\(visible(before))» before «\(visible(after))»")
        }
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar.value {
            case 0x0A:
                if let start = redrawFrom { report(start, "lone carriage return") }
                redrawFrom = nil
            case 0x09:
                break
            case 0x0D:
                if index + 1 < scalars.count, scalars[index + 1] == "\n" { break }
                if let start = redrawFrom { report(start, "lone carriage return") }
                redrawFrom = index
            case 0x1B:
                if redrawFrom != nil, index + 2 < scalars.count, scalars[index + 1] == "[", scalars[index + 2] == "K" {
                    redrawFrom = nil
                    index += 3
                    continue
                }
                report(index, "ESC")
            default:
                switch scalar.properties.generalCategory {
                case .control: report(index, String(format: "control U+%04X", scalar.value))
                case .format: report(index, String(format: "format character U+%04X", scalar.value))
                case .lineSeparator, .paragraphSeparator: report(index, String(format: "separator U+%04X", scalar.value))
                default: break
                }
            }
            index += 1
        }
        if let start = redrawFrom { report(start, "lone carriage return") }
        return problems
    }

    /// Text with every control and format character written as a code point, for messages.
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: out += String(format: "<%02X>", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Runs docket commands on a pseudo-terminal against one project, checking each run.
final class TerminalCommands {
    let sandbox: Sandbox
    let environment: [String: String]
    private(set) var runs = 0
    private(set) var commands = Set<String>()
    private(set) var leaks: [String] = []

    init(sandbox: Sandbox) {
        self.sandbox = sandbox
        sandbox.write("inputrc", "set bell-style none\nset enable-bracketed-paste off\n")
        environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": sandbox.directory,
            "XDG_STATE_HOME": sandbox.path("state"),
            "INPUTRC": sandbox.path("inputrc"),
            // A terminal with no capabilities: readline sends no escape sequences of its own.
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PAGER": "cat",
        ]
    }

    var db: String { sandbox.databasePath }

    enum Expect { case success, failure, any }

    /// Runs `docket ARGS --db DB` on the terminal; `script` becomes standard input (a file),
    /// else the terminal is. `shows`: text the sanitised output must contain (proof the data was
    /// printed, made visible, and not merely left out).
    @discardableResult
    func run(
        _ arguments: [String], db useDatabase: Bool = true, script: String? = nil, steps: [PseudoTerminal.Step] = [], expect: Expect = .success,
        shows: [String] = [], environment extra: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> PseudoTerminal.Run {
        runs += 1
        let groups: Set = ["config", "import", "round", "reviewers"]
        let words = arguments.prefix { !$0.hasPrefix("-") }
        let name = words.prefix(words.first.map { groups.contains($0) } == true ? 2 : 1).joined(separator: " ")
        if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == " " || $0 == "-" }) { commands.insert(name) }
        let stdinPath = script.map { sandbox.write("stdin-\(runs)", $0) }
        let run = PseudoTerminal.run(
            Fixtures.docketBinary, arguments + (useDatabase ? ["--db", db] : []), environment: environment.merging(extra) { $1 },
            stdinPath: stdinPath, steps: steps)
        let label = "docket " + PseudoTerminal.visible(arguments.joined(separator: " "))
        #expect(!run.timedOut, "\(label) did not finish: \(PseudoTerminal.visible(run.text))", sourceLocation: sourceLocation)
        switch expect {
        case .success: #expect(run.status == 0, "\(label) exited \(run.status): \(PseudoTerminal.visible(run.text))", sourceLocation: sourceLocation)
        case .failure: #expect(run.status != 0, "\(label) succeeded: \(PseudoTerminal.visible(run.text))", sourceLocation: sourceLocation)
        case .any: break
        }
        #expect(!run.bytes.isEmpty, "\(label) printed nothing", sourceLocation: sourceLocation)
        for text in shows {
            #expect(run.text.contains(text), "\(label) does not show \(text): \(PseudoTerminal.visible(run.text))", sourceLocation: sourceLocation)
        }
        let found = PseudoTerminal.leaks(in: run.bytes)
        #expect(found.isEmpty, "\(label) leaked to the terminal:\n\(found.prefix(5).joined(separator: "\n"))", sourceLocation: sourceLocation)
        leaks += found.map { label + ": " + $0 }
        return run
    }
}

@Suite(.serialized) struct HostileTextTests {
    /// Four answers for any item: a preference (refused by items with one response, which keeps
    /// the item on screen), a label, a rating and a critique.
    static func answers(label: Int, rating: Int, letter: String, tag: String, items: Int) -> String {
        String(repeating: "prefer \(letter)\nlabel \(label)\nrate \(rating)\ncritique \(Hostile.text(tag))\n", count: items)
    }

    @Test func everyCommandOnATerminalIsInert() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Fixtures.docketBinary), "build the package first: \(Fixtures.docketBinary)")
        let sandbox = Sandbox()
        let docket = TerminalCommands(sandbox: sandbox)
        let P = Hostile.payload
        func file(_ name: String, _ contents: String) -> String { sandbox.write(name, contents) }

        // The files: inputs with hostile contents and hostile names.
        let definition = file(Hostile.fileYAML, Hostile.definition)
        let items = file(Hostile.fileInputs, Hostile.items)
        let itemsCSV = file(Hostile.fileCSV, Hostile.itemsCSV)
        let badItems = file(Hostile.fileBad, Hostile.badItems)
        let badCSV = file(Hostile.fileBadCSV, Hostile.badCSV)
        let labels = file(Hostile.fileLabels, Hostile.labelRows)
        let broken = file(Hostile.fileBadYAML, Hostile.brokenYAML)
        let wrong = file(Hostile.fileWrongYAML, Hostile.wrongYAML)
        let missing = sandbox.path("missing\u{1B}]0;t\u{07}.jsonl")
        let (it0, it1, pair) = (Hostile.ids[0], Hostile.ids[1], Hostile.pairID)

        // Help and version.
        docket.run([], db: false, expect: .any)
        docket.run(["--help"], db: false)
        docket.run(["--version"], db: false)
        docket.run(["help", "review"], db: false)
        docket.run(["review", "--help"], db: false)

        // The project.
        docket.run(["status"], expect: .failure)
        docket.run(["init"])
        docket.run(["init"], expect: .failure)
        docket.run(["init", "--labels", Hostile.labels[0] + ",b"], db: false, expect: .success, shows: [#"saf\e[32me"#],
                   environment: ["DOCKET_DB": sandbox.path("other\u{1B}[31m.db")])
        docket.run(["status", "--db", sandbox.path("none\u{1B}]0;t\u{07}.db")], db: false, expect: .failure, shows: [#"none\e]0;t\x07.db"#])
        docket.run(["config", "apply", broken], expect: .failure, shows: [#"broken\e[2J.yaml"#])
        docket.run(["config", "apply", wrong], expect: .failure, shows: [#"wrong\x9b1m.yaml"#])
        docket.run(["config", "apply", sandbox.path("none\u{1B}[2J.yaml")], expect: .failure)
        docket.run(["config", "apply", definition], shows: [#"task\e]0;t\x07.yaml"#])
        // YAML's own escapes (double quoted): the same text, read back exactly by `config apply`.
        docket.run(["config", "show"], shows: [#""saf\e[32me""#, #""Guidelines \e[31mRED"#])
        docket.run(["config", "show", "--json"])

        // Rounds and imports.
        docket.run(["round", "start", Hostile.rounds[0]], shows: [#"r1\e]0;round\x07\u{202e}"#])
        docket.run(["round", "start", Hostile.rounds[1]], expect: .failure, shows: [#"Round 'r1\e]0;round\x07\u{202e}' is still open"#])
        docket.run(["import", "items", badItems], expect: .failure, shows: [#"bad\e]52;c;aGk=\x07.jsonl"#, #"\e]0;pwned\x07"#])
        docket.run(["import", "items", badCSV], expect: .failure, shows: [#"bad\e[31m.csv"#])
        docket.run(["import", "items", missing], expect: .failure, shows: [#"missing\e]0;t\x07.jsonl"#])
        docket.run(["import", "items", sandbox.path("what\u{1B}[1m.txt")], expect: .failure)
        docket.run(["import", "items", badItems, "--rejects", sandbox.path("rejects\u{1B}]0;r\u{07}.jsonl")], expect: .any)
        docket.run(["import", "items", items], shows: [#"items\e]0;title\x07.jsonl"#])
        docket.run(["round", "close"])
        docket.run(["round", "close"], expect: .failure)
        docket.run(["round", "start", Hostile.rounds[1]])
        docket.run(["import", "items", itemsCSV], shows: [#"more\e[31m\x07.csv"#])
        docket.run(["round", "close"])
        // Enough rows for the progress line, whose label names the hostile file, into the other
        // project: its redraw is the one escape sequence allowed, and is drawn here.
        let bulk = file("bulk\u{1B}]0;t\u{07}.jsonl", (0..<2100).map { #"{"id":"bulk-\#($0)","prompt":"p","response":"r"}"# }.joined(separator: "\n") + "\n")
        docket.run(["import", "items", bulk, "--db", sandbox.path("other\u{1B}[31m.db")], db: false, shows: ["\u{1B}[K", #"importing "#])
        docket.run(["import", "labels", labels], expect: .failure, shows: [#"labels\e[1m\u{202e}.csv"#])
        docket.run(["import", "labels", labels, "--rejects", sandbox.path("label-rejects\u{1B}[1m.jsonl")])

        // Reviewers: refused names are echoed inertly.
        for name in ["ana", "bo", "cy", "dee"] { docket.run(["reviewers", "add", name]) }
        docket.run(["reviewers", "add", "lee", "--role", "lead"])
        for name in Hostile.refusedNames { docket.run(["reviewers", "add", name], expect: .failure, shows: ["not a valid reviewer name"]) }
        docket.run(["reviewers", "role", "bo", "--role", "lead", "--as", "ana"], expect: .failure)
        docket.run(["reviewers", "role", Hostile.refusedNames[1], "--role", "lead", "--as", "lee"], expect: .failure)
        docket.run(["reviewers", "role", "dee", "--role", "lead", "--as", "lee"])
        docket.run(["reviewers", "list"])
        docket.run(["reviewers", "list", "--json"])

        // Review sessions scripted on standard input: every command, hostile notes, flags,
        // critiques, edits, demonstrations, skips; the tall first item goes through the pager.
        let flag = "flag \(Hostile.flagReasons[0]) 3 \(Hostile.text("flag note"))\n"
        let ana = "show\nguide\nprogress\nhelp\nhelp flag\n" + flag + "note \(Hostile.text("note"))\nundo\nnote \(Hostile.text("note"))\n"
            + "edit\nedited \(P)\n.\ndemo\ndemo \(P)\n.\nbogus\(Hostile.csi)\nlabel \(Hostile.title)\nrate 9\(Hostile.csi)\n"
            + Self.answers(label: 1, rating: 4, letter: "A", tag: "ana", items: 7) + "skip \(Hostile.text("why"))\nquit\n"
        // The tall first item goes through the pager, which marks each line it shows.
        docket.run(["review", "--as", "ana"], script: ana, shows: [#"\e[31mRED\e[2J\e]52;c;aGk=\x07"#, #"\u{202e}"#, "paged:Prompt", "7 items reviewed"],
                   environment: ["PAGER": "sed s/^/paged:/"])
        let bo = "flag \(Hostile.flagReasons[1]) 2 \(Hostile.text("bo flag"))\n" + Self.answers(label: 2, rating: 2, letter: "B", tag: "bo", items: 7) + "quit\n"
        docket.run(["review", "--as", "bo"], script: bo)
        docket.run(["review", "--as", "dee", "--json"], script: "label 1\nrate 3\nprefer A\ncritique \(Hostile.text("json"))\nnote \(Hostile.text("n"))\nbogus\(Hostile.title)\nquit\n")
        docket.run(["review", "--as", "dee", "--keys"], script: "1\u{1B}[A4q")
        docket.run(["review", "--as", "ghost"], expect: .failure)
        docket.run(["review", "--as", Hostile.refusedNames[0]], expect: .failure)

        // A session on the terminal itself: readline, tab completion of hostile labels and flag
        // reasons, and single-key mode, whose prompt names the labels.
        docket.run(["review", "--as", "cy"], steps: [
            .init(waitFor: "docket> ", send: "label \t\t"),
            .init(waitFor: nil, send: "\n"),
            .init(waitFor: "docket> ", send: "flag \t\t"),
            .init(waitFor: nil, send: "\n"),
            .init(waitFor: "docket> ", send: "prog\t"),
            .init(waitFor: "progress", send: "\n"),
            .init(waitFor: "docket> ", send: "keys\n"),
            .init(waitFor: "> ", send: "1"),
            .init(waitFor: "> ", send: "4"),
            .init(waitFor: "> ", send: "q"),
        ], shows: [#"1 saf\e[32me"#, "You have reviewed"])

        // The lead's side.
        docket.run(["triage", "--as", "lee"], script: "show\n2\nbad\(Hostile.csi)\ns\n3\nhelp\nq\n")
        docket.run(["triage", "--as", Hostile.refusedNames[1]], expect: .failure)
        docket.run(["escalations"], shows: [#"second\e[7m"#])
        docket.run(["escalations", "--json"])
        docket.run(["escalations", "--tier", Hostile.tierSecond])
        docket.run(["aggregate", "--method", "dawid-skene", "--save"])
        let (L0, L1, L2) = (Hostile.labels[0], Hostile.labels[1], Hostile.labels[2])
        let lead = "show\nhelp\nbogus\(Hostile.title)\nlabel 9 r\nlabel \(L0)\nlabel \(L0) \(Hostile.text("because"))\n"
            + "choose B \(Hostile.text("why"))\nreturn \(Hostile.text("again"))\nquit\n"
        docket.run(["adjudicate", "--as", "lee"], script: lead, shows: ["Decided label saf\\e[32me", "Returned"])
        docket.run(["adjudicate", "--as", "lee", "--tier", Hostile.tierSecond],
                   script: "dismiss \(Hostile.text("d"))\nlabel \(L2) \(Hostile.text("l"))\nrate 3 \(Hostile.text("r"))\nskip\nquit\n",
                   shows: ["Dismissed", "Decided label", "Decided rating 3"])
        docket.run(["adjudicate", "--as", "lee", "--item", pair], script: "choose A \(Hostile.text("c"))\nquit\n", shows: ["Decided choice A"])
        docket.run(["adjudicate", "--as", "lee", "--item", it0], script: "label \(L1) \(Hostile.text("revised"))\nquit\n", shows: ["Decided label bord\\x9b1merline"])
        // A pager that fails: the message names it, and the item is printed here instead.
        docket.run(["adjudicate", "--as", "lee", "--item", it0], script: "quit\n", shows: ["exited with status 1"],
                   environment: ["PAGER": "false \u{1B}[31m\u{07}"])
        docket.run(["adjudicate", "--as", "ana"], script: "quit\n", expect: .failure)
        docket.run(["adjudicate", "--as", "lee", "--item", "nope\u{1B}[31m"], script: "quit\n", expect: .any)

        // Everything that reads.
        docket.run(["status"])
        docket.run(["status", "--json"])
        docket.run(["queue"])
        docket.run(["queue", "--json"])
        docket.run(["check"])
        docket.run(["migrate"])
        docket.run(["show", it0, "--as", "lee"], shows: [#"it\u{202e}0\u{200b}"#])
        docket.run(["show", it0, "--as", "ana"])
        docket.run(["show", it0, "--as", "lee", "--json"])
        docket.run(["show", it1, "--as", "lee"])
        docket.run(["show", pair, "--as", "lee"])
        docket.run(["show", Hostile.csvIDs[0], "--as", "lee"])
        docket.run(["show", it0, "--as", "ana", "--json"])
        docket.run(["show", "nope\u{1B}[31m", "--as", "lee"], expect: .failure, shows: [#"nope\e[31m"#])
        docket.run(["log"], shows: [#"r1\u001b]0;round"#])
        docket.run(["log", "--json"])
        docket.run(["log", "--item", it0])
        docket.run(["log", "--reviewer", "ana"])
        docket.run(["log", "--since", "x\u{1B}[2J"], expect: .failure)
        docket.run(["agreement"])
        for group in ["category", "reviewer-pair", "rubric", "label"] { docket.run(["agreement", "--by", group]) }
        docket.run(["agreement", "--by", "category"], shows: [#"cat\e[32m0"#])
        docket.run(["agreement", "--by", "category", "--json"])
        docket.run(["agreement", "--on", "rating"])
        docket.run(["agreement", "--metric", "cohen", "--reviewers", "ana,bo", "--ci", "bootstrap", "--reps", "50"])
        docket.run(["agreement", "--reviewers", "ana," + Hostile.refusedNames[0]], expect: .failure)
        docket.run(["agreement", "--metric", "x\u{1B}[31m"], expect: .failure)
        docket.run(["aggregate"])
        docket.run(["aggregate", "--json"])
        docket.run(["aggregate", "--method", "dawid-skene", "--json"])
        docket.run(["calibrate"])
        docket.run(["calibrate", "--json"])
        docket.run(["drift"])
        docket.run(["drift", "--by", "rubric"])
        docket.run(["drift", "--window", "day", "--json"])
        docket.run(["drift", "--window", "\u{1B}[2J"], expect: .failure)
        docket.run(["report"], shows: [#"cat\e[32m0"#])
        docket.run(["report", "--json"])
        docket.run(["report", "--html", sandbox.path("report\u{1B}]0;t\u{07}.html")], shows: [#"report\e]0;t\x07.html"#])
        for format in ["labels", "sft", "preferences", "ratings", "critiques", "escalations", "events"] {
            docket.run(["export", "--format", format], expect: .any)
            docket.run(["export", "--format", format, "--csv"], expect: .any)
        }
        docket.run(["export", "--format", "critiques", "--csv"], shows: [#"\e]52;c;aGk=\x07"#, #"\rSPOOFED"#])
        docket.run(["export", "--format", "labels", "--category", Hostile.categories[0]])
        docket.run(["export", "--format", "critiques", "--split", "train=0.5,eval=0.5", "--group-by", "cluster"])
        docket.run(["export", "--format", "labels", "--out", sandbox.path("out\u{1B}[32m\u{202E}.jsonl")], shows: [#"out\e[32m\u{202e}.jsonl"#])
        docket.run(["export", "--format", "labels", "--out", sandbox.path("no\u{1B}[2J/x.jsonl")], expect: .failure)
        docket.run(["export", "--format", "f\u{1B}]0;t\u{07}"], expect: .failure)
        docket.run(["backup", sandbox.path("backup\u{1B}]0;b\u{07}.db")])
        docket.run(["backup", sandbox.path("backup\u{1B}]0;b\u{07}.db")], expect: .failure)
        docket.run(["status", "--bogus\u{1B}[31m"], expect: .failure)
        docket.run(["nosuch\u{1B}]0;t\u{07}"], expect: .failure)

        print("HostileTextTests: ran \(docket.runs) command lines (\(docket.commands.count) commands: \(docket.commands.sorted().joined(separator: ", "))) on a pseudo-terminal; \(docket.leaks.count) leaks")
        #expect(docket.runs >= 100)
    }

    /// Off the terminal, data is data: an export to a file and to a pipe holds the escape
    /// sequences exactly as stored.
    @Test func dataOffTheTerminalIsExact() throws {
        let sandbox = Sandbox()
        let db = sandbox.databasePath
        func docket(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, output: [UInt8]) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
            process.arguments = arguments + ["--db", db]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            process.standardInput = stdin.map { FileHandle(forReadingAtPath: sandbox.write("stdin", $0))! } ?? FileHandle.nullDevice
            try process.run()
            let bytes = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, Array(bytes))
        }
        #expect(try docket(["init"]).status == 0)
        #expect(try docket(["config", "apply", sandbox.write(Hostile.fileYAML, Hostile.definition)]).status == 0)
        #expect(try docket(["round", "start", Hostile.rounds[0]]).status == 0)
        #expect(try docket(["import", "items", sandbox.write(Hostile.fileInputs, Hostile.items)]).status == 0)
        #expect(try docket(["reviewers", "add", "ana"]).status == 0)
        #expect(try docket(["review", "--as", "ana"], stdin: Self.answers(label: 1, rating: 4, letter: "A", tag: "ana", items: 5) + "quit\n").status == 0)

        // To a file.
        let target = sandbox.path("critiques\u{1B}[1m.jsonl")
        #expect(try docket(["export", "--format", "critiques", "--out", target]).status == 0)
        let lines = (FileManager.default.contents(atPath: target) ?? Data()).split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 5)
        let critiques = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any] }
        #expect(critiques.count == 5)
        for record in critiques {
            #expect(record["critique"] as? String == Hostile.text("ana"))
            #expect(Hostile.ids.contains(record["item"] as? String ?? "") || record["item"] as? String == Hostile.pairID)
        }

        // To a pipe, as CSV: the raw bytes of the critique, escape sequences and all.
        let csv = try docket(["export", "--format", "critiques", "--csv"])
        #expect(csv.status == 0)
        let raw = Array(Hostile.text("ana").utf8)
        #expect(Self.count(raw, in: csv.output) == 5, "CSV on a pipe: \(PseudoTerminal.visible(String(decoding: csv.output, as: UTF8.self)))")

        // The audit log to a pipe: the round name exactly as given.
        let log = try docket(["log", "--json"])
        #expect(log.status == 0)
        let events = log.output.split(separator: UInt8(ascii: "\n")).compactMap { (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any] }
        let round = events.first { $0["kind"] as? String == "round-started" }
        let detail = (round?["detail"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? round?["detail"] as? [String: Any]
        #expect(detail?["round"] as? String == Hostile.rounds[0], "log --json: \(PseudoTerminal.visible(String(decoding: log.output, as: UTF8.self)))")
    }

    static func count(_ needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard !needle.isEmpty, haystack.count >= needle.count else { return 0 }
        var found = 0
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) {
                found += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }

    /// A carriage return passes only where it ends a line: a lone one would let data overwrite
    /// what the line starts with.
    @Test func aLoneCarriageReturnIsShown() {
        #expect(Sanitize.terminal("a\r\nb\n") == "a\r\nb\n")
        #expect(Sanitize.terminal("safe\rSPOOF") == #"safe\rSPOOF"#)
        #expect(Sanitize.terminal("end\r") == #"end\r"#)
        #expect(Sanitize.terminal("\r\r\n") == "\\r\r\n")
    }

    /// The checker itself: it finds each kind of leak, and passes what Docket sends on purpose.
    @Test func theCheckerCatchesEveryKindOfLeak() {
        #expect(PseudoTerminal.leaks(in: Array("plain\r\ntext\twith tabs\r\n".utf8)).isEmpty)
        #expect(PseudoTerminal.leaks(in: Array("\rImporting 10 rows\u{1B}[K\r\u{1B}[Kdone\r\n".utf8)).isEmpty)
        for bad in ["\u{1B}[31m", "\u{07}", "\u{9B}", "\u{9D}", "\u{202E}", "\u{200B}", "\u{08}", "\u{7F}", "\u{2028}", "a\rb\r\n", "x\u{1B}[K"] {
            #expect(!PseudoTerminal.leaks(in: Array(("ok " + bad + " ok\r\n").utf8)).isEmpty, "\(PseudoTerminal.visible(bad))")
        }
        #expect(!PseudoTerminal.leaks(in: [0x61, 0xC3, 0x28]).isEmpty)
    }
}
