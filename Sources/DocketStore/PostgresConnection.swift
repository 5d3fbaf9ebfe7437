import DocketCore
import Foundation
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// Where a PostgreSQL project is: parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
/// (or `postgresql://`), with `?host=/socket/dir`, `sslmode=disable|prefer|require` and
/// `connect_timeout=SECONDS`. The password comes from the URL, else `PGPASSWORD`, else the
/// password file (`PGPASSFILE` or `~/.pgpass`, as libpq reads it); it is never shown.
public struct PostgresLocation: Equatable, Sendable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// A Unix-socket directory (`?host=/dir` or a host that starts with `/`), else nil for TCP.
    public var socketDirectory: String?
    public var sslMode: String
    public var connectTimeoutSeconds: Int

    /// Whether `text` names a PostgreSQL project rather than an SQLite file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The URL without the password, for messages.
    public var display: String {
        let server = socketDirectory.map { "?host=\($0)" }
        return "postgres://\(user)@\(socketDirectory == nil ? host : "")\(socketDirectory == nil ? ":\(port)" : "")/\(database)\(server ?? "")"
    }

    /// host:port (or the socket), for sentences about reaching the server.
    public var server: String {
        socketDirectory.map { "the socket in \($0) (port \(port))" } ?? "\(host) port \(port)"
    }

    public init(parsing url: String, environment: [String: String]) throws(StoreError) {
        func bad(_ reason: String) -> StoreError { .badLocation(location: Self.redacted(url), reason: reason) }
        guard let scheme = url.range(of: "://"), Self.isURL(url) else { throw bad("it must start with postgres:// or postgresql://") }
        var rest = String(url[scheme.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let key = Self.decode(String(parts[0])), let value = Self.decode(String(parts[1])) else {
                    throw bad("the parameter '\(pair)' is not KEY=VALUE")
                }
                query[key] = value
            }
            rest = String(rest[..<mark])
        }
        guard let slash = rest.firstIndex(of: "/") else { throw bad("it names no database (…/DATABASE)") }
        guard let database = Self.decode(String(rest[rest.index(after: slash)...])), !database.isEmpty, !database.contains("/") else {
            throw bad("it names no database (…/DATABASE)")
        }
        var authority = String(rest[..<slash])
        var user = environment["PGUSER"] ?? environment["USER"] ?? ""
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = String(authority[..<at])
            authority = String(authority[authority.index(after: at)...])
            if let colon = credentials.firstIndex(of: ":") {
                guard let name = Self.decode(String(credentials[..<colon])), let secret = Self.decode(String(credentials[credentials.index(after: colon)...])) else {
                    throw bad("the user name or password is not percent-encoded properly")
                }
                user = name
                password = secret
            } else {
                guard let name = Self.decode(credentials) else { throw bad("the user name is not percent-encoded properly") }
                user = name
            }
        }
        guard !user.isEmpty else { throw bad("it names no user (postgres://USER@HOST/DATABASE)") }
        var host = authority
        var port = 5432
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("the IPv6 address has no closing ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else { throw bad("the port must be a number from 1 to 65535") }
                port = value
            } else if !after.isEmpty {
                throw bad("unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                throw bad("the port must be a number from 1 to 65535")
            }
            port = value
        }
        guard let decodedHost = Self.decode(host) else { throw bad("the host is not percent-encoded properly") }
        host = decodedHost
        if let value = query["port"] {
            guard let number = Int(value), (1...65535).contains(number) else { throw bad("the port must be a number from 1 to 65535") }
            port = number
        }
        var socket: String?
        if let value = query["host"] { host = value }
        if host.hasPrefix("/") { socket = host }
        if host.isEmpty { socket = "/var/run/postgresql" }
        let sslMode = query["sslmode"] ?? "prefer"
        guard ["disable", "allow", "prefer", "require"].contains(sslMode) else {
            throw bad("sslmode must be disable, allow, prefer or require (verify-ca and verify-full are not supported)")
        }
        var timeout = 10
        if let value = query["connect_timeout"] {
            guard let seconds = Int(value), (1...3600).contains(seconds) else { throw bad("connect_timeout must be 1 to 3600 seconds") }
            timeout = seconds
        }
        for key in query.keys where !["host", "port", "sslmode", "connect_timeout", "application_name"].contains(key) {
            throw bad("the parameter '\(key)' is not one Docket understands (host, port, sslmode, connect_timeout)")
        }
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.socketDirectory = socket
        self.sslMode = sslMode
        self.connectTimeoutSeconds = timeout
        self.password = password ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.passwordFromFile(environment: environment, host: socket == nil ? host : "localhost", port: port, database: database, user: user)
    }

    /// A `--db` value as messages may show it: a PostgreSQL URL with its password replaced by
    /// `***`; an SQLite path unchanged.
    public static func withoutPassword(_ location: String) -> String {
        isURL(location) ? redacted(location) : location
    }

    /// The URL with any password replaced, for messages about a URL that could not be parsed.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@") else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        return decoded
    }

    /// libpq's password file: lines `host:port:database:user:password`, `*` matching anything,
    /// `\:` and `\\` escaped; ignored unless only its owner may read it.
    static func passwordFromFile(environment: [String: String], host: String, port: Int, database: String, user: String) -> String? {
        let path = environment["PGPASSFILE"] ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let path else { return nil }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 == 0 else { return nil }
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            contents += buffer[0..<count]
            if contents.count > 1 << 20 { return nil }
        }
        for line in String(decoding: contents, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            var fields: [String] = []
            var field = ""
            var escaped = false
            for character in line {
                if escaped { field.append(character); escaped = false } else if character == "\\" { escaped = true } else if character == ":" && fields.count < 4 {
                    fields.append(field)
                    field = ""
                } else { field.append(character) }
            }
            fields.append(field)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}

