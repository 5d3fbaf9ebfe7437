import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct AggregateCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "A final label per item from reviewers' labels: majority vote or Dawid–Skene.",
        discussion: """
            majority: the most frequent current label and its vote share. dawid-skene: EM from majority-vote fractions until no posterior changes by more than --tolerance (or --max-iterations), with each reviewer's estimated confusion matrix and the class priors; each item's label and posterior come from the fitted parameters, exactly as show and export compute them from a model saved with --save for items with two or more labels (an item with one label has that label as its final label). A tie (two labels with the most votes, or two classes of equal posterior) is what the ties setting in docket.yaml makes of it: escalate gives no label, severe the label declared later, declared-order the one declared first. Lead decisions are not part of the aggregate (see show and export for final labels).

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
        let store = try save ? database.open(for: .saveModel, in: context).store : database.openForReading(for: .aggregate, in: context).store
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
        if let reason = result.reason {
            // Nothing to fit: say so (and save nothing), never priors of NaN.
            if save { context.console.writeError("No model was saved: Dawid–Skene is undefined: \(reason).\n") }
            if json {
                return context.console.write(JSONValue.object([
                    ("method", .string("dawid-skene")), ("ties", .string(policy.ties.rawValue)), ("iterations", .number(0)),
                    ("converged", .null), ("priors", .null), ("reason", .string(reason)), ("items", .array([])),
                ]).encoded() + "\n")
            }
            return context.console.write("Dawid–Skene is undefined: \(reason).\n")
        }
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
                (name, .object(names.enumerated().map { t, truth in
                    (truth, result.rowReason(reviewer: r, truth: t) != nil ? .null : .object(names.enumerated().map { ($1, .number(result.confusion[r][t][$0])) }))
                }))
            }))
            // Why a row is null: the reviewer's labelled items carry too little weight of that true class.
            object.set("confusion_reason", .object(data.reviewers.enumerated().compactMap { r, name in
                let reasons = names.enumerated().compactMap { t, truth in result.rowReason(reviewer: r, truth: t).map { (truth, JSONValue.string($0)) } }
                return reasons.isEmpty ? nil : (name, .object(reasons))
            }))
            object.set("items", .array(data.itemIDs.indices.compactMap { i in
                guard let final = finals[i], let posterior = posteriors[i] else { return nil }
                return item(i, final, ("posterior", .number(posterior.top)))
            }))
            context.console.write(object.value.encoded() + "\n")
            return
        }
        var out = "Dawid–Skene: \(result.converged ? "converged" : "stopped without converging") after \(result.iterations) \(result.iterations == 1 ? "iteration" : "iterations").\n"
        out += "priors: " + names.enumerated().map { "\($1) \(Format.fixed(result.priors[$0], 3))" }.joined(separator: ", ") + "\n\n"
        for (r, name) in data.reviewers.enumerated() {
            out += "\(Sanitize.inline(name)) (rows: true label; columns: given)\n"
            let reasons = names.indices.map { result.rowReason(reviewer: r, truth: $0) }
            out += Format.table(header: [""] + names, rows: names.enumerated().map { t, truth in
                [truth] + names.indices.map { reasons[t] == nil ? Format.fixed(result.confusion[r][t][$0], 3) : "-" }
            }, rightAligned: Set(1...names.count))
            for (t, reason) in reasons.enumerated() { if let reason { out += "\(Sanitize.inline(names[t])): undefined: \(reason).\n" } }
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
