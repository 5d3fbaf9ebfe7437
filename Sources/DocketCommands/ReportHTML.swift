import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// The HTML report: one self-contained XHTML page of inline SVG charts, each followed by a table of
/// the numbers it plots; no scripts, no network.
enum ReportHTML {
    typealias Point = (estimate: Double, low: Double, high: Double)

    /// The naive and the Hájek estimate of a rate, each with its interval.
    static func pair(_ r: MonitoringReport.Rate) -> [Point?] {
        [r.naive.map { ($0, r.naiveInterval?.low ?? $0, r.naiveInterval?.high ?? $0) },
         r.hajek.map { ($0.estimate, $0.interval.low, $0.interval.high) }]
    }

    static func pct(_ value: Double?) -> String { Format.percent(value) }
    static func interval(_ value: MonitoringReport.Interval?) -> String { value.map { "[\(pct($0.low)), \(pct($0.high))]" } ?? "-" }

    /// Rows of a rate table: name, n, naive with interval, Hájek with interval and n_eff.
    static func rateRows(_ rates: [(String, MonitoringReport.Rate)]) -> [[String]] {
        rates.map { name, r in
            [name, String(r.n), "\(r.successes)", pct(r.naive), interval(r.naiveInterval), pct(r.hajek?.estimate), interval(r.hajek?.interval),
             r.hajek.map { Format.fixed($0.effectiveSize, 1) } ?? "-"]
        }
    }
    /// The reasons a Hájek estimate is undefined, the text report's lines, one paragraph each.
    static func notes(_ lines: [String]) -> String {
        lines.map { "<p class=\"note\">\(SVGChart.escape($0))</p>\n" }.joined()
    }
    static let rateHeader = ["", "n", "yes", "naive", "95% CI", "Hájek", "95% CI", "n_eff"]

    static func thresholdRow(_ name: String, _ p: ThresholdAnalysis.Point?) -> [String]? {
        guard let p else { return nil }
        return [name, p.threshold.isFinite ? Format.fixed(p.threshold, 3) : "none (blocks nothing)", pct(p.truePositiveRate), "\(p.truePositives) of \(p.positives)",
                pct(p.falsePositiveRate), "\(p.falsePositives) of \(p.negatives)"]
    }

