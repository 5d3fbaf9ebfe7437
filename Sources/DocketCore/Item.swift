/// An item as read from an import file, validated and normalised, ready to store.
public struct ItemDraft: Equatable, Sendable {
    public var id: String
    public var prompt: String?
    public var response: String?
    /// Two or more candidate responses, for ranking and pairwise review.
    public var responses: [String]?
    public var category: String?
    public var risk: Double?
    /// Model uncertainty in 0...1, given or computed from `probs`.
    public var uncertainty: Double?
    /// Explicit diversity in 0...1. When nil and `embedding` is set, diversity is computed by the queue.
    public var diversity: Double?
    /// Unit-length embedding (the importer normalises it).
    public var embedding: [Float]?
    public var gold: String?
    /// Canonical JSON text (sorted keys) of the free-form `meta` object.
    public var meta: String?

    public init(
        id: String, prompt: String? = nil, response: String? = nil, responses: [String]? = nil, category: String? = nil,
        risk: Double? = nil, uncertainty: Double? = nil, diversity: Double? = nil, embedding: [Float]? = nil,
        gold: String? = nil, meta: String? = nil
    ) {
        self.id = id
        self.prompt = prompt
        self.response = response
        self.responses = responses
        self.category = category
        self.risk = risk
        self.uncertainty = uncertainty
        self.diversity = diversity
        self.embedding = embedding
        self.gold = gold
        self.meta = meta
    }
}

/// How uncertainty is computed from class probabilities.
public enum UncertaintyMeasure: String, CaseIterable, Sendable {
    case entropy
    case margin
    case leastConfidence = "least-confidence"

    /// Uncertainty in 0...1 of a probability vector (already checked: k ≥ 2, non-negative, sums to 1).
    ///
    /// - entropy: H(p) / ln k, Shannon entropy normalised by its maximum.
    /// - margin: 1 − (p₍₁₎ − p₍₂₎), one minus the gap between the two largest probabilities.
    /// - least-confidence: (1 − p₍₁₎) · k / (k − 1), scaled so the uniform vector gives 1.
    /// - Complexity: O(k).
    public func uncertainty(of probabilities: [Double]) -> Double {
        let k = Double(probabilities.count)
        let value: Double
        switch self {
        case .entropy:
            var entropy = 0.0
            for p in probabilities where p > 0 { entropy -= p * Self.log(p) }
            value = entropy / Self.log(k)
        case .margin:
            var first = 0.0, second = 0.0
            for p in probabilities {
                if p > first { second = first; first = p } else if p > second { second = p }
            }
            value = 1 - (first - second)
        case .leastConfidence:
            let top = probabilities.max() ?? 0
            value = (1 - top) * k / (k - 1)
        }
        return min(1, max(0, value))
    }

    /// Natural logarithm, written out so the core needs no Foundation.
    static func log(_ x: Double) -> Double {
        // Reduce x = m · 2^e with m in [√½, √2), then ln m = 2·atanh((m−1)/(m+1)) by its series.
        guard x > 0 else { return -.infinity }
        var exponent = x.exponent
        var m = x.significand  // in [1, 2)
        if m > 1.4142135623730951 { m /= 2; exponent += 1 }
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s
        var sum = 0.0
        var n = 1.0
        while true {
            let next = sum + term / n
            if next == sum { break }
            sum = next
            term *= s2
            n += 2
        }
        return 2 * sum + Double(exponent) * 0.6931471805599453
    }
}

/// One field of an input row: JSON rows give typed values, CSV rows give text.
public enum RawField: Sendable {
    case json(JSONValue)
    case text(String)
}

/// A parsed input row: a value, or every problem found in it.
public enum RowResult<Value> {
    case valid(Value)
    case invalid([FieldProblem])
}

/// Turns the fields of one input row into an `ItemDraft`, or into every problem found.
public struct ItemRowParser: Sendable {
    /// The most candidate responses an item holds: a person ranks or compares that many at most,
    /// and a ranking implies a pair for every two of them (n·(n−1)/2), which exports write.
    public static let maxResponses = 100

    public static let knownFields: [String] = [
        "id", "prompt", "response", "responses", "category", "risk", "uncertainty", "probs",
        "diversity", "embedding", "gold", "meta",
    ]

    static let fieldIndex: [String: Int] = Dictionary(uniqueKeysWithValues: knownFields.enumerated().map { ($1, $0) })

    public var labels: [String]
    public var measure: UncertaintyMeasure

    public init(labels: [String], measure: UncertaintyMeasure = .entropy) {
        self.labels = labels
        self.measure = measure
    }

