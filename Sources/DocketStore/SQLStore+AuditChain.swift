import DocketCore

// The audit log's hash chain (`AuditChain`): every event is linked in the transaction that
// writes it, events from before the chain existed are linked by the first command that opens
// the database to write, and `check` recomputes the chain.

extension SQLStore {
    /// Inside a write transaction: links `event` (just inserted) to the link before it. Only that:
    /// an event without a link (its link removed by hand) is never linked afterwards, so `check`
    /// goes on naming the gap; a log from before the chain is linked once, by the migration that
    /// adds the chain, in its own transaction (`linkWholeLog`).
    func chain(_ event: AuditChain.Event) throws {
        var previous = AuditChain.genesis
        if let head = chainHead {
            // The link this transaction wrote last: nobody else appends while it holds the write lock.
            previous = head.link
        } else {
            let latest = try db.statement("SELECT link FROM event_links ORDER BY event DESC LIMIT 1")
            if try latest.step() { previous = latest.text(0) }
            latest.reset()
        }
        let link = AuditChain.link(previous: previous, event: event)
        let insert = try db.statement("INSERT INTO event_links (event, link) VALUES (?, ?)")
        try insert.bind([.integer(event.id), .text(link)])
        while try insert.step() {}
        insert.reset()
        chainHead = (event.id, link)
    }

    /// Inside the transaction of the migration that adds the chain (SQLite 11, PostgreSQL 2):
    /// links every event of a log written before it, in order. Nothing else ever links an
    /// event after the fact.
    func linkWholeLog() throws {
        guard try db.int("SELECT count(*) FROM event_links") == 0 else { return }
        var previous = AuditChain.genesis
        var pending: [(Int64, String)] = []
        let events = try db.cursor("SELECT id, at, kind, reviewer, item, detail FROM events ORDER BY id")
        while try events.step() {
            let event = Self.auditEvent(events, from: 0)
            previous = AuditChain.link(previous: previous, event: event)
            pending.append((event.id, previous))
        }
        events.reset()
        let insert = try db.statement("INSERT INTO event_links (event, link) VALUES (?, ?)")
        for (id, link) in pending {
            insert.reset()
            try insert.bind([.integer(id), .text(link)])
            while try insert.step() {}
        }
        insert.reset()
    }

