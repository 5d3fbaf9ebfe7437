import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct CalibrateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Per reviewer: accuracy on gold items, agreement with the others' consensus, Dawid–Skene skill.",
        discussion: """
            For each reviewer: current labels (one per item, the latest not withdrawn); gold items answered and accuracy against the gold label with a 95% Wilson interval; accuracy against the labels leads adjudicated, with its Wilson interval; Cohen's kappa against the leave-one-out consensus (the majority of the other reviewers' labels on the same items; a tie as the ties setting makes of it, none under escalate); and the Dawid–Skene skill (the probability of a correct label under the model, Σ_k π_k e_kk). A reviewer whose gold-accuracy interval lies wholly below the bar (calibration.bar in docket.yaml, or --bar) is flagged. Gold items are mixed into reviewers' queues at calibration.gold_rate without telling them; each mix is logged as an event.

            Example: docket calibrate --bar 0.8
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Flag reviewers whose gold accuracy interval lies below this (default: calibration.bar, else 0.7).") var bar: Double?
    @Flag(help: "Print one JSON array with an object per reviewer.") var json = false

    func run(in context: CommandContext) throws {
        let store = try database.openForReading(in: context)
        let definition = try store.taskDefinition().definition
        let policy = LabelPolicy(definition)
        let threshold = bar ?? definition.calibration?.bar ?? 0.7
        try OptionBounds.number("--bar", threshold, 0...1, "a share")
        let data = try LabelData.load(store: store, kind: .label, level: .nominal, only: nil)
        let gold = try store.goldLabels()
        let adjudicated = try store.adjudicatedLabels()
        let mixed = try store.goldServed()
        let table = data.table
        let skill = table.items > 0 && table.raters > 0 ? Aggregation.dawidSkene(table) : nil
        var rows: [JSONValue] = []
        var lines: [[String]] = []
        for (r, name) in data.reviewers.enumerated() {
            var labels = 0, goldTotal = 0, goldCorrect = 0, leadTotal = 0, leadCorrect = 0
            var pair = RatingTable(items: table.items, raters: 2, categories: table.categories)
            for i in 0..<table.items {
                guard let value = table[i, r] else { continue }
                labels += 1
                if let truth = gold[data.itemIDs[i]], let index = data.categoryNames.firstIndex(of: truth) {
                    goldTotal += 1
                    if Int(value) == index { goldCorrect += 1 }
                }
                if let decided = adjudicated[data.itemIDs[i]], let index = data.categoryNames.firstIndex(of: decided) {
                    leadTotal += 1
                    if Int(value) == index { leadCorrect += 1 }
                }
                // Leave-one-out consensus: the majority of the other reviewers, a tie as the ties
                // setting makes of it (under escalate a tie is no consensus, and the item is left out).
                var counts = [Int](repeating: 0, count: max(1, table.categories))
                for o in 0..<table.raters where o != r { if let v = table[i, o] { counts[Int(v)] += 1 } }
                if let consensus = LabelRules.majorityIndex(counts, ties: policy.ties)?.index {
                    pair[i, 0] = value
                    pair[i, 1] = Double(consensus)
                }
            }
            let accuracy = goldTotal > 0 ? Double(goldCorrect) / Double(goldTotal) : nil
            let interval = Proportions.wilson(successes: goldCorrect, trials: goldTotal)
            let leadInterval = Proportions.wilson(successes: leadCorrect, trials: leadTotal)
            let kappa = Agreement.cohensKappa(pair)
            let dsSkill = skill.map { result in (0..<table.categories).reduce(0.0) { $0 + result.priors[$1] * result.confusion[r][$1][$1] } }
            let flagged = interval.map { $0.high < threshold } ?? false
            var object = JSONObjectWriter()
            object.set("reviewer", name)
            object.set("labels", labels)
            object.set("gold_answered", goldTotal)
            object.set("gold_mixed", mixed[name] ?? 0)
            object.set("gold_accuracy", accuracy)
            object.set("gold_ci_low", interval?.low)
            object.set("gold_ci_high", interval?.high)
            object.set("adjudicated_answered", leadTotal)
            object.set("adjudicated_accuracy", leadTotal > 0 ? Double(leadCorrect) / Double(leadTotal) : nil)
            object.set("adjudicated_ci_low", leadInterval?.low)
            object.set("adjudicated_ci_high", leadInterval?.high)
            object.set("kappa_vs_consensus", kappa.value)
            object.set("kappa_reason", kappa.reason)
            object.set("kappa_items", kappa.itemsUsed)
            object.set("dawid_skene_skill", dsSkill)
            object.set("flagged", .bool(flagged))
            rows.append(object.value)
            lines.append([
                Sanitize.inline(name), Format.count(labels), "\(goldCorrect)/\(goldTotal)",
                accuracy.map { Format.fixed($0, 3) } ?? "-",
                interval.map { "[\(Format.fixed($0.low, 3)), \(Format.fixed($0.high, 3))]" } ?? "-",
                leadTotal > 0 ? "\(leadCorrect)/\(leadTotal) [\(Format.fixed(leadInterval!.low, 2)), \(Format.fixed(leadInterval!.high, 2))]" : "-",
                kappa.value.map { Format.fixed($0, 3) } ?? "-", dsSkill.map { Format.fixed($0, 3) } ?? "-",
                flagged ? "below \(Format.fixed(threshold, 2))" : "",
            ])
        }
        if json {
            context.console.write(JSONValue.array(rows).encoded() + "\n")
            return
        }
        guard !lines.isEmpty else { return context.console.write("No labels yet.\n") }
        context.console.write("Calibration against \(gold.count) gold items; bar \(Format.fixed(threshold, 2)) on gold accuracy (95% Wilson interval).\n" + Format.table(
            header: ["reviewer", "labels", "gold", "accuracy", "95% CI", "vs adjudicated", "κ vs others", "DS skill", "flag"], rows: lines, rightAligned: [1, 2, 3, 6, 7]))
    }
}

struct DriftCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Label distribution and agreement per time window or rubric version, with shift tests.",
        discussion: """
            Groups labels by the time they were given (--window day, week or month) or by rubric version (--by rubric). For each group: labels, the share of each label, and Krippendorff's alpha at the project's level. Between consecutive groups: Pearson's chi-square test of homogeneity of the label distributions and the population stability index (PSI). A shift is flagged when p < --alpha or PSI > --psi.

            Example: docket drift --window week
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("day, week or month.", valueName: "window")) var window: String = "week"
    @Option(help: ArgumentHelp("window or rubric.", valueName: "group")) var by: String = "window"
    @Option(help: "Significance level of the chi-square test, above 0 and below 1.") var alpha: Double = 0.05
    @Option(help: "PSI above which a shift is flagged, 0 to 100.") var psi: Double = 0.25
    @Flag(help: "Print one JSON array with an object per group.") var json = false

    func run(in context: CommandContext) throws {
        try OptionBounds.number("--alpha", alpha, above: 0, below: 1, "a significance level")
        try OptionBounds.number("--psi", psi, OptionBounds.psi, "a PSI")
        guard ["day", "week", "month"].contains(window) else { throw CommandError.invalidOption(name: "--window", value: window, reason: "use day, week or month") }
        guard by == "window" || by == "rubric" else { throw CommandError.invalidOption(name: "--by", value: by, reason: "use window or rubric") }
        let store = try database.openForReading(in: context)
        let settings = try store.projectSettings()
        let level = settings.level == .interval || settings.level == .ratio ? MeasurementLevel.ordinal : settings.level
        let data = try LabelData.load(store: store, kind: .label, level: level, only: nil)
        let raters = data.table.raters
        func key(_ cell: Int) -> String? {
            if by == "rubric" { return data.rubrics[cell].map { "rubric \($0)" } }
            guard let ms = data.times[cell] else { return nil }
            let iso = Instant(milliseconds: ms).iso8601
            switch window {
            case "day": return String(iso.prefix(10))
            case "month": return String(iso.prefix(7))
            default:
                return "week of " + Instant(milliseconds: ms).isoWeekStart
            }
        }
        var groups: [String: [Int]] = [:]
        for cell in 0..<(data.table.items * raters) where data.table.values[cell].isNaN == false {
            if let k = key(cell) { groups[k, default: []].append(cell) }
        }
        let names = groups.keys.sorted { a, b in
            by == "rubric" ? (Int(a.dropFirst(7)) ?? 0) < (Int(b.dropFirst(7)) ?? 0) : a < b
        }
        var previous: [Double]?
        var rows: [JSONValue] = []
        var lines: [[String]] = []
        for name in names {
            let cells = Set(groups[name]!)
            var counts = [Double](repeating: 0, count: data.categoryNames.count)
            for cell in cells { counts[Int(data.table.values[cell])] += 1 }
            let sub = data.labels { cells.contains($0 * raters + $1) }
            let agreement = Agreement.krippendorffAlpha(sub.table, level: level)
            let total = counts.reduce(0, +)
            var object = JSONObjectWriter()
            object.set("group", name)
            object.set("labels", Int(total))
            object.set("shares", .object(data.categoryNames.enumerated().map { ($1, .number(counts[$0] / total)) }))
            object.set("alpha", agreement.value)
            object.set("alpha_reason", agreement.reason)
            var chi: (statistic: Double, df: Int, p: Double)?
            var stability: Double?
            if let previous {
                chi = Proportions.chiSquareHomogeneity([previous, counts])
                stability = Proportions.populationStabilityIndex(reference: previous, current: counts)
            }
            let shifted = (chi.map { $0.p < alpha } ?? false) || (stability.map { $0 > psi } ?? false)
            object.set("chi_square", chi?.statistic)
            object.set("df", chi?.df)
            object.set("p_value", chi?.p)
            object.set("psi", stability)
            object.set("shift", .bool(shifted))
            rows.append(object.value)
            var line: [String] = [name, Format.count(Int(total))]
            for count in counts { line.append(Format.percent(count / total)) }
            line.append(agreement.value.map { Format.fixed($0, 3) } ?? "-")
            line.append(chi.map { Format.fixed($0.p, 4) } ?? "-")
            line.append(stability.map { Format.fixed($0, 3) } ?? "-")
            line.append(shifted ? "shift" : "")
            lines.append(line)
            previous = counts
        }
        if json {
            context.console.write(JSONValue.array(rows).encoded() + "\n")
            return
        }
        guard !lines.isEmpty else {
            return context.console.write(by == "rubric" ? "No labels carry a rubric version (imported labels without one do not).\n" : "No labels yet.\n")
        }
        let header = [by == "rubric" ? "rubric" : window, "labels"] + data.categoryNames.map(Sanitize.inline) + ["alpha", "p (χ²)", "PSI", "flag"]
        context.console.write("Label distribution by \(by == "rubric" ? "rubric version" : window); shifts flagged at p < \(JSONText.number(alpha)) or PSI > \(JSONText.number(psi)).\n"
            + Format.table(header: header, rows: lines, rightAligned: Set(1..<(header.count - 1))))
    }
}
