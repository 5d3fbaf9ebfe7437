/// A rating scale with anchor texts, e.g. 1–5 helpfulness.
public struct RatingScale: Equatable, Sendable {
    public var name: String
    public var minimum: Int
    public var maximum: Int
    /// Anchor texts by scale point.
    public var anchors: [Int: String]

    public init(name: String, minimum: Int, maximum: Int, anchors: [Int: String] = [:]) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.anchors = anchors
    }
}

/// How reviewers are calibrated: gold items mixed into their queues, and the accuracy bar.
public struct CalibrationSettings: Equatable, Sendable {
    /// Share of claims that serve a gold item the reviewer has not seen (0 turns mixing off).
    public var goldRate: Double
    /// Reviewers whose gold accuracy interval lies wholly below this are flagged.
    public var bar: Double

    public init(goldRate: Double = 0, bar: Double = 0.7) {
        self.goldRate = goldRate
        self.bar = bar
    }
}

/// A project's task definition, read from a human-written file (`docket.yaml`). Each applied
/// definition whose content differs is a new rubric version, identified by its content hash.
public struct TaskDefinition: Equatable, Sendable {
    public var labels: [String]
    public var level: MeasurementLevel
    public var rating: RatingScale?
    /// Feedback kinds every item asks for; an item is complete when each has been given.
    public var asks: [FeedbackKind]
    public var flagReasons: [String]
    public var guidelines: String
    public var overlap: Int
    public var budget: Int?
    public var weights: UtilityWeights
    public var explore: Double
    public var leaseSeconds: Int
    public var calibration: CalibrationSettings?
    /// Ordered escalation rules, evaluated when feedback is committed.
    public var escalation: [EscalationRule] = []
    /// How an item's final label is aggregated when no lead has decided: majority or dawid-skene.
    public var finalLabel: String = "majority"
    /// What a tie among reviewers' labels becomes (see `LabelRules`): escalate (the default),
    /// severe or declared-order.
    public var ties: TieRule = .escalate
    /// The labels that count as harmful (`harmful: [unsafe]`), when declared; see `harmfulLabels`.
    public var harmful: [String]?

    /// The labels whose final label makes an item an attack success in `docket report`: the
    /// declared `harmful` list, else the last label of an ordered scale (ordinal, interval,
    /// ratio: declared from benign to harmful), else none (nominal labels have no order).
    public var harmfulLabels: [String] {
        if let harmful { return harmful }
        guard level != .nominal, let last = labels.last else { return [] }
        return [last]
    }

    public static let defaultFlagReasons = ["unsafe", "policy-gap", "ambiguous", "other"]

    public init(
        labels: [String] = [], level: MeasurementLevel = .nominal, rating: RatingScale? = nil, asks: [FeedbackKind] = [.label],
        flagReasons: [String] = TaskDefinition.defaultFlagReasons, guidelines: String = "", overlap: Int = 1, budget: Int? = nil,
        weights: UtilityWeights = .notebook, explore: Double = 0.1, leaseSeconds: Int = 1200
    ) {
        self.labels = labels
        self.level = level
        self.rating = rating
        self.asks = asks
        self.flagReasons = flagReasons
        self.guidelines = guidelines
        self.overlap = overlap
        self.budget = budget
        self.weights = weights
        self.explore = explore
        self.leaseSeconds = leaseSeconds
    }

    /// The definition implied by a project's `init` settings (asks for a label when labels exist).
    public init(settings: ProjectSettings) {
        self.init(
            labels: settings.labels, level: settings.level, asks: settings.labels.isEmpty ? [] : [.label],
            overlap: settings.overlap, budget: settings.budget, weights: settings.weights, explore: settings.explore,
            leaseSeconds: settings.leaseSeconds)
    }

    public static let knownKeys = [
        "labels", "level", "rating", "asks", "flag_reasons", "guidelines", "overlap", "budget", "weights", "explore", "lease_minutes",
        "calibration", "escalation", "final_label", "ties", "harmful",
    ]

