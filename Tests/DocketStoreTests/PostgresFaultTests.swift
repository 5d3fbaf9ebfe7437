import DocketCore
import DocketTestSupport
import Foundation
import Testing

@testable import DocketStore

/// What a PostgreSQL store does when its server goes away or refuses it: a lost connection is
/// made again and the interrupted transaction run again, exactly once in effect; a COMMIT whose
/// answer was lost is looked up, not repeated; a server that cannot be reached, or refuses the
/// login, is one sentence at once.
@Suite(.enabled(if: TestPostgres.isAvailable)) struct PostgresFaultTests {
    /// The notices a store gave, in order.
    final class Notices: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ text: String) { lock.lock(); list.append(text); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
    }

    /// A project with three items and the reviewers ana and bo, opened as a command opens it,
    /// with its notices collected.
    static func project() throws -> (store: PostgresStore, url: String, notices: Notices) {
        let url = try TestPostgres.newDatabase()
        let created = try PostgresStore.createProject(
            url: url, settings: ProjectSettings(labels: ["safe", "unsafe"], overlap: 2, explore: 0, leaseSeconds: 600, seed: 3), at: t0)
        _ = try created.importItems(update: false, source: "fixture", at: t0) { sink in
            for id in ["a", "b", "c"] { _ = try sink.add(ItemDraft(id: id, prompt: "p \(id)", response: "r")) }
            return .commit(rejected: 0)
        }
        for name in ["ana", "bo"] { _ = try created.addReviewer(name: name, role: .reviewer, at: t0) }
        let store = try PostgresStore.open(url: url, access: .write)
        let notices = Notices()
        store.setWaitNotice { notices.add($0) }
        return (store, url, notices)
    }

    static func count(_ store: PostgresStore, _ sql: String) throws -> Int64 {
        try store.read { try store.db.int(sql) }
    }

    static func lost(_ store: PostgresStore) -> String {
        "Lost the connection to the PostgreSQL server at \(store.link.location.server) (the server closed the connection); reconnecting for up to 60 s…"
    }

    static func back(_ store: PostgresStore) -> String {
        "Reconnected to the PostgreSQL server at \(store.link.location.server)."
    }

    /// Ends the store's session from another connection, as a restart or a dropped link would.
    static func terminateSessions(of url: String) throws {
        let ended = try TestPostgres.psql(
            url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        #expect(ended == "1")
    }

    @Test func aSessionEndedBetweenTransactionsIsMadeAgain() throws {
        let (store, url, notices) = try Self.project()
        try Self.terminateSessions(of: url)
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        #expect(notices.all.count == 2)
        #expect(notices.all.first?.hasPrefix("Lost the connection to the PostgreSQL server at \(store.link.location.server) (") == true)
        #expect(notices.all.first?.hasSuffix("); reconnecting for up to 60 s…") == true)
        #expect(notices.all.last == Self.back(store))
        _ = try store.submit(FeedbackDraft(kind: .label, label: "safe"), assignment: lease.id, secondsSpent: 1, at: t0)
        #expect(try Self.count(store, "SELECT count(*) FROM assignments") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM feedback") == 1)
        #expect(try store.check() == [])
    }

    /// The server ran COMMIT and the answer was lost: the store learns that it was committed and
    /// returns its result; running it again would have made a second reviewer (or a duplicate error).
    @Test func aCommitWhoseAnswerWasLostIsNotRunTwice() throws {
        let (store, _, notices) = try Self.project()
        store.link.nextCommitFault = .answerLost
        let reviewer = try store.addReviewer(name: "cy", role: .reviewer, at: t0)
        #expect(reviewer.name == "cy")
        #expect(notices.all == [Self.lost(store), Self.back(store)])
        #expect(try Self.count(store, "SELECT count(*) FROM reviewers WHERE name = 'cy'") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM events WHERE kind = 'reviewer-added'") == 3)

        store.link.nextCommitFault = .answerLost
        guard case .claimed(let lease) = try store.claimNext(for: "ana", at: t0) else { Issue.record("no claim"); return }
        store.link.nextCommitFault = .answerLost
        let submission = try store.submit(FeedbackDraft(kind: .label, label: "unsafe"), assignment: lease.id, secondsSpent: 1, at: t0)
        #expect(submission.completed)
        #expect(try Self.count(store, "SELECT count(*) FROM assignments") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM feedback") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM assignments WHERE state = 'done'") == 1)
        #expect(notices.all.count == 6)
        #expect(try store.check() == [])
    }

    /// The connection closed before the server read COMMIT: the transaction was rolled back, the
    /// store learns so and runs it again, once.
    @Test func aCommitTheServerNeverGotIsRunAgain() throws {
        let (store, _, notices) = try Self.project()
        store.link.nextCommitFault = .lostBeforeServer
        _ = try store.addReviewer(name: "cy", role: .reviewer, at: t0)
        #expect(notices.all == [Self.lost(store), Self.back(store)])
        #expect(try Self.count(store, "SELECT count(*) FROM reviewers WHERE name = 'cy'") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM events WHERE kind = 'reviewer-added'") == 3)

        store.link.nextCommitFault = .lostBeforeServer
        guard case .claimed(let lease) = try store.claimNext(for: "bo", at: t0) else { Issue.record("no claim"); return }
        store.link.nextCommitFault = .lostBeforeServer
        _ = try store.submit(FeedbackDraft(kind: .label, label: "safe"), assignment: lease.id, secondsSpent: 1, at: t0)
        #expect(try Self.count(store, "SELECT count(*) FROM assignments") == 1)
        #expect(try Self.count(store, "SELECT count(*) FROM feedback") == 1)
        #expect(try store.check() == [])
    }

    /// A read whose COMMIT lost its answer has its result all the same, without reconnecting first.
    @Test func aReadWhoseCommitLostItsAnswerStands() throws {
        let (store, _, notices) = try Self.project()
        store.link.nextCommitFault = .answerLost
        #expect(try store.reviewers().map(\.name) == ["ana", "bo"])
        #expect(notices.all == [])
        #expect(try store.reviewers().map(\.name) == ["ana", "bo"])
        #expect(notices.all == [Self.lost(store), Self.back(store)])
    }

    /// While a store is being opened nothing is retried: a server that is not there is one
    /// sentence naming host and port, at once.
    @Test func anUnreachableServerIsOneSentenceAtOnce() throws {
        let port = closedPort()
        let start = ContinuousClock.now
        #expect(throws: StoreError.serverUnreachable(server: "127.0.0.1 port \(port)", reason: "connection refused")) {
            _ = try PostgresStore.open(url: "postgres://docket@127.0.0.1:\(port)/docket", access: .read)
        }
        #expect(throws: StoreError.serverUnreachable(server: "127.0.0.1 port \(port)", reason: "connection refused")) {
            _ = try PostgresStore.createProject(url: "postgres://docket@127.0.0.1:\(port)/docket", settings: ProjectSettings(labels: ["a"]), at: t0)
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    /// A login the server refuses is a sentence naming the database, the server and the reason.
    @Test func aRefusedLoginNamesServerAndReason() throws {
        let admin = try #require(TestPostgres.adminURL)
        let location = try PostgresLocation(parsing: admin, environment: [:])
        let base = "127.0.0.1:\(location.port)"
        #expect(throws: StoreError.cannotOpen(
            path: "postgres://nobody_here@\(base)/docket",
            reason: "the PostgreSQL server at \(location.server) refused the login: role \"nobody_here\" does not exist")) {
            _ = try PostgresStore.open(url: "postgres://nobody_here@\(base)/docket", access: .read)
        }
        #expect(throws: StoreError.cannotOpen(
            path: "postgres://docket@\(base)/no_such_db",
            reason: "the PostgreSQL server at \(location.server) refused the login: database \"no_such_db\" does not exist; create it first (createdb no_such_db, or CREATE DATABASE no_such_db)")) {
            _ = try PostgresStore.open(url: "postgres://docket:secret@\(base)/no_such_db", access: .write)
        }
    }

    /// A connection lost while the store is being opened is not retried for a minute either.
    @Test func aLossWhileOpeningIsNotRetried() throws {
        let url = try TestPostgres.newDatabase()
        _ = try PostgresStore.createProject(url: url, settings: ProjectSettings(labels: ["a"]), at: t0)
        let link = try PostgresStore.connect(url)
        let store = PostgresStore(link: link, readOnly: true)  // as `open` has it before it returns
        try Self.terminateSessions(of: url)
        let start = ContinuousClock.now
        do {
            _ = try store.hasProject()
            Issue.record("the lost connection went unnoticed")
        } catch {
            guard case .serverUnreachable(let server, _) = error else { Issue.record("\(error)"); return }
            #expect(server == link.location.server)
        }
        #expect(ContinuousClock.now - start < .seconds(1))
    }
}
