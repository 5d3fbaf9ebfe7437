import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Writes records to a file through `OutputFile` (a temporary renamed into place, or a device
/// written in place) or to standard output, so a failed export never leaves a half-written
/// dataset where the old one was. The first write error stops the writing and is thrown by
/// `commit()`.
final class RecordWriter {
    let console: any Console
    let path: String?
    private let file: OutputFile?
    private var buffer = WriteBuffer(capacity: RecordWriter.flushAt + (1 << 16))
    private(set) var count = 0
    private var failure: CommandError?

    /// - Parameter protecting: paths the output must not overwrite (the database, the inputs).
    init(path: String?, protecting: [String], console: any Console) throws(CommandError) {
        self.console = console
        let toStandardOutput = path == nil || path == "-"
        self.path = toStandardOutput ? nil : path
        self.file = toStandardOutput ? nil : try OutputFile(path: path!, protecting: protecting)
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

    /// Bytes gathered before they are written.
    static let flushAt = 1 << 20

    deinit { buffer.deallocate() }

    private func flush() {
        defer { buffer.removeAll() }
        guard failure == nil else { return }
        if let file {
            do throws(CommandError) { try buffer.withBytes { bytes throws(CommandError) in try file.write(bytes) } } catch { failure = error }
        } else if console.outputFailure == nil {
            console.write(buffer.withBytes { String(decoding: $0, as: UTF8.self) })
        }
    }

    func commit() throws(CommandError) {
        flush()
        if let failure {
            abandon()
            throw failure
        }
        try file?.commit()
    }

    func abandon() {
        file?.abandon()
    }
}
