/// Errors of the pure core. Each description is a sentence that names the value and the fix.
public enum CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidSetting(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSetting(name, value, reason):
            return "Invalid \(name) '\(value)': \(reason)."
        }
    }
}

/// One problem with one field of one input row.
public struct FieldProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
    public var description: String { "\(field): \(problem)" }
}
