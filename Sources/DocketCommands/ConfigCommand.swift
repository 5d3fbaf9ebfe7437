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
            let definition = try TaskDefinitionFile.read(path: file, console: context.console)
            let store = try database.open(in: context)
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
            let store = try database.openForReading(in: context)
            let (definition, rubric) = try store.taskDefinition()
            if json {
                var members = definition.canonicalJSON.objectMembers
                members.append(("rubric_version", rubric.map { .number(Double($0.version)) } ?? .null))
                members.append(("rubric_hash", rubric.map { .string($0.hash) } ?? .null))
                context.console.write(JSONValue.object(members).encoded() + "\n")
                return
            }
            context.console.write(TaskDefinitionFile.yaml(definition, rubric: rubric))
        }
    }
}

/// Reading and writing the human-written task definition.
enum TaskDefinitionFile {
    static func read(path: String, console: any Console) throws -> TaskDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError.cannotOpen(path: path, reason: "no such file or it cannot be read")
        }
        // The text is read exactly: bytes that are not UTF-8 are refused, not replaced.
        let bytes = [UInt8](data)
        if let bad = UTF8Check.firstInvalid(bytes) {
            let line = 1 + bytes[..<bad].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let problem = "\(path):\(line): \(UTF8Check.problem)"
            console.writeError(problem + "\n")
            throw CommandError.invalidDefinition(file: path, problems: [problem])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw CommandError.invalidDefinition(file: path, problems: ["\(path): \(error)"])
        }
        var lines: [String: Int] = [:]
        var budget = YAMLBudget()
        let document: JSONValue
        do { document = try node.map { try convert($0, path: "", depth: 0, budget: &budget, lines: &lines) } ?? .object([]) } catch {
            // Aliases let a few hundred bytes stand for billions of values ("billion laughs"):
            // the conversion stops at a bound instead of expanding them.
            console.writeError("\(path): refused: \(error)\n")
            throw CommandError.invalidDefinition(file: path, problems: ["refused: \(error)"])
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

    static func yaml(_ definition: TaskDefinition, rubric: RubricVersion?) -> String {
        func quote(_ text: String) -> String { JSONText.string(text) }
        var out = "# rubric version \(rubric.map { "\($0.version), \($0.hash.prefix(12)), applied \($0.appliedAt.iso8601)" } ?? "none")\n"
        out += "labels: [\(definition.labels.map(quote).joined(separator: ", "))]\n"
        out += "level: \(definition.level.rawValue)\n"
        if let rating = definition.rating {
            out += "rating:\n  name: \(quote(rating.name))\n  scale: [\(rating.minimum), \(rating.maximum)]\n"
            if !rating.anchors.isEmpty {
                out += "  anchors:\n"
                for (point, text) in rating.anchors.sorted(by: { $0.key < $1.key }) { out += "    \(point): \(quote(text))\n" }
            }
        }
        out += "asks: [\(definition.asks.map(\.rawValue).joined(separator: ", "))]\n"
        out += "flag_reasons: [\(definition.flagReasons.map(quote).joined(separator: ", "))]\n"
        out += "overlap: \(definition.overlap)\n"
        out += "budget: \(definition.budget.map(String.init) ?? "null")\n"
        out += "weights: {risk: \(JSONText.number(definition.weights.risk)), uncertainty: \(JSONText.number(definition.weights.uncertainty)), diversity: \(JSONText.number(definition.weights.diversity))}\n"
        out += "explore: \(JSONText.number(definition.explore))\n"
        out += "lease_minutes: \(JSONText.number(Double(definition.leaseSeconds) / 60))\n"
        if definition.guidelines.isEmpty {
            out += "guidelines: \"\"\n"
        } else {
            var guidelines = definition.guidelines
            while guidelines.hasSuffix("\n") { guidelines.removeLast() }
            out += "guidelines: |\n" + guidelines.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + Sanitize.block(String($0)) }.joined(separator: "\n")
            if !out.hasSuffix("\n") { out += "\n" }
        }
        return out
    }
}
