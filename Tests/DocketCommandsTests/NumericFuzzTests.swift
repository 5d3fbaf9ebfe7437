import DocketCommandTestSupport
import DocketTestSupport
import Foundation
import Testing

/// The values every numeric option and setting is tried with: zero, a negative, the non-finite
/// numbers, the first integer a double cannot hold (2^53+1), Int64.max and huge and tiny floats.
private let optionValues = ["0", "-1", "nan", "inf", "-inf", "9007199254740993", "9223372036854775807", "1e308", "1e-308"]
/// The same in YAML spelling (`.nan`, `.inf`).
private let yamlValues = ["0", "-1", ".nan", ".inf", "-.inf", "9007199254740993", "9223372036854775807", "1e308", "1e-308"]

/// Which database a case runs against.
private enum Database: Sendable {
    /// The shared project, for commands that only read it; each case still gets a copy of its
    /// own, so the cases running at once never wait on each other's locks.
    case shared
    /// A copy of the project of its own, for commands that write.
    case copy
    /// A new path, for `init`.
    case fresh
    /// None: the command takes no `--db`.
    case none
}

/// One command line; `then` runs after it on the same database when it was accepted, so a value
/// that is taken and only traps later (a lease that overflows at the next claim) is found too.
private struct FuzzCase: Sendable {
    var arguments: [String]
    var database: Database
    var then: [[String]] = []
}

/// How one run ended.
private struct Outcome: Sendable {
    var arguments: [String]
    var status: Int32
    var signalled: Bool
    var timedOut: Bool
    var seconds: Double
    var output: String
    var errors: String
}

private final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var outcomes: [Outcome] = []
    let cases: [FuzzCase]
    init(_ cases: [FuzzCase]) { self.cases = cases }

    func take() -> (Int, FuzzCase)? {
        lock.lock()
        defer { lock.unlock() }
        guard next < cases.count else { return nil }
        next += 1
        return (next - 1, cases[next - 1])
    }

    func record(_ outcome: Outcome) {
        lock.lock()
        outcomes.append(outcome)
        lock.unlock()
    }
}

