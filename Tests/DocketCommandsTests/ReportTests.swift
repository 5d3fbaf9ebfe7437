import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// A project with two rounds, flags and ratings.
func reportProject() -> Sandbox {
    let sandbox = Sandbox()
    sandbox.run("init --labels safe,unsafe --seed 1")
    sandbox.write("d.yaml", "labels: [safe, unsafe]\nrating: {name: helpfulness, scale: [1, 5]}\nasks: [label, rating]\noverlap: 2\nbudget: 10\nexplore: 0\n")
    sandbox.run(["config", "apply", sandbox.path("d.yaml")])
    sandbox.run("round start r1")
    sandbox.run(["import", "items", "-", "--format", "jsonl"], stdin: (1...4).map { #"{"id":"a\#($0)","category":"x","risk":0.\#($0 * 2)}"# }.joined(separator: "\n") + "\n")
    sandbox.run("reviewers add ana")
    sandbox.run("reviewers add bo")
    // a4 (risk 0.8) and a3 (0.6) are flagged severity 3; a2 and a1 are not. bo agrees without flagging.
    sandbox.run(["review", "--as", "ana"], stdin: "flag unsafe 3 x\nunsafe\nrate 1\nflag unsafe 3 y\nunsafe\nrate 2\nsafe\nrate 4\nsafe\nrate 5\n")
    sandbox.run(["review", "--as", "bo"], stdin: "unsafe\nrate 1\nunsafe\nrate 2\nsafe\nrate 4\nsafe\nrate 5\n")
    sandbox.clock.advance(seconds: 86_400)
    sandbox.run("round close")
    sandbox.run("round start r2")
    sandbox.run(["import", "items", "-", "--format", "jsonl"], stdin: #"{"id":"b1","category":"y","risk":0.3}"# + "\n" + #"{"id":"b2","category":"y","risk":0.1}"# + "\n")
    sandbox.run(["review", "--as", "ana"], stdin: "safe\nrate 5\nsafe\nrate 4\n")
    sandbox.run(["review", "--as", "bo"], stdin: "safe\nrate 5\nsafe\nrate 4\n")
    return sandbox
}

@Suite struct ReportTests {
    @Test func numbersForRatesGuardrailRoundsAndBudget() throws {
        let sandbox = reportProject()
        let report = try JSON.parse(sandbox.run("report --json").output)
        let asr = report["attack_success"]!
        #expect(asr["n"] == .number(6) && asr["successes"] == .number(2))
        #expect(asr["naive"] == .number(2.0 / 6.0))
        // Exploration off: every selection had propensity 1, so Hájek equals the naive rate.
        #expect(asr["hajek"] == .number(2.0 / 6.0))
        let wilson = Proportions.wilson(successes: 2, trials: 6)!
        #expect(asr["naive_ci_low"] == .number(wilson.low) && asr["naive_ci_high"] == .number(wilson.high))
        let guardrail = report["guardrail"]!
        // The two flagged items have the two highest risks: a perfect ranking.
        #expect(guardrail["auc"] == .number(1))
        #expect(guardrail["threshold"] == .number(0.6))
        #expect(guardrail["tpr_at_threshold"] == .number(1) && guardrail["fpr_at_threshold"] == .number(0))
        let rounds = report["rounds"]!.arrayValue
        #expect(rounds.map { $0["round"]! } == [.string("r1"), .string("r2")])
        #expect(rounds[0]["safety"] == .number(0.5) && rounds[1]["safety"] == .number(1))
        #expect(rounds[1]["safety_change"] == .number(0.5))
        #expect(rounds[0]["helpfulness"] == .number(3) && rounds[1]["helpfulness"] == .number(4.5))
        #expect(report["budget"]!["spent"] == .number(6) && report["budget"]!["left"] == .number(4))
        let clopper = try JSON.parse(sandbox.run("report --json --interval clopper-pearson").output)["attack_success"]!
        #expect(clopper["naive_ci_high"] == .number(Proportions.clopperPearson(successes: 2, trials: 6)!.high))
        #expect(sandbox.run("report --bar 5").status == 64)
        #expect(sandbox.run("round close").status == 0)
        #expect(sandbox.run("round close").errors == "docket: No round is open. Start one with `docket round start NAME`.\n")
    }

    @Test func terminalTablesAndAWellFormedHTMLPageWithEveryChart() throws {
        let sandbox = reportProject()
        let text = sandbox.run("report").output
        #expect(text.contains("Guardrail: ROC AUC 1.000"))
        #expect(text.contains("█"))
        let path = sandbox.path("report.html")
        #expect(sandbox.run(["report", "--html", path]).status == 0)
        let html = try String(contentsOfFile: path, encoding: .utf8)
        // Well-formed XML (XHTML), no scripts, no network.
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(!html.contains("<script"))
        #expect(!html.contains("https://") && !html.contains("src="))
        let charts = html.components(separatedBy: "<svg ").dropFirst()
        #expect(charts.count == 7)
        for chart in charts {
            #expect(chart.contains("<path ") || chart.contains("<circle "), "a chart without data")
            #expect(chart.contains("<title>"))
        }
        #expect(html.contains("#0072B2"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")))
    func rendersInHeadlessChromium() throws {
        let sandbox = reportProject()
        let path = sandbox.path("report.html")
        sandbox.run(["report", "--html", path])
        let png = sandbox.path("report.png")
        let status = spawnAndWait(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=760,2700", "--screenshot=\(png)", "file://\(path)"], stdoutPath: sandbox.path("chromium.log"))
        #expect(status == 0)
        let size = (try FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 10_000)
    }
}
