import DocketCommandTestSupport
import DocketCore
import DocketStore
import DocketTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import DocketCommands

/// The report's three renderings (text, JSON, HTML) come from one typed value.
@Suite struct ReportRenderingTests {
    /// A value with three categories (one needing escapes in HTML), two labels, two rounds and two weeks.
    static func value() -> MonitoringReport {
        let t0 = Instant(milliseconds: 1_794_819_600_000)  // Monday 2026-11-16T09:00:00Z
        func at(days: Int64) -> Instant { Instant(milliseconds: t0.milliseconds + days * 86_400_000) }
        let categories = ["cyber", "fraud & <scams>", "self-harm"]
        let items = (0..<12).map { i in
            ReportItem(id: "i\(i)", category: categories[i % categories.count], risk: Double(i) / 12, propensity: i % 4 == 0 ? 0.5 : 1,
                       servedAt: at(days: Int64(i / 6)), importedAt: at(days: Int64(i / 6) * 4), severity: i % 4, meanRating: Double(1 + i % 5), reviews: 1)
        }
        var finals = FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"]))
        var table = RatingTable(items: 12, raters: 2, categories: 2)
        var times: [Int64?] = [], rubrics: [Int?] = []
        for (i, item) in items.enumerated() {
            let labels = [i % 3 == 0 ? "unsafe" : "safe", i % 2 == 0 ? "unsafe" : "safe"]
            finals.add(item: item.id, rows: labels.enumerated().map { LabelAnswer(id: Int64(2 * i + $0), reviewer: ["ana", "bo"][$0], value: $1, createdAt: t0) }, decisions: [])
            for (r, label) in labels.enumerated() {
                table[i, r] = label == "safe" ? 0 : 1
                times.append(at(days: Int64(i / 6) * 7).milliseconds)
                rubrics.append(1 + i / 6)
            }
        }
        let input = MonitoringInput(
            items: items, work: [WorkRecord(reviewer: "ana", closedAt: t0, seconds: 12)],
            rounds: [Round(id: 1, name: "r1", startedAt: t0, closedAt: at(days: 3)), Round(id: 2, name: "r2", startedAt: at(days: 3))],
            labels: ReportLabelTable(table: table, names: ["safe", "unsafe"], times: times, rubrics: rubrics),
            finalLabels: finals, budget: 40, level: .nominal)
        return MonitoringReport.compute(input, options: MonitoringOptions(), now: at(days: 10))
    }

