import DocketCore
import Foundation

// Test support that links only the core: clocks, scratch directories, fixtures and JSON helpers.
// What runs commands (`RecordingConsole`, `Sandbox.run`) is in DocketCommandTestSupport, and
// store fixtures are in the store tests, so the core tests link neither SQLite nor readline.

/// A clock that moves only when told to.
public final class ManualClock: @unchecked Sendable {
    public var now: Instant
    public init(_ start: Instant = Instant(milliseconds: 1_795_000_000_000)) { now = start }
    public func advance(seconds: Int) { now = now.adding(seconds: seconds) }
}

/// A scratch directory removed at deinit, with a database path in it and a clock for the commands
/// run against it (`Sandbox.run`, in DocketCommandTestSupport).
public final class Sandbox: @unchecked Sendable {
    public let directory: String
    public let clock = ManualClock()
    public var environment: [String: String] = [:]
    /// Who runs in-process commands: by default an account that counts as an admin (as root does)
    /// and becomes the first admin of the projects it creates. `run(..., caller:)` names another.
    public var caller = Caller(login: "admin", privileged: true)

    public init() {
        var template = Array((NSTemporaryDirectory() + "/docket-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Where commands find the project: `docket.db` in the directory, unless a test points the
    /// sandbox at another location (a PostgreSQL database, `TestBackend.postgres`).
    public var databasePath: String { database ?? directory + "/docket.db" }
    public var database: String?

    /// A sandbox on `backend`: its project lives in a new database of the test cluster for PostgreSQL.
    public convenience init(backend: TestBackend) throws {
        self.init()
        if backend == .postgres { database = try TestPostgres.newDatabase() }
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    @discardableResult
    public func write(_ name: String, _ contents: String) -> String {
        let target = path(name)
        _ = FileManager.default.createFile(atPath: target, contents: Data(contents.utf8))
        return target
    }

    public func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: path(name)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Fixture builders shared by the test targets.
public enum Fixtures {
    /// JSONL items with the given (id, risk, uncertainty, diversity) values.
    public static func jsonl(_ rows: [(String, Double, Double, Double)]) -> String {
        rows.map { "{\"id\":\"\($0.0)\",\"prompt\":\"p\",\"response\":\"r\",\"risk\":\($0.1),\"uncertainty\":\($0.2),\"diversity\":\($0.3)}" }
            .joined(separator: "\n") + "\n"
    }

    /// Path of the built `docket` executable next to the test bundle.
    /// The package's root directory (where Package.swift and scripts/ are).
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    public static var docketBinary: String {
        let bundle = Bundle.main.bundlePath
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("docket").path]
        candidates.append(URL(fileURLWithPath: bundle).appendingPathComponent("docket").path)
        candidates.append(URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("docket").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}

extension JSONValue {
    /// The number, when this is one (tests).
    public var numberValue: Double? { if case .number(let n) = self { return n }; return nil }
    /// The elements, when this is an array, else none (tests).
    public var arrayValue: [JSONValue] { if case .array(let a) = self { return a }; return [] }
    /// The string, when this is one (tests).
    public var textValue: String? { if case .string(let s) = self { return s }; return nil }
}

/// A JSON Schema checker for the subset Docket's export schemas use: type (one or a list), enum,
/// required, properties, additionalProperties: false, items, minimum, maximum and pattern.
public enum MiniSchema {
    /// Every problem with `value` under `schema`, as "path: problem".
    public static func problems(_ value: JSONValue, _ schema: JSONValue, path: String = "$") -> [String] {
        var out: [String] = []
        if case .array(let types)? = schema["type"] {
            let names = types.compactMap(\.textValue)
            if !names.contains(where: { matches(value, $0) }) { out.append("\(path): expected \(names.joined(separator: " or ")), got \(value.typeName)") }
        } else if case .string(let type)? = schema["type"], !matches(value, type) {
            out.append("\(path): expected \(type), got \(value.typeName)")
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) { out.append("\(path): \(value.encoded()) is not one of \(JSONValue.array(options).encoded())") }
        if case .number(let n) = value {
            if let minimum = schema["minimum"]?.numberValue, n < minimum { out.append("\(path): \(n) is below \(minimum)") }
            if let maximum = schema["maximum"]?.numberValue, n > maximum { out.append("\(path): \(n) is above \(maximum)") }
        }
        if case .string(let text) = value, let pattern = schema["pattern"]?.textValue, let regex = try? Regex(pattern), (try? regex.firstMatch(in: text)) == nil {
            out.append("\(path): '\(text)' does not match \(pattern)")
        }
        if case .object(let members) = value {
            let properties = schema["properties"]
            for required in schema["required"]?.arrayValue.compactMap(\.textValue) ?? [] where !members.contains(where: { $0.0 == required }) {
                out.append("\(path): missing \(required)")
            }
            for (key, member) in members {
                if let property = properties?[key] {
                    out += problems(member, property, path: "\(path).\(key)")
                } else if schema["additionalProperties"] == .bool(false) {
                    out.append("\(path): unexpected \(key)")
                }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated() { out += problems(element, items, path: "\(path)[\(index)]") }
        }
        return out
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number): return true
        case ("integer", .number(let n)): return n == n.rounded()
        default: return false
        }
    }
}

/// The backends a command test can run on: PostgreSQL when the run has a cluster.
public enum TestBackend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var allCases: [TestBackend] { TestPostgres.isAvailable ? [.sqlite, .postgres] : [.sqlite] }
}

/// The throwaway PostgreSQL cluster `scripts/test` starts for the run (`DOCKET_TEST_POSTGRES`,
/// a URL whose role may create databases). Tests make a database of their own in it and never
/// touch any other server; without the variable the PostgreSQL half of the suite is left out.
public enum TestPostgres {
    /// The URL of the cluster's maintenance database, or nil when the run has no cluster.
    public static var adminURL: String? {
        guard let url = ProcessInfo.processInfo.environment["DOCKET_TEST_POSTGRES"], !url.isEmpty else { return nil }
        return url
    }

    public static var isAvailable: Bool { adminURL != nil }

    private static let counter = Counter()

    /// A new, empty database in the test cluster, by URL.
    public static func newDatabase() throws -> String {
        guard let admin = adminURL else { throw TestPostgresError(message: "DOCKET_TEST_POSTGRES is not set") }
        let name = "t_\(getpid())_\(counter.next())_\(UInt32.random(in: 0...UInt32.max))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", admin, "-c", "CREATE DATABASE \(name)"]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestPostgresError(message: "CREATE DATABASE failed: \(text)")
        }
        guard let slash = admin.lastIndex(of: "/") else { throw TestPostgresError(message: "bad URL \(admin)") }
        return String(admin[...slash]) + name
    }

    /// Runs SQL with psql against `url` and returns its unaligned output.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestPostgresError(message: problem.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Caller {
    /// An ordinary account (not root), acting as the reviewer bound to `login`.
    public static func account(_ login: String) -> Caller { Caller(login: login, privileged: false) }
}

/// SQL that takes a database at the latest schema back to the version before: what the latest
/// migration added goes. Update it with every new migration (tests of older databases use it).
public enum OlderSchema {
    /// The version the SQL below leaves.
    public static let version = 11
    /// Undoes migration 12 (reviewers bound to logins; reviewers and escalations never deleted).
    public static let undoLatest = """
        DROP TRIGGER reviewers_no_delete; DROP TRIGGER escalations_no_delete; DROP INDEX reviewers_by_login;
        ALTER TABLE reviewers DROP COLUMN login; PRAGMA user_version = 11
        """
    /// Undoes migration 11 too (the audit chain), leaving version 10.
    public static let undoLatestTwo = undoLatest + """
        ;
        DROP TRIGGER event_links_no_update; DROP TRIGGER event_links_no_delete; DROP TABLE event_links; PRAGMA user_version = 10
        """
}

/// A loopback port nothing listens on (bound, read and closed again).
public func closedPort() -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