/// An error PostgreSQL or the connection to it reported.
struct PostgresFailure: DatabaseError, CustomStringConvertible {
    enum Kind: Equatable {
        /// The server refused the statement; its SQLSTATE.
        case server(sqlState: String)
        /// The connection could not be made or was lost (including a server shutting down,
        /// starting up or terminating the session: SQLSTATE classes 08 and 57P).
        case connection
        /// The server answered but refused the login: no such role or database, a wrong or
        /// missing password, no CONNECT privilege. Trying again does not help.
        case refused
        case other
    }
    var kind: Kind
    var message: String
    /// host:port (or the socket), as `PostgresLocation.server` words it.
    var server: String
    /// The URL without its password, for a refused login (`StoreError.cannotOpen` names it).
    var location = ""
    /// True once COMMIT had been sent when the connection was lost: the outcome is unknown.
    var duringCommit = false

    var sqlState: String? { if case .server(let state) = kind { return state } else { return nil } }

    /// Integrity constraint violations (class 23) and the exceptions Docket's triggers raise
    /// (P0001), as SQLite reports both as SQLITE_CONSTRAINT.
    var isConstraint: Bool { sqlState.map { $0.hasPrefix("23") || $0 == "P0001" } ?? false }
    var isConnectionLost: Bool { kind == .connection }

    var storeError: StoreError {
        switch kind {
        case .connection where duringCommit:
            return .serverUnreachable(
                server: server,
                reason: "the connection was lost while the change was being committed (\(message)), so it may or may not have been recorded; look before repeating it")
        case .connection: return .serverUnreachable(server: server, reason: message)
        case .refused:
            return .cannotOpen(path: location.isEmpty ? server : location, reason: "the PostgreSQL server at \(server) refused the login: \(message)")
        case .server(let state) where state == "40001" || state == "40P01" || state == "55P03":
            return .busy(message: message)
        case .server(let state) where state == "42501":
            return .backend(message: "permission denied: \(message)", code: 0)
        default: return .backend(message: message, code: 0)
        }
    }

    var description: String { message }

    init(kind: Kind, message: String, server: String) {
        self.kind = kind
        self.message = message
        self.server = server
    }

