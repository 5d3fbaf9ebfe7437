import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Current labels as a table: items × reviewers, with the item ids, categories and each label's rubric.
struct LabelData {
    var table: RatingTable
    var itemIDs: [String]
    var categories: [String?]
    var reviewers: [String]
    /// Rubric version of each cell (row-major like the table), when known.
    var rubrics: [Int?]
    /// When each label was given (row-major like the table).
    var times: [Int64?]
    /// Names of the categories the table's values index (nominal/ordinal), or [] for numbers.
    var categoryNames: [String]

    static func load(store: any ReviewStore, kind: FeedbackKind, level: MeasurementLevel, only: [String]?) throws -> LabelData {
        let columns = try store.currentLabels(kind: kind)
        let definition = try store.taskDefinition().definition
        let used = Set(columns.reviewers).compactMap { columns.reviewerNames[$0] }
        var names = used.sorted()
        if let only { names = only.filter { names.contains($0) } }
        let columnOf = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        // Reviewer ids are small integers: an array maps them to table columns without hashing.
        let maxID = Int(columns.reviewerNames.keys.max() ?? 0)
        var reviewerColumn = [Int](repeating: -1, count: maxID + 1)
        for (id, name) in columns.reviewerNames { if let column = columnOf[name] { reviewerColumn[Int(id)] = column } }
        // Rows of the table: the labelled items that have a label from a chosen reviewer.
        var rowOfItem = [Int](repeating: -1, count: columns.itemSeqs.count)
        var itemIDs: [String] = [], categories: [String?] = []
        for position in columns.rows.indices where reviewerColumn[Int(columns.reviewers[position])] >= 0 {
            let item = Int(columns.rows[position])
            if rowOfItem[item] < 0 {
                rowOfItem[item] = itemIDs.count
                itemIDs.append(columns.itemIDs[item])
                categories.append(columns.itemCategories[item])
            }
        }
        let numeric = level == .interval || level == .ratio
        var categoryNames: [String] = []
        if !numeric {
            if kind == .rating, let scale = definition.rating {
                categoryNames = (scale.minimum...scale.maximum).map(String.init)
            } else {
                categoryNames = definition.labels.isEmpty ? columns.labelNames.sorted() : definition.labels
            }
        }
        // What each label code means as a table value.
        let index = Dictionary(uniqueKeysWithValues: categoryNames.enumerated().map { ($1, Double($0)) })
        var codeValue = [Double](repeating: .nan, count: columns.labelNames.count)
        for (code, label) in columns.labelNames.enumerated() {
            if numeric {
                guard let number = Double(label) else {
                    throw CommandError.invalidOption(name: "--level", value: level.rawValue, reason: "the label '\(label)' is not a number; use nominal or ordinal")
                }
                codeValue[code] = number
            } else {
                codeValue[code] = index[label] ?? .nan
            }
        }
        let width = names.count
        var table = RatingTable(items: itemIDs.count, raters: width, categories: numeric ? 0 : categoryNames.count)
        var rubrics = [Int?](repeating: nil, count: itemIDs.count * width)
        var times = [Int64?](repeating: nil, count: itemIDs.count * width)
        for position in columns.rows.indices {
            let column = reviewerColumn[Int(columns.reviewers[position])]
            guard column >= 0 else { continue }
            let row = rowOfItem[Int(columns.rows[position])]
            table.set(row * width + column, codeValue[Int(columns.labels[position])])
            let rubric = columns.rubrics[position]
            rubrics[row * width + column] = rubric < 0 ? nil : Int(rubric)
            times[row * width + column] = columns.times[position]
        }
        return LabelData(table: table, itemIDs: itemIDs, categories: categories, reviewers: names, rubrics: rubrics, times: times, categoryNames: categoryNames)
    }

