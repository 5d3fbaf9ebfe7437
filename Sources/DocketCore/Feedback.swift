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

    /// - Complexity: O(n·m) time and memory in the line counts; edits are short texts.
    public static func diff(_ old: String, _ new: String) -> [Line] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [Line] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                out.append(.same(a[i])); i += 1; j += 1
            } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
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
        let available = max(10, width - indent.count)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                if line.isEmpty {
                    line = String(word)
                } else if line.count + 1 + word.count <= available {
                    line += " " + word
                } else {
                    lines.append(indent + line)
                    line = String(word)
                }
                while line.count > available {
                    lines.append(indent + String(line.prefix(available)))
                    line = String(line.dropFirst(available))
                }
            }
            lines.append(indent + line)
        }
        return lines.map { $0.hasSuffix(" ") ? String($0.dropLast()) : $0 }
    }
}

/// Checks a piece of feedback against the task definition and the item.
public enum FeedbackRules {
    /// - Parameter responses: how many responses the item has (its `responses`, or 1 for a single `response`).
    /// - Returns: a sentence naming the problem, or nil when the feedback is valid.
    public static func problem(with draft: FeedbackDraft, definition: TaskDefinition, responses: Int) -> String? {
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