    /// SQLSTATEs that mean the session is gone or cannot be had right now, rather than that a
    /// statement was refused: connection exceptions (08), the server shutting down or
    /// terminating the session (57P01, 57P02), starting up (57P03), too many connections (53300).
    static func isConnectionState(_ state: String) -> Bool {
        state.hasPrefix("08") || ["57P01", "57P02", "57P03", "57P05", "53300"].contains(state)
    }

    /// A sentence for what postgres-nio reported, naming no NIO types.
    init(_ error: any Error, server: String) {
        self.server = server
        if let error = error as? PostgresFailure {
            self = error
            return
        }
        guard let error = error as? PSQLError else {
            self.kind = .other
            self.message = Self.reason(error)
            return
        }
        switch error.code {
        case .server:
            let info = error.serverInfo
            let state = info?[.sqlState] ?? "XX000"
            self.kind = Self.isConnectionState(state) ? .connection : .server(sqlState: state)
            var text = info?[.message] ?? "the server refused the statement"
            if let detail = info?[.detail], !detail.isEmpty { text += " (\(detail))" }
            // 22021, "invalid byte sequence for encoding UTF8: 0x00": text with a NUL character,
            // which every input refuses (`StoredText`); said as a sentence should one get here.
            if state == "22021", text.contains("0x00") { text = "the text holds a NUL character (U+0000), which PostgreSQL cannot store" }
            self.message = text
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            self.kind = .connection
            self.message = error.underlying.map(Self.reason) ?? "the server closed the connection"
        case .sslUnsupported:
            self.kind = .refused
            self.message = "the server does not offer TLS (sslmode=require)"
        case .authMechanismRequiresPassword:
            self.kind = .refused
            self.message = "it asks for a password: give it in the URL, in PGPASSWORD or in ~/.pgpass"
        case .unsupportedAuthMechanism:
            self.kind = .refused
            self.message = "it asks for an authentication method Docket does not support (use scram-sha-256, md5 or password)"
        case .saslError:
            self.kind = .refused
            self.message = "the password exchange (SCRAM) failed"
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            self.kind = .connection
            self.message = "the TLS handshake failed"
        case .queryCancelled:
            self.kind = .other
            self.message = "the statement was cancelled"
        default:
            self.kind = .other
            self.message = error.underlying.map(Self.reason) ?? "the server's answer could not be understood"
        }
    }

    /// The failure of a login: a refusal by the server (no such role or database, a wrong
    /// password, no CONNECT privilege) becomes `.refused`, with what to do about it; the rest
    /// is a connection that could not be made.
    func atLogin(location: PostgresLocation) -> PostgresFailure {
        var failure = self
        failure.location = location.display
        switch kind {
        case .server(let state):
            if state == "28P01" {
                failure.kind = .refused
                failure.message += "; give the right password in the URL, in PGPASSWORD or in ~/.pgpass"
            } else if state == "3D000" {
                failure.kind = .refused
                failure.message += "; create it first (createdb \(location.database), or CREATE DATABASE \(location.database))"
            } else if state.hasPrefix("28") || state == "42501" {
                failure.kind = .refused
            } else {
                failure.kind = .connection
            }
        case .other:
            failure.kind = .connection
        case .connection, .refused:
            break
        }
        return failure
    }

    /// The system's words for a socket failure (connection refused, timed out, no such host).
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty { return "the host name could not be resolved" }
            if let first = error.connectionErrors.first { return reason(first.error) }
            return "the host name could not be resolved"
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return "no answer within the connect timeout"
            case .ioOnClosedChannel, .alreadyClosed, .eof, .inputClosed, .outputClosed: return "the server closed the connection"
            case .writeHostUnreachable: return "the host is unreachable"
            default: return "the connection failed"
            }
        }
        if let error = error as? SocketAddressError {
            switch error {
            case .unknown: return "the host name could not be resolved"
            case .unixDomainSocketPathTooLong: return "the socket's path is too long"
            default: return "the address cannot be used"
            }
        }
        if let error = error as? PSQLError { return PostgresFailure(error, server: "").message }
        if error is NIOSSLError { return "the TLS handshake failed" }
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// One blocking connection to PostgreSQL over postgres-nio: queries run on NIO's event loop
/// and the calling thread waits, so the store keeps its synchronous seam. SQL arrives in the
/// form the store writes it (`?`, `?N`, SQLite's `INDEXED BY` hints) and is translated once per text.
final class PostgresLink: SQLConnection {
    let location: PostgresLocation
    private var connection: PostgresConnection?
    private var statements: [String: PostgresStatement] = [:]
    private(set) var isInTransaction = false
    private(set) var changes = 0
    private var cursorCount = 0
    private var savepointCount = 0
    /// Set while COMMIT is in flight, so a lost connection then is reported as an unknown outcome.
    private var committing = false
    /// The last loss of the connection this link saw, however the error was wrapped or caught
    /// on its way up (the store clears it before each attempt at a transaction).
    var lastLoss: PostgresFailure?

