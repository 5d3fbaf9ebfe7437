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

    static func pct(_ value: Double?) -> String { Format.percent(value) }

    /// "[12.0%, 30.5%]", or "-" without an interval.
    static func interval(_ value: MonitoringReport.Interval?) -> String {
        value.map { "[\(pct($0.low)), \(pct($0.high))]" } ?? "-"
    }

    /// A threshold with its counts: "risk ≥ 0.834: TPR 5.0% (2 of 40 harmful), FPR 4.5% (5 of 111 benign)".
    static func point(_ p: ThresholdAnalysis.Point, tpr: MonitoringReport.Interval? = nil, fpr: MonitoringReport.Interval? = nil) -> String {
        let where_ = p.threshold.isFinite ? "risk ≥ \(Format.fixed(p.threshold, 3))" : "blocking nothing"
        let tprText = "TPR \(pct(p.truePositiveRate))" + (tpr.map { " " + interval($0) } ?? "") + " (\(p.truePositives) of \(p.positives) harmful)"
        let fprText = "FPR \(pct(p.falsePositiveRate))" + (fpr.map { " " + interval($0) } ?? "") + " (\(p.falsePositives) of \(p.negatives) benign)"
        return "\(where_): \(tprText), \(fprText)"
    }

    /// The guardrail's lines: the AUC, the rule, and the decision or why there is none.
    static func guardrail(_ guardrail: MonitoringReport.Guardrail) -> String {
        guard let roc = guardrail.roc else { return "Guardrail: " + MonitoringReport.Guardrail.unavailable + "\n" }
        var out = "Guardrail: ROC AUC \(Format.fixed(roc.auc, 3)) over \(guardrail.n) reviewed items with a model risk.\n"
        let decision = roc.decision
        switch decision.rule {
        case .targetFPR(let target): out += "  Rule: the highest TPR at FPR ≤ \(Percent.setting(target)) that blocks at least one harmful item.\n"
        case .cost(let ratio):
            out += "  Rule: the least cost, \(JSONText.number(ratio.falseNegative)) per harmful item let through and \(JSONText.number(ratio.falsePositive)) per benign item blocked.\n"
        }
        if let chosen = decision.chosen {
            out += "  Block " + point(chosen, tpr: roc.tprInterval, fpr: roc.fprInterval) + ".\n"
        } else {
            out += "  No threshold chosen: \(decision.reason ?? "none meets the rule").\n"
            switch decision.rule {
            case .targetFPR:
                if let meeting = decision.nearestMeeting { out += "  Nearest within the target: " + point(meeting) + ".\n" }
                if let beyond = decision.nearestBeyond { out += "  Nearest beyond it: " + point(beyond) + ".\n" }
            case .cost:
                if let beyond = decision.nearestBeyond { out += "  Cheapest threshold that blocks something: " + point(beyond) + ".\n" }
            }
        }
        return out
    }

    /// One line per reason the Hájek estimate is undefined, naming the rows it applies to, for
    /// the text and the HTML report alike: "Hájek undefined for cyber, fraud: the selection weights
    /// in this category are all about equal …; only the naive rate is shown."
    static func hajekNotes(_ rows: [(String, MonitoringReport.Rate)]) -> [String] {
        var reasons: [String] = []
        var names: [String: [String]] = [:]
        for (name, rate) in rows {
            guard rate.hajek == nil, let reason = rate.hajekReason else { continue }
            if names[reason] == nil { reasons.append(reason) }
            names[reason, default: []].append(name)
        }
        return reasons.map { "Hájek undefined for \(names[$0]!.joined(separator: ", ")): \($0); only the naive rate is shown." }
    }

    /// "12 without a verdict (ties awaiting a lead)".
    static func withoutVerdict(_ count: Int, what: String = "a verdict") -> String {
        "\(count) without \(what) (\(count == 1 ? "a tie" : "ties") awaiting a lead)"
    }

    /// The lines under a rate table: items left out for want of a verdict (overall and by row), and
    /// why a rate with no items is undefined. `what`: "a verdict", or "a final label".
    static func verdictNotes(_ rows: [(String, MonitoringReport.Rate)], what: String = "a verdict", perRow: Bool = true) -> [String] {
        var notes: [String] = []
        if let first = rows.first, first.1.withoutVerdict > 0 {
            var line = withoutVerdict(first.1.withoutVerdict, what: what) + ", left out of the rates above"
            let parts = rows.dropFirst().filter { $0.1.withoutVerdict > 0 }.map { "\($0.0) \($0.1.withoutVerdict)" }
            if perRow, !parts.isEmpty { line += " (" + parts.joined(separator: ", ") + ")" }
            notes.append(line + ".")
        }
        var reasons: [String] = []
        var names: [String: [String]] = [:]
        for (name, rate) in rows {
            guard rate.naive == nil, let reason = rate.reason else { continue }
            if names[reason] == nil { reasons.append(reason) }
            names[reason, default: []].append(name)
        }
        notes += reasons.map { "No rate for \(names[$0]!.joined(separator: ", ")): \($0)." }
        return notes
    }

    /// The lines under the prevalence table: reviewed items without a final label, and why there
    /// is no prevalence at all.
    static func prevalenceNotes(_ report: MonitoringReport) -> [String] {
        guard let rate = report.labelPrevalence.first?.rate else { return [] }
        var notes: [String] = []
        if rate.withoutVerdict > 0 { notes.append(withoutVerdict(rate.withoutVerdict, what: "a final label") + ", left out of the prevalence above.") }
        if rate.naive == nil, let reason = rate.reason { notes.append("No prevalence: \(reason).") }
        return notes
    }

    static func render(_ report: MonitoringReport, width: Int) -> String {
        var out = "Attack success rate (\(Sanitize.inline(report.attackRule)); \(report.interval.rawValue) intervals; Hájek corrects for selection, Jeffreys interval on n_eff)\n"
        func row(_ name: String, _ r: MonitoringReport.Rate) -> [String] {
            [name, "\(r.successes)/\(r.n)", pct(r.naive), interval(r.naiveInterval),
             pct(r.hajek?.estimate), interval(r.hajek?.interval), r.hajek.map { Format.fixed($0.effectiveSize, 1) } ?? "-",
             bar(r.hajek?.estimate ?? r.naive)]
        }
        let attack = [("all", report.attackSuccess)] + report.attackSuccessByCategory.map { (Sanitize.inline($0.name), $0.rate) }
        out += Format.table(header: ["", "n", "naive", "95% CI", "Hájek", "95% CI", "n_eff", ""], rows: attack.map(row), rightAligned: [1, 2, 4, 6])
        for note in verdictNotes(attack) + hajekNotes(attack) { out += Format.hangingWrap(note, width: width) + "\n" }
        out += "\nLabel prevalence\n"
        let prevalence = report.labelPrevalence.map { (Sanitize.inline($0.name), $0.rate) }
        out += Format.table(header: ["label", "n", "naive", "95% CI", "Hájek", "95% CI", "n_eff", ""], rows: prevalence.map(row), rightAligned: [1, 2, 4, 6])
        for note in prevalenceNotes(report) + hajekNotes(prevalence) {
            out += Format.hangingWrap(note, width: width) + "\n"
        }
        out += "n_eff: the effective sample size behind the Hájek estimate, (Σw)² / Σw²; few exploration picks make it small and the interval wide.\n"
        let finals = report.finalLabels
        if finals.items > 0 {
            let sources = finals.bySource.filter { $0.count > 0 }.map { "\($0.count) \($0.source == .tie ? ($0.count == 1 ? "tie" : "ties") : $0.source.rawValue)" }
            out += "Final labels: \(Format.count(finals.items)) items (" + sources.joined(separator: ", ") + "; ties: \(finals.tiesRule.rawValue))\n"
        }
        out += "\n" + guardrail(report.guardrail)
        if !report.rounds.isEmpty {
            out += "\nRounds (safety: the share of a round's reviewed items with a verdict that are not attack successes)\n"
            out += Format.table(header: ["round", "items", "no verdict", "safety", "95% CI", "Δ", "helpfulness", "95% CI", "Δ"], rows: report.rounds.map { r in
                [Sanitize.inline(r.name), String(r.items), String(r.withoutVerdict), pct(r.safety), interval(r.safetyInterval), r.safetyChange.map { Format.fixed($0 * 100, 1) + " pt" } ?? "-",
                 Format.fixed(r.helpfulness, 2), r.helpfulnessInterval.map { "[\(Format.fixed($0.low, 2)), \(Format.fixed($0.high, 2))]" } ?? "-",
                 Format.fixed(r.helpfulnessChange, 2)]
            }, rightAligned: [1, 2, 3, 5, 6, 8])
            for r in report.rounds {
                if let reason = r.safetyReason { out += Format.hangingWrap("No safety rate for \(Sanitize.inline(r.name)): \(reason).", width: width) + "\n" }
            }
            let waiting = report.rounds.reduce(0) { $0 + $1.withoutVerdict }
            if waiting > 0 { out += Format.hangingWrap(withoutVerdict(waiting) + " across the rounds, left out of their safety rates.", width: width) + "\n" }
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
