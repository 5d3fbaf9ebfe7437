import DocketCore
#if canImport(Glibc)
import Glibc
#endif

/// Who the first admin of a new project is.
public enum FirstAdmin: Sendable {
    /// Nobody (store-level tests and copies).
    case none
    /// This caller.
    case caller(Caller)
    /// The login the connection acts as (PostgreSQL's current_user).
    case session
}

/// The process's caller as the operating system names them: the account of the real user id
/// (not the effective one: under a set-group-id install the real ids are the person's own).
public enum ProcessIdentity {
    public static func caller() -> Caller {
        let uid = getuid()
        var name: String?
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let pwName = entry.pw_name {
            name = String(cString: pwName)
        }
        // An account without a passwd entry (a container's arbitrary uid) is named by its number.
        return Caller(login: name ?? "uid\(uid)", privileged: uid == 0)
    }
}
