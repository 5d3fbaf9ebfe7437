/// The audit log as a hash chain: each event's link is the SHA-256 of the previous link and the
/// event's canonical content, so a changed, removed or inserted event breaks every link after it.
/// The store records a link with every event in the same transaction; `docket check` walks the
/// log with `Verifier` and names the first event whose link does not hold.
public enum AuditChain {
    /// One event as stored: its id, time (ms), kind, reviewer and item row ids, and detail text.
    public struct Event: Equatable, Sendable {
        public var id: Int64
        public var at: Int64
        public var kind: String
        public var reviewer: Int64?
        public var item: Int64?
        public var detail: String?

        public init(id: Int64, at: Int64, kind: String, reviewer: Int64?, item: Int64?, detail: String?) {
            self.id = id
            self.at = at
            self.kind = kind
            self.reviewer = reviewer
            self.item = item
            self.detail = detail
        }
    }

    /// The link before the first event.
    public static let genesis = String(repeating: "0", count: 64)

    /// The event's content as one JSON array, with its fields in a fixed order.
    public static func canonical(_ event: Event) -> String {
        JSONValue.array([
            .number(Double(event.id)), .number(Double(event.at)), .string(event.kind),
            event.reviewer.map { .number(Double($0)) } ?? .null, event.item.map { .number(Double($0)) } ?? .null,
            event.detail.map { .string($0) } ?? .null,
        ]).encoded()
    }

    /// SHA-256 (hex) of the previous link, a newline, and the event's canonical content.
    public static func link(previous: String, event: Event) -> String {
        var hash = SHA256()
        hash.update(previous)
        hash.update("\n")
        hash.update(canonical(event))
        return hash.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }

    /// What is wrong at the first place the chain does not hold.
    public enum Break: Equatable, Sendable, CustomStringConvertible {
        /// The event has no link.
        case unlinked(event: Int64)
        /// The event's link does not match: it, or an event before it, was changed, removed or inserted.
        case mismatch(event: Int64)
        /// A link names an event the log does not hold.
        case orphan(event: Int64)

        public var description: String {
            switch self {
            case .unlinked(let id): return "event \(id) has no link in the chain (written around Docket)"
            case .mismatch(let id):
                return "the chain breaks at event \(id): it, or an event before it, was changed, removed or inserted after it was written"
            case .orphan(let id): return "the chain links event \(id), which the log no longer holds (it was deleted)"
            }
        }
    }

    /// Walks the log in id order, event by event, and keeps the first break.
    public struct Verifier: Sendable {
        public private(set) var previous = AuditChain.genesis
        public private(set) var firstBreak: Break?
        public private(set) var checked = 0

        public init() {}

        /// One event and its stored link (nil when it has none).
        public mutating func step(_ event: Event, link: String?) {
            checked += 1
            let expected = AuditChain.link(previous: previous, event: event)
            if firstBreak == nil {
                if link == nil {
                    firstBreak = .unlinked(event: event.id)
                } else if link != expected {
                    firstBreak = .mismatch(event: event.id)
                }
            }
            // Go on from the stored link, so one changed event is reported once, not as every later one.
            previous = link ?? expected
        }

        /// A link whose event is missing.
        public mutating func orphan(_ event: Int64) {
            if firstBreak == nil { firstBreak = .orphan(event: event) }
        }
    }
}
