import CReadline
import DocketCore
import Foundation

/// What reading one key gave, in the session's single-key mode.
public enum KeyEvent: Equatable, Sendable {
    case key(Character)
    /// Ctrl-C.
    case interrupt
    /// Ctrl-D or the end of a script.
    case end
}

/// Input that can also deliver single keypresses, without Enter.
public protocol KeyInput: AnyObject {
    /// Shows `prompt` (on a terminal) and returns the next key.
    func readKey(prompt: String) -> KeyEvent
}

extension ReadlineInput: KeyInput {
    /// Reads one key from the terminal in non-canonical mode without echo (signals stay on, so
    /// Ctrl-C interrupts); the key is echoed after the prompt. Escape sequences (arrow keys) come
    /// back as a single escape. While waiting, `onIdle` runs every 60 seconds.
    public func readKey(prompt: String) -> KeyEvent {
        // Straight to the terminal, so through the same sanitising as the console's writes.
        TerminalConsole.writeAll(STDOUT_FILENO, Sanitize.terminal(prompt))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return .end }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        defer { _ = tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        docket_clear_interrupt()
        while true {
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 60_000)
            if ready == 0 {
                onIdle?()
                continue
            }
            if ready < 0 {
                if errno == EINTR {
                    if docket_interrupt_pending() != 0 {
                        docket_clear_interrupt()
                        TerminalConsole.writeAll(STDOUT_FILENO, "^C\n")
                        return .interrupt
                    }
                    continue
                }
                return .end
            }
            guard let key = Self.readKeyBytes(STDIN_FILENO) else { return .end }
            if key == "\u{04}" {  // Ctrl-D
                TerminalConsole.writeAll(STDOUT_FILENO, "\n")
                return .end
            }
            TerminalConsole.writeAll(STDOUT_FILENO, KeyNames.echo(key) + "\n")
            return .key(key)
        }
    }

    /// One key from a descriptor: a UTF-8 character, or an escape sequence collapsed to escape.
    static func readKeyBytes(_ descriptor: Int32) -> Character? {
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 { break }
            if count < 0 && errno == EINTR { continue }
            return nil
        }
        if byte == 0x1B {
            // Swallow the rest of an escape sequence already waiting (arrow keys, function keys).
            var pending = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var rest: UInt8 = 0
            while poll(&pending, 1, 20) > 0, read(descriptor, &rest, 1) == 1 {}
            return "\u{1B}"
        }
        var bytes = [byte]
        let expected = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
        while bytes.count < expected {
            var next: UInt8 = 0
            guard read(descriptor, &next, 1) == 1 else { break }
            bytes.append(next)
        }
        return String(decoding: bytes, as: UTF8.self).first
    }
}

extension PlainLineInput: KeyInput {
    /// One character from standard input (through the same stdio buffer as `readLine`, so keys
    /// and lines can be mixed in a script). No prompt is shown.
    public func readKey(prompt: String) -> KeyEvent {
        let first = getchar()
        guard first != EOF else { return .end }
        var bytes = [UInt8(first)]
        let expected = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        while bytes.count < expected {
            let next = getchar()
            guard next != EOF else { break }
            bytes.append(UInt8(next))
        }
        guard let key = String(decoding: bytes, as: UTF8.self).first else { return .end }
        return .key(key)
    }
}

/// How keys are named in prompts and echoes.
enum KeyNames {
    static func echo(_ key: Character) -> String {
        switch key {
        case "\t": return "Tab"
        case "\r", "\n": return "Enter"
        case "\u{7F}", "\u{08}": return "Backspace"
        case "\u{1B}": return "Esc"
        case " ": return "Space"
        default: return Sanitize.inline(String(key))
        }
    }
}
