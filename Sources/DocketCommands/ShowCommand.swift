import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Renders an item report for leads (`adjudicate`, `show`) or, blind, for its reviewer.
enum ItemReportView {
    static func text(_ report: ItemReport, width: Int, leadView: Bool, viewer: String?) -> String {
        let width = max(40, min(width, 100))
        var out = "── \(Sanitize.inline(report.id))" + (report.category.map { " · \(Sanitize.inline($0))" } ?? "") + " "
        out += String(repeating: "─", count: max(3, width - out.count)) + "\n"
        if let prompt = report.prompt { out += "Prompt\n" + TextWrap.wrap(Sanitize.block(prompt), width: width, indent: "  ").joined(separator: "\n") + "\n" }
        for (letter, text) in report.content.lettered {
            out += report.content.heading(letter) + "\n"
            out += TextWrap.wrap(Sanitize.block(text), width: width, indent: "  ").joined(separator: "\n") + "\n"
        }
        // Current feedback and the answers it superseded, in the order given; superseded ones are marked.
        let rows = (report.feedback.map { ($0.reviewer, $0.feedback, false) } + report.superseded.map { ($0.reviewer, $0.feedback, true) })
            .filter { leadView || $0.0 == viewer }.sorted { $0.1.id < $1.1.id }
        out += leadView ? "Feedback\n" : "Your feedback\n"
        if rows.isEmpty { out += "  (none)\n" }
        for (reviewer, stored, superseded) in rows {
            var line = "  \(Sanitize.inline(reviewer)): \(Sanitize.inline(stored.draft.summary))"
            if let text = stored.draft.text { line += " — " + Sanitize.inline(String(text.prefix(120))) }
            if superseded { line += " (superseded)" }
            out += line + "\n"
        }
        guard leadView else { return out }
        let total = report.labels.votes.total
        if total > 0 {
            out += "Votes: " + report.labelCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\(Sanitize.inline($0.key)) \($0.value)/\(total)" }.joined(separator: ", ") + "\n"
        }
        if let posterior = report.posterior { out += "Dawid–Skene posterior of the most likely label: \(Format.fixed(posterior, 3))\n" }
        if let gold = report.gold { out += "Gold: \(Sanitize.inline(gold))\n" }
        if let risk = report.risk { out += "Model risk: \(Format.fixed(risk, 3))\n" }
        if let triage = report.triage { out += "Triage severity: \(triage)\n" }
        for escalation in report.escalations {
            out += "Escalation (\(escalation.status)): \(Sanitize.inline(escalation.tier)), severity \(escalation.severity), rule \(escalation.rule): \(Sanitize.inline(escalation.reason))\n"
        }
        for decision in report.decisions {
            out += Format.hangingWrap("Decision by \(Sanitize.inline(decision.lead)) at \(decision.createdAt.iso8601): \(decision.kind)" + (decision.value.map { " \(Sanitize.inline($0))" } ?? "")
                + " — \(Sanitize.inline(decision.rationale))" + (decision.supersedes != nil ? " (revises the one before)" : ""), width: width) + "\n"
        }
        out += "Final label: " + Sanitize.inline(LabelRules.describe(report.labels.final)) + "\n"
        if let rating = report.finalRating {
            out += "Final rating: " + (report.finalRatingSource == "adjudicated" ? "\(JSONText.number(rating)) (adjudicated)" : "\(Format.fixed(rating, 2)) (mean)") + "\n"
        }
        return out
    }
}

struct ShowCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show an item, its feedback and its final label with where it came from.",
        discussion: """
            A lead or an admin sees every reviewer's feedback with names, the votes, the Dawid–Skene posterior, gold, escalations, every decision and the final label: adjudicated (the latest lead decision), else single (one current label), else the aggregate named by final_label in docket.yaml; a tie is what the ties setting makes of it (escalate: no final label until a lead decides). A reviewer sees only their own feedback.

            Example: docket show item-00042 --as lee
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The item's id.", valueName: "item")) var item: String
    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this reviewer: only an admin may name someone else (default: the reviewer bound to your login).", valueName: "name")) var viewer: String?
    @Flag(help: "Print one JSON object (lead view only).") var json = false

    func run(in context: CommandContext) throws {
        let (store, actor) = try database.openForReading(for: .show, as: viewer, in: context)
        let reviewer = (name: actor.name, role: actor.role)
        let lead = actor.visibility == .everyone
        let report = try store.itemReport(id: item)
        if json {
            guard lead else {
                // A reviewer's JSON holds what the text view shows them: their own feedback only.
                var object = JSONObjectWriter()
                object.set("item", report.id)
                object.set("feedback", .array(report.feedback.filter { $0.reviewer == reviewer.name }.map { .string($0.feedback.draft.summary) }))
                object.set("superseded", .array(report.superseded.filter { $0.reviewer == reviewer.name }.map { .string($0.feedback.draft.summary) }))
                context.console.write(object.value.encoded() + "\n")
                return
            }
            var object = JSONObjectWriter()
            object.set("item", report.id)
            object.set("final_label", report.finalLabel)
            object.set("final_source", report.finalSource)
            object.set("final_rating", report.finalRating)
            object.set("final_rating_source", report.finalRatingSource)
            object.set("tie", .bool(report.labels.final.isTie))
            object.set("votes", .object(report.labelCounts.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) }))
            object.set("reviewer_labels", .array(report.labels.current.map { .object([("reviewer", .string($0.reviewer)), ("label", .string($0.value))]) }))
            object.set("posterior", report.posterior)
            object.set("gold", report.gold)
            object.set("feedback", .array(report.feedback.map { .object([("reviewer", .string($0.reviewer)), ("summary", .string($0.feedback.draft.summary))]) }))
            object.set("superseded", .array(report.superseded.map {
                .object([("reviewer", .string($0.reviewer)), ("summary", .string($0.feedback.draft.summary)), ("by", .number(Double($0.by)))])
            }))
            object.set("escalations", .array(report.escalations.map { .object([("tier", .string($0.tier)), ("status", .string($0.status)), ("reason", .string($0.reason))]) }))
            object.set("decisions", .array(report.decisions.map { .object([("lead", .string($0.lead)), ("kind", .string($0.kind)), ("value", $0.value.map { .string($0) } ?? .null), ("rationale", .string($0.rationale))]) }))
            context.console.write(object.value.encoded() + "\n")
            return
        }
        context.console.write(ItemReportView.text(report, width: context.console.width, leadView: lead, viewer: reviewer.name))
    }
}
