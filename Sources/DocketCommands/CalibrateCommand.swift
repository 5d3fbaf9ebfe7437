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
        let store = try database.openForReading(for: .calibrate, in: context).store
        let definition = try store.taskDefinition().definition
        let policy = LabelPolicy(definition)
        // + 0: -0 is the bar 0, and reads so.
        let threshold = (bar ?? definition.calibration?.bar ?? 0.7) + 0
        try OptionBounds.number("--bar", threshold, 0...1, "a share")
        let data = try LabelData.load(store: store, kind: .label, level: .nominal, only: nil)
        let gold = try store.goldLabels()
        let adjudicated = try store.adjudicatedLabels()
        let mixed = try store.goldServed()
        let table = data.table
        let model = Aggregation.dawidSkene(table)
        var notes: [String] = []
        if let reason = model.reason, !data.reviewers.isEmpty { notes.append("DS skill is undefined: \(reason).") }
        var rows: [JSONValue] = []
        var lines: [[String]] = []
        for (r, name) in data.reviewers.enumerated() {
            var labels = 0, shared = 0, goldTotal = 0, goldCorrect = 0, leadTotal = 0, leadCorrect = 0
            var pair = RatingTable(items: table.items, raters: 2, categories: table.categories)
            for i in 0..<table.items {
                guard let value = table[i, r] else { continue }
                labels += 1
                if (0..<table.raters).contains(where: { $0 != r && table[i, $0] != nil }) { shared += 1 }
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
            let others = (0..<table.raters).filter { o in o != r && (0..<table.items).contains { table[$0, o] != nil } }.count
            let kappa = Calibration.kappaVsOthers(Agreement.cohensKappa(pair), others: others)
            let skill = Calibration.skill(model, reviewer: r, shared: shared)
            let dsSkill = skill.value
            if let reason = kappa.reason { notes.append("\(Sanitize.inline(name)): κ vs others is undefined: \(reason).") }
            if model.reason == nil, let reason = skill.reason { notes.append("\(Sanitize.inline(name)): DS skill is undefined: \(reason).") }
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
            object.set("dawid_skene_skill_reason", skill.reason)
            object.set("shared_items", shared)
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
            header: ["reviewer", "labels", "gold", "accuracy", "95% CI", "vs adjudicated", "κ vs others", "DS skill", "flag"], rows: lines, rightAligned: [1, 2, 3, 6, 7])
            + notes.map { $0 + "\n" }.joined())
    }
}