    /// For tests: how the next COMMIT is to fail, as a lost connection would make it fail while
    /// COMMIT is under way, deterministically. Never set by Docket itself.
    enum CommitFault {
        /// The server commits, and the answer is lost (the connection closes before it is read).
        case answerLost
        /// The connection closes before the server reads COMMIT: the transaction is rolled back.
        case lostBeforeServer
    }
    var nextCommitFault: CommitFault?
    var dialect: SQLDialect { .postgres }

    /// `DOCKET_DEBUG_SQL=1` prints each statement the server refuses, for bug reports.
    static let debugSQL = getenv("DOCKET_DEBUG_SQL") != nil

    static let logger: Logger = {
        var logger = Logger(label: "docket.postgres")
        logger.logLevel = .critical
        return logger
    }()

    init(_ location: PostgresLocation) throws(PostgresFailure) {
        self.location = location
        try connect()
    }

    deinit {
        if let connection { try? connection.close().wait() }
    }

    var isOpen: Bool { connection.map { !$0.isClosed } ?? false }

    /// Opens the connection (again, after a loss). Any transaction the old one had is gone.
    /// `timeout` caps the URL's connect_timeout (a reconnect that must end by a deadline).
    func connect(timeout: Int? = nil) throws(PostgresFailure) {
        if let connection { try? connection.close().wait() }
        connection = nil
        isInTransaction = false
        statements.removeAll()
        var configuration: PostgresConnection.Configuration
        let tls: PostgresConnection.Configuration.TLS
        switch location.sslMode {
        case "require", "prefer", "allow":
            if location.socketDirectory != nil || location.sslMode != "require" {
                tls = .disable
            } else {
                var settings = TLSConfiguration.makeClientConfiguration()
                settings.certificateVerification = .none
                do { tls = .require(try NIOSSLContext(configuration: settings)) } catch {
                    throw PostgresFailure(kind: .connection, message: "TLS could not be set up", server: location.server)
                }
            }
        default: tls = .disable
        }
        if let directory = location.socketDirectory {
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(location.port)", username: location.user, password: location.password,
                database: location.database)
        } else {
            configuration = .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: tls)
        }
        let seconds = max(1, min(timeout ?? location.connectTimeoutSeconds, location.connectTimeoutSeconds))
        configuration.options.connectTimeout = .seconds(Int64(seconds))
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: Self.logger
            ).wait()
        } catch {
            throw PostgresFailure(error, server: location.server).atLogin(location: location)
        }
    }

    /// The connection closed under a query that never heard of it.
    struct ClosedUnderQuery: Error {}

    /// Waits for `future`, or stops waiting once the connection has closed and the query's own
    /// answer has not come within a moment: postgres-nio can leave a query sent just as the server
    /// ended the session waiting forever (seen with pg_terminate_backend between transactions).
    static func waitUnlessClosed<T: Sendable>(_ future: EventLoopFuture<T>, _ connection: PostgresConnection) throws -> T {
        let loop = future.eventLoop
        let once = Once(loop.makePromise(of: T.self))
        future.whenComplete { once.settle($0) }
        connection.closeFuture.whenComplete { _ in
            loop.scheduleTask(in: .seconds(2)) { once.settle(.failure(ClosedUnderQuery())) }
        }
        return try once.promise.futureResult.wait()
    }

    /// A promise completed by whichever comes first.
    final class Once<T: Sendable>: @unchecked Sendable {
        let promise: EventLoopPromise<T>
        private let lock = NSLock()
        private var done = false

        init(_ promise: EventLoopPromise<T>) { self.promise = promise }

        func settle(_ result: Result<T, any Error>) {
            lock.lock()
            let first = !done
            done = true
            lock.unlock()
            if first { promise.completeWith(result) }
        }
    }

    /// Runs one statement (already in PostgreSQL's form) and returns its rows.
    func query(_ sql: String, _ values: [SQLValue]) throws(PostgresFailure) -> [[SQLValue]] {
        guard let connection, !connection.isClosed else {
            isInTransaction = false
            let failure = PostgresFailure(kind: .connection, message: "the server closed the connection", server: location.server)
            lastLoss = failure
            throw failure
        }
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .real(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .blob(let v): bindings.append(ByteBuffer(bytes: v))
            }
        }
        do {
            let result = try Self.waitUnlessClosed(connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: Self.logger), connection)
            changes = result.metadata.rows ?? 0
            return result.rows.map { row in row.map(Self.value) }
        } catch {
            var failure = PostgresFailure(error, server: location.server)
            if Self.debugSQL {
                let text = Array("docket: PostgreSQL refused: \(sql)\n  \(failure.message)\n".utf8)
                _ = text.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            }
            if failure.kind == .connection || connection.isClosed {
                failure.kind = .connection
                failure.duringCommit = committing
                isInTransaction = false
                lastLoss = failure
            }
            throw failure
        }
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea: return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
            case .numeric:
                let text = (try? cell.decode(Decimal.self)).map { "\($0)" } ?? "0"
                if let integer = Int64(text) { return .integer(integer) }
                return .real(Double(text) ?? 0)
            default:
                if cell.format == .text || [.text, .varchar, .name, .bpchar, .json].contains(cell.dataType) {
                    return .text(bytes.readString(length: bytes.readableBytes) ?? "")
                }
                return .text(try cell.decode(String.self))
            }
        } catch {
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        }
    }

    // MARK: SQLConnection

    func execute(_ sql: String) throws(PostgresFailure) {
        for statement in PostgresSQL.split(sql) {
            let keyword = statement.prefix(12).uppercased()
            if keyword.hasPrefix("COMMIT") || keyword.hasPrefix("END") { committing = true }
            defer { committing = false }
            if committing, let fault = nextCommitFault {
                nextCommitFault = nil
                if fault == .answerLost { _ = try query(PostgresSQL.translate(statement), []) }
                try? connection?.close().wait()
                isInTransaction = false
                var failure = PostgresFailure(kind: .connection, message: "the server closed the connection", server: location.server)
                failure.duringCommit = true
                lastLoss = failure
                throw failure
            }
            _ = try query(PostgresSQL.translate(statement), [])
            if keyword.hasPrefix("BEGIN") || keyword.hasPrefix("START") {
                isInTransaction = true
            } else if keyword.hasPrefix("COMMIT") || keyword.hasPrefix("END") || (keyword.hasPrefix("ROLLBACK") && !keyword.hasPrefix("ROLLBACK TO")) {
                isInTransaction = false
            }
        }
    }

    func prepared(_ sql: String) -> any SQLStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = PostgresStatement(link: self, sql: PostgresSQL.translate(sql), cursor: false)
        statements[sql] = statement
        return statement
    }

    func preparedCursor(_ sql: String) -> any SQLStatement {
        PostgresStatement(link: self, sql: PostgresSQL.translate(sql), cursor: true)
    }

    func resetStatements() {
        for statement in statements.values { statement.forget() }
    }

    func runRefusable(_ sql: String, _ arguments: [SQLValue]) throws(PostgresFailure) -> Bool {
        savepointCount += 1
        let name = "docket_refusable_\(savepointCount)"
        _ = try query("SAVEPOINT \(name)", [])
        do {
            _ = try query(PostgresSQL.translate(sql), arguments)
            _ = try query("RELEASE SAVEPOINT \(name)", [])
            return true
        } catch where error.isConstraint {
            _ = try query("ROLLBACK TO SAVEPOINT \(name)", [])
            return false
        }
    }

    func nextCursorName() -> String {
        cursorCount += 1
        return "docket_cursor_\(cursorCount)"
    }

    /// Copies rows into `table` with COPY … FROM STDIN (text format), in the open transaction.
    func copy(into table: String, columns: [String], rows: [[SQLValue]]) throws(PostgresFailure) {
        guard let connection, !connection.isClosed else {
            isInTransaction = false
            let failure = PostgresFailure(kind: .connection, message: "the server closed the connection", server: location.server)
            lastLoss = failure
            throw failure
        }
        // COPY's text format is built as plain bytes, then handed over as one buffer.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows.count * 256)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: "\t")) }
                PostgresSQL.appendCopyField(value, to: &bytes)
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        let text = ByteBuffer(bytes: bytes)
        let outcome = OutcomeBox()
        let executor = CallingThreadExecutor()
        Self.startCopy(connection: connection, table: table, columns: columns, payload: text, outcome: outcome, on: executor)
        // postgres-nio can leave COPY's task waiting forever when the server goes away mid-copy:
        // stop waiting once the connection is closed, and report the loss.
        if !executor.runUntilFinished(unless: { connection.isClosed }) {
            outcome.error = PostgresFailure(kind: .connection, message: "the server closed the connection during COPY", server: location.server)
        }
        if let error = outcome.error {
            var failure = PostgresFailure(error, server: location.server)
            if failure.kind == .connection || connection.isClosed {
                failure.kind = .connection
                isInTransaction = false
                lastLoss = failure
            }
            throw failure
        }
    }
}