    /// The reviewers table and the session feedback must be what the (chained) log says: each
    /// reviewer added by a `reviewer-added` event, with the role of their last `role-changed` (else
    /// the one they were added with) and the login of their last `login-bound` (else the one they
    /// were added with; their own name for events from before logins). A role made or a login
    /// rebound around Docket (`UPDATE reviewers SET role = 'admin'`), or feedback written around
    /// a session, is named: forging the events too would break the chain. A reviewer with no
    /// event is named when they are a lead or an admin, or newer than the newest one the log
    /// records (early imports of historical labels registered reviewers without one); session
    /// feedback with no event whatever its id; imported labels when there are more than the
    /// `import-labels` events say were inserted.
    func identityViolations() throws -> [Violation] {
        struct Expected { var name: String; var role: String; var login: String? }
        var expected: [Int64: Expected] = [:]
        var idByName: [String: Int64] = [:]
        var feedbackEvents = Set<Int64>()
        var imported = 0
        var importsCounted = true  // every import-labels event says how many rows it inserted
        let events = try db.cursor(
            "SELECT kind, reviewer, detail FROM events WHERE kind IN ('reviewer-added', 'role-changed', 'login-bound', 'feedback', 'restored', 'import-labels') ORDER BY id")
        while try events.step() {
            guard let text = events.optionalText(2), case .object(let fields)? = try? JSON.parse(text) else { continue }
            let detail = Dictionary(fields, uniquingKeysWith: { first, _ in first })
            func string(_ key: String) -> String? { if case .string(let value)? = detail[key] { value } else { nil } }
            switch events.text(0) {
            case "reviewer-added":
                guard let id = events.optionalInt(1), let name = string("name"), let role = string("role") else { continue }
                let login: String? = detail.keys.contains("login") ? string("login") : name
                expected[id] = Expected(name: name, role: role, login: login)
                idByName[name] = id
            case "role-changed":
                if let name = string("reviewer"), let id = idByName[name], let role = string("to") { expected[id]?.role = role }
            case "login-bound":
                if let id = events.optionalInt(1) { expected[id]?.login = string("to") }
            case "import-labels":
                // A count or id that is no integer (written by hand) counts for nothing, never traps.
                if case .number(let count)? = detail["inserted"], let whole = Int(exactly: count) { imported &+= whole } else { importsCounted = false }
            default:
                if case .number(let id)? = detail["feedback"], let whole = Int64(exactly: id) { feedbackEvents.insert(whole) }
            }
        }
        events.reset()
        var violations: [Violation] = []
        let newestReviewer = expected.keys.max() ?? Int64.max
        let reviewers = try db.cursor("SELECT id, name, role, login FROM reviewers ORDER BY id")
        while try reviewers.step() {
            let id = reviewers.int(0), name = reviewers.text(1), role = reviewers.text(2), login = reviewers.optionalText(3)
            guard let should = expected[id] else {
                if id > newestReviewer || id <= 0 || role != Role.reviewer.rawValue {
                    violations.append(Violation(rule: "reviewer-without-event", detail: "reviewer \(name) was added around Docket (the log has no reviewer-added event for them)"))
                }
                continue
            }
            if should.name != name {
                violations.append(Violation(rule: "reviewer-renamed", detail: "reviewer \(should.name) is named \(name) now, which the log never recorded"))
            }
            if should.role != role {
                violations.append(Violation(rule: "role-without-event", detail: "\(name) is \(role) but the log last made them \(should.role)"))
            }
            if should.login != login {
                violations.append(Violation(rule: "login-without-event", detail: "\(name) is bound to \(login ?? "no login") but the log last bound them to \(should.login ?? "no login")"))
            }
        }
        reviewers.reset()
        let feedback = try db.cursor("SELECT id FROM feedback WHERE source = 'session' ORDER BY id")
        var missing: [Int64] = []
        // (A log without any feedback event has nothing to compare with: a project older than
        // its events, or one with imported labels only.)
        while !feedbackEvents.isEmpty, try feedback.step() {
            if !feedbackEvents.contains(feedback.int(0)) { missing.append(feedback.int(0)) }
        }
        feedback.reset()
        if !missing.isEmpty {
            let shown = missing.prefix(5).map(String.init).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : "")
            violations.append(Violation(rule: "feedback-without-event", detail: "feedback \(shown) was written around Docket (no feedback event)"))
        }
        let importedRows = try db.int("SELECT count(*) FROM feedback WHERE source = 'import'")
        if importsCounted, importedRows > Int64(imported) {
            violations.append(Violation(
                rule: "imported-labels-without-event",
                detail: "\(importedRows) imported labels are stored but the log's imports inserted \(imported): \(importedRows - Int64(imported)) were written around Docket"))
        }
        return violations
    }

    static func auditEvent(_ statement: any SQLStatement, from column: Int32) -> AuditChain.Event {
        AuditChain.Event(
            id: statement.int(column), at: statement.int(column + 1), kind: statement.text(column + 2),
            reviewer: statement.optionalInt(column + 3), item: statement.optionalInt(column + 4), detail: statement.optionalText(column + 5))
    }

    /// The chain recomputed over the whole log: the first break, and links whose event is gone.
    func auditChainViolations() throws -> [Violation] {
        var verifier = AuditChain.Verifier()
        let events = try db.cursor(
            "SELECT e.id, e.at, e.kind, e.reviewer, e.item, e.detail, l.link FROM events e LEFT JOIN event_links l ON l.event = e.id ORDER BY e.id")
        while try events.step() { verifier.step(Self.auditEvent(events, from: 0), link: events.optionalText(6)) }
        events.reset()
        var violations: [Violation] = []
        if let broken = verifier.firstBreak { violations.append(Violation(rule: "audit-chain", detail: broken.description)) }
        let orphans = try db.cursor("SELECT event FROM event_links WHERE event NOT IN (SELECT id FROM events) ORDER BY event")
        while try orphans.step() {
            violations.append(Violation(rule: "audit-chain", detail: AuditChain.Break.orphan(event: orphans.int(0)).description))
        }
        orphans.reset()
        return violations
    }

    /// The triggers a list of migrations leaves in place (every CREATE [OR REPLACE] TRIGGER not
    /// dropped later), each with the statement that last created it.
    static func expectedTriggerStatements(_ migrations: [Migration]) -> [(name: String, statement: String)] {
        var found: [(name: String, statement: String)] = []
        for migration in migrations {
            for statement in triggerAwareSplit(migration.sql) {
                let words = statementWords(statement)
                let upper = words.map { $0.uppercased() }
                guard upper.count > 2 else { continue }
                if upper[0] == "CREATE", let at = upper[1] == "TRIGGER" ? 1 : (upper.count > 4 && upper[1] == "OR" && upper[3] == "TRIGGER" ? 3 : nil) {
                    let name = words[at + 1]
                    if let index = found.firstIndex(where: { $0.name == name }) { found[index].statement = statement } else { found.append((name, statement)) }
                } else if upper[0] == "DROP", upper[1] == "TRIGGER" {
                    let name = upper.count > 4 && upper[2] == "IF" ? words[4] : words[2]
                    found.removeAll { $0.name == name }
                }
            }
        }
        return found
    }

    /// Statements, with an SQLite trigger's body (BEGIN … ; … END) kept in one statement.
    static func triggerAwareSplit(_ sql: String) -> [String] {
        var statements: [String] = []
        var open: String?
        for part in PostgresSQL.split(sql) {
            if let body = open {
                let joined = body + ";\n" + part
                if normalisedSQL(part).uppercased().hasSuffix("END") { statements.append(joined); open = nil } else { open = joined }
                continue
            }
            let words = statementWords(part).map { $0.uppercased() }
            let isTrigger = words.count > 3 && words[0] == "CREATE" && (words[1] == "TRIGGER" || (words[1] == "OR" && words[3] == "TRIGGER"))
            if isTrigger, words.contains("BEGIN"), !normalisedSQL(part).uppercased().hasSuffix("END") {
                open = part
            } else {
                statements.append(part)
            }
        }
        if let open { statements.append(open) }
        return statements
    }

    /// The functions the migrations create, each with its body (the text between its dollar quotes).
    static func expectedFunctionBodies(_ migrations: [Migration]) -> [(name: String, body: String)] {
        var found: [(name: String, body: String)] = []
        for migration in migrations {
            for statement in PostgresSQL.split(migration.sql) {
                let words = statementWords(statement).map { $0.uppercased() }
                guard words.count > 3, words[0] == "CREATE",
                      let at = words[1] == "FUNCTION" ? 1 : (words[1] == "OR" && words.count > 4 && words[3] == "FUNCTION" ? 3 : nil),
                      let open = statement.range(of: "$$"), let close = statement.range(of: "$$", range: open.upperBound..<statement.endIndex)
                else { continue }
                let name = String(statementWords(statement)[at + 1].prefix { $0 != "(" })
                let body = String(statement[open.upperBound..<close.lowerBound])
                if let index = found.firstIndex(where: { $0.name == name }) { found[index].body = body } else { found.append((name, body)) }
            }
        }
        return found
    }

    /// A statement's text as a comparison sees it: comment lines dropped, runs of white space one
    /// space, no space after '(' or before ')'.
    static func normalisedSQL(_ text: String) -> String {
        var words = text.split(separator: "\n").filter { !$0.trimmingWhitespace().hasPrefix("--") }.joined(separator: " ")
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        words = words.replacingOccurrences(of: "( ", with: "(").replacingOccurrences(of: " )", with: ")")
        while words.hasSuffix(";") { words.removeLast() }
        return words
    }

    /// The words of one SQL statement, its comment lines left out.
    static func statementWords(_ statement: String) -> [String] {
        statement.split(separator: "\n").filter { !$0.trimmingWhitespace().hasPrefix("--") }.joined(separator: "\n")
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }).map(String.init)
    }
}
