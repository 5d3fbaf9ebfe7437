import ArgumentParser
import DocketCore
import DocketStore
import Foundation
import Yams

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Apply or show the task definition (docket.yaml).",
        subcommands: [Apply.self, Show.self]
    )

    struct Apply: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a task definition file; a changed definition becomes a new rubric version.",
            discussion: """
                The file declares labels (in order) and their level, a rating scale with anchors, which feedback each item asks for, flag reasons, the guidelines text, overlap, budget, utility weights, the exploration share and the lease time. Every piece of feedback records the rubric version it was given under.

                Example: docket config apply docket.yaml
                """
        )

        @OptionGroup var database: DatabaseOptions
        @Argument(help: ArgumentHelp("A YAML (or JSON) task definition.", valueName: "file")) var file: String

        func run(in context: CommandContext) throws {
            // Who may apply is decided before the file is read: a refusal does not depend on it.
            let store = try database.open(for: .applyConfig, in: context).store
            let definition = try TaskDefinitionFile.read(path: file, console: context.console)
            let applied = try store.applyTaskDefinition(definition, at: context.clock())
            var message = applied.changed
                ? "Applied \(file) as rubric version \(applied.rubric.version) (\(applied.rubric.hash.prefix(12))).\n"
                : "\(file) is rubric version \(applied.rubric.version) already; nothing changed.\n"
            if applied.rescored > 0 { message += "Recomputed the utility of \(Format.count(applied.rescored)) unserved items for the new weights.\n" }
            context.console.write(message)
        }
    }

    struct Show: ContextCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the current task definition and its rubric version.",
            discussion: "Example: docket config show"
        )

        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print the definition as one JSON object.") var json = false

        func run(in context: CommandContext) throws {
            let store = try database.openForReading(for: .showConfig, in: context).store
            let (definition, rubric) = try store.taskDefinition()
            if json {
                var members = definition.canonicalJSON.objectMembers
                members.append(("rubric_version", rubric.map { .number(Double($0.version)) } ?? .null))
                members.append(("rubric_hash", rubric.map { .string($0.hash) } ?? .null))
                context.console.write(JSONValue.object(members).encoded() + "\n")
                return
            }
            context.console.write(try TaskDefinitionFile.yaml(definition, rubric: rubric))
        }
    }
}

/// Reading and writing the human-written task definition.
enum TaskDefinitionFile {
    /// A task definition is a short file: one larger than this (or a device that never ends) is
    /// refused instead of read into memory.
    static let maxBytes = 16 << 20

