import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Writes records to a file through `OutputFile` (a temporary renamed into place, or a device
/// written in place) or to standard output, so a failed export never leaves a half-written
/// dataset where the old one was. The first write error stops the writing and is thrown by
/// `commit()`. A file is written by a thread of its own (`BackgroundWrites`), so the thread that
/// makes the records never waits in write(2).
final class RecordWriter {
    let console: any Console
    let path: String?
    private let file: OutputFile?
    private let writes: BackgroundWrites?
    private var buffer = WriteBuffer(capacity: RecordWriter.bufferSize)
    private(set) var count = 0

    /// - Parameter protecting: paths the output must not overwrite (the database, the inputs).
    init(path: String?, protecting: [String], console: any Console) throws(CommandError) {
        self.console = console
        let toStandardOutput = path == nil || path == "-"
        self.path = toStandardOutput ? nil : path
        let file = toStandardOutput ? nil : try OutputFile(path: path!, protecting: protecting)
        self.file = file
        self.writes = file.map { BackgroundWrites(file: $0, capacity: RecordWriter.bufferSize) }
    }

    func line(_ text: String) {
        JSONText.appendUTF8(text, to: &buffer)
        endLine()
    }

    /// Appends a JSON record as bytes, then a line break.
    func line(json value: JSONValue) {
        value.encode(into: &buffer, sortedKeys: false)
        endLine()
    }

    /// Appends a record `write` puts straight into the buffer as bytes, then a line break.
    func line(_ write: (inout WriteBuffer) -> Void) {
        write(&buffer)
        endLine()
    }

    private func endLine() {
        buffer.append(0x0A)
        count += 1
        if buffer.count >= Self.flushAt { flush() }
    }

    /// Bytes gathered before they are written, and the memory a buffer keeps (a record that
    /// grows one beyond it gives the rest back once written).
    static let flushAt = 1 << 20
    static let bufferSize = flushAt + (1 << 16)

    deinit {
        _ = writes?.finish()
        buffer.deallocate()
    }

    private func flush() {
        if let writes {
            // Hands the bytes over and takes an empty buffer back.
            writes.submit(&buffer)
            return
        }
        defer { buffer.removeAll(keepingAtMost: Self.bufferSize) }
        if console.outputFailure == nil {
            console.write(buffer.withBytes { String(decoding: $0, as: UTF8.self) })
        }
    }

    func commit() throws(CommandError) {
        flush()
        if let failure = writes?.finish() {
            abandon()
            throw failure
        }
        try file?.commit()
    }

    func abandon() {
        _ = writes?.finish()
        file?.abandon()
    }
}

/// Writes buffers to a file in order on a thread of its own, while the caller fills the next
/// one: at most `buffers` are in use at once (so memory stays bounded however slow the disk is).
/// The first error stops the writing; `finish()` waits for the buffers handed over and returns it.
final class BackgroundWrites: @unchecked Sendable {
    private let file: OutputFile
    private let condition = NSCondition()
    /// Buffers to write, oldest first, and empty ones to hand back.
    private var pending: [WriteBuffer] = []
    private var spare: [WriteBuffer] = []
    private var failure: CommandError?
    private var closing = false
    private var finished = false

    /// The memory each buffer keeps between records.
    private let capacity: Int

    init(file: OutputFile, capacity: Int, buffers: Int = 3) {
        self.file = file
        self.capacity = capacity
        spare = (1..<max(2, buffers)).map { _ in WriteBuffer(capacity: capacity) }
        let thread = Thread { [self] in run() }
        thread.start()
    }

    deinit {
        for buffer in pending + spare { buffer.deallocate() }
    }

    /// Hands `buffer`'s bytes to the writing thread and puts an empty buffer in its place,
    /// waiting for one when all are in use. After a failure the bytes are dropped.
    func submit(_ buffer: inout WriteBuffer) {
        condition.lock()
        defer { condition.unlock() }
        if failure != nil || closing {
            buffer.removeAll(keepingAtMost: capacity)
            return
        }
        while spare.isEmpty { condition.wait() }
        let empty = spare.removeLast()
        pending.append(buffer)
        buffer = empty
        condition.broadcast()
    }

    /// Waits until every buffer handed over is written (or the writing failed) and the thread
    /// has ended; the first error, if any. Calling it again returns the same.
    func finish() -> CommandError? {
        condition.lock()
        defer { condition.unlock() }
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        return failure
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty && !closing { condition.wait() }
            guard !pending.isEmpty else { break }
            var buffer = pending.removeFirst()
            let failed = failure != nil
            condition.unlock()
            var error: CommandError?
            if !failed {
                do throws(CommandError) { try buffer.withBytes { bytes throws(CommandError) in try file.write(bytes) } } catch let thrown { error = thrown }
            }
            buffer.removeAll(keepingAtMost: capacity)
            condition.lock()
            if let error, failure == nil { failure = error }
            spare.append(buffer)
            condition.broadcast()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
