/// Where `JSONText` writes bytes: a `[UInt8]`, or a `WriteBuffer` for the bulk exports.
public protocol ByteOutput {
    mutating func append(_ byte: UInt8)
    /// Appends `count` bytes from `start`.
    mutating func append(bytes start: UnsafeRawPointer, count: Int)
}

extension Array: ByteOutput where Element == UInt8 {
    @inlinable
    public mutating func append(bytes start: UnsafeRawPointer, count: Int) {
        append(contentsOf: UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count))
    }
}

/// A growable run of bytes in memory of its own, written through a pointer: appending checks the
/// capacity and copies, with none of an array's uniqueness checks (an export appends about a
/// billion bytes in small pieces).
///
/// It is a value holding a pointer: exactly one owner calls `deallocate()`, once, and no copy is
/// used after that (`RecordWriter` owns the one the exports write into).
@frozen
public struct WriteBuffer: ByteOutput {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var used: Int
    @usableFromInline var capacity: Int

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(64, capacity)
        self.base = .allocate(capacity: self.capacity)
        self.used = 0
    }

    /// The bytes written so far, and the bytes of memory held.
    public var count: Int { used }
    public var allocated: Int { capacity }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if _slowPath(used == capacity) { grow(toHold: 1) }
        base[used] = byte
        used += 1
    }

    @inlinable @inline(__always)
    public mutating func append(bytes start: UnsafeRawPointer, count: Int) {
        if _slowPath(capacity - used < count) { grow(toHold: count) }
        (base + used).update(from: start.assumingMemoryBound(to: UInt8.self), count: count)
        used += count
    }

    /// Doubles the capacity (at least) so that `extra` more bytes fit.
    @usableFromInline @inline(never)
    mutating func grow(toHold extra: Int) {
        var newCapacity = capacity * 2
        while newCapacity - used < extra { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: used)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    /// Forgets the last byte (a record's closing brace, when a member follows).
    public mutating func removeLast() {
        precondition(used > 0, "removeLast on an empty buffer")
        used -= 1
    }

    /// Forgets the bytes written; the memory stays for the next ones.
    public mutating func removeAll() { used = 0 }

    /// Forgets the bytes written, and gives memory back when more than `limit` bytes were
    /// taken (one huge record grew the buffer; the next ones need not keep it).
    public mutating func removeAll(keepingAtMost limit: Int) {
        used = 0
        guard capacity > max(64, limit) else { return }
        base.deallocate()
        capacity = max(64, limit)
        base = .allocate(capacity: capacity)
    }

    /// Reads the bytes written so far.
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: used))
    }

    /// A copy of the bytes written so far, as an array.
    public var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: used)) }

    /// Gives the memory back. The buffer, and every copy of it, must not be used afterwards.
    public func deallocate() { base.deallocate() }
}
