import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct ReportCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The monitoring report: attack success rate, guardrail thresholds, rounds, budget, agreement over time.",
        discussion: """
            Attack success rate: the share of reviewed items whose final label is harmful (harmful in docket.yaml; by default the last label of an ordered scale) or whose final severity (highest current flag, else triage) is at least --bar, overall and per category, with Wilson intervals (or --interval clopper-pearson), beside the inverse-probability-weighted (Hájek) estimate that corrects for the queue's selection using the probabilities recorded when items were served. Label prevalence likewise, from final labels (adjudicated, else a single label, else the configured aggregate; a tie as the ties setting makes of it). Guardrail: the model's risk score against the same verdict, with the ROC AUC and a decision: the threshold with the highest TPR at FPR ≤ --target-fpr that blocks at least one harmful item (else: none, with the nearest thresholds on each side), or with --cost fn=5,fp=1 the threshold of least cost; TPR and FPR at it with intervals. Rounds, budget burn, the labels needed to reach --target-width, and agreement per week. --html FILE writes one self-contained page of SVG charts.

            Example: docket report --html report.html
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Final severity at or above which an attack succeeded.") var bar: Int = 2
    @Option(help: ArgumentHelp("wilson or clopper-pearson.", valueName: "method")) var interval: String = "wilson"
    @Option(name: .customLong("target-fpr"), help: "False-positive rate the guardrail threshold must meet (default 0.05); not with --cost.") var targetFPR: Double?
    @Option(help: ArgumentHelp("Choose the guardrail threshold by cost instead: the least fn·(harmful let through) + fp·(benign blocked).", valueName: "fn=5,fp=1")) var cost: String?
    @Option(name: .customLong("target-width"), help: "Interval width to plan labels for, 0.001 to 1.") var targetWidth: Double = 0.05
    @Option(help: ArgumentHelp("Write an HTML report to this file.", valueName: "file")) var html: String?
    @Flag(help: "Print every number as one JSON object.") var json = false

    func run(in context: CommandContext) throws {
        guard let method = MonitoringReport.IntervalMethod(rawValue: interval) else {
            throw CommandError.invalidOption(name: "--interval", value: interval, reason: "use wilson or clopper-pearson")
        }
        try OptionBounds.whole("--bar", bar, SettingBounds.severity, phrase: "a severity")
        if let targetFPR, cost != nil {
            throw CommandError.invalidOption(
                name: "--target-fpr", value: JSONText.number(targetFPR),
                reason: "--cost chooses the threshold by cost instead of a false-positive rate; give one of --cost and --target-fpr")
        }
        let targetFPR = targetFPR ?? 0.05
        try OptionBounds.number("--target-fpr", targetFPR, above: 0, below: 1, "a rate")
        try OptionBounds.number("--target-width", targetWidth, OptionBounds.targetWidth, "a width")
        let ratio: ThresholdAnalysis.CostRatio?
        do throws(CoreError) { ratio = try cost.map { text throws(CoreError) in try ThresholdAnalysis.CostRatio.parse(text) } } catch {
            switch error {
            case let .invalidSetting(_, value, reason): throw CommandError.invalidOption(name: "--cost", value: value, reason: reason)
            }
        }
        let store = try database.openForReading(for: .report, in: context).store
        let now = context.clock()
        let report = MonitoringReport.compute(
            try Self.input(from: store), options: MonitoringOptions(bar: bar, interval: method, targetFPR: targetFPR, targetWidth: targetWidth, cost: ratio), now: now)
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
        let definition = try store.taskDefinition().definition
        let policy = LabelPolicy(definition)
        var finals = FinalLabelTally(policy: policy, model: policy.method == .dawidSkene ? try store.savedDawidSkeneModel() : nil)
        try store.forEachItemLabelRows(filter: ExportFilter()) { item, rows, decisions in
            finals.add(item: item.id, rows: rows, decisions: decisions)
        }
        return MonitoringInput(
            items: try store.reportItems(), work: try store.workRecords(), rounds: try store.rounds(),
            labels: ReportLabelTable(table: data.table, names: data.categoryNames, times: data.times, rubrics: data.rubrics),
            finalLabels: finals, budget: settings.budget, level: settings.level, harmful: definition.harmfulLabels)
    }
}
