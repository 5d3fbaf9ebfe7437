import DocketCore
import DocketStore

/// The one place every command that opens a project goes through to learn who acts and whether
/// they may: the caller's login (the test context's, else the backend's own login role, else the
/// process's OS account) finds their reviewer; `--as` for someone else is an admin's act; the
/// rules themselves are DocketCore's `Access`.
enum Authority {
    /// Actions that need a registered reviewer to act as (they record who did them).
    static let needsPerson: Set<Action> = [.review, .triage, .adjudicate]

    static func actor(for action: Action, as name: String?, store: any ReviewStore, context: CommandContext) throws(StoreError) -> Actor {
        var caller = context.caller
        if caller == nil { caller = try store.sessionCaller() }
        let resolved = caller ?? ProcessIdentity.caller()
        let own = try store.person(boundTo: resolved.login)
        var other: Person?
        if let name { other = try store.person(named: name) }
        switch Access.decide(caller: resolved, own: own, as: other, action: action, needsPerson: needsPerson.contains(action)) {
        case .success(let actor):
            store.recordActing(by: actor.onBehalfBy)
            return actor
        case .failure(let denial):
            throw .denied(denial)
        }
    }
}