    /// The current labels of row `i`, as (reviewer, label) pairs (nominal and ordinal data).
    func labels(ofItem i: Int) -> [(reviewer: String, label: String)] {
        (0..<table.raters).compactMap { r in
            guard let v = table[i, r], Int(v) < categoryNames.count else { return nil }
            return (reviewers[r], categoryNames[Int(v)])
        }
    }

    /// The votes of row `i` over the declared labels (`LabelRules.votes`).
    func votes(ofItem i: Int) -> Votes {
        var counts: [String: Int] = [:]
        for (_, label) in labels(ofItem: i) { counts[label, default: 0] += 1 }
        return LabelRules.votes(counts: counts, declared: categoryNames)
    }

    /// The data restricted to some items.
    func items(_ rows: [Int]) -> LabelData {
        var copy = self
        copy.table = table.resampled(rows)
        copy.itemIDs = rows.map { itemIDs[$0] }
        copy.categories = rows.map { categories[$0] }
        copy.rubrics = rows.flatMap { r in (0..<reviewers.count).map { rubrics[r * reviewers.count + $0] } }
        copy.times = rows.flatMap { r in (0..<reviewers.count).map { times[r * reviewers.count + $0] } }
        return copy
    }

    /// The data keeping only the labels `keep` accepts (by row, column).
    func labels(where keep: (Int, Int) -> Bool) -> LabelData {
        var copy = self
        var table = RatingTable(items: self.table.items, raters: self.table.raters, categories: self.table.categories)
        for i in 0..<table.items { for r in 0..<table.raters where keep(i, r) { table[i, r] = self.table[i, r] } }
        copy.table = table
        return copy
    }
}