extension PostgresLink {
    /// postgres-nio's COPY is async only. Its task prefers `executor`, whose jobs the calling
    /// thread runs (`runUntilFinished`), so the copy never waits for a thread of Swift's shared
    /// pool: a caller on that pool (a test) blocking every one of its threads would wait forever.
    static func startCopy(
        connection: PostgresConnection, table: String, columns: [String], payload: ByteBuffer, outcome: OutcomeBox, on executor: CallingThreadExecutor
    ) {
        Task(executorPreference: executor) {
            await runCopy(connection: connection, table: table, columns: columns, payload: payload, outcome: outcome)
            executor.finish()
        }
    }

    static func runCopy(connection: PostgresConnection, table: String, columns: [String], payload: ByteBuffer, outcome: OutcomeBox) async {
        do {
            try await connection.copyFrom(table: table, columns: columns, format: .text(.init()), logger: logger) { writer in
                try await writer.write(payload)
            }
        } catch {
            outcome.error = error
        }
    }
}

/// A statement on PostgreSQL. Rows are fetched all at once, or, for a cursor inside a
/// transaction, through a server-side cursor (DECLARE … NO SCROLL CURSOR) in batches that grow
/// from 64 to 4,096 rows, so a scan's memory stays bounded and a short read stays cheap.
final class PostgresStatement: SQLStatement {
    unowned let link: PostgresLink
    let sql: String
    let cursor: Bool
    private var bindings: [SQLValue] = []
    private var rows: [[SQLValue]] = []
    private var position = -1
    private var started = false
    private var cursorName: String?
    private var exhausted = false

