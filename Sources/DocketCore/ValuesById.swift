/// Values by a small integer id, such as reviewers' names or rubrics' versions: an array
/// indexed by the id when the ids are small, a dictionary for others (negative or huge ids,
/// which only a hand-edited database holds).
public struct ValuesById<Value> {
    private var dense: [Value?] = []
    private var sparse: [Int64: Value] = [:]
    private static var denseLimit: Int64 { 1 << 16 }

    public init() {}

    public subscript(id: Int64) -> Value? {
        get {
            if id >= 0, id < dense.count { return dense[Int(id)] }
            return sparse.isEmpty ? nil : sparse[id]
        }
        set {
            if id >= 0, id < Self.denseLimit {
                if id >= dense.count { dense.append(contentsOf: repeatElement(nil, count: Int(id) - dense.count + 1)) }
                dense[Int(id)] = newValue
            } else {
                sparse[id] = newValue
            }
        }
    }
}
