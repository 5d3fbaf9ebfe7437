import DocketCore

// The audit log's hash chain (`AuditChain`): every event is linked in the transaction that
// writes it, events from before the chain existed are linked by the first command that opens
// the database to write, and `check` recomputes the chain.

extension SQLStore {
    /// Inside a write transaction: links `event` (just inserted) and any event before it that has no link yet.
    func chain(_ event: AuditChain.Event) throws {
        var previous = AuditChain.genesis
        var linkedThrough: Int64 = 0
        if let head = chainHead {
            // The link this transaction wrote last: nobody else appends while it holds the write lock.
            (linkedThrough, previous) = head
        } else {
            let latest = try db.statement("SELECT event, link FROM event_links ORDER BY event DESC LIMIT 1")
            if try latest.step() {
                linkedThrough = latest.int(0)
                previous = latest.text(1)
            }
            latest.reset()
        }
        let insert = try db.statement("INSERT INTO event_links (event, link) VALUES (?, ?)")
        if linkedThrough == 0 && event.id > 1 {
            // The first link of a log written before the chain: the events before it are linked
            // now, in order. Once the chain has begun, an event without a link is never linked
            // afterwards: its link was removed by hand, and `check` must go on naming the gap
            // (ids a rolled-back transaction left unused have no event, so they make no gap).
            let earlier = try db.cursor("SELECT id, at, kind, reviewer, item, detail FROM events WHERE id > ? AND id < ? ORDER BY id")
            try earlier.bind([.integer(linkedThrough), .integer(event.id)])
            var pending: [(Int64, String)] = []
            while try earlier.step() {
                let old = Self.auditEvent(earlier, from: 0)
                previous = AuditChain.link(previous: previous, event: old)
                pending.append((old.id, previous))
            }
            earlier.reset()
            for (id, link) in pending {
                insert.reset()
                try insert.bind([.integer(id), .text(link)])
                while try insert.step() {}
            }
        }
        let link = AuditChain.link(previous: previous, event: event)
        insert.reset()
        try insert.bind([.integer(event.id), .text(link)])
        while try insert.step() {}
        chainHead = (event.id, link)
    }

    /// Links every event that has none yet (a database made before the chain); a no-op otherwise.
    func linkUnchainedEvents() throws(StoreError) {
        let (events, links) = try read {
            (try db.int("SELECT coalesce(max(id), 0) FROM events"), try db.int("SELECT coalesce(max(event), 0) FROM event_links"))
        }
        // Only a log the chain has not begun: a log with links and events after them had its
        // links removed by hand, which `check` names and no write may paper over.
        guard events > 0, links == 0 else { return }
        try write {
            let last = try db.statement("SELECT id, at, kind, reviewer, item, detail FROM events ORDER BY id DESC LIMIT 1")
            guard try last.step() else { return }
            let event = Self.auditEvent(last, from: 0)
            last.reset()
            if try db.scalar("SELECT link FROM event_links WHERE event = ?", .integer(event.id)) == nil { try chain(event) }
        }
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

    /// The triggers a list of migrations leaves in place (every CREATE [OR REPLACE] TRIGGER not dropped later).
    static func expectedTriggers(_ migrations: [Migration]) -> [String] {
        expectedTriggerStatements(migrations).map(\.name)
    }

    /// The triggers the migrations leave in place, each with the statement that last created it.
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
