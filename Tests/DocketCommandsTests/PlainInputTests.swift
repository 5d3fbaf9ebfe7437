import Foundation
import Testing

@testable import DocketCommands

@Suite struct PlainInputTests {
    /// Lines and single keys come from one buffer; CRLF and a last line without a newline are lines.
    @Test func linesAndKeysShareOneBuffer() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let text = Array("ab\r\ncd\nlast".utf8)
        #expect(text.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) } == text.count)
        close(ends[1])
        let input = PlainLineInput(descriptor: ends[0])
        #expect(input.readKey(prompt: "") == .key("a"))
        #expect(input.readLine(prompt: "") == .line("b"))
        #expect(input.readLine(prompt: "") == .line("cd"))
        #expect(input.readLine(prompt: "") == .line("last"))
        #expect(input.readLine(prompt: "") == .end)
        #expect(input.readKey(prompt: "") == .end)
        close(ends[0])
    }

    /// While a script waits, the idle work (renewing the lease) still runs.
    @Test func idleWorkRunsWhileWaiting() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let input = PlainLineInput(descriptor: ends[0], idleSeconds: 1)
        nonisolated(unsafe) var idle = 0
        input.onIdle = { idle += 1 }
        let writer = ends[1]
        Thread.detachNewThread {
            usleep(2_500_000)
            _ = write(writer, "label safe\n", 11)
            close(writer)
        }
        #expect(input.readLine(prompt: "") == .line("label safe"))
        #expect(idle >= 1)
        close(ends[0])
    }
}
