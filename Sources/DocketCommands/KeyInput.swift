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
    /// Drops keys typed ahead, so they cannot answer an item nobody has seen yet.
    func discardTypeahead()
}

extension KeyInput {
    public func discardTypeahead() {}
}

extension PlainLineInput: KeyInput {
    /// One character from standard input (from the same buffer as `readLine`, so keys and lines
    /// can be mixed in a script). No prompt is shown.
    public func readKey(prompt: String) -> KeyEvent {
        guard let first = nextByte() else { return .end }
        var bytes = [first]
        let expected = KeyNames.utf8Length(lead: first)
        while bytes.count < expected {
            guard let next = nextByte() else { break }
            bytes.append(next)
        }
        guard let key = String(decoding: bytes, as: UTF8.self).first else { return .end }
        return .key(key)
    }
}

/// How keys are named in prompts and echoes, and how many bytes one key's character takes.
enum KeyNames {
    /// The length of the UTF-8 sequence a lead byte starts (1 for ASCII and stray bytes).
    static func utf8Length(lead: UInt8) -> Int { lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1 }

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