struct AgreementCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Chance-corrected agreement between reviewers, with confidence intervals.",
        discussion: """
            Metrics: percent (percent agreement), cohen (Cohen's kappa, two reviewers; --weights none|linear|quadratic), scott (Scott's pi), fleiss (Fleiss' kappa with missing data), randolph (free-marginal kappa), krippendorff (alpha at --level), gwet (Gwet's AC1), pairwise (Cohen's kappa for every two reviewers and its mean), or all. Categories are the declared labels in their order, unused ones included. Intervals: analytic where the literature gives a standard error (Cohen, Fleiss, Gwet), or a seeded bootstrap over items for every metric. An undefined statistic is reported with its reason, never as NaN.

            Example: docket agreement --metric all --ci bootstrap --reps 1000 --seed 7
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("percent, cohen, scott, fleiss, randolph, krippendorff, gwet, pairwise or all.", valueName: "name")) var metric: String = "all"
    @Option(help: ArgumentHelp("none, linear or quadratic.", valueName: "weights")) var weights: String = "none"
    @Option(help: ArgumentHelp("nominal, ordinal, interval or ratio (default: the project's).", valueName: "level")) var level: String?
    @Option(help: ArgumentHelp("Only these reviewers, comma-separated.", valueName: "a,b")) var reviewers: String?
    @Option(help: ArgumentHelp("Agreement on labels (default) or ratings.", valueName: "label|rating")) var on: String = "label"
    @Option(help: ArgumentHelp("Break down by label, category, rubric or reviewer-pair.", valueName: "group")) var by: String?
    @Option(help: ArgumentHelp("analytic or bootstrap.", valueName: "method")) var ci: String = "analytic"
    @Option(help: "Bootstrap resamples, 1 to 10000.") var reps: Int = 1000
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON array with an object per metric.") var json = false

    static let metrics = ["percent", "cohen", "scott", "fleiss", "randolph", "krippendorff", "gwet", "pairwise"]

    struct Row {
        var metric: String
        var group: String?
        var estimate: Estimate
        var low: Double?
        var high: Double?
        var method: String?
        var note: String?
    }

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
        let store = try database.openForReading(in: context)
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
            let versions = Set(data.rubrics.compactMap { $0 }).sorted()
            for version in versions {
                var sub = data
                var values = RatingTable(items: data.table.items, raters: data.table.raters, categories: data.table.categories)
                for i in 0..<data.table.items {
                    for r in 0..<data.table.raters where data.rubrics[i * data.table.raters + r] == version { values[i, r] = data.table[i, r] }
                }
                sub.table = values
                rows += compute(sub, metrics: chosen, weights: weighting, level: measurement, group: "rubric=\(version)")
            }
        default:  // reviewer-pair
            rows = compute(data, metrics: ["pairwise"], weights: weighting, level: measurement, group: nil)
        }
        render(rows, data: data, level: measurement, context: context)
    }

    func compute(_ data: LabelData, metrics: [String], weights: AgreementWeights, level: MeasurementLevel, group: String?) -> [Row] {
        let table = data.table
        var rows: [Row] = []
        func add(_ name: String, _ statistic: @escaping (RatingTable) -> Estimate, note: String? = nil) {
            let estimate = statistic(table)
            var row = Row(metric: name, group: group, estimate: estimate, note: note)
            if estimate.value != nil {
                if ci == "bootstrap" {
                    if let interval = Agreement.bootstrap(table, reps: reps, seed: seed, statistic: { statistic($0).value }) {
                        row.low = interval.low
                        row.high = interval.high
                        row.method = "bootstrap"
                        if interval.undefined > 0 { row.note = "\(interval.undefined) of \(reps) resamples undefined" }
                    }
                } else if let interval = estimate.analyticInterval() {
                    row.low = max(-1, interval.0)
                    row.high = min(1, interval.1)
                    row.method = "analytic"
                } else if row.note == nil {
                    row.note = "no analytic standard error; use --ci bootstrap"
                }
            }
            rows.append(row)
        }
        let two = table.raters == 2
        for metric in metrics {
            switch metric {
            case "percent": add("percent", Agreement.percentAgreement)
            case "cohen":
                if two { add("cohen", { Agreement.cohensKappa($0, weights: weights) }) } else {
                    rows.append(Row(metric: "cohen", group: group, estimate: .undefined("Cohen's kappa compares two reviewers; there are \(table.raters) (pass --reviewers a,b, or see pairwise)", items: 0, labels: table.labelCount)))
                }
            case "scott":
                if two { add("scott", Agreement.scottsPi) } else {
                    rows.append(Row(metric: "scott", group: group, estimate: .undefined("Scott's pi compares two reviewers; there are \(table.raters) (pass --reviewers a,b)", items: 0, labels: table.labelCount)))
                }
            case "fleiss": add("fleiss", { Agreement.fleissKappa($0, weights: weights) })
            case "randolph": add("randolph", Agreement.randolphKappa)
            case "krippendorff": add("krippendorff", { Agreement.krippendorffAlpha($0, level: level) })
            case "gwet": add("gwet", { Agreement.gwetAC1($0, weights: weights) })
            case "pairwise":
                var values: [Double] = []
                for a in 0..<table.raters {
                    for b in (a + 1)..<max(a + 1, table.raters) {
                        let pair = table.selecting(raters: [a, b])
                        let name = "cohen:\(data.reviewers[a])~\(data.reviewers[b])"
                        let estimate = Agreement.cohensKappa(pair, weights: weights)
                        var row = Row(metric: name, group: group, estimate: estimate)
                        if let interval = estimate.analyticInterval() {
                            row.low = max(-1, interval.0)
                            row.high = min(1, interval.1)
                            row.method = "analytic"
                        }
                        rows.append(row)
                        if let value = estimate.value { values.append(value) }
                    }
                }
                let mean = values.isEmpty ? Estimate.undefined("no two reviewers share items", items: 0, labels: table.labelCount)
                    : Estimate(value: values.reduce(0, +) / Double(values.count), reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: values.count, itemsDropped: 0, labels: table.labelCount)
                rows.append(Row(metric: "pairwise-mean", group: group, estimate: mean, note: values.isEmpty ? nil : "mean over \(values.count) pairs"))
            default: break
            }
        }
        return rows
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
                if let note = row.note { object.set("note", note) }
                return object.value
            })
            context.console.write(array.encoded() + "\n")
            return
        }
        var out = "Agreement on \(on)s: \(Format.count(data.table.items)) items, \(Format.count(data.table.labelCount)) labels, \(data.reviewers.count) reviewers, \(level.rawValue) level"
        out += ci == "bootstrap" ? ", 95% bootstrap intervals (\(reps) resamples, seed \(seed)).\n" : ", 95% analytic intervals.\n"
        let hasGroups = rows.contains { $0.group != nil }
        out += Format.table(
            header: (hasGroups ? ["group"] : []) + ["metric", "value", "95% CI", "items", "labels", "note"],
            rows: rows.map { row in
                let interval = row.low.map { "[\(Format.fixed($0, 4)), \(Format.fixed(row.high, 4))]" } ?? "-"
                let value = row.estimate.value.map { Format.fixed($0, 4) } ?? "undefined"
                let note = row.estimate.reason ?? row.note ?? (row.estimate.itemsDropped > 0 ? "\(Format.count(row.estimate.itemsDropped)) items dropped" : "")
                return (hasGroups ? [row.group ?? ""] : []) + [Sanitize.inline(row.metric), value, interval, Format.count(row.estimate.itemsUsed), Format.count(row.estimate.labels), Sanitize.inline(note)]
            },
            rightAligned: hasGroups ? [2, 4, 5] : [1, 3, 4])
        context.console.write(out)
    }
}

struct AggregateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "A final label per item from reviewers' labels: majority vote or Dawid–Skene.",
        discussion: """
            majority: the most frequent current label and its vote share. dawid-skene: EM from majority-vote fractions until no posterior changes by more than --tolerance (or --max-iterations), with each reviewer's estimated confusion matrix and the class priors; each item's label and posterior come from the fitted parameters, exactly as show and export compute them from a model saved with --save. A tie (two labels with the most votes, or two classes of equal posterior) is what the ties setting in docket.yaml makes of it: escalate gives no label, severe the label declared later, declared-order the one declared first. Lead decisions are not part of the aggregate (see show and export for final labels).

            Example: docket aggregate --method dawid-skene --json
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("majority or dawid-skene.", valueName: "method")) var method: String = "majority"
    @Option(help: "Convergence tolerance on the posteriors (dawid-skene), 0 to 1.") var tolerance: Double = 1e-10
    @Option(name: .customLong("max-iterations"), help: "Iteration cap (dawid-skene), 1 to 10000.") var maxIterations: Int = 10_000
    @Flag(help: "Save the Dawid–Skene model for final labels (final_label: dawid-skene) and the escalation policy's posterior_below condition.") var save = false
    @Flag(help: "Print JSON.") var json = false

    func run(in context: CommandContext) throws {
        guard method == "majority" || method == "dawid-skene" else {
            throw CommandError.invalidOption(name: "--method", value: method, reason: "use majority or dawid-skene")
        }
        try OptionBounds.number("--tolerance", tolerance, OptionBounds.tolerance, "a tolerance")
        try OptionBounds.whole("--max-iterations", maxIterations, OptionBounds.maxIterations, "iterations")
        let store = try save ? database.open(in: context) : database.openForReading(in: context)
        let policy = LabelPolicy(try store.taskDefinition().definition)
        let data = try LabelData.load(store: store, kind: .label, level: .nominal, only: nil)
        let names = data.categoryNames
        let votes = data.itemIDs.indices.map { data.votes(ofItem: $0) }
        /// One item's JSON: its label (null for a tie under escalate), whether it tied, its votes and how many reviewers labelled it.
        func item(_ i: Int, _ final: FinalLabel, _ extra: (String, JSONValue)) -> JSONValue {
            .object([
                ("item", .string(data.itemIDs[i])), ("label", final.label.map { .string($0) } ?? .null), extra, ("tie", .bool(final.isTie)),
                ("votes", .object(votes[i].nonZero.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })),
                ("reviewers", .number(Double(votes[i].total))),
            ])
        }
        func shown(_ final: FinalLabel) -> String { final.label.map(Sanitize.inline) ?? "(tie: " + final.tied.map(Sanitize.inline).joined(separator: ", ") + ")" }
        if method == "majority" {
            let finals = votes.map { LabelRules.majority($0, ties: policy.ties) }
            let rows = data.itemIDs.indices.filter { votes[$0].total > 0 }
            if json {
                let items = JSONValue.array(rows.map { i in item(i, finals[i], ("share", votes[i].agreement.map { .number($0) } ?? .null)) })
                context.console.write(JSONValue.object([("method", .string("majority")), ("ties", .string(policy.ties.rawValue)), ("items", items)]).encoded() + "\n")
                return
            }
            context.console.write(Format.table(
                header: ["item", "label", "share"],
                rows: rows.map { i in [Sanitize.inline(data.itemIDs[i]), shown(finals[i]), Format.fixed(votes[i].agreement ?? 0, 3)] },
                rightAligned: [2]))
            return
        }
        let result = Aggregation.dawidSkene(data.table, tolerance: tolerance, maxIterations: maxIterations)
        let model = DawidSkeneModel(labels: names, reviewers: data.reviewers, result: result)
        if save { try store.saveModel(labels: names, reviewers: data.reviewers, result: result, at: context.clock()) }
        // Each item under the fitted parameters: the same function final labels use with a saved model.
        let posteriors = data.itemIDs.indices.map { LabelRules.posterior(model, labels: data.labels(ofItem: $0)) }
        let finals = posteriors.map { posterior in posterior.map { LabelRules.modelLabel($0, ties: policy.ties, declared: names) } }
        if json {
            var object = JSONObjectWriter()
            object.set("method", "dawid-skene")
            object.set("ties", policy.ties.rawValue)
            object.set("iterations", result.iterations)
            object.set("converged", .bool(result.converged))
            object.set("priors", .object(names.enumerated().map { ($1, .number(result.priors[$0])) }))
            object.set("confusion", .object(data.reviewers.enumerated().map { r, name in
                (name, .object(names.enumerated().map { t, truth in (truth, .object(names.enumerated().map { ($1, .number(result.confusion[r][t][$0])) })) }))
            }))
            object.set("items", .array(data.itemIDs.indices.compactMap { i in
                guard let final = finals[i], let posterior = posteriors[i] else { return nil }
                return item(i, final, ("posterior", .number(posterior.top)))
            }))
            context.console.write(object.value.encoded() + "\n")
            return
        }
        var out = "Dawid–Skene: \(result.converged ? "converged" : "stopped without converging") after \(result.iterations) iterations.\n"
        out += "priors: " + names.enumerated().map { "\($1) \(Format.fixed(result.priors[$0], 3))" }.joined(separator: ", ") + "\n\n"
        for (r, name) in data.reviewers.enumerated() {
            out += "\(Sanitize.inline(name)) (rows: true label; columns: given)\n"
            out += Format.table(header: [""] + names, rows: names.enumerated().map { t, truth in [truth] + names.indices.map { Format.fixed(result.confusion[r][t][$0], 3) } }, rightAligned: Set(1...names.count))
            out += "\n"
        }
        out += Format.table(
            header: ["item", "label", "posterior"],
            rows: data.itemIDs.indices.compactMap { i in
                guard let final = finals[i], let posterior = posteriors[i] else { return nil }
                return [Sanitize.inline(data.itemIDs[i]), shown(final), Format.fixed(posterior.top, 4)]
            },
            rightAligned: [2])
        context.console.write(out)
    }
}
