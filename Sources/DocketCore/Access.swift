/// Who may do what: the one table every command goes through (`Access.decide`), and the rules
/// for changing roles. The README's role table is this table; a test checks that they agree.

extension Role: Comparable {
    /// reviewer < lead < admin: each role may do everything the roles below it may.
    public var rank: Int {
        switch self {
        case .reviewer: 0
        case .lead: 1
        case .admin: 2
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    /// "a reviewer", "a lead", "an admin".
    public var withArticle: String { self == .admin ? "an admin" : "a \(rawValue)" }
}

/// Everything a command can do to or read from a project, each with the least role it needs.
public enum Action: String, CaseIterable, Sendable {
    // Everyone registered: work through the queue and see one's own part.
    case review, show, log, status, queue, listReviewers, showConfig
    // Leads: everyone's feedback, decisions and the numbers drawn from them.
    case triage, adjudicate, escalations, agreement, aggregate, calibrate, drift, report, export
    // Admins: the project itself.
    case addReviewer, bindLogin, changeRole, applyConfig, importItems, importLabels, round, backup, migrate, check, saveModel, bench

    /// The least role that may take this action.
    public var minimumRole: Role {
        switch self {
        case .review, .show, .log, .status, .queue, .listReviewers, .showConfig: .reviewer
        case .triage, .adjudicate, .escalations, .agreement, .aggregate, .calibrate, .drift, .report, .export: .lead
        case .changeRole: .lead  // a lead moves people between reviewer and lead; see `Access.roleChange`
        case .addReviewer, .bindLogin, .applyConfig, .importItems, .importLabels, .round, .backup, .migrate, .check, .saveModel, .bench: .admin
        }
    }

    /// The words a refusal uses: "may not <phrase>".
    public var phrase: String {
        switch self {
        case .review: "review"
        case .show: "show items"
        case .log: "read the log"
        case .status: "see the status"
        case .queue: "see the queue"
        case .listReviewers: "list reviewers"
        case .showConfig: "see the configuration"
        case .triage: "triage"
        case .adjudicate: "adjudicate"
        case .escalations: "see escalations"
        case .agreement: "see agreement"
        case .aggregate: "aggregate labels"
        case .calibrate: "calibrate reviewers"
        case .drift: "see drift"
        case .report: "make reports"
        case .export: "export"
        case .addReviewer: "add reviewers"
        case .bindLogin: "bind reviewers to logins"
        case .changeRole: "change roles"
        case .applyConfig: "apply configuration"
        case .importItems: "import items"
        case .importLabels: "import labels"
        case .round: "start or close rounds"
        case .backup: "back up the project"
        case .migrate: "migrate the project"
        case .check: "check the project"
        case .saveModel: "save a model"
        case .bench: "run benchmarks"
        }
    }
}

/// Whose feedback a command shows: a reviewer sees their own only, leads and admins everyone's.
public enum Visibility: Equatable, Sendable {
    case own
    case everyone

    public init(role: Role) {
        self = role >= .lead ? .everyone : .own
    }
}

/// The caller as the operating system or the database login names them.
public struct Caller: Equatable, Sendable {
    /// The login: the OS account (SQLite) or the PostgreSQL login role.
    public var login: String
    /// Root, or a PostgreSQL superuser: they can change the project's file or database directly,
    /// so Docket treats them as an admin even when they are not registered.
    public var privileged: Bool
    /// Set when the database itself holds this login to a reviewer's rights (PostgreSQL: a login
    /// role that is not a member of the database's owner, under row-level security): the owner's
    /// role name. Such a login reads only its own answers and writes only as itself, whatever role
    /// its reviewer has in the project.
    public var heldToReviewerUnder: String?

    public init(login: String, privileged: Bool, heldToReviewerUnder owner: String? = nil) {
        self.login = login
        self.privileged = privileged
        self.heldToReviewerUnder = owner
    }
}

/// One registered reviewer as the access rules see them.
public struct Person: Equatable, Sendable {
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// Who acts, for whom, and with which role.
public struct Actor: Equatable, Sendable {
    /// The reviewer the action is done as (nil: an unregistered privileged caller acting as themselves).
    public var person: Person?
    /// The role that decides: the person's own role (when an admin acts for someone, theirs).
    public var role: Role
    /// The admin acting for `person`, when that is someone else: "by admin X for Y".
    public var onBehalfBy: String?
    /// The caller's own name as events and messages give it.
    public var callerName: String
    /// Root or a PostgreSQL superuser: an admin whatever their registration says.
    public var privileged: Bool = false
    /// The database holds the caller's login to a reviewer's rights (`Caller.heldToReviewerUnder`):
    /// whatever the role, the login reads its own answers only, so that is what it is shown.
    public var heldToReviewer: Bool = false

    public init(person: Person?, role: Role, onBehalfBy: String?, callerName: String) {
        self.person = person
        self.role = role
        self.onBehalfBy = onBehalfBy
        self.callerName = callerName
    }

    public var visibility: Visibility { heldToReviewer ? .own : Visibility(role: role) }
    public var name: String { person?.name ?? callerName }
}

/// A name or login as a sentence shows it: control and invisible characters as \u{…} escapes,
/// so a refusal can never move the cursor or split a line.
func shown(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        let v = scalar.value
        if v < 0x20 || v == 0x7F || (0x80..<0xA0).contains(v) || scalar.properties.generalCategory == .format {
            out += "\\u{" + String(v, radix: 16) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

public enum AccessDenial: Error, Equatable, Sendable, CustomStringConvertible {
    /// The caller's login is bound to no reviewer.
    case notRegistered(login: String)
    /// The role is below what the action needs.
    case roleTooLow(name: String, role: Role, action: Action, actingFor: String?)
    /// `--as` someone else without being an admin.
    case onlyAdminsActForOthers(name: String, role: Role, other: String)
    /// The action needs a registered reviewer and the privileged caller is none.
    case needsReviewer(login: String, action: Action)
    /// A lead tried to change an admin's role, or to make someone an admin.
    case leadCannotTouchAdmins(name: String, target: String)
    /// The change would leave the project without an admin.
    case lastAdmin(target: String)
    /// A reviewer asked for someone else's part.
    case ownOnly(name: String, role: Role, other: String)
    /// A lead's or an admin's act (or acting for someone else) from a login the database holds
    /// to a reviewer's rights.
    case loginHeldToReviewer(name: String, role: Role, login: String, owner: String, action: Action)

    public var description: String {
        switch self {
        case let .notRegistered(login):
            return "The login '\(shown(login))' is not bound to a reviewer of this project; an admin binds it with `docket reviewers bind NAME --user \(shown(login))` (or `docket reviewers add NAME --user \(shown(login))` for someone new)"
        case let .roleTooLow(name, role, action, actingFor):
            let needs = action.minimumRole == .admin ? "an admin" : "a lead or an admin"
            let acting = actingFor.map { " (\($0) acting for \(shown(name)))" } ?? ""
            return "\(shown(name)) is \(role.withArticle) and may not \(action.phrase)\(acting); that needs \(needs)"
        case let .onlyAdminsActForOthers(name, role, other):
            return "\(shown(name)) is \(role.withArticle) and may not act as \(shown(other)); only an admin may use --as for someone else"
        case let .needsReviewer(login, action):
            return "The login '\(shown(login))' is not bound to a reviewer and may not \(action.phrase) as itself; give --as NAME, or bind it with `docket reviewers add NAME --user \(shown(login))`"
        case let .leadCannotTouchAdmins(name, target):
            return "\(shown(name)) is a lead and may not change \(shown(target))'s role to or from admin; only an admin may"
        case let .ownOnly(name, role, other):
            if role == .reviewer { return "\(shown(name)) is a reviewer and sees only their own feedback and events, not \(shown(other))'s" }
            return "\(shown(name)) is \(role.withArticle), but the database shows their login only their own feedback and events, not \(shown(other))'s"
        case let .lastAdmin(target):
            return "\(shown(target)) is the project's last admin; make someone else an admin first"
        case let .loginHeldToReviewer(name, role, login, owner, action):
            return "\(shown(name)) is \(role.withArticle), but the database holds the login '\(shown(login))' to a reviewer's rights (it reads only its own answers and writes only as itself), so it may not \(action.phrase) from it; a lead's or an admin's login must be a member of the database's owner: a database superuser runs GRANT \(shown(owner)) TO \(shown(login))"
        }
    }
}

public enum Access {
    /// Decides who acts: the caller's own reviewer (`own`, bound to their login), or with `as`
    /// someone else, which only an admin may, and then with that person's role. Returns the actor
    /// or the reason the action is refused. Pure: the store supplies the people.
    public static func decide(
        caller: Caller, own: Person?, as other: Person?, action: Action, needsPerson: Bool
    ) -> Result<Actor, AccessDenial> {
        let callerName = own?.name ?? caller.login
        // Root (a PostgreSQL superuser) is an admin whatever role their registration holds: they
        // can change the file or the database directly anyway.
        guard let callerRole = caller.privileged ? .admin : own?.role else {
            return .failure(.notRegistered(login: caller.login))
        }
        var actor = Actor(person: own.map { Person(name: $0.name, role: callerRole) }, role: callerRole, onBehalfBy: nil, callerName: callerName)
        actor.privileged = caller.privileged
        actor.heldToReviewer = caller.heldToReviewerUnder != nil
        if let other, other.name != own?.name {
            guard callerRole == .admin else {
                return .failure(.onlyAdminsActForOthers(name: callerName, role: callerRole, other: other.name))
            }
            actor.person = other
            actor.role = other.role
            actor.onBehalfBy = callerName
        }
        guard actor.role >= action.minimumRole else {
            return .failure(.roleTooLow(name: actor.name, role: actor.role, action: action, actingFor: actor.onBehalfBy))
        }
        // The database would refuse it, or show only the login's own answers: say so first.
        if let owner = caller.heldToReviewerUnder, action.minimumRole > .reviewer || actor.onBehalfBy != nil {
            return .failure(.loginHeldToReviewer(name: callerName, role: callerRole, login: caller.login, owner: owner, action: action))
        }
        if needsPerson && actor.person == nil {
            return .failure(.needsReviewer(login: caller.login, action: action))
        }
        return .success(actor)
    }

    /// Whether `actor` may change `target` from its role to `newRole`, given how many admins the
    /// project has: a lead moves people between reviewer and lead only; no change leaves the
    /// project without an admin.
    public static func roleChange(actor: Actor, target: Person, to newRole: Role, admins: Int) -> AccessDenial? {
        if actor.role < .admin && (target.role == .admin || newRole == .admin) {
            return .leadCannotTouchAdmins(name: actor.name, target: target.name)
        }
        if actor.role < .lead {
            return .roleTooLow(name: actor.name, role: actor.role, action: .changeRole, actingFor: actor.onBehalfBy)
        }
        if target.role == .admin && newRole != .admin && admins <= 1 {
            return .lastAdmin(target: target.name)
        }
        return nil
    }
}
