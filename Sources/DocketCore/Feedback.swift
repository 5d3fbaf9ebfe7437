/// The kinds of feedback a reviewer can give. All are first-class and stored alike.
public enum FeedbackKind: String, CaseIterable, Sendable {
    case label, rating, ranking, preference, edit, demonstration, critique, flag, skip, note

    /// Kinds a task definition may ask every item for.
    public static let askable: [FeedbackKind] = [.label, .rating, .ranking, .preference, .edit, .demonstration, .critique]
}

/// A pairwise choice between two responses.
public enum Preference: String, Sendable, CaseIterable {
    case a = "A", b = "B", tie
}

/// One piece of feedback as the reviewer gives it, before it is stored.
public struct FeedbackDraft: Equatable, Sendable {
    public var kind: FeedbackKind
    public var label: String?
    public var rating: Double?
    /// Response letters from best to worst, e.g. ["B", "A", "C"].
    public var ranking: [String]?
    public var preference: Preference?
    /// Edited response, demonstration, critique, note or flag note.
    public var text: String?
    /// For edit: which response was edited (a letter; "A" for the single response).
    public var target: String?
    /// Flag or skip reason.
    public var reason: String?
    public var severity: Int?

    public init(
        kind: FeedbackKind, label: String? = nil, rating: Double? = nil, ranking: [String]? = nil,
        preference: Preference? = nil, text: String? = nil, target: String? = nil, reason: String? = nil, severity: Int? = nil
    ) {
        self.kind = kind
        self.label = label
        self.rating = rating
        self.ranking = ranking
        self.preference = preference
        self.text = text
        self.target = target
        self.reason = reason
        self.severity = severity
    }

    /// A one-line summary for acknowledgements and progress.
    public var summary: String {
        switch kind {
        case .label: return "label \(label ?? "")"
        case .rating: return "rating \(rating.map(JSONText.number) ?? "")"
        case .ranking: return "ranking \((ranking ?? []).joined(separator: " > "))"
        case .preference: return "preference \(preference?.rawValue ?? "")"
        case .edit: return "edit of response \(target ?? "A")"
        case .demonstration: return "demonstration"
        case .critique: return "critique"
        case .flag: return "flag \(reason ?? "") (severity \(severity ?? 0))"
        case .skip: return "skip" + (reason.map { " (\($0))" } ?? "")
        case .note: return "note"
        }
    }
}

/// Letters naming an item's responses: A, B, … Z, then AA, AB, …
public enum ResponseLetters {
    public static func letter(_ index: Int) -> String {
        var index = index
        var out = ""
        repeat {
            out = String(UnicodeScalar(UInt8(65 + index % 26))) + out
            index = index / 26 - 1
        } while index >= 0
        return out
    }

    public static func letters(count: Int) -> [String] { (0..<count).map(letter) }
}

/// Line diff by longest common subsequence, for showing what an edit changed.
public enum LineDiff {
    public enum Line: Equatable, Sendable {
        case same(String), removed(String), added(String)
    }

    /// The lines both texts share at their start and end are matched first; the lines between
    /// are diffed by longest common subsequence when that table is small, else shown as removed
    /// then added (still a true diff, only not the shortest).
    /// - Complexity: O(n + m) for an edit that changes one stretch of lines (the usual edit);
    ///   at most `maxTable` cells of memory and time for the stretch between.
    public static func diff(_ old: String, _ new: String) -> [Line] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        var out: [Line] = a[..<prefix].map { .same($0) }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        let (cells, overflow) = (middleA.count + 1).multipliedReportingOverflow(by: middleB.count + 1)
        if !overflow, cells <= maxTable {
            out += subsequenceDiff(middleA, middleB)
        } else {
            out += middleA.map { .removed($0) } + middleB.map { .added($0) }
        }
        out += a[(a.count - suffix)...].map { .same($0) }
        return out
    }

    /// The largest table of the subsequence diff, in cells (4 bytes each).
    public static let maxTable = 1 << 22

    static func subsequenceDiff(_ a: [String], _ b: [String]) -> [Line] {
        let width = b.count + 1
        var lcs = [Int32](repeating: 0, count: (a.count + 1) * width)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i * width + j] = a[i] == b[j] ? lcs[(i + 1) * width + j + 1] + 1 : max(lcs[(i + 1) * width + j], lcs[i * width + j + 1])
            }
        }
        var out: [Line] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                out.append(.same(a[i])); i += 1; j += 1
            } else if i < a.count, j == b.count || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
                out.append(.removed(a[i])); i += 1
            } else {
                out.append(.added(b[j])); j += 1
            }
        }
        return out
    }
}

