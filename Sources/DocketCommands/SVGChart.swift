import DocketCore
import Foundation

/// Small, dependency-free SVG charts for the HTML report: axes with ticks and labels, a legend
/// below the plot (never over the title), and the Okabe–Ito colour-blind-safe palette. Output is
/// well-formed XML. Text elements carry a class (`title`, `legend`, `tick`, `axis-label`,
/// `marker-label`) so the real-browser test can measure the layout.
///
/// Layout, top to bottom: the title (baseline 22), the plot, the x tick labels, the x-axis label,
/// then one row of legend entries. Categorical x axes (named ticks) are padded half a step on each
/// side so the first and last labels are never cut, and a crowded axis shows every k-th label
/// (the table under each chart has every value).
enum SVGChart {
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
    static let width = 640.0, height = 360.0
    static let left = 64.0, right = 28.0, top = 40.0, bottom = 78.0
    static var plotBottom: Double { height - bottom }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in Sanitize.inline(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    static func tickLabel(_ value: Double) -> String {
        if value == value.rounded(), abs(value) >= 1, abs(value) < 1e15 { return String(Int(value)) }
        return String(format: "%.2f", value)
    }

    /// An estimate of a label's width in pixels at `size` (sans-serif averages about 0.6 em).
    static func textWidth(_ text: String, size: Double) -> Double { Double(Sanitize.inline(text).count) * size * 0.62 }

    struct Series {
        var name: String
        var points: [(Double, Double)]
        var dashed = false
    }

    /// A point marked on a chart (the chosen threshold): a ringed dot and its label.
    struct Marker {
        var x: Double
        var y: Double
        var label: String
    }

    /// The x range of a categorical axis with `count` named ticks at 0, 1, …: half a step of room
    /// on each side.
    static func categorical(_ count: Int) -> ClosedRange<Double> { -0.5...(Double(max(count, 1)) - 0.5) }

    /// A y range that holds every value and [floor, ceiling]: negative values widen it downwards.
    static func range(_ values: [Double], floor: Double = 0, ceiling: Double = 1) -> ClosedRange<Double> {
        let low = min(floor, values.min() ?? floor), high = max(ceiling, values.max() ?? ceiling)
        // Round outwards to a tenth so the ticks stay readable.
        return ((low * 10).rounded(.down) / 10)...((high * 10).rounded(.up) / 10)
    }

    /// A frame with title, axes, ticks and axis labels; returns the SVG opening and the plot mappings.
    static func frame(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil, xTickNames: [String]? = nil) -> (String, (Double) -> Double, (Double) -> Double) {
        let plotW = width - left - right, plotH = plotBottom - top
        let xSpan = max(x.upperBound - x.lowerBound, 1e-9), ySpan = max(y.upperBound - y.lowerBound, 1e-9)
        let mx = { (v: Double) in left + (v - x.lowerBound) / xSpan * plotW }
        let my = { (v: Double) in top + plotH - (v - y.lowerBound) / ySpan * plotH }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        svg += "<title>\(escape(title))</title>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        svg += "<text class=\"title\" x=\"\(number(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top + plotH))\" x2=\"\(number(left + plotW))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top))\" x2=\"\(number(left))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        for i in 0...4 {
            let v = y.lowerBound + ySpan * Double(i) / 4
            svg += "<line x1=\"\(number(left - 4))\" y1=\"\(number(my(v)))\" x2=\"\(number(left + plotW))\" y2=\"\(number(my(v)))\" stroke=\"#dddddd\"/>\n"
            svg += "<text class=\"tick\" x=\"\(number(left - 8))\" y=\"\(number(my(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(tickLabel(v))</text>\n"
        }
        if y.lowerBound < 0, y.upperBound > 0 {
            // Zero, where negative values are possible.
            svg += "<line x1=\"\(number(left))\" y1=\"\(number(my(0)))\" x2=\"\(number(left + plotW))\" y2=\"\(number(my(0)))\" stroke=\"#888888\"/>\n"
        }
        let ticks = xTicks ?? (0...4).map { x.lowerBound + xSpan * Double($0) / 4 }
        let names = ticks.indices.map { i in xTickNames.map { i < $0.count ? $0[i] : "" } ?? tickLabel(ticks[i]) }
        // Every k-th label when they would touch (each needs its width and a gap).
        let widest = names.map { textWidth($0, size: 11) }.max() ?? 0
        let spacing = ticks.count > 1 ? abs(mx(ticks[1]) - mx(ticks[0])) : plotW
        let every = max(1, Int(((widest + 8) / max(spacing, 1)).rounded(.up)))
        for (i, v) in ticks.enumerated() {
            svg += "<line x1=\"\(number(mx(v)))\" y1=\"\(number(top + plotH))\" x2=\"\(number(mx(v)))\" y2=\"\(number(top + plotH + 4))\" stroke=\"#333333\"/>\n"
            guard i % every == 0 else { continue }
            // A label that would run past an edge is anchored at that edge.
            let half = textWidth(names[i], size: 11) / 2
            let anchor = mx(v) - half < 2 ? "start" : (mx(v) + half > width - 2 ? "end" : "middle")
            let at = anchor == "start" ? max(2, mx(v) - half) : (anchor == "end" ? min(width - 2, mx(v) + half) : mx(v))
            svg += "<text class=\"tick\" x=\"\(number(at))\" y=\"\(number(top + plotH + 18))\" text-anchor=\"\(anchor)\" font-size=\"11\">\(escape(names[i]))</text>\n"
        }
        svg += "<text class=\"axis-label\" x=\"\(number(left + plotW / 2))\" y=\"\(number(top + plotH + 36))\" text-anchor=\"middle\" font-size=\"12\">\(escape(xLabel))</text>\n"
        svg += "<text class=\"axis-label\" x=\"16\" y=\"\(number(top + plotH / 2))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(number(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        return (svg, mx, my)
    }

