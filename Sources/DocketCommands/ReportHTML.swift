import ArgumentParser
import DocketCore
import DocketStore
import Foundation

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
