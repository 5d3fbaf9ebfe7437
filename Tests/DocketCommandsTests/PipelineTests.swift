@testable import DocketCommands
import Testing

/// The two-thread pipeline of the bulk commands: order, bounded memory and who stops whom.
@Suite struct PipelineTests {
    struct Failure: Error, Equatable { var at: Int }

    final class Counter: @unchecked Sendable {
        var sent = 0
        var stoppedAt: Int?
    }

    @Test(arguments: [1, 2, 4]) func batchesArriveInTheOrderSent(depth: Int) throws {
        var received: [Int] = []
        try Pipeline.run(depth: depth, produce: { send in
            for batch in 0..<2_000 { try send(batch) }
        }, consume: { received.append($0) })
        #expect(received == Array(0..<2_000))
    }

    /// A consumer that fails stops the producer at its next send; the consumer's error is thrown,
    /// and the producer never ran more than the queue's depth ahead.
    @Test func aFailingConsumerStopsTheProducer() throws {
        let counter = Counter()
        #expect(throws: Failure(at: 10)) {
            try Pipeline.run(depth: 2, produce: { send in
                do {
                    for batch in 0..<1_000_000 {
                        try send(batch)
                        counter.sent += 1
                    }
                } catch is Pipeline.Stopped {
                    counter.stoppedAt = counter.sent
                    throw Pipeline.Stopped()
                }
            }, consume: { batch in if batch == 10 { throw Failure(at: 10) } })
        }
        let stoppedAt = try #require(counter.stoppedAt)
        #expect(stoppedAt >= 11 && stoppedAt <= 11 + 2 + 1)
    }

    /// A producer that fails has its batches taken first, then its error is thrown.
    @Test func aFailingProducersBatchesAreTakenBeforeItsError() {
        var received: [Int] = []
        #expect(throws: Failure(at: 5)) {
            try Pipeline.run(depth: 3, produce: { send in
                for batch in 0..<5 { try send(batch) }
                throw Failure(at: 5)
            }, consume: { received.append($0) })
        }
        #expect(received == [0, 1, 2, 3, 4])
    }

    @Test func nothingToSendIsNoBatch() throws {
        var received = 0
        try Pipeline.run(produce: { (_: (Int) throws -> Void) in }, consume: { _ in received += 1 })
        #expect(received == 0)
    }
}
