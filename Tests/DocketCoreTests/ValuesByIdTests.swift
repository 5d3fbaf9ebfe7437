import Testing

@testable import DocketCore

/// Values by id: an array for small ids, a dictionary for the rest, one answer for both.
@Suite struct ValuesByIdTests {
    @Test func valuesByIdSmallLargeAndNegative() {
        var names = ValuesById<String>()
        names[3] = "ana"
        names[1] = "ben"
        names[70_000] = "far"
        names[-5] = "negative"
        names[Int64.max] = "max"
        #expect(names[3] == "ana" && names[1] == "ben" && names[70_000] == "far" && names[-5] == "negative" && names[Int64.max] == "max")
        #expect(names[0] == nil && names[2] == nil && names[4] == nil && names[69_999] == nil && names[Int64.min] == nil)
        names[3] = nil
        #expect(names[3] == nil)
    }
}
