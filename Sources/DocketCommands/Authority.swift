import DocketCore
import DocketStore

/// The one place every command that opens a project goes through to learn who acts and whether
/// they may: the caller's login (the test context's, else the backend's own login role, else the
/// process's OS account) finds their reviewer; `--as` for someone else is an admin's act; the
/// rules themselves are DocketCore's `Access`.
enum Authority {
    /// Actions that need a registered reviewer to act as (they record who did them).
    static let needsPerson: Set<Action> = [.review, .triage, .adjudicate]

    /// The caller and the reviewer bound to their login, if any.
    static func caller(of store: any ReviewStore, context: CommandContext) throws(StoreError) -> (caller: Caller, own: Person?) {
        var caller = context.caller
        if caller == nil { caller = try store.sessionCaller() }
        let resolved = caller ?? ProcessIdentity.caller()
        return (resolved, try store.person(boundTo: resolved.login))
    }

    /// Who acts on `store`, and from now on its events name them (`recordActor`).
    static func actor(for action: Action, as name: String?, store: any ReviewStore, context: CommandContext) throws(StoreError) -> Actor {
        let actor = try decide(for: action, as: name, store: store, context: context)
        try store.recordActor(actor)
        return actor
    }

    /// For a session that runs long: checks again, as `decide` does at the start, that the
    /// caller may still do `action` as `name` (the login still bound to them, the role still
    /// allowing it), so an unbinding or a demotion takes effect at the session's next answer.
    static func stillActs(_ name: String, for action: Action, as asked: String?, store: any ReviewStore, context: CommandContext) throws(StoreError) {
        let actor = try decide(for: action, as: asked, store: store, context: context)
        if actor.name != name { throw .denied(.onlyAdminsActForOthers(name: actor.name, role: actor.role, other: name)) }
    }

    /// Who acts, or why the action is refused, as `store` knows the people.
    static func decide(for action: Action, as name: String?, store: any ReviewStore, context: CommandContext) throws(StoreError) -> Actor {
        let (resolved, own) = try caller(of: store, context: context)
        var other: Person?
        if let name {
            // Only an admin may name someone else, so anyone else is refused before the name is
            // looked up: a refusal tells nothing about who is registered.
            let spelled = (try? ReviewerName.normalised(name)) ?? name
            if !resolved.privileged, own?.role != .admin, let own, spelled != own.name {
                throw .denied(.onlyAdminsActForOthers(name: own.name, role: own.role, other: spelled))
            }
            other = try store.person(named: name)
        }
        switch Access.decide(caller: resolved, own: own, as: other, action: action, needsPerson: needsPerson.contains(action)) {
        case .success(let actor):
            return actor
        case .failure(let denial):
            throw .denied(denial)
        }
    }
}