    /// - Parameter fields: the row's fields; a CSV row's empty cells should be left out.
    public func parse(_ fields: [(String, RawField)]) -> RowResult<ItemDraft> {
        var problems: [FieldProblem] = []
        var slots = [RawField?](repeating: nil, count: Self.knownFields.count)
        for (name, value) in fields {
            if let slot = Self.fieldIndex[name] {
                slots[slot] = value
            } else {
                problems.append(Self.unknownField(name))
            }
        }
        var reader = FieldReader(slots: slots)
        let id = reader.string(.id)
        if slots[0] == nil { reader.problems.append(FieldProblem(field: "id", problem: "required")) }
        if let id, let problem = ItemID.problem(id) { reader.problems.append(FieldProblem(field: "id", problem: problem)) }
        var draft = ItemDraft(id: id ?? "")
        draft.prompt = reader.string(.prompt)
        draft.response = reader.string(.response)
        draft.responses = reader.stringArray(.responses)
        if let responses = draft.responses, responses.count < 2 {
            reader.problems.append(FieldProblem(field: "responses", problem: "needs 2 or more candidate responses, got \(responses.count)"))
        }
        if let responses = draft.responses, responses.count > Self.maxResponses {
            reader.problems.append(FieldProblem(
                field: "responses",
                problem: "has \(responses.count) candidate responses; the most a reviewer compares is \(Self.maxResponses) (split the item, or sample the candidates)"))
        }
        draft.category = reader.string(.category)
        draft.risk = reader.unitNumber(.risk)
        draft.uncertainty = reader.unitNumber(.uncertainty)
        if let probs = reader.numberArray(.probs) {
            if reader.has(.uncertainty) {
                reader.problems.append(FieldProblem(field: "probs", problem: "give uncertainty or probs, not both"))
            } else if let checked = Self.checkProbabilities(probs, problems: &reader.problems) {
                draft.uncertainty = measure.uncertainty(of: checked)
            }
        }
        draft.diversity = reader.unitNumber(.diversity)
        if let embedding = reader.numberArray(.embedding) {
            draft.embedding = Self.normalise(embedding, problems: &reader.problems)
        }
        draft.gold = reader.string(.gold)
        if let gold = draft.gold, !labels.contains(gold) {
            reader.problems.append(FieldProblem(field: "gold", problem: labels.isEmpty
                ? "this project declares no labels, so there is nothing a gold label can be (docket config apply declares them)"
                : "'\(gold)' is not a declared label (\(labels.joined(separator: ", ")))"))
        }
        draft.meta = reader.object(.meta)
        problems += reader.problems
        return problems.isEmpty ? .valid(draft) : .invalid(problems)
    }

    /// Whether `name` is a field of an item row.
    public static func isKnown(_ name: String) -> Bool { fieldIndex[name] != nil }

    /// The problem reported for a field (or a CSV column) that is not a field of an item row.
    public static func unknownField(_ name: String) -> FieldProblem {
        FieldProblem(field: name, problem: "unknown field (known fields: \(knownFields.joined(separator: ", ")); put anything else in meta)")
    }

    static func checkProbabilities(_ probs: [Double], problems: inout [FieldProblem]) -> [Double]? {
        guard probs.count >= 2 else {
            problems.append(FieldProblem(field: "probs", problem: "needs 2 or more class probabilities, got \(probs.count)"))
            return nil
        }
        if let bad = probs.firstIndex(where: { $0 < 0 || $0 > 1 }) {
            problems.append(FieldProblem(field: "probs", problem: "probability \(bad + 1) is \(JSONText.number(probs[bad])), outside 0..1"))
            return nil
        }
        let sum = probs.reduce(0, +)
        guard abs(sum - 1) <= 0.01 else {
            problems.append(FieldProblem(field: "probs", problem: "probabilities sum to \(JSONText.number(sum)), not 1"))
            return nil
        }
        return probs.map { $0 / sum }
    }

    static func normalise(_ vector: [Double], problems: inout [FieldProblem]) -> [Float]? {
        guard !vector.isEmpty else {
            problems.append(FieldProblem(field: "embedding", problem: "must not be empty"))
            return nil
        }
        var norm = 0.0
        for value in vector { norm += value * value }
        norm = norm.squareRoot()
        guard norm > 0, norm.isFinite else {
            problems.append(FieldProblem(field: "embedding", problem: "must have a non-zero, finite length"))
            return nil
        }
        return vector.map { Float($0 / norm) }
    }
}

