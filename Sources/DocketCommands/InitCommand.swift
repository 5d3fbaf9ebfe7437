import ArgumentParser
import DocketCore
import DocketStore

struct InitCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a project in a new database file.",
        discussion: """
            Labels are declared in order; the order matters for ordinal statistics. Running init on a database that already holds a project, or on a file that is neither empty nor a Docket database, is an error that changes nothing; of several inits started at once on one new path exactly one succeeds.

            Example: docket init --labels safe,borderline,unsafe --overlap 2 --budget 500
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Labels in order, comma-separated.", valueName: "a,b,c"))
    var labels: String?

    @Option(help: ArgumentHelp("Level of measurement of the labels: nominal, ordinal, interval or ratio.", valueName: "level"))
    var level: String = "nominal"

    @Option(help: "How many reviewers see each item.")
    var overlap: Int = 1

    @Option(help: "How many distinct items may be handed out (default: no cap).")
    var budget: Int?

    @Option(help: ArgumentHelp("Utility weights.", valueName: "risk=0.5,uncertainty=0.35,diversity=0.15"))
    var weights: String?

    @Option(help: "Share of new selections drawn uniformly at random, 0 to 1.")
    var explore: Double = 0.1

    @Option(name: .customLong("lease-minutes"), help: "How long a reviewer holds an item before it returns to the pool.")
    var leaseMinutes: Int = 20

    @Option(help: "Seed of the exploration draws (default: from the creation time).")
    var seed: UInt64?

    func settings(in context: CommandContext) throws -> ProjectSettings {
        guard let level = MeasurementLevel(rawValue: level) else {
            throw CommandError.invalidOption(name: "--level", value: level, reason: "use nominal, ordinal, interval or ratio")
        }
        // The settings' bounds are docket.yaml's (SettingBounds); the lease is checked before its
        // minutes become seconds, so no value can overflow.
        guard SettingBounds.leaseMinutes.contains(leaseMinutes) else {
            throw CommandError.invalidOption(name: "--lease-minutes", value: String(leaseMinutes), reason: SettingBounds.leaseRule(whole: true))
        }
        let labelList = labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
        do throws(CoreError) {
            let settings = ProjectSettings(
                labels: labelList, level: level, overlap: overlap, budget: budget,
                weights: try weights.map { text throws(CoreError) in try UtilityWeights.parse(text) } ?? .notebook,
                explore: explore, leaseSeconds: leaseMinutes * 60,
                seed: seed ?? UInt64(bitPattern: context.clock().milliseconds))
            try settings.validate()
            return settings
        } catch {
            // The rule's sentence, named by the flag that gave the value.
            switch error {
            case let .invalidSetting(name, value, reason):
                throw CommandError.invalidOption(name: "--" + (name == "lease" ? "lease-minutes" : name), value: value, reason: reason)
            }
        }
    }

    func run(in context: CommandContext) throws {
        let settings = try settings(in: context)
        let path = database.path(in: context)
        // The caller becomes the project's first admin (a test context names its caller).
        try StoreFactory.createProject(path, settings: settings, at: context.clock(), admin: context.caller)
        context.console.write("Created a project in \(database.displayPath(in: context)).\n" + ProjectDescription.lines(settings).joined(separator: "\n") + "\n")
    }
}

enum ProjectDescription {
    static func lines(_ settings: ProjectSettings) -> [String] {
        [
            "  labels:  " + (settings.labels.isEmpty ? "(none declared)" : settings.labels.joined(separator: ", ")) + " (\(settings.level.rawValue))",
            "  overlap: \(settings.overlap) \(settings.overlap == 1 ? "reviewer" : "reviewers") per item",
            "  budget:  " + (settings.budget.map { "\(Format.count($0)) items" } ?? "no cap"),
            "  utility: \(settings.weights.description), explore \(Format.percent(settings.explore))",
            "  lease:   \(settings.leaseSeconds / 60) minutes",
            "  seed:    \(settings.seed)",
        ]
    }
}
