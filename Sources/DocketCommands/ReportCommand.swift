import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct RoundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract: "Mark feedback-loop rounds: items imported while a round is open belong to it.",
        subcommands: [Start.self, Close.self]
    )

    struct Start: ContextCommand {
        static let configuration = CommandConfiguration(abstract: "Open a round.", discussion: "Example: docket round start model-2026-12")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The round's name.") var name: String
        func run(in context: CommandContext) throws {
            let round = try database.open(in: context).startRound(name, at: context.clock())
            context.console.write("Round \(Sanitize.inline(round.name)) started at \(round.startedAt.iso8601).\n")
        }
    }

    struct Close: ContextCommand {
        static let configuration = CommandConfiguration(abstract: "Close the open round.", discussion: "Example: docket round close")
        @OptionGroup var database: DatabaseOptions
        func run(in context: CommandContext) throws {
            let round = try database.open(in: context).closeRound(at: context.clock())
            context.console.write("Round \(Sanitize.inline(round.name)) closed.\n")
        }
    }
}

struct ReportCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The monitoring report: attack success rate, guardrail thresholds, rounds, budget, agreement over time.",
        discussion: """
            Attack success rate: the share of reviewed items whose final severity (highest current flag, else triage) is at least --bar, overall and per category, with Wilson intervals (or --interval clopper-pearson), beside the inverse-probability-weighted (Hájek) estimate that corrects for the queue's selection using the probabilities recorded when items were served. Label prevalence likewise, from final labels (adjudicated, else a single label, else the configured aggregate; a tie as the ties setting makes of it). Guardrail: the model's risk score against the human verdict, with the ROC AUC and the threshold that meets --target-fpr. Rounds, budget burn, the labels needed to reach --target-width, and agreement per week. --html FILE writes one self-contained page of SVG charts.

            Example: docket report --html report.html
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Final severity at or above which an attack succeeded.") var bar: Int = 2
    @Option(help: ArgumentHelp("wilson or clopper-pearson.", valueName: "method")) var interval: String = "wilson"
    @Option(name: .customLong("target-fpr"), help: "False-positive rate the guardrail threshold must meet.") var targetFPR: Double = 0.05
    @Option(name: .customLong("target-width"), help: "Interval width to plan labels for, 0.001 to 1.") var targetWidth: Double = 0.05
    @Option(help: ArgumentHelp("Write an HTML report to this file.", valueName: "file")) var html: String?
    @Flag(help: "Print every number as one JSON object.") var json = false

    func run(in context: CommandContext) throws {
        guard let method = MonitoringReport.IntervalMethod(rawValue: interval) else {
            throw CommandError.invalidOption(name: "--interval", value: interval, reason: "use wilson or clopper-pearson")
        }
        try OptionBounds.whole("--bar", bar, SettingBounds.severity, phrase: "a severity")
        try OptionBounds.number("--target-fpr", targetFPR, above: 0, below: 1, "a rate")
        try OptionBounds.number("--target-width", targetWidth, OptionBounds.targetWidth, "a width")
        let store = try database.openForReading(in: context)
        let now = context.clock()
        let report = MonitoringReport.compute(
            try Self.input(from: store), options: MonitoringOptions(bar: bar, interval: method, targetFPR: targetFPR, targetWidth: targetWidth), now: now)
        if let html {
            let page = ReportHTML.page(report, generatedAt: now)
            let file = try OutputFile(path: html, protecting: OutputFile.protected(store: store, inputs: []))
            do {
                try file.write(page)
                try file.commit()
            } catch {
                file.abandon()
                throw error
            }
            context.console.writeError("Wrote the report to \(Sanitize.inline(html)).\n")
        }
        if json { return context.console.write(report.json.encoded() + "\n") }
        if html == nil { context.console.write(ReportText.render(report, width: context.console.width)) }
    }

    /// What the report is computed from: the served items, completed reviews, rounds, the current
    /// labels as a table, and every item's label rows and decisions counted into final labels as
    /// they stream by (`LabelRules.resolve`, as in `show` and `export`).
    static func input(from store: any ReviewStore) throws -> MonitoringInput {
        let settings = try store.projectSettings()
        let data = try LabelData.load(store: store, kind: .label, level: .nominal, only: nil)
        let policy = LabelPolicy(try store.taskDefinition().definition)
        var finals = FinalLabelTally(policy: policy, model: policy.method == .dawidSkene ? try store.savedDawidSkeneModel() : nil)
        try store.forEachItemLabelRows(filter: ExportFilter()) { item, rows, decisions in
            finals.add(item: item.id, rows: rows, decisions: decisions)
        }
        return MonitoringInput(
            items: try store.reportItems(), work: try store.workRecords(), rounds: try store.rounds(),
            labels: ReportLabelTable(table: data.table, names: data.categoryNames, times: data.times, rubrics: data.rubrics),
            finalLabels: finals, budget: settings.budget, level: settings.level)
    }
}

/// Terminal rendering: compact tables with inline bars.
enum ReportText {
    static func bar(_ value: Double?, width: Int = 20) -> String {
        guard let value else { return "" }
        let cells = Int((max(0, min(1, value)) * Double(width)).rounded())
        return String(repeating: "█", count: cells) + String(repeating: "·", count: width - cells)
    }

    static func pct(_ value: Double?) -> String { value.map { Format.percent($0) } ?? "-" }

    static func render(_ report: MonitoringReport, width: Int) -> String {
        var out = "Attack success rate (final severity ≥ \(report.bar); \(report.interval.rawValue) intervals; Hájek corrects for selection)\n"
        func row(_ name: String, _ r: MonitoringReport.Rate) -> [String] {
            [name, "\(r.successes)/\(r.n)", pct(r.naive), "[\(pct(r.naiveInterval?.low)), \(pct(r.naiveInterval?.high))]",
             pct(r.hajek?.estimate), "[\(pct(r.hajek?.interval.low)), \(pct(r.hajek?.interval.high))]", r.hajek.map { Format.fixed($0.effectiveSize, 1) } ?? "-",
             bar(r.hajek?.estimate ?? r.naive)]
        }
        let rows = [row("all", report.attackSuccess)] + report.attackSuccessByCategory.map { row(Sanitize.inline($0.name), $0.rate) }
        out += Format.table(header: ["", "n", "naive", "95% CI", "Hájek", "95% CI", "n_eff", ""], rows: rows, rightAligned: [1, 2, 4, 6])
        out += "\nLabel prevalence\n"
        out += Format.table(header: ["label", "n", "naive", "95% CI", "Hájek", "95% CI", "n_eff", ""], rows: report.labelPrevalence.map { row(Sanitize.inline($0.name), $0.rate) }, rightAligned: [1, 2, 4, 6])
        out += "n_eff: the effective sample size behind the Hájek estimate, (Σw)² / Σw²; few exploration picks make it small.\n"
        let finals = report.finalLabels
        if finals.items > 0 {
            let sources = finals.bySource.filter { $0.count > 0 }.map { "\($0.count) \($0.source == .tie ? ($0.count == 1 ? "tie" : "ties") : $0.source.rawValue)" }
            out += "Final labels: \(Format.count(finals.items)) items (" + sources.joined(separator: ", ") + "; ties: \(finals.tiesRule.rawValue))\n"
        }
        out += "\nGuardrail: "
        if let roc = report.guardrail.roc {
            out += "ROC AUC \(Format.fixed(roc.auc, 3)); at FPR ≤ \(pct(roc.targetFPR)) block risk ≥ \(Format.fixed(roc.chosen?.threshold, 3))"
            out += " (TPR \(pct(roc.chosen?.truePositiveRate)), FPR \(pct(roc.chosen?.falsePositiveRate)))\n"
        } else {
            out += MonitoringReport.Guardrail.unavailable + "\n"
        }
        if !report.rounds.isEmpty {
            out += "\nRounds\n" + Format.table(header: ["round", "items", "safety", "Δ", "helpfulness", "Δ"], rows: report.rounds.map { r in
                [Sanitize.inline(r.name), String(r.items), pct(r.safety), r.safetyChange.map { Format.fixed($0 * 100, 1) + " pt" } ?? "-",
                 Format.fixed(r.helpfulness, 2), Format.fixed(r.helpfulnessChange, 2)]
            }, rightAligned: [1, 2, 3, 4, 5])
        }
        let budget = report.budget
        out += "\nBudget: \(budget.spent) spent" + (budget.left.map { ", \($0) left" } ?? "")
        out += budget.burnPerDay.map { ", \(Format.fixed($0, 1)) items/day" } ?? ""
        out += budget.medianSecondsPerItem.map { ", median \(Format.fixed($0, 0)) s per item" } ?? ""
        out += "\n"
        if let width = budget.attackSuccessWidth {
            out += "Attack success interval width \(Format.fixed(width, 3)); \(budget.attackSuccessItemsForTargetWidth ?? 0) more reviewed items reach \(Format.fixed(budget.targetWidth, 3)).\n"
        }
        if let width = budget.agreementWidth {
            out += "Fleiss' kappa interval width \(Format.fixed(width, 3)); \(budget.agreementItemsForTargetWidth ?? 0) more items reach \(Format.fixed(budget.targetWidth, 3)).\n"
        }
        let weeks = report.agreementByWeek
        if !weeks.isEmpty {
            out += "\nAgreement (Krippendorff's alpha) by week: " + sparkline(weeks.map(\.alpha)) + "  "
            out += weeks.map { "\($0.week) \(Format.fixed($0.alpha, 2))" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    static func sparkline(_ values: [Double?]) -> String {
        let blocks = Array("▁▂▃▄▅▆▇█")
        return String(values.map { value in value.map { blocks[Int((max(0, min(1, $0)) * 7).rounded())] } ?? " " })
    }
}

/// The HTML report: one self-contained XHTML page of inline SVG charts; no scripts, no network.
enum ReportHTML {
    typealias Point = (estimate: Double, low: Double, high: Double)

    /// The naive and the Hájek estimate of a rate, each with its interval.
    static func pair(_ r: MonitoringReport.Rate) -> [Point?] {
        [r.naive.map { ($0, r.naiveInterval?.low ?? $0, r.naiveInterval?.high ?? $0) },
         r.hajek.map { ($0.estimate, $0.interval.low, $0.interval.high) }]
    }

    static func page(_ report: MonitoringReport, generatedAt: Instant) -> String {
        var body = ""
        // Attack success by category: naive against Hájek.
        let rows = [("all", pair(report.attackSuccess))] + report.attackSuccessByCategory.map { ($0.name, pair($0.rate)) }
        body += SVGChart.intervals(title: "Attack success rate with 95% intervals", yLabel: "share of reviewed items", rows: rows, series: ["naive", "Hájek (selection-corrected)"])
        body += SVGChart.intervals(title: "Label prevalence with 95% intervals", yLabel: "share of labelled items", rows: report.labelPrevalence.map { ($0.name, pair($0.rate)) }, series: ["naive", "Hájek (selection-corrected)"])
        let roc = report.guardrail.roc
        let curve = roc?.curve ?? []
        body += SVGChart.line(title: "Guardrail ROC" + (roc.map { " (AUC \(Format.fixed($0.auc, 3)))" } ?? ""),
                              xLabel: "false-positive rate", yLabel: "true-positive rate",
                              series: [.init(name: "model risk", points: [(0, 0)] + curve.map { ($0.falsePositiveRate, $0.truePositiveRate) }),
                                       .init(name: "chance", points: [(0, 0), (1, 1)], dashed: true)], x: 0...1, y: 0...1)
        let byThreshold = curve.sorted { $0.threshold < $1.threshold }
        body += SVGChart.line(title: "Guardrail threshold trade-off", xLabel: "risk threshold (block at or above)", yLabel: "rate",
                              series: [.init(name: "blocks harmful (TPR)", points: byThreshold.map { ($0.threshold, $0.truePositiveRate) }),
                                       .init(name: "blocks benign (FPR)", points: byThreshold.map { ($0.threshold, $0.falsePositiveRate) })], x: 0...1, y: 0...1)
        let rounds = report.rounds
        body += SVGChart.line(title: "Feedback-loop rounds", xLabel: "round", yLabel: "safety rate, helpfulness / 5",
                              series: [.init(name: "safety", points: rounds.enumerated().compactMap { i, r in r.safety.map { (Double(i), $0) } }),
                                       .init(name: "helpfulness (÷ 5)", points: rounds.enumerated().compactMap { i, r in r.helpfulness.map { (Double(i), $0 / 5) } })],
                              x: 0...Double(max(1, rounds.count - 1)), y: 0...1, xTicks: rounds.indices.map(Double.init), xTickNames: rounds.map(\.name))
        let budget = report.budget
        let spent = Double(budget.spent), total = budget.budget.map(Double.init) ?? max(spent, 1)
        let perDay = budget.burnPerDay ?? 0
        let daysLeft = budget.daysLeft ?? 0
        let daysSoFar = perDay > 0 ? spent / perDay : 0
        body += SVGChart.line(title: "Label budget burn-down", xLabel: "days", yLabel: "items left in the budget",
                              series: [.init(name: "left so far", points: [(0, total), (daysSoFar, total - spent)]),
                                       .init(name: "at the current rate", points: [(daysSoFar, total - spent), (daysSoFar + daysLeft, 0)], dashed: true)],
                              x: 0...max(1, daysSoFar + daysLeft), y: 0...max(1, total))
        let weeks = report.agreementByWeek
        body += SVGChart.line(title: "Agreement over time", xLabel: "week", yLabel: "Krippendorff's alpha",
                              series: [.init(name: "alpha", points: weeks.enumerated().compactMap { i, w in w.alpha.map { (Double(i), max(0, $0)) } })],
                              x: 0...Double(max(1, weeks.count - 1)), y: 0...1, xTicks: weeks.indices.map(Double.init), xTickNames: weeks.map(\.week))
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head><meta charset="UTF-8"/><title>Docket monitoring report</title>
            <style>body{font-family:sans-serif;max-width:700px;margin:2em auto;color:#222}svg{display:block;margin:1.5em 0}@media print{svg{break-inside:avoid}}</style>
            </head>
            <body>
            <h1>Docket monitoring report</h1>
            <p>Generated \(generatedAt.iso8601). Intervals are 95%; the Hájek estimate weights each reviewed item by the inverse of the probability with which the queue selected it.</p>
            \(body)</body>
            </html>

            """
    }
}
