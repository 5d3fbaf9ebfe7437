import ArgumentParser
import DocketCore
import DocketStore
import Foundation

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