    static let firstBatch = 64
    static let largestBatch = 4096
    private var batch = PostgresStatement.firstBatch

    init(link: PostgresLink, sql: String, cursor: Bool) {
        self.link = link
        self.sql = sql
        self.cursor = cursor
    }

    func reset() {
        closeCursor()
        forget()
    }

    /// Drops the rows and the cursor's name without telling the server (its transaction ended).
    func forget() {
        batch = Self.firstBatch
        bindings = []
        rows = []
        position = -1
        started = false
        cursorName = nil
        exhausted = false
    }

    private func closeCursor() {
        if let name = cursorName, !exhausted, link.isInTransaction { _ = try? link.query("CLOSE \(name)", []) }
        cursorName = nil
    }

    func bind(_ values: [SQLValue]) {
        rows = []
        position = -1
        started = false
        bindings = values
    }

    func bind(_ value: SQLValue, at index: Int32) {
        let slot = Int(index) - 1
        if bindings.count <= slot { bindings += Array(repeating: .null, count: slot + 1 - bindings.count) }
        bindings[slot] = value
    }

    func step() throws(PostgresFailure) -> Bool {
        if !started {
            started = true
            if cursor && link.isInTransaction {
                let name = link.nextCursorName()
                _ = try link.query("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", bindings)
                cursorName = name
                try fetch()
            } else {
                rows = try link.query(sql, bindings)
                exhausted = true
            }
            position = 0
            return position < rows.count
        }
        position += 1
        if position < rows.count { return true }
        guard !exhausted else { return false }
        try fetch()
        position = 0
        return position < rows.count
    }