    /// Reads a definition from a parsed document (YAML or JSON), reporting every problem with its
    /// dotted path; `line` maps a path to its line in the source file when known.
    public static func read(_ document: JSONValue, line: (String) -> Int? = { _ in nil }) -> RowResult<TaskDefinition> {
        var problems: [FieldProblem] = []
        func problem(_ path: String, _ text: String) {
            let where_ = line(path).map { "line \($0): " } ?? ""
            problems.append(FieldProblem(field: path, problem: where_ + text))
        }
        guard case .object(let members) = document else {
            problem("(document)", "expected a mapping of settings, got \(document.typeName)")
            return .invalid(problems)
        }
        // The one rule for stored text (`StoredText`): a definition is stored, and its labels,
        // reasons and guidelines are stored again with every answer that names them.
        for (key, value) in members where StoredText.hasNUL(key) || StoredText.hasNUL(value) {
            problem(key, "a name or text " + StoredText.nulProblem)
        }
        for (key, _) in members where !knownKeys.contains(key) {
            let hint = Suggestion.nearest(to: key, in: knownKeys).map { " (did you mean \($0)?)" } ?? ""
            problem(key, "unknown setting\(hint); the settings are \(knownKeys.joined(separator: ", "))")
        }
        var definition = TaskDefinition()
        func strings(_ key: String) -> [String]? {
            guard let value = document[key], value != .null else { return nil }
            guard case .array(let elements) = value else { problem(key, "expected a list, got \(value.typeName)"); return nil }
            var out: [String] = []
            for (offset, element) in elements.enumerated() {
                switch element {
                case .string(let text): out.append(text)
                case .number(let number): out.append(JSONText.number(number))
                case .bool(let flag): out.append(flag ? "true" : "false")
                default: problem("\(key)[\(offset)]", "expected a name, got \(element.typeName)")
                }
            }
            return out
        }
        func integer(_ key: String, _ value: JSONValue?) -> Int? {
            guard let value, value != .null else { return nil }
            guard case .number(let number) = value, number.isFinite, number == number.rounded() else {
                let got: String
                if case .number(let number) = value { got = SettingBounds.text(number) } else { got = value.encoded() }
                problem(key, "expected a whole number, got \(got)")
                return nil
            }
            // A huge whole number stands for itself at the end of Int's range: the setting's
            // bound (SettingBounds) then refuses it with the range, and nothing converts it.
            return abs(number) < 1e15 ? Int(number) : number > 0 ? Int.max : Int.min
        }
        func number(_ key: String, _ value: JSONValue?) -> Double? {
            guard let value, value != .null else { return nil }
            guard case .number(let number) = value else { problem(key, "expected a number, got \(value.typeName)"); return nil }
            return number
        }
        if let labels = strings("labels") { definition.labels = labels }
        if let level = document["level"] {
            if case .string(let text) = level, let parsed = MeasurementLevel(rawValue: text) {
                definition.level = parsed
            } else {
                problem("level", "expected nominal, ordinal, interval or ratio, got \(level.encoded())")
            }
        }
        if let asks = strings("asks") {
            definition.asks = []
            for ask in asks {
                guard let kind = FeedbackKind(rawValue: ask), FeedbackKind.askable.contains(kind) else {
                    problem("asks", "'\(ask)' is not a kind of feedback an item can ask for (\(FeedbackKind.askable.map(\.rawValue).joined(separator: ", ")))")
                    continue
                }
                if !definition.asks.contains(kind) { definition.asks.append(kind) }
            }
        } else {
            definition.asks = []
        }
        if let reasons = strings("flag_reasons") { definition.flagReasons = reasons }
        if let guidelines = document["guidelines"], guidelines != .null {
            if case .string(let text) = guidelines { definition.guidelines = text } else { problem("guidelines", "expected text, got \(guidelines.typeName)") }
        }
        if let rating = document["rating"], rating != .null {
            if case .object = rating {
                for (key, _) in rating.objectMembers where !["name", "scale", "anchors"].contains(key) {
                    problem("rating.\(key)", "unknown setting; a rating has name, scale and anchors")
                }
                var scale = RatingScale(name: "rating", minimum: 1, maximum: 5)
                if case .string(let name)? = rating["name"] { scale.name = name }
                if let bounds = rating["scale"] {
                    if case .array(let ends) = bounds, ends.count == 2, let low = integer("rating.scale", ends[0]), let high = integer("rating.scale", ends[1]), low < high,
                        SettingBounds.ratingPoint.contains(low), SettingBounds.ratingPoint.contains(high)
                    {
                        scale.minimum = low
                        scale.maximum = high
                    } else {
                        problem("rating.scale", SettingBounds.ratingScaleRule)
                    }
                }
                if let anchors = rating["anchors"], anchors != .null {
                    for (key, value) in anchors.objectMembers {
                        guard let point = Int(key), (scale.minimum...scale.maximum).contains(point) else {
                            problem("rating.anchors.\(key)", "anchors are keyed by points of the scale \(scale.minimum)–\(scale.maximum)")
                            continue
                        }
                        guard case .string(let text) = value else { problem("rating.anchors.\(key)", "expected text"); continue }
                        scale.anchors[point] = text
                    }
                }
                definition.rating = scale
            } else {
                problem("rating", "expected a mapping with name, scale and anchors, got \(rating.typeName)")
            }
        }
        if let overlap = integer("overlap", document["overlap"]) { definition.overlap = overlap }
        if let budget = document["budget"] { definition.budget = integer("budget", budget) }
        if let weights = document["weights"], weights != .null {
            var parsed = UtilityWeights.notebook
            for (key, value) in weights.objectMembers {
                guard let number = number("weights.\(key)", value) else { continue }
                switch key {
                case "risk": parsed.risk = number
                case "uncertainty": parsed.uncertainty = number
                case "diversity": parsed.diversity = number
                default: problem("weights.\(key)", "unknown term; the terms are risk, uncertainty and diversity")
                }
            }
            if case .object = weights {} else { problem("weights", "expected a mapping of risk, uncertainty and diversity") }
            if !parsed.hasPositiveTerm { problem("weights", UtilityWeights.allZeroRule) }
            definition.weights = parsed
        }
        if let explore = number("explore", document["explore"]) { definition.explore = explore }
        if let minutes = number("lease_minutes", document["lease_minutes"]) {
            // Checked before converting: a huge or non-finite number of minutes cannot become seconds.
            if let seconds = SettingBounds.leaseSeconds(minutes: minutes) { definition.leaseSeconds = seconds } else { problem("lease_minutes", SettingBounds.leaseRule(whole: false)) }
        }
        if let escalation = document["escalation"], escalation != .null {
            definition.escalation = EscalationPolicy.read(escalation, problem: problem)
        }
        if let final = document["final_label"], final != .null {
            if case .string(let method) = final, method == "majority" || method == "dawid-skene" {
                definition.finalLabel = method
            } else {
                problem("final_label", "use majority or dawid-skene")
            }
        }
        if let ties = document["ties"], ties != .null {
            if case .string(let name) = ties, let rule = TieRule(rawValue: name) {
                definition.ties = rule
            } else {
                problem("ties", "use \(TieRule.names)")
            }
        }
        if let harmful = strings("harmful") {
            definition.harmful = harmful
        }
        if let calibration = document["calibration"], calibration != .null {
            var settings = CalibrationSettings()
            for (key, value) in calibration.objectMembers {
                guard let number = number("calibration.\(key)", value) else { continue }
                switch key {
                case "gold_rate": settings.goldRate = number
                case "bar": settings.bar = number
                default: problem("calibration.\(key)", "unknown setting; calibration has gold_rate and bar")
                }
            }
            if !(0...1).contains(settings.goldRate) { problem("calibration.gold_rate", "must be between 0 and 1") }
            if !(0...1).contains(settings.bar) { problem("calibration.bar", "must be between 0 and 1") }
            definition.calibration = settings
        }

        if definition.asks.contains(.label), definition.labels.isEmpty { problem("asks", "asks for a label but no labels are declared") }
        if definition.asks.contains(.rating), definition.rating == nil { problem("asks", "asks for a rating but no rating scale is declared") }
        if definition.flagReasons.isEmpty { problem("flag_reasons", "declare at least one reason") }
        if let harmful = definition.harmful {
            for (offset, label) in harmful.enumerated() where !definition.labels.contains(label) {
                problem("harmful[\(offset)]", "'\(label)' is not a declared label; harmful names declared labels")
            }
            if Set(harmful).count != harmful.count { problem("harmful", "names a label twice") }
        }
        if definition.ties == .severe, definition.level == .nominal {
            problem("ties", "severe takes the tied label declared later, which only means more severe when the labels are ordered; "
                + "the level is nominal, so use escalate or declared-order, or declare the level ordinal")
        }
        // The settings' own rule (shared with `init`): the labels, then every numeric bound.
        let implied = definition.settings(seed: 0)
        let numeric = implied.numericProblems
        do { try implied.validate() } catch {
            if !numeric.contains(error), case let .invalidSetting(name, _, reason) = error { problem(name, reason) }
        }
        for case let .invalidSetting(name, _, reason) in numeric { problem(name == "lease" ? "lease_minutes" : name, reason) }
        return problems.isEmpty ? .valid(definition) : .invalid(problems)
    }

