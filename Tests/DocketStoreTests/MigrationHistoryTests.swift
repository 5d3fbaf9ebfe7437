import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// Migrations are append-only: a database made by any committed binary is upgraded by the
/// migrations that came after it, so a committed migration must never change. These tests pin
/// every migration's bytes and upgrade a database made by every earlier schema, as committed.
@Suite struct MigrationHistoryTests {
    static let testDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let schemaDirectory = testDirectory.appendingPathComponent("../../Schema").standardized
    /// Every version of every migration file ever committed, named `NAME@COMMIT.sql` (from
    /// `git show COMMIT:Schema/NAME.sql`).
    static let historyDirectory = testDirectory.appendingPathComponent("Fixtures/schema-history")

    /// SHA-256 of each migration file's bytes. A committed migration never changes: a schema
    /// change is a new numbered file, pinned here when it is committed.
    static let pinned: [String: String] = [
        "0001_initial.sql": "0fa18513239fe97e591d92451026bd0d7d16ef2618f62d34855beb7d8986987f",
        "0002_review.sql": "32210b38d10db830fd474380d634c3e775f04ba4ba3f10499755632b94fad382",
        "0003_imported_labels.sql": "eeb2b622bb4c5fb72d5dd3b125a1713ee047634e110d561068f375aa0306b6dd",
        "0004_gold_mixing.sql": "fd8be0326c8b2f7b74ab85ec3b815dc41628b8c1ef22a39047f935f0ab8fff60",
        "0005_escalation.sql": "c02eda59e655a30e03067286f8d3dba8989a0e9a397750de28dfbfca34ea217e",
        "0006_rounds.sql": "7f2446d865c8eb8b4c7fd1c5a45b3548f19e72f074e1021722933472fc439ae7",
        "0007_supersessions.sql": "8a8aaea6dfd6b6f8c772741a164d0ff135dbd9c5ed38d38e129cde60d0fd51d0",
        "0008_application_id.sql": "c6c4a1cf178d6579c8721c499dcd45f581a64da9e02eb66d7b7f6066f80a75cb",
        "0009_indexes_edited_into_earlier_migrations.sql": "0806a6f423bd2256f8c0606766948439b05d174891cacd1dd1fca001c01a1b3e",
        "0010_partial_feedback_takes_a_place.sql": "8837d0d2e5ce3ed6056276cff13bcfd5a003ce0477c6a91d145103dc5fac790d",
        "0011_audit_chain.sql": "e1760835b48404137c26e1ac1ff6f93d121675156a4e47ecfa9558f454667184",
        "0012_identity.sql": "c27be94e2d0b19ec41cb80c85d0700d945bfe4a8eab670d4a32df09120a6f0f8",
        "postgres/0001_initial.sql": "89050e2d9c7dcaa3b66ff3d8f2068a670b408e536ee66d3127719165b84e3d15",
        "postgres/0002_audit_chain.sql": "58b58f54da16036d350e309fa814c01ecbaf0eb68bc29f5abe73a3d81c68a6b1",
        "postgres/0003_identity.sql": "36e032a83022f4e40a5dce60ce1b263fa23e26835c6a4703c9e1d11564ccb309",
        "postgres/0004_row_security.sql": "cede72bde4295c3f62cbe759f24cf40747833c260e654a89157776ef13fc9beb",
        "postgres/0005_row_security_holds.sql": "8574c343b57db72c2685a0f4e96f68676208ef582c84774ab5c95cf799bc8efc",
        "postgres/0006_row_security_bounds.sql": "0cbaccee40b4f51961d4960448520759f46e60e850d617d8d1b6cdcee933d1a6",
        "postgres/0007_lease_ends_again.sql": "03ec3043460cf0ec6061cad937fbdc6349dd4923f0552dd18a1d2dee34916894",
        "postgres/0008_rubric_of_the_answer.sql": "260c8112b8b35e2e9a1b96114bb53eca594ef3c5ac557fe5b4d6f336792a7856",
    ]

