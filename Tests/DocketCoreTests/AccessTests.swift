import DocketCore
import Foundation
import Testing

/// The one table of who may do what (`Access`), its rules for `--as` and for role changes, and
/// the README's copy of it.
@Suite struct AccessTests {
    let ana = Person(name: "ana", role: .reviewer)
    let lee = Person(name: "lee", role: .lead)
    let ada = Person(name: "ada", role: .admin)

    func decide(_ login: String, own: Person?, as other: Person? = nil, _ action: Action, privileged: Bool = false) -> Result<Actor, AccessDenial> {
        Access.decide(caller: Caller(login: login, privileged: privileged), own: own, as: other, action: action, needsPerson: [.review, .triage, .adjudicate].contains(action))
    }

    @Test func eachRoleMayDoWhatTheRolesBelowItMay() {
        for action in Action.allCases {
            for person in [ana, lee, ada] {
                let allowed = (try? decide(person.name, own: person, action).get()) != nil
                #expect(allowed == (person.role >= action.minimumRole), "\(person.role) \(action)")
            }
        }
        #expect(Action.allCases.filter { $0.minimumRole == .reviewer } == [.review, .show, .log, .status, .queue, .listReviewers, .showConfig])
    }

    @Test func refusalsAreSentences() {
        #expect(decide("ana", own: ana, .adjudicate) == .failure(.roleTooLow(name: "ana", role: .reviewer, action: .adjudicate, actingFor: nil)))
        #expect(AccessDenial.roleTooLow(name: "ana", role: .reviewer, action: .adjudicate, actingFor: nil).description
            == "ana is a reviewer and may not adjudicate; that needs a lead or an admin")
        #expect(AccessDenial.roleTooLow(name: "lee", role: .lead, action: .importItems, actingFor: nil).description
            == "lee is a lead and may not import items; that needs an admin")
        #expect(decide("mallory", own: nil, .status) == .failure(.notRegistered(login: "mallory")))
        #expect(AccessDenial.notRegistered(login: "mallory").description
            == "The login 'mallory' is not bound to a reviewer of this project; an admin binds it with `docket reviewers bind NAME --user mallory` (or `docket reviewers add NAME --user mallory` for someone new)")
        // A name in a refusal never moves the cursor or splits the line.
        #expect(AccessDenial.onlyAdminsActForOthers(name: "ana", role: .reviewer, other: "bo\n\u{1B}[2J").description
            == "ana is a reviewer and may not act as bo\\u{a}\\u{1b}[2J; only an admin may use --as for someone else")
    }

    @Test func onlyAnAdminActsForSomeoneElseAndThenWithTheirRole() throws {
        // Naming oneself is no impersonation.
        #expect(try decide("ana", own: ana, as: ana, .review).get() == Actor(person: ana, role: .reviewer, onBehalfBy: nil, callerName: "ana"))
        #expect(decide("ana", own: ana, as: lee, .review) == .failure(.onlyAdminsActForOthers(name: "ana", role: .reviewer, other: "lee")))
        #expect(decide("lee", own: lee, as: ana, .review) == .failure(.onlyAdminsActForOthers(name: "lee", role: .lead, other: "ana")))
        let forAna = try decide("ada", own: ada, as: ana, .review).get()
        #expect(forAna == Actor(person: ana, role: .reviewer, onBehalfBy: "ada", callerName: "ada"))
        #expect(forAna.visibility == .own)
        // Acting for a reviewer is acting with a reviewer's role.
        #expect(decide("ada", own: ada, as: ana, .adjudicate) == .failure(.roleTooLow(name: "ana", role: .reviewer, action: .adjudicate, actingFor: "ada")))
    }

    @Test func rootIsAnAdminButReviewsOnlyAsSomeone() throws {
        // Registered and demoted, root is still an admin: they can change the file anyway.
        let demoted = try decide("root", own: Person(name: "root", role: .reviewer), .check, privileged: true).get()
        #expect(demoted.role == .admin && demoted.person == Person(name: "root", role: .admin))
        #expect(try decide("root", own: nil, .importItems, privileged: true).get().role == .admin)
        #expect(decide("root", own: nil, .review, privileged: true) == .failure(.needsReviewer(login: "root", action: .review)))
        #expect(try decide("root", own: nil, as: ana, .review, privileged: true).get().onBehalfBy == "root")
    }

    @Test func roleChangesKeepAnAdminAndLeadsAwayFromAdmins() throws {
        let asLead = try decide("lee", own: lee, .changeRole).get()
        let asAdmin = try decide("ada", own: ada, .changeRole).get()
        #expect(Access.roleChange(actor: asLead, target: ana, to: .lead, admins: 1) == nil)
        #expect(Access.roleChange(actor: asLead, target: lee, to: .reviewer, admins: 1) == nil)
        #expect(Access.roleChange(actor: asLead, target: ada, to: .reviewer, admins: 2) == .leadCannotTouchAdmins(name: "lee", target: "ada"))
        #expect(Access.roleChange(actor: asLead, target: ana, to: .admin, admins: 1) == .leadCannotTouchAdmins(name: "lee", target: "ana"))
        #expect(Access.roleChange(actor: asAdmin, target: ada, to: .lead, admins: 1) == .lastAdmin(target: "ada"))
        #expect(Access.roleChange(actor: asAdmin, target: ada, to: .lead, admins: 2) == nil)
        #expect(Access.roleChange(actor: asAdmin, target: ana, to: .admin, admins: 1) == nil)
        #expect(decide("ana", own: ana, .changeRole) == .failure(.roleTooLow(name: "ana", role: .reviewer, action: .changeRole, actingFor: nil)))
    }

    /// The README's role table is this table: every action once, with its least role.
    @Test func theReadmeTableIsTheCoreTable() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md").standardized, encoding: .utf8)
        guard let start = readme.range(of: "<!-- role table: generated from Action.minimumRole; a test compares -->"),
              let end = readme.range(of: "<!-- end of role table -->", range: start.upperBound..<readme.endIndex) else {
            Issue.record("README.md has no role table")
            return
        }
        var table: [String: Role] = [:]
        for line in readme[start.upperBound..<end.lowerBound].split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, let role = Role(rawValue: cells[1]) else { Issue.record("unreadable row: \(line)"); continue }
            for action in cells[0].split(separator: ",").map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }) {
                #expect(table[action] == nil, "\(action) is in the table twice")
                table[action] = role
            }
        }
        #expect(table == Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0.rawValue, $0.minimumRole) }))
    }
}
