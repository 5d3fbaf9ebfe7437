import ArgumentParser
import DocketCore
import DocketStore
import Foundation

struct DriftCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Label distribution and agreement per time window or rubric version, with shift tests.",
        discussion: """
            Groups labels by the time they were given (--window day, week or month) or by rubric version (--by rubric). For each group: labels, the share of each label, and Krippendorff's alpha at the project's level. Between consecutive groups: a test of homogeneity of the label distributions (Pearson's chi-square when every expected count is at least 5, else Fisher's exact test, Freeman–Halton for more than two labels) and the population stability index (PSI). A shift is flagged when p < --alpha or PSI > --psi, and only when both groups have at least 10 labels; below that the flag is undefined, with the reason.

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
        let store = try database.openForReading(for: .drift, in: context).store
        let settings = try store.projectSettings()
        let level = settings.level == .interval || settings.level == .ratio ? MeasurementLevel.ordinal : settings.level
        let data = try LabelData.load(store: store, kind: .label, level: level, only: nil)
        let raters = data.table.raters
        func key(_ cell: Int) -> String? {
            if by == "rubric" { return "rubric " + RubricGroups.name(data.rubrics[cell]) }
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
        let given = (0..<(data.table.items * raters)).filter { !data.table.values[$0].isNaN }
        for cell in given {
            if let k = key(cell) { groups[k, default: []].append(cell) }
        }
        // By rubric: the versions in order, then labels without one (the core's one rule). That
        // group has no place in the order of versions, so it is not tested against its neighbour.
        let unversioned = "rubric " + RubricGroups.name(nil)
        let names = by == "rubric"
            ? RubricGroups.versions(of: given.lazy.map { data.rubrics[$0] }).map { "rubric " + RubricGroups.name($0) }
            : groups.keys.sorted()
        var previous: [Double]?
        var rows: [JSONValue] = []
        var lines: [[String]] = []
        var notes: [String] = []
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
            var comparison: DriftComparison?
            let compared = !(by == "rubric" && name == unversioned)
            if let previous, compared {
                comparison = DriftComparison.compare(reference: previous, current: counts, alpha: alpha, psiLimit: psi)
            }
            object.set("test", comparison?.test?.rawValue)
            object.set("chi_square", comparison?.statistic)
            object.set("df", comparison?.df)
            object.set("p_value", comparison?.p)
            object.set("psi", comparison?.psi)
            // false: no shift (or nothing to compare with); null: too few labels to call one.
            object.set("shift", comparison == nil ? .bool(false) : (comparison?.shift.map { JSONValue.bool($0) } ?? .null))
            object.set("shift_reason", comparison?.reason)
            if !compared { object.set("comparison_reason", "labels without a rubric version have no place in the order of versions") }
            rows.append(object.value)
            var line: [String] = [name, Format.count(Int(total))]
            for count in counts { line.append(Format.percent(count / total)) }
            line.append(agreement.value.map { Format.fixed($0, 3) } ?? "-")
            line.append(comparison?.p.map { Format.fixed($0, 4) } ?? "-")
            line.append(comparison?.test.map { $0 == .chiSquare ? "χ²" : ($0 == .fisherExact ? "exact" : "exact (MC)") } ?? "-")
            line.append(comparison?.psi.map { Format.fixed($0, 3) } ?? "-")
            line.append(comparison.map { $0.shift == nil ? "too few" : ($0.shift! ? "shift" : "") } ?? "")
            if let reason = comparison?.reason { notes.append("\(name): \(reason).") }
            lines.append(line)
            if compared { previous = counts }
        }
        if json {
            context.console.write(JSONValue.array(rows).encoded() + "\n")
            return
        }
        guard !lines.isEmpty else {
            return context.console.write("No labels yet.\n")
        }
        let header = [by == "rubric" ? "rubric" : window, "labels"] + data.categoryNames.map(Sanitize.inline) + ["alpha", "p", "test", "PSI", "flag"]
        context.console.write("Label distribution by \(by == "rubric" ? "rubric version" : window); shifts flagged at p < \(JSONText.number(alpha)) or PSI > \(JSONText.number(psi)), from \(DriftComparison.minimumLabels) labels in each group.\n"
            + Format.table(header: header, rows: lines, rightAligned: Set(1..<(header.count - 1)).subtracting([header.count - 3]))
            + "Test: χ², Pearson's chi-square; exact, Fisher's exact test (any expected count below \(Int(DriftComparison.smallExpected))); exact (MC), its Monte Carlo estimate.\n"
            + notes.map { Format.hangingWrap(Sanitize.inline($0), width: context.console.width) + "\n" }.joined())
    }
}