/// Word wrapping to a width, keeping explicit line breaks.
public enum TextWrap {
    /// Joins the lines of each paragraph (paragraphs are separated by blank lines), keeping lines
    /// that start a list item (`-`, `*`, `1.`) or are indented on their own: for prose written
    /// with hard line breaks, such as guidelines in YAML.
    public static func reflow(_ text: String) -> String {
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let startsItem = line.hasPrefix("-") || line.hasPrefix("*") || line.hasPrefix(" ")
                || (line.first?.isNumber == true && line.drop(while: { $0.isNumber }).hasPrefix("."))
            if let last = out.last, !last.isEmpty, !line.isEmpty, !startsItem {
                out[out.count - 1] = last + " " + line
            } else {
                out.append(line)
            }
        }
        return out.joined(separator: "\n")
    }

    /// Wraps `text` so no line is longer than `width` characters (a longer word stands alone),
    /// prefixing each line with `indent`.
    public static func wrap(_ text: String, width: Int, indent: String = "") -> [String] {
        let available = max(10, width - columns(indent))
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var used = 0
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                let wordColumns = columns(word)
                if line.isEmpty {
                    line = String(word)
                    used = wordColumns
                } else if used + 1 + wordColumns <= available {
                    line += " " + word
                    used += 1 + wordColumns
                } else {
                    lines.append(indent + line)
                    line = String(word)
                    used = wordColumns
                }
                // A word wider than the line is cut into pieces that fit, in one pass over it.
                if used > available {
                    var piece = "", pieceColumns = 0
                    for character in line {
                        let width = columns(character)
                        if pieceColumns + width > available, !piece.isEmpty {
                            lines.append(indent + piece)
                            piece = ""
                            pieceColumns = 0
                        }
                        piece.append(character)
                        pieceColumns += width
                    }
                    line = piece
                    used = pieceColumns
                }
            }
            lines.append(indent + line)
        }
        return lines.map { $0.hasSuffix(" ") ? String($0.dropLast()) : $0 }
    }

    /// The columns a terminal gives `text`: East Asian wide and fullwidth characters and most
    /// emoji take two, combining marks and zero-width characters none, everything else one.
    /// - Complexity: O(n) in the scalars of `text`.
    public static func columns<S: StringProtocol>(_ text: S) -> Int {
        text.reduce(0) { $0 + columns($1) }
    }

    public static func columns(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        let value = first.value
        if value < 0x300 { return value < 0x20 || (0x7F..<0xA0).contains(value) ? 0 : 1 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if first.properties.isEmojiPresentation { return 2 }
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
            0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}

/// Checks a piece of feedback against the task definition and the item.
public enum FeedbackRules {
    /// - Parameter responses: how many responses the item has (its `responses`, or 1 for a single `response`).
    /// - Returns: a sentence naming the problem, or nil when the feedback is valid.
    public static func problem(with draft: FeedbackDraft, definition: TaskDefinition, responses: Int) -> String? {
        if let text = draft.text, StoredText.hasNUL(text) { return "The text " + StoredText.nulProblem + "." }
        if let reason = draft.reason, StoredText.hasNUL(reason) { return "The reason " + StoredText.nulProblem + "." }
        let letters = ResponseLetters.letters(count: responses)
        switch draft.kind {
        case .label:
            guard let label = draft.label, definition.labels.contains(label) else {
                return definition.labels.isEmpty
                    ? "This project declares no labels."
                    : "'\(draft.label ?? "")' is not a label; the labels are \(definition.labels.joined(separator: ", "))."
            }
        case .rating:
            guard let scale = definition.rating else { return "This project declares no rating scale." }
            guard let value = draft.rating, value == value.rounded(), (Double(scale.minimum)...Double(scale.maximum)).contains(value) else {
                return "A rating is a whole number from \(scale.minimum) to \(scale.maximum)."
            }
        case .ranking:
            guard responses >= 2 else { return "This item has one response; there is nothing to rank." }
            guard let ranking = draft.ranking, ranking.sorted() == letters.sorted() else {
                return "Rank every response once, best first: a permutation of \(letters.joined(separator: " "))."
            }
        case .preference:
            guard responses >= 2 else { return "This item has one response; there is nothing to choose between." }
            guard draft.preference != nil else { return "Choose A, B or tie." }
        case .edit:
            guard let target = draft.target, letters.contains(target) else {
                return responses == 0 ? "This item has no response to edit." : "Edit one of the responses \(letters.joined(separator: ", "))."
            }
            guard let text = draft.text, !text.isEmpty else { return "The edited response is empty." }
        case .demonstration, .critique, .note:
            guard let text = draft.text, !text.trimmingCharacters(in: " \n\t").isEmpty else { return "The text is empty." }
        case .flag:
            guard let reason = draft.reason, definition.flagReasons.contains(reason) else {
                return "Flag with a reason: \(definition.flagReasons.joined(separator: ", "))."
            }
            guard let severity = draft.severity, (0...3).contains(severity) else { return "Severity is 0, 1, 2 or 3." }
        case .skip:
            break
        }
        return nil
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