    private func fetch() throws(PostgresFailure) {
        guard let name = cursorName else { return }
        // Small first (a claim reads a few candidates), growing for long scans.
        let size = batch
        batch = min(batch * 4, Self.largestBatch)
        rows = try link.query("FETCH FORWARD \(size) FROM \(name)", [])
        if rows.count < size {
            exhausted = true
            _ = try link.query("CLOSE \(name)", [])
            cursorName = nil
        }
    }

    private func cell(_ column: Int32) -> SQLValue {
        guard position >= 0, position < rows.count, Int(column) < rows[position].count else { return .null }
        return rows[position][Int(column)]
    }

    func isNull(_ column: Int32) -> Bool { cell(column) == .null }

    func int(_ column: Int32) -> Int64 {
        switch cell(column) {
        case .integer(let v): return v
        case .real(let v): return v.isFinite ? Int64(exactly: v.rounded(.towardZero)) ?? 0 : 0
        case .text(let v): return Int64(v) ?? 0
        default: return 0
        }
    }

    func double(_ column: Int32) -> Double {
        switch cell(column) {
        case .integer(let v): return Double(v)
        case .real(let v): return v
        case .text(let v): return Double(v) ?? 0
        default: return 0
        }
    }

    func text(_ column: Int32) -> String {
        switch cell(column) {
        case .text(let v): return v
        case .integer(let v): return String(v)
        case .real(let v): return JSONText.number(v)
        case .blob(let v): return String(decoding: v, as: UTF8.self)
        case .null: return ""
        }
    }

    func blob(_ column: Int32) -> [UInt8]? {
        switch cell(column) {
        case .blob(let v): return v
        case .text(let v): return Array(v.utf8)
        case .null: return nil
        default: return []
        }
    }

    func value(_ column: Int32) -> SQLValue { cell(column) }

    func withTextBytes<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var string = text(column)
        return try string.withUTF8 { try body($0) }
    }
}

/// Rewriting the store's SQL for PostgreSQL, and splitting a migration into statements.
enum PostgresSQL {
    /// `?` and `?N` become `$N` (a bare `?` takes the number after the highest so far, as in
    /// SQLite); `INDEXED BY name` (SQLite's index hint) is dropped. Quoted text is left alone.
    static func translate(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var highest = 0
        var characters = Array(sql.unicodeScalars)
        var index = 0
        var quote: Unicode.Scalar?
        while index < characters.count {
            let character = characters[index]
            if let open = quote {
                output.unicodeScalars.append(character)
                if character == open { quote = nil }
                index += 1
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                output.unicodeScalars.append(character)
                index += 1
                continue
            }
            if character == "?" {
                var end = index + 1
                var digits = ""
                while end < characters.count, characters[end].properties.numericType != nil, characters[end].isASCII {
                    digits.unicodeScalars.append(characters[end])
                    end += 1
                }
                let number = Int(digits) ?? (highest + 1)
                highest = max(highest, number)
                output += "$\(number)"
                index = end
                continue
            }
            if character == "I" || character == "i" {
                let rest = String(String.UnicodeScalarView(characters[index..<min(characters.count, index + 11)]))
                if rest.uppercased() == "INDEXED BY " && (index == 0 || characters[index - 1] == " " || characters[index - 1] == "\n") {
                    var end = index + 11
                    while end < characters.count, characters[end] == " " { end += 1 }
                    while end < characters.count, characters[end].properties.isAlphabetic || characters[end] == "_" || characters[end].properties.numericType != nil {
                        end += 1
                    }
                    index = end
                    continue
                }
            }
            output.unicodeScalars.append(character)
            index += 1
        }
        characters.removeAll()
        return output
    }

