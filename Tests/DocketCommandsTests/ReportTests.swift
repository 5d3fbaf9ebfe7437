import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import DocketCommands

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
        // Exploration off: every selection was an exploit pick, so the selection cannot be
        // corrected (Hájek would be the naive rate with n_eff = n): undefined, with the reason, in
        // the JSON, the text and the HTML alike; the naive rate stays.
        let reason = "the selection weights among the reviewed items are all about equal (within a factor of 1.5), so weighting corrects nothing"
        #expect(asr["hajek"] == .null && asr["effective_n"] == .null && asr["hajek_reason"] == .string(reason))
        for category in ["x", "y"] {
            #expect(report["attack_success_by_category"]?[category]?["hajek_reason"] == .string("the selection weights in this category are all about equal (within a factor of 1.5), so weighting corrects nothing"))
        }
        // Wrapped to the terminal with a hanging indent; joined again here.
        let text = sandbox.run("report").output.replacingOccurrences(of: "\n  ", with: " ")
        #expect(text.contains("\nHájek undefined for all: \(reason); only the naive rate is shown.\n"), "\(text)")
        #expect(text.contains("\nHájek undefined for x, y: the selection weights in this category are all about equal (within a factor of 1.5), so weighting corrects nothing; only the naive rate is shown.\n"), "\(text)")
        #expect(sandbox.run(["report", "--html", sandbox.path("report.html")]).status == 0)
        let html = try String(contentsOfFile: sandbox.path("report.html"), encoding: .utf8)
        #expect(html.contains("<p class=\"note\">Hájek undefined for all: \(reason); only the naive rate is shown.</p>"))
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
        // Wrapped to the terminal with a hanging indent; joined again here.
        let text = sandbox.run("report").output.replacingOccurrences(of: "\n  ", with: " ")
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

    /// The page in a real browser (headless Chromium; `scripts/test` installs it, so this runs in
    /// CI): a copy of the page with a measuring script added reports, from the browser's own
    /// layout, any text cut by its chart's edges, any legend over a title and any two tick labels
    /// that overlap. The report's PNG is kept in test-artefacts/ for a person to look at.
    @Test func rendersInHeadlessChromiumWithoutOverlapsOrCuts() throws {
        let chromium = "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: chromium) else {
            Issue.record("headless Chromium is missing at \(chromium): install Debian's chromium (scripts/test does)")
            return
        }
        let sandbox = reportProject()
        let path = sandbox.path("report.html")
        #expect(sandbox.run(["report", "--html", path]).status == 0)
        let artefacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../test-artefacts").standardized.path
        try FileManager.default.createDirectory(atPath: artefacts, withIntermediateDirectories: true)
        let png = artefacts + "/report.png"
        try? FileManager.default.removeItem(atPath: png)
        let shot = spawnAndWait([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=760,4200", "--screenshot=\(png)", "file://\(path)"], stdoutPath: sandbox.path("chromium.log"))
        #expect(shot == 0)
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 10_000)

        // The command's page; pages built from a value with negative agreement and many weeks, from
        // one with ten categories (long names among them), and from one with nothing to plot.
        let pages = [("command", try String(contentsOfFile: path, encoding: .utf8)), ("value", ReportHTML.page(ReportRenderingTests.crowdedValue(), generatedAt: Instant(milliseconds: 0))),
                     ("categories", ReportHTML.page(ReportRenderingTests.manyCategoriesValue(), generatedAt: Instant(milliseconds: 0))),
                     ("empty", ReportHTML.page(ReportRenderingTests.emptyValue(), generatedAt: Instant(milliseconds: 0)))]
        var rocMarkers = 0
        for (name, page) in pages {
            let measured = sandbox.path("measured-\(name).html")
            try page.replacingOccurrences(of: "</body>", with: Self.measuringScript + "</body>").write(toFile: measured, atomically: true, encoding: .utf8)
            let dom = sandbox.path("dom-\(name).html")
            #expect(spawnAndWait([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=760,4200", "--dump-dom", "file://\(measured)"], stdoutPath: dom) == 0)
            let result = try String(contentsOfFile: dom, encoding: .utf8)
            #expect(result.contains("data-charts=\"7\""), "\(name): \(result.prefix(300))")
            #expect(result.contains("data-layout=\"ok\""), "\(name): \(result.components(separatedBy: "data-layout=").dropFirst().first?.prefix(600) ?? "no result")")
            let attribute = { (key: String) in Int(result.components(separatedBy: "\(key)=\"").dropFirst().first?.prefix { $0 != "\"" } ?? "") }
            rocMarkers += attribute("data-roc-markers") ?? 0
            switch name {
            case "categories": #expect(attribute("data-bars-labelled") == 11, "\(name): every bar of the attack chart (all and ten categories) labelled")
            case "empty": #expect(attribute("data-empty") == 7, "\(name): every chart says why it is empty")
            case "command": #expect(attribute("data-empty") == 0, "\(name)")
            default: break
            }
        }
        #expect(rocMarkers >= 1, "no page had the chosen threshold marked on its ROC, so the marker's label went unmeasured")
    }

    /// Measures every chart in the browser and writes the verdict on <body>.
    static let measuringScript = """
        <script>
        const problems = [];
        const overlap = (a, b) => !(a.right <= b.left || a.left >= b.right || a.bottom <= b.top || a.top >= b.bottom);
        for (const svg of document.querySelectorAll('svg')) {
          const box = svg.getBoundingClientRect();
          const title = svg.querySelector('text.title');
          const titleBox = title.getBoundingClientRect();
          for (const t of svg.querySelectorAll('text')) {
            const r = t.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) problems.push('cut: ' + t.textContent + ' in ' + title.textContent);
          }
          for (const l of svg.querySelectorAll('.legend, .legend *')) {
            if (overlap(l.getBoundingClientRect(), titleBox)) problems.push('legend over the title: ' + title.textContent);
          }
          const ticks = Array.from(svg.querySelectorAll('text.tick')).map(t => [t.textContent, t.getBoundingClientRect()]);
          for (let i = 0; i < ticks.length; i++) for (let j = i + 1; j < ticks.length; j++) {
            if (overlap(ticks[i][1], ticks[j][1])) problems.push('labels overlap: ' + ticks[i][0] + ' and ' + ticks[j][0] + ' in ' + title.textContent);
          }
          const texts = Array.from(svg.querySelectorAll('text.legend, text.axis-label, text.title'));
          for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
            if (overlap(texts[i].getBoundingClientRect(), texts[j].getBoundingClientRect())) problems.push('text overlaps: ' + texts[i].textContent + ' and ' + texts[j].textContent);
          }
        }
        // Every bar of a categorical chart has its own label, under its tick mark.
        let barsLabelled = 0;
        for (const svg of document.querySelectorAll('svg')) {
          const title = svg.querySelector('text.title').textContent;
          if (!/^(Attack success|Label prevalence|Feedback-loop rounds)/.test(title) || svg.querySelector('text.empty-message')) continue;
          const marks = Array.from(svg.querySelectorAll('line.x-tick-mark')).map(l => l.getBoundingClientRect());
          const labels = Array.from(svg.querySelectorAll('text.x-tick')).map(t => t.getBoundingClientRect());
          if (labels.length !== marks.length) problems.push('bars without a label: ' + (marks.length - labels.length) + ' of ' + marks.length + ' in ' + title);
          const half = marks.length > 1 ? (marks[1].left - marks[0].left) / 2 : 1000;
          for (const m of marks) if (!labels.some(r => Math.abs((r.left + r.right) / 2 - m.left) < half && r.width > 0)) problems.push('no label under a bar at ' + m.left + ' in ' + title);
          if (title.startsWith('Attack success')) barsLabelled = labels.length;
        }
        // The ROC's marker label crosses neither a plotted line nor another text.
        let rocMarkers = 0;
        for (const svg of document.querySelectorAll('svg')) {
          if (!svg.querySelector('text.title').textContent.startsWith('Guardrail ROC')) continue;
          for (const label of svg.querySelectorAll('text.marker-label')) {
            rocMarkers++;
            const r = label.getBoundingClientRect();
            for (const t of svg.querySelectorAll('text')) if (t !== label && overlap(r, t.getBoundingClientRect())) problems.push('ROC marker label overlaps ' + t.textContent);
            for (const path of svg.querySelectorAll('path.series')) {
              const m = path.getScreenCTM(), length = path.getTotalLength();
              for (let s = 0; s <= length; s += 0.5) {
                const p = path.getPointAtLength(s).matrixTransform(m);
                if (p.x > r.left && p.x < r.right && p.y > r.top && p.y < r.bottom) { problems.push('ROC marker label crosses a line at ' + p.x + ',' + p.y); break; }
              }
            }
          }
        }
        // No table is wider than the page's column, and the page does not scroll sideways.
        const column = document.body.getBoundingClientRect();
        for (const table of document.querySelectorAll('table')) {
          const r = table.getBoundingClientRect();
          if (r.right > column.right + 0.5 || r.left < column.left - 0.5) problems.push('table wider than the page: ' + Math.round(r.width) + ' px, ' + table.querySelector('tr').textContent);
        }
        if (document.documentElement.scrollWidth > window.innerWidth) problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth);
        // A chart plots something or says why it is empty.
        let empty = 0;
        for (const svg of document.querySelectorAll('svg')) {
          const message = svg.querySelector('text.empty-message');
          if (message) { empty++; if (!/^No (data|budget)/.test(message.textContent)) problems.push('empty message without its reason: ' + message.textContent); }
          else if (!svg.querySelector('path.series, circle')) problems.push('empty chart without a message: ' + svg.querySelector('text.title').textContent);
        }
        document.body.setAttribute('data-bars-labelled', String(barsLabelled));
        document.body.setAttribute('data-roc-markers', String(rocMarkers));
        document.body.setAttribute('data-empty', String(empty));
        document.body.setAttribute('data-charts', String(document.querySelectorAll('svg').length));
        document.body.setAttribute('data-layout', problems.length ? problems.join(' | ') : 'ok');
        </script>

        """

    /// --cost and --target-fpr are two rules for one choice: given together, refused, not one
    /// silently overriding the other.
    @Test func costAndTargetFPRAreRefusedTogether() throws {
        let sandbox = reportProject()
        let both = sandbox.run(["report", "--cost", "fn=5,fp=1", "--target-fpr", "0.1"])
        #expect(both.status == 64)
        #expect(both.errors.contains("--cost chooses the threshold by cost instead of a false-positive rate; give one of --cost and --target-fpr"), "\(both.errors)")
        #expect(sandbox.run(["report", "--cost", "fn=5,fp=1"]).status == 0)
        #expect(sandbox.run(["report", "--target-fpr", "0.1"]).status == 0)
    }
}