    /// The legend: one row below the x-axis label, entries left to right.
    static func legend(_ names: [String], dashed: [Bool] = []) -> String {
        var svg = "<g class=\"legend\">\n"
        var x = left
        let y = height - 14
        for (i, name) in names.enumerated() {
            let color = palette[i % palette.count]
            let dash = i < dashed.count && dashed[i] ? " stroke-dasharray=\"4 3\"" : ""
            svg += "<line x1=\"\(number(x))\" y1=\"\(number(y - 4))\" x2=\"\(number(x + 16))\" y2=\"\(number(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>\n"
            svg += "<text class=\"legend\" x=\"\(number(x + 21))\" y=\"\(number(y))\" font-size=\"11\">\(escape(name))</text>\n"
            x += 21 + textWidth(name, size: 11) + 18
        }
        return svg + "</g>\n"
    }

    static func markers(_ markers: [Marker], _ mx: (Double) -> Double, _ my: (Double) -> Double) -> String {
        var svg = ""
        for marker in markers {
            let x = mx(marker.x), y = my(marker.y)
            svg += "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"6\" fill=\"none\" stroke=\"#000000\" stroke-width=\"2\"/>\n"
            // The label goes to the side with room, inside the plot.
            let leftSide = x > left + (width - left - right) / 2
            let labelY = max(top + 12, min(plotBottom - 6, y - 10))
            svg += "<text class=\"marker-label\" x=\"\(number(leftSide ? x - 10 : x + 10))\" y=\"\(number(labelY))\" text-anchor=\"\(leftSide ? "end" : "start")\" font-size=\"11\">\(escape(marker.label))</text>\n"
        }
        return svg
    }

    static func line(
        title: String, xLabel: String, yLabel: String, series: [Series], x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil,
        xTickNames: [String]? = nil, markers marks: [Marker] = [], verticalMarker: (x: Double, label: String)? = nil
    ) -> String {
        var (svg, mx, my) = frame(title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, xTicks: xTicks, xTickNames: xTickNames)
        if let vertical = verticalMarker {
            let vx = mx(vertical.x)
            svg += "<line x1=\"\(number(vx))\" y1=\"\(number(top))\" x2=\"\(number(vx))\" y2=\"\(number(plotBottom))\" stroke=\"#000000\" stroke-dasharray=\"3 3\"/>\n"
            let leftSide = vx > left + (width - left - right) / 2
            svg += "<text class=\"marker-label\" x=\"\(number(leftSide ? vx - 6 : vx + 6))\" y=\"\(number(top + 12))\" text-anchor=\"\(leftSide ? "end" : "start")\" font-size=\"11\">\(escape(vertical.label))</text>\n"
        }
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let color = palette[i % palette.count]
            let d = s.points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(number(mx($0.element.0))),\(number(my($0.element.1)))" }.joined(separator: " ")
            svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for (px, py) in s.points where s.points.count <= 60 {
                svg += "<circle cx=\"\(number(mx(px)))\" cy=\"\(number(my(py)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
        }
        svg += markers(marks, mx, my)
        return svg + legend(series.map(\.name), dashed: series.map(\.dashed)) + "</svg>\n"
    }

    /// Point estimates with interval bars (capped, so a short interval still shows), one group per
    /// row label and one colour per series. A dot is ringed in white so one at 0 stays visible on
    /// the axis.
    static func intervals(title: String, yLabel: String, rows: [(String, [(estimate: Double, low: Double, high: Double)?])], series: [String], y: ClosedRange<Double> = 0...1) -> String {
        var (svg, mx, my) = frame(title: title, xLabel: "", yLabel: yLabel, x: categorical(rows.count), y: y,
                                  xTicks: rows.indices.map(Double.init), xTickNames: rows.map(\.0))
        for (r, row) in rows.enumerated() {
            for (s, value) in row.1.enumerated() {
                guard let value else { continue }
                let offset = series.count > 1 ? -0.15 + 0.3 * Double(s) / Double(series.count - 1) : 0
                let x = mx(Double(r) + offset)
                let color = palette[s % palette.count]
                svg += "<line x1=\"\(number(x))\" y1=\"\(number(my(value.low)))\" x2=\"\(number(x))\" y2=\"\(number(my(value.high)))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                for end in [value.low, value.high] {
                    svg += "<line x1=\"\(number(x - 4))\" y1=\"\(number(my(end)))\" x2=\"\(number(x + 4))\" y2=\"\(number(my(end)))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                }
                svg += "<circle cx=\"\(number(x))\" cy=\"\(number(my(value.estimate)))\" r=\"4\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\n"
            }
        }
        return svg + legend(series) + "</svg>\n"
    }

    /// The numbers a chart plots, as an HTML table (cells escaped).
    static func table(_ header: [String], _ rows: [[String]], caption: String? = nil) -> String {
        var html = "<table>\n"
        if let caption { html += "<caption>\(escape(caption))</caption>\n" }
        html += "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows { html += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
        return html + "</table>\n"
    }
}
