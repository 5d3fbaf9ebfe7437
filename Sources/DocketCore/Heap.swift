/// A binary max-heap under a caller-supplied strict "comes first" order.
///
/// Docket's queue entries always carry a total order (utility, then id), so the heap's
/// unspecified tie behaviour never shows.
public struct Heap<Element> {
    public private(set) var storage: [Element] = []
    let comesFirst: (Element, Element) -> Bool

    /// - Complexity: O(n) (Floyd's bottom-up construction).
    public init(_ elements: [Element] = [], comesFirst: @escaping (Element, Element) -> Bool) {
        self.comesFirst = comesFirst
        storage = elements
        if storage.count > 1 {
            for index in stride(from: storage.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
    }

    public var isEmpty: Bool { storage.isEmpty }
    public var count: Int { storage.count }
    /// The first element, or nil when empty. O(1).
    public var max: Element? { storage.first }

    /// - Complexity: O(log n).
    public mutating func insert(_ element: Element) {
        storage.append(element)
        siftUp(storage.count - 1)
    }

    /// Removes and returns the first element, or nil when empty. O(log n).
    public mutating func popMax() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        if !storage.isEmpty { siftDown(0) }
        return top
    }

    mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard comesFirst(storage[child], storage[parent]) else { return }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < storage.count else { return }
            var best = left
            if left + 1 < storage.count, comesFirst(storage[left + 1], storage[left]) { best = left + 1 }
            guard comesFirst(storage[best], storage[parent]) else { return }
            storage.swapAt(best, parent)
            parent = best
        }
    }

    /// True when every parent comes before (or ties with) its children. For tests.
    public func isValidHeap() -> Bool {
        for index in storage.indices.dropFirst() where comesFirst(storage[index], storage[(index - 1) / 2]) {
            return false
        }
        return true
    }
}