    /// The project settings this definition implies (the seed is the project's own).
    public func settings(seed: UInt64) -> ProjectSettings {
        ProjectSettings(
            labels: labels, level: level, overlap: overlap, budget: budget, weights: weights, explore: explore,
            leaseSeconds: leaseSeconds, seed: seed)
    }

    /// Canonical JSON (sorted keys): the stored form, and what the rubric hash is taken over.
    public var canonicalJSON: JSONValue {
        var members: [(String, JSONValue)] = [
            ("labels", .array(labels.map { .string($0) })),
            ("level", .string(level.rawValue)),
            ("asks", .array(asks.map { .string($0.rawValue) })),
            ("flag_reasons", .array(flagReasons.map { .string($0) })),
            ("guidelines", .string(guidelines)),
            ("overlap", .number(Double(overlap))),
            ("budget", budget.map { .number(Double($0)) } ?? .null),
            ("weights", .object([("risk", .number(weights.risk)), ("uncertainty", .number(weights.uncertainty)), ("diversity", .number(weights.diversity))])),
            ("explore", .number(explore)),
            ("lease_minutes", .number(Double(leaseSeconds) / 60)),
        ]
        if !escalation.isEmpty { members.append(("escalation", EscalationPolicy.encode(escalation))) }
        if finalLabel != "majority" { members.append(("final_label", .string(finalLabel))) }
        // Left out at its default, so definitions applied before the setting existed keep their hash.
        if ties != .escalate { members.append(("ties", .string(ties.rawValue))) }
        // Only when declared, for the same reason.
        if let harmful { members.append(("harmful", .array(harmful.map { .string($0) }))) }
        if let calibration {
            members.append(("calibration", .object([("gold_rate", .number(calibration.goldRate)), ("bar", .number(calibration.bar))])))
        }
        if let rating {
            members.append(("rating", .object([
                ("name", .string(rating.name)),
                ("scale", .array([.number(Double(rating.minimum)), .number(Double(rating.maximum))])),
                ("anchors", .object(rating.anchors.sorted { $0.key < $1.key }.map { (String($0.key), .string($0.value)) })),
            ])))
        }
        return .object(members)
    }

    /// SHA-256 of the canonical JSON.
    public var contentHash: String { SHA256.hex(canonicalJSON.encoded(sortedKeys: true)) }
}

extension JSONValue {
    /// The members of an object, or none.
    public var objectMembers: [(String, JSONValue)] {
        if case .object(let members) = self { return members }
        return []
    }
}