    static func readBounded(path: String) throws(CommandError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(path: path, reason: "it is a directory") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            if bytes.count > maxBytes { throw .cannotOpen(path: path, reason: "it is longer than 16 MiB, far more than a task definition holds") }
        }
    }

    static func read(path: String, console: any Console) throws -> TaskDefinition {
        // The text is read exactly: bytes that are not UTF-8 are refused, not replaced.
        let bytes = try readBounded(path: path)
        if let bad = UTF8Check.firstInvalid(bytes) {
            let line = 1 + bytes[..<bad].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let problem = "\(path):\(line): \(UTF8Check.problem)"
            console.writeError(problem + "\n")
            throw CommandError.invalidDefinition(file: path, problems: [problem])
        }
        // A UTF-8 byte order mark is not part of the document (libyaml would read it as text).
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        let text = String(decoding: body, as: UTF8.self)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            // libyaml quotes the offending line: keep the message short and inert.
            let message = String(Sanitize.inline("\(error)").prefix(300))
            throw CommandError.invalidDefinition(file: path, problems: ["\(path): \(message)"])
        }
        var lines: [String: Int] = [:]
        var budget = YAMLBudget()
        let document: JSONValue
        guard let node else {
            let problem = "\(path): the file holds no settings (it is empty, or only comments)"
            console.writeError(problem + "\n")
            throw CommandError.invalidDefinition(file: path, problems: [problem])
        }
        do { document = try convert(node, path: "", depth: 0, budget: &budget, lines: &lines) } catch {
            // Aliases let a few hundred bytes stand for billions of values ("billion laughs"):
            // the conversion stops at a bound instead of expanding them.
            console.writeError("\(path): refused: \(error)\n")
            throw CommandError.invalidDefinition(file: path, problems: ["refused: \(error)"])
        }
        if case .object(let members) = document, members.allSatisfy({ $0.1 == .null }) {
            let problem = "\(path): the file holds no settings (\(members.isEmpty ? "an empty mapping" : "every setting in it is empty"))"
            console.writeError(problem + "\n")
            throw CommandError.invalidDefinition(file: path, problems: [problem])
        }
        switch TaskDefinition.read(document, line: { lines[$0] }) {
        case .valid(let definition): return definition
        case .invalid(let problems):
            let rendered = problems.map { problem -> String in
                // "line N: text" becomes FILE:N: field: text.
                var rest = problem.problem
                var line = ""
                if rest.hasPrefix("line "), let colon = rest.firstIndex(of: ":") {
                    line = String(rest[rest.index(rest.startIndex, offsetBy: 5)..<colon]) + ":"
                    rest = String(rest[rest.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                }
                return "\(path):\(line) \(problem.field): \(rest)"
            }
            for line in rendered { console.writeError(line + "\n") }
            throw CommandError.invalidDefinition(file: path, problems: rendered)
        }
    }

    /// How far a task definition may expand. A real one has a few hundred values and a depth
    /// under ten; aliases are expanded as they are converted, so these bounds are what stops a
    /// file of nested aliases from growing without end.
    struct YAMLBudget {
        static let maxValues = 100_000
        static let maxDepth = 64
        var values = 0
    }

    /// Why a YAML document was refused.
    enum YAMLExpansionError: Error, CustomStringConvertible {
        case tooManyValues, tooDeep
        var description: String {
            switch self {
            case .tooManyValues:
                return "the YAML expands to more than \(Format.count(YAMLBudget.maxValues)) values (aliases nested too deeply)"
            case .tooDeep:
                return "the YAML nests deeper than \(YAMLBudget.maxDepth) levels"
            }
        }
    }

    /// YAML nodes to a JSON tree, recording the line of every path; refuses a document that
    /// expands past `YAMLBudget`.
    static func convert(
        _ node: Node, path: String, depth: Int, budget: inout YAMLBudget, lines: inout [String: Int]
    ) throws(YAMLExpansionError) -> JSONValue {
        budget.values += 1
        guard budget.values <= YAMLBudget.maxValues else { throw .tooManyValues }
        guard depth <= YAMLBudget.maxDepth else { throw .tooDeep }
        if let mark = node.mark, !path.isEmpty { lines[path] = mark.line }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map { .bool($0) } ?? .string(scalar.string)
            case .int: return node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case .float: return node.float.map { .number($0) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            var members: [(String, JSONValue)] = []
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                if let mark = key.mark { lines[childPath] = mark.line }
                members.append((name, try convert(value, path: childPath, depth: depth + 1, budget: &budget, lines: &lines)))
            }
            return .object(members)
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for (offset, element) in sequence.enumerated() {
                elements.append(try convert(element, path: "\(path)[\(offset)]", depth: depth + 1, budget: &budget, lines: &lines))
            }
            return .array(elements)
        case .alias:
            return .null
        }
    }

    /// The order settings are shown in; a setting not named here (a new one) comes before the
    /// guidelines, which come last because they are long.
    static let showOrder = [
        "labels", "level", "rating", "asks", "flag_reasons", "overlap", "budget", "weights", "explore", "lease_minutes", "final_label", "ties",
        "harmful", "calibration", "escalation",
    ]

    /// The definition as YAML, written by Yams from its canonical form, so every setting is there
    /// and `config show > x.yaml && config apply x.yaml` is the same rubric version. Text is
    /// written exactly: YAML escapes (`\e`, `\x9B`) only where YAML cannot hold a character
    /// literally; what reaches a terminal is sanitised by the console.
    static func yaml(_ definition: TaskDefinition, rubric: RubricVersion?) throws -> String {
        let members = definition.canonicalJSON.objectMembers
        var ordered = showOrder.compactMap { key in members.first { $0.0 == key } }
        ordered += members.filter { !showOrder.contains($0.0) && $0.0 != "guidelines" }
        ordered += members.filter { $0.0 == "guidelines" }
        let document = Node(ordered.map { (Node($0.0), yamlNode($0.1)) }, .implicit, .block)
        let header = "# rubric version \(rubric.map { "\($0.version), \($0.hash.prefix(12)), applied \($0.appliedAt.iso8601)" } ?? "none")\n"
            + (definition.harmful == nil
                ? "# harmful: not set, so \(definition.harmfulLabels.isEmpty ? "no label (nominal labels have no order; the severity alone decides attack success)" : "[" + definition.harmfulLabels.map(Sanitize.inline).joined(separator: ", ") + "] (the last label of the ordered scale)") by default\n"
                : "")
        return header + (try Yams.serialize(node: document, width: -1, allowUnicode: true))
    }

    /// A value as a YAML node: short lists and mappings of short scalars in flow style
    /// (`[safe, unsafe]`, `{risk: 0.5, …}`), the rest in block style.
    static func yamlNode(_ value: JSONValue) -> Node {
        func short(_ value: JSONValue) -> Bool {
            switch value {
            case .string(let text): return text.count <= 40 && !text.contains("\n")
            case .array, .object: return false
            default: return true
            }
        }
        func flat(_ value: JSONValue) -> Bool {
            if case .array(let elements) = value { return elements.allSatisfy(short) }
            return short(value)
        }
        switch value {
        case .null: return Node("null")
        case .bool(let flag): return Node(flag ? "true" : "false")
        case .number(let number): return Node(JSONText.number(number))
        case .string(let text): return yamlString(text)
        case .array(let elements):
            return Node(elements.map(yamlNode), .implicit, elements.allSatisfy(short) ? .flow : .block)
        case .object(let members):
            let style: Node.Mapping.Style = members.allSatisfy { flat($0.1) } ? .flow : .block
            // Keys are setting names and scale points, read back as text whatever their type.
            return Node(members.map { (Node($0.0), yamlNode($0.1)) }, .implicit, style)
        }
    }

    /// A string that reads back as exactly this string. Plain when YAML reads it as text, single
    /// quoted when it would read as something else (`yes`, `1.50`, `null`), a literal block for
    /// lines of text, double quoted with escapes when it holds a character YAML cannot carry
    /// literally or would change on reading (controls, CR, NEL, U+2028/U+2029, BOM).
    static func yamlString(_ text: String) -> Node {
        let needsEscapes = text.unicodeScalars.contains { scalar in
            let value = scalar.value
            return (value < 0x20 && value != 0x0A) || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
                || value == 0xFEFF || value == 0xFFFE || value == 0xFFFF
        }
        if needsEscapes { return Node(text, Tag(.str), .doubleQuoted) }
        // libyaml falls back to double quotes when a literal block cannot hold the text.
        if text.contains("\n") { return Node(text, Tag(.str), .literal) }
        // Yams quotes text that would read as a number, a boolean or null.
        return .scalar(text.represented())
    }
}