    static func sha256(_ url: URL) throws -> String {
        var hash = SHA256()
        hash.update([UInt8](try Data(contentsOf: url)))
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func migrationFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: schemaDirectory.path).filter { $0.hasSuffix(".sql") }.sorted()
    }

    /// PostgreSQL's migrations, named `postgres/NNNN_….sql`.
    static func postgresFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: schemaDirectory.appendingPathComponent("postgres").path)
            .filter { $0.hasSuffix(".sql") }.sorted().map { "postgres/" + $0 }
    }

    @Test func committedMigrationsAreUnchanged() throws {
        let files = try Self.migrationFiles()
        let postgres = try Self.postgresFiles()
        for name in files + postgres {
            let hash = try Self.sha256(Self.schemaDirectory.appendingPathComponent(name))
            guard let expected = Self.pinned[name] else {
                Issue.record("\(name) is not pinned: add \"\(name)\": \"\(hash)\" to MigrationHistoryTests.pinned when you commit it")
                continue
            }
            #expect(hash == expected, "\(name) changed after it was committed: put the change in a new migration and restore the file")
        }
        for name in Self.pinned.keys where !files.contains(name) && !postgres.contains(name) {
            Issue.record("\(name) was removed; committed migrations stay")
        }
        // Numbered 1, 2, 3, … without a gap or a repeat, in each backend's folder.
        #expect(files.map { Int($0.prefix(4)) } == Array(1...files.count).map { Optional($0) })
        #expect(postgres.map { Int($0.dropFirst("postgres/".count).prefix(4)) } == Array(1...postgres.count).map { Optional($0) })
    }

    /// Every committed text of each migration, by version number.
    static func history() throws -> [Int: [(name: String, sql: String)]] {
        var versions: [Int: [(name: String, sql: String)]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: historyDirectory.path).filter({ $0.hasSuffix(".sql") }).sorted() {
            guard let number = Int(name.prefix(4)) else { continue }
            let sql = try String(contentsOf: historyDirectory.appendingPathComponent(name), encoding: .utf8)
            versions[number, default: []].append((name, sql))
        }
        return versions
    }

    /// Each committed migration as it is now is the first committed version of that file (0001
    /// and 0003 were edited after they were committed; the edits moved into 0009).
    @Test func currentMigrationsAreTheirFirstCommittedText() throws {
        let history = try Self.history()
        let firstCommit: [String: String] = [
            "0001": "dc71bdd", "0002": "0bf38cf", "0003": "c7dad89", "0004": "eea7c9e",
            "0005": "4d168e4", "0006": "cf2e082", "0007": "65c7968", "0008": "ead9fa4",
        ]
        for (prefix, commit) in firstCommit {
            let stem = try Self.migrationFiles().first { $0.hasPrefix(prefix + "_") }!.dropLast(4)
            let fixture = try String(contentsOf: Self.historyDirectory.appendingPathComponent("\(stem)@\(commit).sql"), encoding: .utf8)
            let current = try String(contentsOf: Self.schemaDirectory.appendingPathComponent("\(stem).sql"), encoding: .utf8)
            #expect(fixture == current, "\(stem).sql differs from its first committed text")
        }
        #expect(history.keys.sorted() == Array(1...8))
        #expect(history[1]?.count == 2 && history[3]?.count == 2)
    }

    /// Every schema a committed binary could have left at `version`: one committed text of each
    /// migration up to it (0001 and 0003 each had two).
    static func schemas(upTo version: Int) throws -> [[(name: String, sql: String)]] {
        let history = try Self.history()
        var combinations: [[(name: String, sql: String)]] = [[]]
        for number in 1...version {
            let texts = history[number] ?? []
            combinations = combinations.flatMap { prefix in texts.map { prefix + [$0] } }
        }
        return combinations
    }

    /// The schema objects of a database, without the page numbers that differ between files.
    static func schema(of connection: Connection) throws -> [String] {
        var rows: [String] = []
        let statement = try connection.statement("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        while try statement.step() {
            rows.append([statement.text(0), statement.text(1), statement.text(2), statement.optionalText(3) ?? "NULL"].joined(separator: " | "))
        }
        rows.append("user_version \(try connection.int("PRAGMA user_version"))")
        rows.append("application_id \(try connection.int("PRAGMA application_id"))")
        return rows
    }

    /// A project as the binary of that schema made it: a project row, a reviewer and three items,
    /// written with the columns of the first migration (later ones only add columns with defaults).
    static func oldProject(_ connection: Connection) throws {
        let t = t0.milliseconds
        try connection.execute(
            """
            INSERT INTO project (id, labels, level, overlap, budget, w_risk, w_uncertainty, w_diversity, explore, lease_seconds, seed, item_count, created_at)
            VALUES (1, '["safe","unsafe"]', 'nominal', 2, NULL, 1, 0, 0, 0, 1200, 7, 3, \(t));
            INSERT INTO reviewers (name, role, created_at) VALUES ('ana', 'reviewer', \(t)), ('bo', 'reviewer', \(t));
            INSERT INTO items (id, prompt, response, risk, uncertainty, diversity, utility, overlap, imported_at) VALUES
                ('i1', 'p1', 'r1', 0.9, 0, 0, 0.9, 2, \(t)),
                ('i2', 'p2', 'r2', 0.5, 0, 0, 0.5, 2, \(t)),
                ('i3', 'p3', 'r3', 0.1, 0, 0, 0.1, 2, \(t));
            INSERT INTO events (at, kind, detail) VALUES (\(t), 'init', '{}');
            """)
    }

    /// A database made by each earlier schema (with each committed text of its migrations) is
    /// upgraded on opening to exactly the schema of a new database, and claims work on it.
    @Test(arguments: 1...8)
    func upgradesEveryEarlierSchema(version: Int) throws {
        let sandbox = Sandbox()
        let fresh = try SQLiteStore.create(path: sandbox.path("fresh.db"), settings: ProjectSettings(labels: ["safe", "unsafe"]), at: t0)
        let expected = try Self.schema(of: fresh.connection)
        #expect(expected.contains { $0.hasPrefix("index | assignments_open_by_reviewer |") })
        for (index, migrations) in try Self.schemas(upTo: version).enumerated() {
            let path = sandbox.path("v\(version)-\(index).db")
            let made = migrations.map(\.name).joined(separator: " ")
            do {
                let connection = try Connection(path: path, flags: [.readWrite, .create])
                _ = try connection.scalar("PRAGMA journal_mode = WAL")
                for (number, migration) in migrations.enumerated() {
                    try connection.execute(migration.sql)
                    try connection.execute("PRAGMA user_version = \(number + 1)")
                }
                try Self.oldProject(connection)
            }
            #expect(throws: StoreError.olderSchema(path: path, found: version, current: SchemaInfo.latestVersion)) {
                try SQLiteStore.open(path: path, access: .read)
            }
            let store = try SQLiteStore.open(path: path)
            #expect(try Self.schema(of: store.connection) == expected, "made by \(made)")
            #expect(try store.check() == [], "made by \(made)")
            #expect(claimedID(try store.claimNext(for: "ana", at: t0)) == "i1", "made by \(made)")
            #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "i1", "made by \(made)")
            #expect(claimedID(try store.claimNext(for: "bo", at: t0)) == "i1", "resumes the open lease; made by \(made)")
        }
    }
}