/// The fields of an item row, in the order of `ItemRowParser.knownFields`.
enum ItemField: Int {
    case id, prompt, response, responses, category, risk, uncertainty, probs, diversity, embedding, gold, meta
    var name: String { ItemRowParser.knownFields[rawValue] }
}

/// Typed access to row fields, collecting problems instead of stopping at the first.
struct FieldReader {
    /// Values in the order of `ItemRowParser.knownFields`.
    var slots: [RawField?]
    var problems: [FieldProblem] = []

    func field(_ name: ItemField) -> RawField? { slots[name.rawValue] }

    func has(_ name: ItemField) -> Bool { field(name) != nil }

    mutating func string(_ name: ItemField) -> String? {
        switch field(name) {
        case nil, .json(.null)?: return nil
        case .text(let text)?: return checked(text, name)
        case .json(.string(let text))?: return checked(text, name)
        case .json(let other)?:
            problems.append(FieldProblem(field: name.name, problem: "expected a string, got \(other.typeName)"))
            return nil
        }
    }

    /// `text`, or nil with a problem when it is text a project cannot store (`StoredText`).
    private mutating func checked(_ text: String, _ name: ItemField) -> String? {
        guard StoredText.hasNUL(text) else { return text }
        problems.append(FieldProblem(field: name.name, problem: StoredText.nulProblem))
        return nil
    }

    mutating func number(_ name: ItemField) -> Double? {
        switch field(name) {
        case nil, .json(.null)?: return nil
        case .json(.number(let value))?: return value
        case .text(let text)?:
            // Decimal notation only (`0.5`, `.5`, `5e-1`): Swift's own reading would also take
            // hexadecimal (`0x1`), which no JSON row can hold.
            let trimmed = text.trimmingSpaces
            let decimal = trimmed.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 == 0x45 || $0 == 0x65 }
            if decimal, let value = Double(trimmed), value.isFinite { return value }
            problems.append(FieldProblem(field: name.name, problem: "expected a number, got '\(text)'"))
            return nil
        case .json(let other)?:
            problems.append(FieldProblem(field: name.name, problem: "expected a number, got \(other.typeName)"))
            return nil
        }
    }

    mutating func unitNumber(_ name: ItemField) -> Double? {
        guard let value = number(name) else { return nil }
        guard (0...1).contains(value) else {
            problems.append(FieldProblem(field: name.name, problem: "must be between 0 and 1, got \(JSONText.number(value))"))
            return nil
        }
        return value
    }

    /// A JSON value: typed in JSON rows, JSON text in CSV cells.
    mutating func json(_ name: ItemField) -> JSONValue? {
        switch field(name) {
        case nil, .json(.null)?: return nil
        case .json(let value)?: return value
        case .text(let text)?:
            do { return try JSON.parse(text) } catch {
                problems.append(FieldProblem(field: name.name, problem: "\(error)"))
                return nil
            }
        }
    }

    mutating func stringArray(_ name: ItemField) -> [String]? {
        guard let value = json(name) else { return nil }
        guard case .array(let elements) = value else {
            problems.append(FieldProblem(field: name.name, problem: "expected an array of strings, got \(value.typeName)"))
            return nil
        }
        var result: [String] = []
        for (offset, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                problems.append(FieldProblem(field: name.name, problem: "element \(offset + 1) is \(element.typeName), expected a string"))
                return nil
            }
            if StoredText.hasNUL(text) {
                problems.append(FieldProblem(field: name.name, problem: "element \(offset + 1) " + StoredText.nulProblem))
                return nil
            }
            result.append(text)
        }
        return result
    }

    mutating func numberArray(_ name: ItemField) -> [Double]? {
        guard let value = json(name) else { return nil }
        guard case .array(let elements) = value else {
            problems.append(FieldProblem(field: name.name, problem: "expected an array of numbers, got \(value.typeName)"))
            return nil
        }
        var result: [Double] = []
        result.reserveCapacity(elements.count)
        for (offset, element) in elements.enumerated() {
            guard case .number(let number) = element else {
                problems.append(FieldProblem(field: name.name, problem: "element \(offset + 1) is \(element.typeName), expected a number"))
                return nil
            }
            result.append(number)
        }
        return result
    }

    mutating func object(_ name: ItemField) -> String? {
        guard let value = json(name) else { return nil }
        guard case .object = value else {
            problems.append(FieldProblem(field: name.name, problem: "expected an object, got \(value.typeName)"))
            return nil
        }
        if StoredText.hasNUL(value) {
            problems.append(FieldProblem(field: name.name, problem: "a key or string " + StoredText.nulProblem))
            return nil
        }
        return value.encoded(sortedKeys: true)
    }
}
