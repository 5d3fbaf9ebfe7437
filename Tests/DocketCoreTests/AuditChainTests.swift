import DocketCore
import Testing

@Suite struct AuditChainTests {
    static let events = (1...5).map { AuditChain.Event(id: Int64($0), at: 1000 * Int64($0), kind: "k\($0)", reviewer: $0 % 2 == 0 ? 7 : nil, item: 3, detail: #"{"n":\#($0)}"#) }

    static func links(_ events: [AuditChain.Event]) -> [String] {
        var previous = AuditChain.genesis
        return events.map { event in
            previous = AuditChain.link(previous: previous, event: event)
            return previous
        }
    }

    @Test func linksAreSHA256OfThePreviousLinkAndTheCanonicalContent() {
        let event = AuditChain.Event(id: 1, at: 5, kind: "init", reviewer: nil, item: nil, detail: nil)
        #expect(AuditChain.canonical(event) == #"[1,5,"init",null,null,null]"#)
        // sha256 of 64 zeros, a newline and the canonical text, computed independently (Python hashlib).
        #expect(AuditChain.link(previous: AuditChain.genesis, event: event) == "5f6c6d8965d67c16d70bd061eeaa1ba8d112633ae9a7e6f3bfb17787e68bb1d7")
    }

    @Test func anIntactLogVerifies() {
        var verifier = AuditChain.Verifier()
        for (event, link) in zip(Self.events, Self.links(Self.events)) { verifier.step(event, link: link) }
        #expect(verifier.firstBreak == nil)
        #expect(verifier.checked == 5)
    }

    @Test func aChangedEventBreaksTheChainThere() {
        var changed = Self.events
        changed[2].detail = #"{"n":99}"#
        var verifier = AuditChain.Verifier()
        for (event, link) in zip(changed, Self.links(Self.events)) { verifier.step(event, link: link) }
        #expect(verifier.firstBreak == .mismatch(event: 3))
    }

    @Test func aRemovedEventBreaksTheChainAtTheNextOne() {
        let links = Self.links(Self.events)
        var verifier = AuditChain.Verifier()
        for index in [0, 1, 3, 4] { verifier.step(Self.events[index], link: links[index]) }
        #expect(verifier.firstBreak == .mismatch(event: 4))
    }

    @Test func aMissingLinkIsNamed() {
        let links = Self.links(Self.events)
        var verifier = AuditChain.Verifier()
        for index in 0..<5 { verifier.step(Self.events[index], link: index == 1 ? nil : links[index]) }
        #expect(verifier.firstBreak == .unlinked(event: 2))
        #expect(AuditChain.Break.orphan(event: 9).description == "the chain links event 9, which the log no longer holds (it was deleted)")
    }
}