    /// Splits SQL into statements at semicolons outside quotes, comments and dollar-quoted bodies.
    static func split(_ sql: String) -> [String] {
        let scalars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        func flush() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        while index < scalars.count {
            let character = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            if character == "-" && next == "-" {
                while index < scalars.count && scalars[index] != "\n" { current.append(scalars[index]); index += 1 }
                continue
            }
            if character == "/" && next == "*" {
                while index < scalars.count && !(scalars[index] == "*" && index + 1 < scalars.count && scalars[index + 1] == "/") {
                    current.append(scalars[index]); index += 1
                }
                if index < scalars.count { current.append("*"); current.append("/"); index += 2 }
                continue
            }
            if character == "'" || character == "\"" {
                current.append(character)
                index += 1
                while index < scalars.count {
                    current.append(scalars[index])
                    if scalars[index] == character { index += 1; break }
                    index += 1
                }
                continue
            }
            if character == "$" {
                var end = index + 1
                while end < scalars.count, scalars[end].properties.isAlphabetic || scalars[end] == "_" || scalars[end].properties.numericType != nil {
                    end += 1
                }
                if end < scalars.count && scalars[end] == "$" {
                    let tag = Array(scalars[index...end])
                    for scalar in tag { current.append(scalar) }
                    index = end + 1
                    while index < scalars.count {
                        if scalars[index] == "$" && index + tag.count <= scalars.count && Array(scalars[index..<index + tag.count]) == tag {
                            for scalar in tag { current.append(scalar) }
                            index += tag.count
                            break
                        }
                        current.append(scalars[index])
                        index += 1
                    }
                    continue
                }
            }
            if character == ";" {
                flush()
                index += 1
                continue
            }
            current.append(character)
            index += 1
        }
        flush()
        return statements
    }

    static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingWhitespace().isEmpty || $0.trimmingWhitespace().hasPrefix("--") }
    }

    /// One field of COPY's text format: \N for NULL; backslash, tab, newline and carriage return escaped.
    static func appendCopyField(_ value: SQLValue, to buffer: inout [UInt8]) {
        switch value {
        case .null: buffer += [UInt8(ascii: "\\"), UInt8(ascii: "N")]
        case .integer(let v): buffer += String(v).utf8
        case .real(let v): buffer += (v.isFinite ? "\(v)" : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"))).utf8
        case .text(var v):
            v.withUTF8 { utf8 in
                for byte in utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                    case UInt8(ascii: "\t"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                    case UInt8(ascii: "\n"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                    case UInt8(ascii: "\r"): buffer += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                    default: buffer.append(byte)
                    }
                }
            }
        case .blob(let bytes):
            // bytea's hex form, its backslash escaped for COPY.
            buffer += [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")]
            let digits = Array("0123456789abcdef".utf8)
            for byte in bytes {
                buffer.append(digits[Int(byte >> 4)])
                buffer.append(digits[Int(byte & 0xF)])
            }
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// A task executor whose jobs run on the thread that calls `runUntilFinished`, until the task
/// says `finish()`: synchronous code waits for async work without needing any other thread
/// (postgres-nio's futures complete on NIO's own event loops, which enqueue the resumptions here).
final class CallingThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Runs the jobs until the task finishes (true), or until `abandon` says to stop waiting
    /// while no job is pending (false).
    @discardableResult
    func runUntilFinished(unless abandon: () -> Bool = { false }) -> Bool {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished {
                if !condition.wait(until: Date(timeIntervalSinceNow: 0.5)), jobs.isEmpty, !finished, abandon() {
                    condition.unlock()
                    return false
                }
            }
            if jobs.isEmpty {
                condition.unlock()
                return true
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

final class OutcomeBox: @unchecked Sendable {
    var error: (any Error)?
}
