import Foundation

/// Two stages of a bulk command on two cores: `produce` runs on a thread of its own and hands
/// batches to `consume`, which runs on the calling thread, through a queue of at most `depth`
/// batches (so memory stays bounded whichever side is slower). Batches arrive in the order they
/// were sent.
///
/// The first error wins and stops both sides: an error of `consume` makes the producer's next
/// `send` throw `Pipeline.Stopped` (and the producer's own cleanup runs on its thread); an error
/// of `produce` is thrown after `consume` has taken the batches sent before it. `run`
/// returns only after the producer's thread has finished, so neither closure outlives the call.
enum Pipeline {
    /// What `send` throws once the consumer has stopped.
    struct Stopped: Error {}

    static func run<Batch>(
        depth: Int = 4, produce: (_ send: (Batch) throws -> Void) throws -> Void, consume: (Batch) throws -> Void
    ) throws {
        let channel = Channel<Batch>(depth: max(1, depth))
        try withoutActuallyEscaping(produce) { produce in
            // The thread object may outlive this call by a moment: it holds the box, and the box
            // gives up the closure before the producer reports that it has finished.
            let box = ProducerBox(produce)
            let thread = Thread { channel.finish(error: box.run(sendingTo: channel)) }
            thread.stackSize = 8 << 20
            thread.start()
            var failure: (any Error)?
            do {
                while let batch = try channel.receive() { try consume(batch) }
            } catch {
                failure = error
                channel.stop()
            }
            channel.waitUntilFinished()
            if let failure { throw failure }
        }
    }

    /// The producer, handed to its thread, which takes it out (and lets it go) as it runs it.
    private final class ProducerBox<Batch>: @unchecked Sendable {
        private var produce: (((Batch) throws -> Void) throws -> Void)?

        init(_ produce: @escaping ((Batch) throws -> Void) throws -> Void) { self.produce = produce }

        /// Runs the producer once; its error, if any (a stop asked by the consumer is none).
        func run(sendingTo channel: Channel<Batch>) -> UncheckedBox<any Error>? {
            guard let produce else { return nil }
            self.produce = nil
            do {
                try produce { batch in try channel.send(batch) }
                return nil
            } catch {
                return error is Stopped ? nil : UncheckedBox(error)
            }
        }
    }

    /// A bounded queue between the two threads, guarded by one condition.
    fileprivate final class Channel<Batch>: @unchecked Sendable {
        private let condition = NSCondition()
        private var queue: [Batch] = []
        private var head = 0
        private let depth: Int
        private var finished = false
        private var stopped = false
        private var error: UncheckedBox<any Error>?

        init(depth: Int) { self.depth = depth }

        func send(_ batch: Batch) throws {
            condition.lock()
            defer { condition.unlock() }
            while queue.count - head >= depth, !stopped { condition.wait() }
            if stopped { throw Stopped() }
            queue.append(batch)
            condition.broadcast()
        }

        /// The next batch, nil at the end, or the producer's error once its batches are taken.
        func receive() throws -> Batch? {
            condition.lock()
            defer { condition.unlock() }
            while head == queue.count, !finished { condition.wait() }
            if head < queue.count {
                let batch = queue[head]
                head += 1
                if head >= 64 {
                    queue.removeFirst(head)
                    head = 0
                }
                condition.broadcast()
                return batch
            }
            if let error { throw error.value }
            return nil
        }

        func finish(error: UncheckedBox<any Error>?) {
            condition.lock()
            finished = true
            self.error = error
            condition.broadcast()
            condition.unlock()
        }

        /// The consumer gave up: the producer's next `send` throws, and queued batches are dropped.
        func stop() {
            condition.lock()
            stopped = true
            queue.removeAll()
            head = 0
            condition.broadcast()
            condition.unlock()
        }

        func waitUntilFinished() {
            condition.lock()
            while !finished { condition.wait() }
            condition.unlock()
        }
    }
}

/// Hands a value the compiler cannot prove thread-safe to the pipeline's other thread; the
/// pipeline's queue makes sure only one thread touches it at a time.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
