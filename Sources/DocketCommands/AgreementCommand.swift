import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct AgreementCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Chance-corrected agreement between reviewers, with confidence intervals.",
        discussion: """
            Metrics: percent (percent agreement), cohen (Cohen's kappa, two reviewers; --weights none|linear|quadratic), scott (Scott's pi), fleiss (Fleiss' kappa with missing data), conger (Conger's kappa: Cohen's kappa for many reviewers, each with their own marginals), randolph (free-marginal kappa), krippendorff (alpha at --level), gwet (Gwet's AC1), pairwise (Cohen's kappa for every two reviewers and its mean), or all. Categories are the declared labels in their order, unused ones included. Intervals: analytic where the literature gives a standard error (Cohen, Fleiss, Conger, Gwet), or a seeded bootstrap over items for every metric; no interval from fewer than 10 items with two or more labels, nor one of zero width, each with the reason. An undefined statistic is reported with its reason, never as NaN. --by rubric puts labels without a rubric version (imported without one) in a group of their own, rubric=none.

            Example: docket agreement --metric all --ci bootstrap --reps 1000 --seed 7
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("percent, cohen, scott, fleiss, conger, randolph, krippendorff, gwet, pairwise or all.", valueName: "name")) var metric: String = "all"
    @Option(help: ArgumentHelp("none, linear or quadratic.", valueName: "weights")) var weights: String = "none"
    @Option(help: ArgumentHelp("nominal, ordinal, interval or ratio (default: the project's).", valueName: "level")) var level: String?
    @Option(help: ArgumentHelp("Only these reviewers, comma-separated.", valueName: "a,b")) var reviewers: String?
    @Option(help: ArgumentHelp("Agreement on labels (default) or ratings.", valueName: "label|rating")) var on: String = "label"
    @Option(help: ArgumentHelp("Break down by label, category, rubric or reviewer-pair.", valueName: "group")) var by: String?
    @Option(help: ArgumentHelp("analytic or bootstrap.", valueName: "method")) var ci: String = "analytic"
    @Option(help: "Bootstrap resamples, 1 to 10000.") var reps: Int = 1000
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON array with an object per metric.") var json = false

    static let metrics = ["percent", "cohen", "scott", "fleiss", "conger", "randolph", "krippendorff", "gwet", "pairwise"]

    typealias Row = AgreementRow

    func run(in context: CommandContext) throws {
        guard Self.metrics.contains(metric) || metric == "all" else {
            throw CommandError.invalidOption(name: "--metric", value: metric, reason: "use " + Self.metrics.joined(separator: ", ") + " or all")
        }
        guard let weighting = AgreementWeights(rawValue: weights) else {
            throw CommandError.invalidOption(name: "--weights", value: weights, reason: "use none, linear or quadratic")
        }
        guard ci == "analytic" || ci == "bootstrap" else { throw CommandError.invalidOption(name: "--ci", value: ci, reason: "use analytic or bootstrap") }
        try OptionBounds.whole("--reps", reps, OptionBounds.reps, "resamples")
        guard on == "label" || on == "rating" else { throw CommandError.invalidOption(name: "--on", value: on, reason: "use label or rating") }
        if let by, !["label", "category", "rubric", "reviewer-pair"].contains(by) {
            throw CommandError.invalidOption(name: "--by", value: by, reason: "use label, category, rubric or reviewer-pair")
        }
        let store = try database.openForReading(for: .agreement, in: context).store
        let settings = try store.projectSettings()
        let measurement: MeasurementLevel
        if let level {
            guard let parsed = MeasurementLevel(rawValue: level) else {
                throw CommandError.invalidOption(name: "--level", value: level, reason: "use nominal, ordinal, interval or ratio")
            }
            measurement = parsed
        } else {
            measurement = on == "rating" ? .interval : settings.level
        }
        // Each name by the one reviewer-name rule (the store normalises and checks it).
        if let reviewers, reviewers.split(separator: ",", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            throw CommandError.invalidOption(name: "--reviewers", value: reviewers, reason: "name reviewers separated by commas, with no empty name")
        }
        let only = try reviewers.map { list in try list.split(separator: ",").map { try store.reviewer(named: String($0)).name } }
        if let reviewers, let only { try OptionBounds.distinct("--reviewers", reviewers, only, what: "reviewer") }
        let data = try LabelData.load(store: store, kind: on == "rating" ? .rating : .label, level: measurement, only: only)

        var rows: [Row] = []
        let chosen = metric == "all" ? Self.metrics : [metric]
        switch by {
        case nil:
            rows = compute(data, metrics: chosen, weights: weighting, level: measurement, group: nil)
        case "label":
            guard data.table.categories > 0 else {
                throw CommandError.invalidOption(name: "--by", value: "label", reason: "per-label agreement needs nominal or ordinal labels")
            }
            for (c, name) in data.categoryNames.enumerated() {
                var binary = RatingTable(items: data.table.items, raters: data.table.raters, categories: 2)
                for i in 0..<data.table.items { for r in 0..<data.table.raters { if let v = data.table[i, r] { binary[i, r] = v == Double(c) ? 1 : 0 } } }
                var sub = data
                sub.table = binary
                sub.categoryNames = ["not " + name, name]
                rows += compute(sub, metrics: chosen, weights: .none, level: .nominal, group: "label=" + name)
            }
        case "category":
            let groups = Dictionary(grouping: data.categories.indices) { data.categories[$0] ?? "(none)" }
            for name in groups.keys.sorted() {
                rows += compute(data.items(groups[name]!), metrics: chosen, weights: weighting, level: measurement, group: "category=" + name)
            }
        case "rubric":
            // Every version in order, then labels without one (imported without a rubric) as their own group.
            var present: [Int?] = []
            for i in 0..<data.table.items {
                for r in 0..<data.table.raters where data.table[i, r] != nil { present.append(data.rubrics[i * data.table.raters + r]) }
            }
            let versions = RubricGroups.versions(of: present)
            for version in versions {
                // The group's labels, on the items that have one of them: an item without a label
                // under this version is not in the group, so it is neither used nor dropped here.
                let sub = data.labels { i, r in data.rubrics[i * data.table.raters + r] == version }
                let members = (0..<sub.table.items).filter { i in (0..<sub.table.raters).contains { sub.table[i, $0] != nil } }
                rows += compute(sub.items(members), metrics: chosen, weights: weighting, level: measurement, group: "rubric=" + RubricGroups.name(version))
            }
        default:  // reviewer-pair
            rows = compute(data, metrics: ["pairwise"], weights: weighting, level: measurement, group: nil)
        }
        render(rows, data: data, level: measurement, context: context)
    }

    /// The rows for one group of the label table (`AgreementRows.compute`, in the core).
    func compute(_ data: LabelData, metrics: [String], weights: AgreementWeights, level: MeasurementLevel, group: String?) -> [Row] {
        AgreementRows.compute(
            data.table, reviewers: data.reviewers, metrics: metrics, weights: weights, level: level, group: group,
            interval: ci == "bootstrap" ? .bootstrap(reps: reps, seed: seed) : .analytic)
    }

    func render(_ rows: [Row], data: LabelData, level: MeasurementLevel, context: CommandContext) {
        if json {
            let array = JSONValue.array(rows.map { row in
                var object = JSONObjectWriter()
                object.set("metric", row.metric)
                if let group = row.group { object.set("group", group) }
                object.set("value", row.estimate.value)
                object.set("ci_low", row.low)
                object.set("ci_high", row.high)
                object.set("ci_method", row.method)
                object.set("se", row.estimate.standardError)
                object.set("n_items", row.estimate.itemsUsed)
                object.set("n_dropped", row.estimate.itemsDropped)
                object.set("n_labels", row.estimate.labels)
                object.set("reason", row.estimate.reason)
                object.set("ci_reason", row.intervalReason)
                if let note = row.note { object.set("note", note) }
                return object.value
            })
            context.console.write(array.encoded() + "\n")
            return
        }
        var out = "Agreement on \(on)s: \(Format.count(data.table.items)) \(data.table.items == 1 ? "item" : "items"), \(Format.count(data.table.labelCount)) \(data.table.labelCount == 1 ? "label" : "labels"), \(data.reviewers.count) \(data.reviewers.count == 1 ? "reviewer" : "reviewers"), \(level.rawValue) level"
        out += ci == "bootstrap" ? ", 95% bootstrap intervals (\(reps) resamples, seed \(seed)).\n" : ", 95% analytic intervals.\n"
        let hasGroups = rows.contains { $0.group != nil }
        out += Format.table(
            header: (hasGroups ? ["group"] : []) + ["metric", "value", "95% CI", "items", "labels", "note"],
            rows: rows.map { row in
                let interval = row.low.map { "[\(Format.fixed($0, 4)), \(Format.fixed(row.high, 4))]" } ?? "-"
                let value = row.estimate.value.map { Format.fixed($0, 4) } ?? "undefined"
                let note = row.estimate.reason ?? row.intervalReason ?? row.note ?? (row.estimate.itemsDropped > 0 ? "\(Format.count(row.estimate.itemsDropped)) items dropped" : "")
                return (hasGroups ? [row.group ?? ""] : []) + [Sanitize.inline(row.metric), value, interval, Format.count(row.estimate.itemsUsed), Format.count(row.estimate.labels), Sanitize.inline(note)]
            },
            rightAligned: hasGroups ? [2, 4, 5] : [1, 3, 4])
        context.console.write(out)
    }
}