    /// A value whose charts are crowded: twelve weeks of long labels, alpha below zero in some,
    /// five rounds, a zero estimate.
    static func crowdedValue(categories: [String] = ["cyber", "privacy", "self-harm"]) -> MonitoringReport {
        let t0 = Instant(milliseconds: 1_794_819_600_000)
        func at(days: Int64) -> Instant { Instant(milliseconds: t0.milliseconds + days * 86_400_000) }
        var items: [ReportItem] = []
        for i in 0..<48 {
            let severity: Int = i % 3 == 1 ? 0 : (i % 7 == 0 ? 3 : 0)
            let propensity: Double = i % 8 == 0 ? 0.01 : 0.9
            items.append(ReportItem(
                id: "i\(i)", category: categories[i % categories.count], risk: Double(i % 12) / 12, propensity: propensity, servedAt: at(days: Int64(i / 4)),
                importedAt: at(days: Int64(i / 10) * 7), severity: severity, meanRating: Double(1 + i % 5), reviews: 1))
        }
        var table = RatingTable(items: 48, raters: 2, categories: 2)
        var times: [Int64?] = [], rubrics: [Int?] = []
        for i in 0..<48 {
            // Weeks alternate between agreeing and systematically disagreeing (alpha below zero).
            let week = i / 4
            table[i, 0] = Double(i % 2)
            table[i, 1] = week % 2 == 0 ? Double(i % 2) : Double(1 - i % 2)
            for _ in 0..<2 { times.append(at(days: Int64(week) * 7).milliseconds); rubrics.append(week < 6 ? 1 : nil) }
        }
        let input = MonitoringInput(
            items: items, work: [WorkRecord(reviewer: "ana", closedAt: t0, seconds: 12)],
            rounds: (0..<5).map { Round(id: Int64($0), name: "model-2026-\(10 + $0)", startedAt: at(days: Int64($0) * 7), closedAt: at(days: Int64($0) * 7 + 7)) },
            labels: ReportLabelTable(table: table, names: ["safe", "unsafe"], times: times, rubrics: rubrics),
            finalLabels: FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"])), budget: 100, level: .nominal)
        return MonitoringReport.compute(input, options: MonitoringOptions(), now: at(days: 90))
    }

    /// The crowded value with ten categories, some with long names, one a single 90-character word.
    static func manyCategoriesValue() -> MonitoringReport {
        crowdedValue(categories: ["cyber", "hate", "privacy", "violence", "weapons", "self-harm", "fraud & <scams>", "violent-extremism-and-terrorism-content",
                                  "child-safety", String(repeating: "x", count: 90)])
    }

    /// A project with nothing reviewed, no rounds, no labels and no budget: every chart is empty.
    static func emptyValue() -> MonitoringReport {
        let input = MonitoringInput(
            items: [], work: [], rounds: [], labels: ReportLabelTable(table: RatingTable(items: 0, raters: 0, categories: 2), names: ["safe", "unsafe"], times: [], rubrics: []),
            finalLabels: FinalLabelTally(policy: LabelPolicy(declared: ["safe", "unsafe"])), budget: nil, level: .nominal)
        return MonitoringReport.compute(input, options: MonitoringOptions(), now: Instant(milliseconds: 1_794_819_600_000))
    }

    /// Negative alpha is drawn below zero, not clipped; the chosen threshold is marked on both
    /// guardrail charts; every chart has its table; the rounds have intervals.
    @Test func chartsShowNegativeValuesTheChoiceAndTheirNumbers() throws {
        let report = Self.crowdedValue()
        #expect(report.agreementByWeek.contains { ($0.alpha ?? 0) < 0 })
        let html = ReportHTML.page(report, generatedAt: Instant(milliseconds: 0))
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        let charts = html.components(separatedBy: "<svg ").dropFirst()
        let agreement = try #require(charts.last)
        // The lowest y tick is below zero, and so is a plotted point (below the zero line's y).
        #expect(agreement.contains("class=\"tick\" x=\"56.0\" y=\"286.0\" text-anchor=\"end\" font-size=\"11\">-"), "no tick below zero")
        #expect(html.components(separatedBy: "<table>").count - 1 >= 7)
        if report.guardrail.roc?.chosen != nil {
            #expect(html.components(separatedBy: "class=\"marker-label\"").count - 1 == 2)
        }
        let rounds = try #require(charts.first { $0.contains("Feedback-loop rounds") })
        #expect(rounds.components(separatedBy: "<line ").count > 20)
        // Legends sit below the plot: every legend entry's baseline is below the x-axis label.
        for chart in charts {
            let legendY = chart.components(separatedBy: "<text class=\"legend\" x=\"").dropFirst().compactMap { Double($0.components(separatedBy: "y=\"")[1].prefix { $0 != "\"" }) }
            #expect(legendY.allSatisfy { $0 > SVGChart.plotBottom + 36 })
        }
    }

    @Test func everyCategoryLabelRoundAndWeekOfTheValueIsInAllThree() throws {
        let report = Self.value()
        #expect(report.attackSuccessByCategory.map(\.name) == ["cyber", "fraud & <scams>", "self-harm"])
        #expect(report.rounds.count == 2 && report.agreementByWeek.count == 2)
        let text = ReportText.render(report, width: 80)
        let json = try JSON.parse(report.json.encoded())
        let html = ReportHTML.page(report, generatedAt: Instant(milliseconds: 0))
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")

        #expect(json["attack_success_by_category"]?.objectMembers.map(\.0) == report.attackSuccessByCategory.map(\.name))
        #expect(json["label_prevalence"]?.objectMembers.map(\.0) == report.labelPrevalence.map(\.name))
        #expect(json["rounds"]?.arrayValue.map { $0["round"] } == report.rounds.map { .string($0.name) })
        #expect(json["agreement_by_week"]?.arrayValue.map { $0["week"] } == report.agreementByWeek.map { .string($0.week) })
        for category in report.attackSuccessByCategory {
            // The same counts in the text row and the JSON member.
            let row = text.split(separator: "\n").first { $0.hasPrefix(category.name + " ") }
            #expect(row?.contains("\(category.rate.successes)/\(category.rate.n)") == true, "\(category.name)")
            #expect(json["attack_success_by_category"]?[category.name]?["n"] == .number(Double(category.rate.n)))
            #expect(html.contains(">\(SVGChart.escape(category.name))</text>"), "\(category.name)")
        }
        for label in report.labelPrevalence.map(\.name) + report.rounds.map(\.name) + report.agreementByWeek.map(\.week) {
            #expect(text.contains(label), "\(label)")
            #expect(html.contains(">\(label)</text>"), "\(label)")
        }
        #expect(html.contains("&lt;scams&gt;") && !html.contains("<scams>"))
        let auc = try #require(report.guardrail.roc?.auc)
        #expect(text.contains("ROC AUC \(Format.fixed(auc, 3))") && html.contains("(AUC \(Format.fixed(auc, 3)))"))
        #expect(json["guardrail"]?["auc"] == .number(auc))
    }

    /// What `docket report` prints and writes is exactly the rendering of the value computed from
    /// the store's rows, in each of the three forms.
    @Test func theCommandRendersTheValueItComputes() throws {
        let sandbox = reportProject()
        let store = try StoreFactory.open(sandbox.databasePath, access: .read)
        let report = MonitoringReport.compute(try ReportCommand.input(from: store), options: MonitoringOptions(), now: sandbox.clock.now)
        #expect(sandbox.run("report --json").output == report.json.encoded() + "\n")
        #expect(sandbox.run("report").output == ReportText.render(report, width: 80))
        let path = sandbox.path("report.html")
        #expect(sandbox.run(["report", "--html", path]).status == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == ReportHTML.page(report, generatedAt: sandbox.clock.now))
    }
}