/// Runs the real binary with stdin from /dev/null and output to files (no pipe can fill), killing
/// it after `limit` seconds.
private func runBounded(_ arguments: [String], scratch: String, limit: Double = 10) -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Fixtures.docketBinary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: scratch)
    let outPath = scratch + "/out-\(UUID().uuidString)", errPath = scratch + "/err-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = FileHandle(forWritingAtPath: outPath)!, err = FileHandle(forWritingAtPath: errPath)!
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    var timedOut = false
    do { try process.run() } catch {
        return Outcome(arguments: arguments, status: -1, signalled: false, timedOut: false, seconds: 0, output: "", errors: "could not start: \(error)")
    }
    while process.isRunning {
        if Date().timeIntervalSince(start) > limit {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            break
        }
        usleep(5_000)
    }
    process.waitUntilExit()
    try? out.close()
    try? err.close()
    let output = FileManager.default.contents(atPath: outPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
    let errors = FileManager.default.contents(atPath: errPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
    try? FileManager.default.removeItem(atPath: outPath)
    try? FileManager.default.removeItem(atPath: errPath)
    return Outcome(
        arguments: arguments, status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal && !timedOut,
        timedOut: timedOut, seconds: Date().timeIntervalSince(start), output: output, errors: errors)
}

/// What is wrong with how a run ended, if anything.
private func problem(_ run: Outcome) -> String? {
    let line = run.arguments.joined(separator: " ")
    if run.timedOut { return "\(line): still running after \(Int(run.seconds)) s (killed)" }
    if run.signalled { return "\(line): ended by signal \(run.status)" }
    if [132, 133, 134, 139].contains(run.status) || run.errors.contains("Fatal error") || run.errors.contains("runtime failure") {
        return "\(line): runtime trap (exit \(run.status)): \(run.errors.prefix(300))"
    }
    // A number of 40 digits or more is an overflow printed in full (a weight of 1e308 once was).
    if (run.output + run.errors).range(of: "[0-9]{40,}", options: .regularExpression) != nil {
        return "\(line): printed a number of 40 digits or more"
    }
    guard run.status != 0 else { return nil }
    // A refusal is a sentence (its last line: `docket: ….`), or the argument parser's usage error.
    let usage = run.status == 64 && run.errors.hasPrefix("Error: ") && run.errors.contains("Usage: ")
    let last = run.errors.split(separator: "\n").last.map(String.init) ?? ""
    let sentence = last.hasPrefix("docket: ") && last.hasSuffix(".")
    if !usage && !sentence { return "\(line): refused (exit \(run.status)) without a sentence: \(run.errors.prefix(300))" }
    return nil
}

@Suite struct NumericFuzzTests {
    /// A small project: three labels, a rating scale, calibration and escalation, 24 items with
    /// risk and probabilities, four of them gold, and 3 reviewers' labels on 16 of them.
    static func project(_ sandbox: Sandbox) throws -> String {
        let db = sandbox.path("template.db")
        sandbox.write("docket.yaml", baseYAML + "rating: {name: helpfulness, scale: [1, 5]}\ncalibration: {gold_rate: 0.1, bar: 0.7}\nescalation: [{when: {flag: true, min_severity: 2}, to: lead}]\n")
        var items = ""
        for i in 0..<24 {
            let risk = Double(i % 10) / 10
            let gold = i % 6 == 0 ? #","gold":"safe""# : ""
            items += #"{"id":"i\#(i)","prompt":"p\#(i)","response":"r\#(i)","category":"c\#(i % 3)","risk":\#(risk),"probs":[0.6,0.3,0.1]\#(gold)}"# + "\n"
        }
        sandbox.write("items.jsonl", items)
        sandbox.write("bad.jsonl", #"{"id":"x","risk":7}"# + "\n" + #"{"id":"y","risk":-1}"# + "\n" + #"{"risk":0.1}"# + "\n")
        let names = ["safe", "borderline", "unsafe"]
        var labels = "item,reviewer,label,created_at\n"
        for i in 0..<16 {
            for (r, name) in ["ana", "bo", "cy"].enumerated() {
                labels += "i\(i),\(name),\(names[(i + r * (i % 2)) % 3]),2026-11-\(10 + i % 7)T10:00:00Z\n"
            }
        }
        sandbox.write("labels.csv", labels)
        sandbox.write("bad.csv", "item,reviewer,label\ni0,ana,nope\ni1,,safe\n,bo,safe\n")
        sandbox.write("matrix.txt", "012\n1.2\n22.\n")
        for arguments in [
            ["init", "--db", db, "--labels", "safe,borderline,unsafe", "--level", "ordinal", "--seed", "1"],
            ["config", "apply", "--db", db, sandbox.path("docket.yaml")],
            ["import", "items", "--db", db, sandbox.path("items.jsonl")],
            ["import", "labels", "--db", db, sandbox.path("labels.csv")],
        ] {
            let run = try runDocket(arguments, in: sandbox.directory)
            #expect(run.status == 0, "\(arguments): \(run.errors)")
        }
        return db
    }

    static let baseYAML = "labels: [safe, borderline, unsafe]\nlevel: ordinal\nasks: [label]\n"

    /// Every command's numeric options (and list options) with every value, `--db` added later.
    fileprivate static func cases(_ sandbox: Sandbox) -> [FuzzCase] {
        var cases: [FuzzCase] = []
        let items = sandbox.path("items.jsonl"), labels = sandbox.path("labels.csv")
        let afterInit: [[String]] = [
            ["import", "items", items], ["import", "labels", labels], ["claim-loop", "--as", "ana", "--count", "3"], ["queue"], ["status"],
            ["config", "show"], ["check"],
        ]
        let afterApply: [[String]] = [["claim-loop", "--as", "ana", "--count", "3"], ["queue"], ["config", "show"], ["check"]]
        func each(_ prefix: [String], _ option: String, _ database: Database, then: [[String]] = [], values: [String] = optionValues, format: (String) -> String = { $0 }) {
            for value in values { cases.append(FuzzCase(arguments: prefix + ["\(option)=\(format(value))"], database: database, then: then)) }
        }
        // init: every numeric flag, and each weight term.
        for option in ["--overlap", "--budget", "--explore", "--lease-minutes", "--seed"] {
            each(["init", "--labels", "safe,borderline,unsafe"], option, .fresh, then: afterInit)
        }
        for term in ["risk", "uncertainty", "diversity"] {
            each(["init", "--labels", "safe,borderline,unsafe"], "--weights", .fresh, then: afterInit) { "\(term)=\($0)" }
        }
        // docket.yaml: every numeric setting, applied, then claimed from and shown.
        let settings: [(String) -> String] = [
            { "overlap: \($0)" }, { "budget: \($0)" }, { "explore: \($0)" }, { "lease_minutes: \($0)" },
            { "weights: {risk: \($0), uncertainty: 0.35, diversity: 0.15}" }, { "weights: {risk: 0, uncertainty: 0, diversity: \($0)}" },
            { "rating: {name: h, scale: [1, \($0)]}" }, { "rating: {name: h, scale: [\($0), 5]}" },
            { "calibration: {gold_rate: \($0), bar: 0.7}" }, { "calibration: {gold_rate: 0.1, bar: \($0)}" },
            { "escalation: [{when: {flag: true, min_severity: \($0)}, to: lead}]" },
            { "escalation: [{when: {posterior_below: \($0)}, to: lead}]" }, { "escalation: [{when: {risk_above: \($0)}, to: lead}]" },
        ]
        for (s, setting) in settings.enumerated() {
            for (v, value) in yamlValues.enumerated() {
                let file = sandbox.write("fuzz-\(s)-\(v).yaml", baseYAML + setting(value) + "\n")
                cases.append(FuzzCase(arguments: ["config", "apply", file], database: .copy, then: afterApply))
            }
        }
        // Commands that only read.
        each(["queue"], "--budget", .shared)
        each(["agreement", "--ci", "bootstrap", "--reps", "50"], "--seed", .shared)
        each(["agreement", "--ci", "bootstrap"], "--reps", .shared)
        each(["aggregate", "--method", "dawid-skene"], "--tolerance", .shared)
        each(["aggregate", "--method", "dawid-skene", "--tolerance", "0"], "--max-iterations", .shared)
        each(["calibrate"], "--bar", .shared)
        each(["drift"], "--alpha", .shared)
        each(["drift"], "--psi", .shared)
        each(["report"], "--bar", .shared)
        each(["report"], "--target-fpr", .shared)
        each(["report"], "--target-width", .shared)
        each(["export", "--format", "labels"], "--rubric", .shared)
        each(["export", "--format", "labels"], "--min-agreement", .shared)
        each(["export", "--format", "labels", "--split", "train=0.9,eval=0.1"], "--seed", .shared)
        each(["export", "--format", "labels"], "--split", .shared) { "train=\($0),eval=0.5" }
        each(["queue-timing", "--repeats", "1"], "--budget", .shared)
        each(["queue-timing", "--budget", "5"], "--repeats", .shared)
        each(["stats-timing", "--matrix", sandbox.path("matrix.txt")], "--categories", .none)
        each(["stats-timing", "--matrix", sandbox.path("matrix.txt")], "--iterations", .none)
        // Commands that write.
        each(["import", "items", sandbox.path("bad.jsonl")], "--max-errors", .copy)
        each(["import", "labels", sandbox.path("bad.csv")], "--max-errors", .copy)
        each(["triage", "--as", "ana"], "--limit", .copy)
        each(["claim-loop", "--as", "ana"], "--count", .copy)
        each(["review-timing", "--as", "ana"], "--count", .copy)
        // Duplicated list values.
        for (arguments, database) in [
            (["agreement", "--reviewers", "ana,ana"], Database.shared), (["agreement", "--reviewers", "ana,bo,ana"], .shared),
            (["agreement", "--reviewers", "ana, ana"], .shared), (["init", "--labels", "a,b,a"], .fresh),
            (["init", "--weights", "risk=0.5,risk=0.5"], .fresh), (["export", "--format", "labels", "--split", "train=0.5,train=0.5"], .shared),
        ] {
            cases.append(FuzzCase(arguments: arguments, database: database))
        }
        for (s, list) in ["labels: [a, b, a]", "labels: [a, b]\nflag_reasons: [x, x]"].enumerated() {
            let file = sandbox.write("dup-\(s).yaml", list + "\n")
            cases.append(FuzzCase(arguments: ["config", "apply", file], database: .copy, then: afterApply))
        }
        return cases
    }

    /// No numeric value or duplicated list makes any command trap, hang or fail without a sentence.
    @Test func numbersNeverTrap() throws {
        let sandbox = Sandbox()
        let template = try Self.project(sandbox)
        let started = Date()
        let collector = Collector(Self.cases(sandbox))
        // One lane of processes per core: enough to finish in seconds without starving the
        // timing-sensitive tests that run beside this one.
        let lanes = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let group = DispatchGroup()
        for _ in 0..<lanes {
            group.enter()
            Thread {
                while let next = collector.take() {
                    let (index, fuzz) = next
                    let db: String?
                    switch fuzz.database {
                    case .none: db = nil
                    case .fresh: db = sandbox.path("fresh-\(index).db")
                    case .shared, .copy:
                        db = sandbox.path("copy-\(index).db")
                        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: template + suffix) {
                            try? FileManager.default.copyItem(atPath: template + suffix, toPath: db! + suffix)
                        }
                    }
                    let first = runBounded(withDatabase(fuzz.arguments, db), scratch: sandbox.directory)
                    collector.record(first)
                    guard first.status == 0, !first.signalled, !first.timedOut else { continue }
                    for arguments in fuzz.then { collector.record(runBounded(withDatabase(arguments, db), scratch: sandbox.directory)) }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let outcomes = collector.outcomes
        let failures = outcomes.compactMap(problem)
        let refused = outcomes.filter { $0.status != 0 }.count
        let slowest = outcomes.max { $0.seconds < $1.seconds }
        print("""
            NumericFuzzTests: tried \(collector.cases.count) cases in \(outcomes.count) runs of the real binary \
            (\(refused) refused, \(outcomes.count - refused) accepted, follow-ups included) in \
            \(String(format: "%.1f", Date().timeIntervalSince(started))) s; slowest \(String(format: "%.2f", slowest?.seconds ?? 0)) s \
            (\(slowest?.arguments.prefix(6).joined(separator: " ") ?? "")); \(failures.count) problems.
            """)
        #expect(collector.cases.count > 300)
        #expect(failures.isEmpty, Comment(rawValue: "\(failures.count) problems:\n" + failures.prefix(40).joined(separator: "\n")))
    }
}

/// `arguments` with `--db PATH` placed after the subcommand's words (before its first option).
private func withDatabase(_ arguments: [String], _ db: String?) -> [String] {
    guard let db else { return arguments }
    let split = arguments.firstIndex { $0.hasPrefix("-") } ?? arguments.count
    return Array(arguments[..<split]) + ["--db", db] + Array(arguments[split...])
}