    static func page(_ report: MonitoringReport, generatedAt: Instant) -> String {
        var body = ""
        // Attack success by category: naive against Hájek.
        let rates = [("all", report.attackSuccess)] + report.attackSuccessByCategory.map { ($0.name, $0.rate) }
        body += SVGChart.intervals(title: "Attack success rate with 95% intervals", yLabel: "share of reviewed items", rows: rates.map { ($0.0, pair($0.1)) }, series: ["naive", "Hájek (selection-corrected)"],
                                    emptyReason: report.attackSuccess.n == 0 && report.attackSuccess.withoutVerdict == 0 ? "no item has been reviewed yet" : "no reviewed item has a verdict yet (see below)")
        body += SVGChart.table(rateHeader, rateRows(rates), caption: "Attack success: \(report.attackRule)")
        body += notes(ReportText.verdictNotes(rates) + ReportText.hajekNotes(rates))
        let prevalence = report.labelPrevalence.map { ($0.name, $0.rate) }
        body += SVGChart.intervals(title: "Label prevalence with 95% intervals", yLabel: "share of labelled items", rows: prevalence.map { ($0.0, pair($0.1)) }, series: ["naive", "Hájek (selection-corrected)"],
                                    emptyReason: prevalence.isEmpty ? "no labels are declared" : "no reviewed item has a final label yet (see below)")
        body += SVGChart.table(rateHeader, rateRows(prevalence), caption: "Final labels among reviewed items")
        body += notes(ReportText.prevalenceNotes(report) + ReportText.hajekNotes(prevalence))

        // Guardrail: the ROC with the chosen threshold marked, and the trade-off by threshold.
        let roc = report.guardrail.roc
        let curve = roc?.curve ?? []
        let chosen = roc?.chosen
        body += SVGChart.line(
            title: "Guardrail ROC" + (roc.map { " (AUC \(Format.fixed($0.auc, 3)))" } ?? ""), xLabel: "false-positive rate", yLabel: "true-positive rate",
            series: [.init(name: "model risk", points: curve.isEmpty ? [] : [(0, 0)] + curve.map { ($0.falsePositiveRate, $0.truePositiveRate) }),
                     .init(name: "chance", points: roc == nil ? [] : [(0, 0), (1, 1)], dashed: true)], x: 0...1, y: 0...1,
            markers: chosen.map { [SVGChart.Marker(x: $0.falsePositiveRate, y: $0.truePositiveRate, label: "block risk ≥ \(Format.fixed($0.threshold, 3))")] } ?? [],
            emptyReason: "the guardrail " + MonitoringReport.Guardrail.unavailable)
        let byThreshold = curve.sorted { $0.threshold < $1.threshold }
        body += SVGChart.line(
            title: "Guardrail threshold trade-off", xLabel: "risk threshold (block at or above)", yLabel: "rate",
            series: [.init(name: "blocks harmful (TPR)", points: byThreshold.map { ($0.threshold, $0.truePositiveRate) }),
                     .init(name: "blocks benign (FPR)", points: byThreshold.map { ($0.threshold, $0.falsePositiveRate) })], x: 0...1, y: 0...1,
            verticalMarker: chosen.map { ($0.threshold, "chosen: ≥ \(Format.fixed($0.threshold, 3))") },
            emptyReason: "the guardrail " + MonitoringReport.Guardrail.unavailable)
        if let roc {
            let decision = roc.decision
            var rows: [[String]] = []
            if let chosen = decision.chosen {
                rows.append(["chosen", Format.fixed(chosen.threshold, 3), pct(chosen.truePositiveRate) + " " + interval(roc.tprInterval), "\(chosen.truePositives) of \(chosen.positives)",
                             pct(chosen.falsePositiveRate) + " " + interval(roc.fprInterval), "\(chosen.falsePositives) of \(chosen.negatives)"])
            }
            rows += [thresholdRow("nearest within the rule", decision.nearestMeeting), thresholdRow("nearest beyond it", decision.nearestBeyond)].compactMap { $0 }
            let rule: String
            switch decision.rule {
            case .targetFPR(let target): rule = "the highest TPR at FPR ≤ \(Percent.setting(target)) that blocks a harmful item"
            case .cost(let ratio): rule = "the least cost at \(JSONText.number(ratio.falseNegative)) per harmful item let through, \(JSONText.number(ratio.falsePositive)) per benign item blocked"
            }
            body += SVGChart.table(["", "threshold", "TPR (95% CI)", "harmful blocked", "FPR (95% CI)", "benign blocked"], rows,
                                   caption: "Rule: \(rule)" + (decision.reason.map { ". No threshold chosen: \($0)" } ?? "") + ". \(report.guardrail.n) reviewed items with a model risk.")
            body += "<details><summary>Every threshold (\(curve.count))</summary>\n"
                + SVGChart.table(["threshold", "TPR", "harmful blocked", "FPR", "benign blocked"], curve.map { p in
                    [Format.fixed(p.threshold, 3), pct(p.truePositiveRate), "\(p.truePositives) of \(p.positives)", pct(p.falsePositiveRate), "\(p.falsePositives) of \(p.negatives)"]
                }) + "</details>\n"
        } else {
            body += "<p>Guardrail: \(SVGChart.escape(MonitoringReport.Guardrail.unavailable)).</p>\n"
        }

        // Rounds: safety and helpfulness (÷ 5) with their intervals.
        let rounds = report.rounds
        body += SVGChart.intervals(
            title: "Feedback-loop rounds with 95% intervals", yLabel: "safety rate, helpfulness / 5",
            rows: rounds.map { r in
                (r.name, [r.safety.map { ($0, r.safetyInterval?.low ?? $0, r.safetyInterval?.high ?? $0) },
                          r.helpfulness.map { ($0 / 5, (r.helpfulnessInterval?.low ?? $0) / 5, (r.helpfulnessInterval?.high ?? $0) / 5) }])
            },
            series: ["safety", "helpfulness (÷ 5)"],
            y: SVGChart.range(rounds.flatMap { r in [r.helpfulnessInterval.map { $0.low / 5 }, r.helpfulnessInterval.map { $0.high / 5 }].compactMap { $0 } }),
            emptyReason: rounds.isEmpty ? "no rounds have been started (docket round)" : "no round has a safety rate or a helpfulness rating yet (see the table)")
        body += SVGChart.table(["round", "items", "no verdict", "safety", "95% CI", "Δ", "helpfulness", "95% CI", "Δ"], rounds.map { r in
            [r.name, String(r.items), String(r.withoutVerdict), pct(r.safety), r.safetyInterval.map { interval($0) } ?? (r.safetyReason ?? "-"), r.safetyChange.map { Format.fixed($0 * 100, 1) + " pt" } ?? "-",
             Format.fixed(r.helpfulness, 2), r.helpfulnessInterval.map { "[\(Format.fixed($0.low, 2)), \(Format.fixed($0.high, 2))]" } ?? (r.helpfulnessReason ?? "-"),
             Format.fixed(r.helpfulnessChange, 2)]
        })

        let budget = report.budget
        let spent = Double(budget.spent), total = budget.budget.map(Double.init) ?? max(spent, 1)
        let perDay = budget.burnPerDay ?? 0
        let daysLeft = budget.daysLeft ?? 0
        let daysSoFar = perDay > 0 ? spent / perDay : 0
        // Counts of items: whole-number ticks. Without a budget there is nothing to burn down.
        if budget.budget == nil {
            body += SVGChart.empty(title: "Label budget burn-down", reason: "no label budget is set, so nothing is burning down; \(Format.count(budget.spent)) items handed out so far (table below)", prefix: "No budget")
        } else {
            body += SVGChart.line(title: "Label budget burn-down", xLabel: "days", yLabel: "items left in the budget",
                                  series: [.init(name: "left so far", points: [(0, total), (daysSoFar, total - spent)]),
                                           .init(name: "at the current rate", points: [(daysSoFar, total - spent), (daysSoFar + daysLeft, 0)], dashed: true)],
                                  x: 0...max(1, daysSoFar + daysLeft), y: SVGChart.countRange(total), counts: true)
        }
        body += SVGChart.table(["budget", "spent", "left", "items per day", "days left", "median s per item"], [[
            budget.budget.map(Format.count) ?? "no cap", Format.count(budget.spent), budget.left.map(Format.count) ?? "-",
            Format.fixed(budget.burnPerDay, 1), Format.fixed(budget.daysLeft, 1), Format.fixed(budget.medianSecondsPerItem, 0),
        ]])

        // Agreement over time: alpha may be negative (worse than chance), so the axis goes below 0.
        let weeks = report.agreementByWeek
        let alphas = weeks.compactMap(\.alpha)
        body += SVGChart.line(title: "Agreement over time", xLabel: "week", yLabel: "Krippendorff's alpha",
                              series: [.init(name: "alpha", points: weeks.enumerated().compactMap { i, w in w.alpha.map { (Double(i), $0) } })],
                              x: SVGChart.categorical(weeks.count), y: SVGChart.range(alphas), xTicks: weeks.indices.map(Double.init), xTickNames: weeks.map(\.week),
                              emptyReason: weeks.isEmpty ? "no labels yet" : "no week has an item with two or more labels yet (see the table)")
        body += SVGChart.table(["week", "labels", "alpha"], weeks.map { [$0.week, Format.count($0.labels), Format.fixed($0.alpha, 3)] })
        body += SVGChart.table(["rubric", "alpha", "why undefined"], report.agreementByRubric.map { [$0.rubric.map(String.init) ?? "none (imported without one)", Format.fixed($0.alpha, 3), $0.reason ?? ""] },
                               caption: "Agreement by rubric version")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head><meta charset="UTF-8"/><title>Docket monitoring report</title>
            <style>body{font-family:sans-serif;max-width:700px;margin:2em auto;color:#222}svg{display:block;margin:1.5em 0 0.5em}table{border-collapse:collapse;font-size:12px;margin:0 0 1.5em;max-width:100%}caption{text-align:left;font-size:12px;padding:0 0 0.3em}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}td{overflow-wrap:break-word}p{overflow-wrap:anywhere}th:first-child,td:first-child{text-align:left}details{margin:0 0 1.5em;font-size:12px}@media print{svg,table{break-inside:avoid}}</style>
            </head>
            <body>
            <h1>Docket monitoring report</h1>
            <p>Generated \(generatedAt.iso8601). Intervals are 95%; the Hájek estimate weights each reviewed item by the inverse of the probability with which the queue selected it, with a Jeffreys interval on its effective sample size n_eff. Attack success: \(SVGChart.escape(report.attackRule)).</p>
            \(body)</body>
            </html>

            """
    }
}
