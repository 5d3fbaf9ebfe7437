import DocketCore
import Foundation

/// Small, dependency-free SVG charts for the HTML report: axes with ticks and labels, a legend
/// below the plot (never over the title), and the Okabe–Ito colour-blind-safe palette. Output is
/// well-formed XML. Text elements carry a class (`title`, `legend`, `tick`, `axis-label`,
/// `marker-label`) so the real-browser test can measure the layout.
///
/// Layout, top to bottom: the title (baseline 22), the plot, the x tick labels, the x-axis label,
/// then one row of legend entries. Categorical x axes (named ticks) are padded half a step on each
/// side so the first and last labels are never cut; names that do not fit across are turned
/// upright and cut with an ellipsis (full name in the label's tooltip and the table under the
/// chart), so every bar has its label. A chart with nothing to plot says "No data: <reason>".
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
    /// The longest tick label on a categorical axis, in characters; longer names end in an ellipsis
    /// (the table under the chart has them in full).
    static let longestTickLabel = 20

    /// A name cut to `limit` characters with an ellipsis.
    static func abbreviate(_ text: String, _ limit: Int) -> String {
        let clean = Sanitize.inline(text)
        return clean.count <= limit ? clean : String(clean.prefix(max(1, limit - 1))) + "…"
    }

    /// The step of a count axis: the smallest 1, 2 or 5 × 10^k (at least 1) that covers
    /// `maximum` in at most five steps.
    static func countStep(_ maximum: Double) -> Double {
        let raw = max(maximum, 1) / 5
        let magnitude = pow(10, log10(raw).rounded(.down))
        return max(1, [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw - 1e-9 } ?? 10 * magnitude)
    }

    /// A count axis from 0 to the first whole step at or above `maximum`.
    static func countRange(_ maximum: Double) -> ClosedRange<Double> {
        let step = countStep(maximum)
        return 0...(max(1, (max(maximum, 1) / step - 1e-9).rounded(.up)) * step)
    }

    /// The opening of a chart's SVG, `extra` pixels taller than the standard height.
    static func open(title: String, extra: Double = 0) -> String {
        let h = Int(height + extra)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(h)\" viewBox=\"0 0 \(Int(width)) \(h)\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        svg += "<title>\(escape(title))</title>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(h)\" fill=\"#ffffff\"/>\n"
        svg += "<text class=\"title\" x=\"\(number(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        return svg
    }

    /// A chart with nothing to plot: its title and "No data: <reason>" where the plot would be.
    static func empty(title: String, reason: String, prefix: String = "No data") -> String {
        // No axes and no legend: the SVG ends just below the plot's place.
        var svg = open(title: title, extra: 12 - bottom)
        svg += "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(width - left - right))\" height=\"\(number(plotBottom - top))\" fill=\"#f6f6f6\" stroke=\"#dddddd\"/>\n"
        // The reason is wrapped to lines that fit the plot's width.
        var lines: [String] = [], line = ""
        for word in "\(prefix): \(Sanitize.inline(reason))".split(separator: " ") {
            let next = line.isEmpty ? String(word) : line + " " + word
            if textWidth(next, size: 13) > width - left - right - 32, !line.isEmpty { lines.append(line); line = String(word) } else { line = next }
        }
        if !line.isEmpty { lines.append(line) }
        let lines6 = lines.prefix(6).map { abbreviate($0, Int((width - left - right - 32) / (13 * 0.62))) }
        let first = (top + plotBottom) / 2 - Double(lines6.count - 1) * 9
        for (i, text) in lines6.enumerated() {
            svg += "<text class=\"empty-message\" x=\"\(number(left + (width - left - right) / 2))\" y=\"\(number(first + Double(i) * 18))\" text-anchor=\"middle\" font-size=\"13\" fill=\"#555555\">\(escape(text))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// How a categorical axis's names are drawn: every name across when they fit, else every name
    /// turned upright (reading upwards), cut to `longestTickLabel`; only an axis too crowded even
    /// for that shows every k-th name. `extra` is the height the upright names need.
    static func tickLayout(_ names: [String], spacing: Double) -> (upright: Bool, every: Int, names: [String], extra: Double) {
        let widest = names.map { textWidth($0, size: 11) }.max() ?? 0
        if widest + 8 <= spacing { return (false, 1, names, 0) }
        let cut = names.map { abbreviate($0, longestTickLabel) }
        let tallest = cut.map { textWidth($0, size: 11) }.max() ?? 0
        // Upright labels need about a line's height (13 px) apart.
        let every = max(1, Int((14 / max(spacing, 1)).rounded(.up)))
        // The names hang from 8 px below the axis; the x-axis label then sits 14 px below the longest.
        return (true, every, cut, max(0, 8 + tallest - 22))
    }

    static func frame(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil, xTickNames: [String]? = nil, counts: Bool = false) -> (String, (Double) -> Double, (Double) -> Double, Double) {
        let plotW = width - left - right, plotH = plotBottom - top
        let xSpan = max(x.upperBound - x.lowerBound, 1e-9), ySpan = max(y.upperBound - y.lowerBound, 1e-9)
        let mx = { (v: Double) in left + (v - x.lowerBound) / xSpan * plotW }
        let my = { (v: Double) in top + plotH - (v - y.lowerBound) / ySpan * plotH }
        let ticks = xTicks ?? (0...4).map { x.lowerBound + xSpan * Double($0) / 4 }
        let rawNames = ticks.indices.map { i in xTickNames.map { i < $0.count ? $0[i] : "" } ?? tickLabel(ticks[i]) }
        let spacing = ticks.count > 1 ? abs(mx(ticks[1]) - mx(ticks[0])) : plotW
        let layout = xTickNames == nil ? (upright: false, every: max(1, Int((((rawNames.map { textWidth($0, size: 11) }.max() ?? 0) + 8) / max(spacing, 1)).rounded(.up))), names: rawNames, extra: 0.0)
            : tickLayout(rawNames, spacing: spacing)
        let extra = layout.extra
        var svg = open(title: title, extra: extra)
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top + plotH))\" x2=\"\(number(left + plotW))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top))\" x2=\"\(number(left))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        // A count axis has whole-number ticks, one per step; any other, five evenly spaced.
        let yTicks = counts ? stride(from: y.lowerBound, through: y.upperBound + 1e-9, by: countStep(y.upperBound)).map { $0 } : (0...4).map { y.lowerBound + ySpan * Double($0) / 4 }
        for v in yTicks {
            svg += "<line x1=\"\(number(left - 4))\" y1=\"\(number(my(v)))\" x2=\"\(number(left + plotW))\" y2=\"\(number(my(v)))\" stroke=\"#dddddd\"/>\n"
            svg += "<text class=\"tick\" x=\"\(number(left - 8))\" y=\"\(number(my(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(counts ? String(Int(v.rounded())) : tickLabel(v))</text>\n"
        }
        if y.lowerBound < 0, y.upperBound > 0 {
            // Zero, where negative values are possible.
            svg += "<line x1=\"\(number(left))\" y1=\"\(number(my(0)))\" x2=\"\(number(left + plotW))\" y2=\"\(number(my(0)))\" stroke=\"#888888\"/>\n"
        }
        for (i, v) in ticks.enumerated() {
            svg += "<line class=\"x-tick-mark\" x1=\"\(number(mx(v)))\" y1=\"\(number(top + plotH))\" x2=\"\(number(mx(v)))\" y2=\"\(number(top + plotH + 4))\" stroke=\"#333333\"/>\n"
            guard i % layout.every == 0 else { continue }
            let name = layout.names[i]
            // The full name, when cut, as the label's tooltip.
            let full = name == Sanitize.inline(rawNames[i]) ? "" : "<title>\(escape(rawNames[i]))</title>"
            if layout.upright {
                let ax = mx(v) + 4, ay = top + plotH + 8
                svg += "<text class=\"tick x-tick\" x=\"\(number(ax))\" y=\"\(number(ay))\" text-anchor=\"end\" font-size=\"11\" transform=\"rotate(-90 \(number(ax)) \(number(ay)))\">\(full)\(escape(name))</text>\n"
                continue
            }
            // A label that would run past an edge is anchored at that edge.
            let half = textWidth(name, size: 11) / 2
            let anchor = mx(v) - half < 2 ? "start" : (mx(v) + half > width - 2 ? "end" : "middle")
            let at = anchor == "start" ? max(2, mx(v) - half) : (anchor == "end" ? min(width - 2, mx(v) + half) : mx(v))
            svg += "<text class=\"tick x-tick\" x=\"\(number(at))\" y=\"\(number(top + plotH + 18))\" text-anchor=\"\(anchor)\" font-size=\"11\">\(full)\(escape(name))</text>\n"
        }
        svg += "<text class=\"axis-label\" x=\"\(number(left + plotW / 2))\" y=\"\(number(top + plotH + 36 + extra))\" text-anchor=\"middle\" font-size=\"12\">\(escape(xLabel))</text>\n"
        svg += "<text class=\"axis-label\" x=\"16\" y=\"\(number(top + plotH / 2))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(number(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        return (svg, mx, my, extra)
    }

    /// The legend: one row below the x-axis label, entries left to right.
    static func legend(_ names: [String], dashed: [Bool] = [], extra: Double = 0) -> String {
        var svg = "<g class=\"legend\">\n"
        var x = left
        let y = height + extra - 14
        for (i, name) in names.enumerated() {
            let color = palette[i % palette.count]
            let dash = i < dashed.count && dashed[i] ? " stroke-dasharray=\"4 3\"" : ""
            svg += "<line x1=\"\(number(x))\" y1=\"\(number(y - 4))\" x2=\"\(number(x + 16))\" y2=\"\(number(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>\n"
            svg += "<text class=\"legend\" x=\"\(number(x + 21))\" y=\"\(number(y))\" font-size=\"11\">\(escape(name))</text>\n"
            x += 21 + textWidth(name, size: 11) + 18
        }
        return svg + "</g>\n"
    }

    /// Whether the segment from `p` to `q` crosses the rectangle (pixels; the Liang–Barsky clip).
    static func crosses(_ p: (Double, Double), _ q: (Double, Double), _ box: (x0: Double, y0: Double, x1: Double, y1: Double)) -> Bool {
        var t0 = 0.0, t1 = 1.0
        let dx = q.0 - p.0, dy = q.1 - p.1
        for (edge, delta) in [(p.0 - box.x0, -dx), (box.x1 - p.0, dx), (p.1 - box.y0, -dy), (box.y1 - p.1, dy)] {
            if delta == 0 { if edge < 0 { return false }; continue }
            let t = edge / delta
            if delta < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
            if t0 > t1 { return false }
        }
        return true
    }

    /// Marked points, each a ringed dot and its label. The label goes to the nearest place around
    /// the dot (lower right and upper left first, then upper right, lower left, beside, further out)
    /// where it stays inside the plot, off the ring, and crosses none of the plotted lines (`avoid`,
    /// in data coordinates): for a rising curve such as an ROC the lower right and the upper left
    /// are clear of the curve itself.
    static func markers(_ markers: [Marker], _ mx: (Double) -> Double, _ my: (Double) -> Double, avoid: [[(Double, Double)]] = []) -> String {
        var svg = ""
        let lines = avoid.map { $0.map { (mx($0.0), my($0.1)) } }
        for marker in markers {
            let x = mx(marker.x), y = my(marker.y)
            svg += "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"6\" fill=\"none\" stroke=\"#000000\" stroke-width=\"2\"/>\n"
            let w = textWidth(marker.label, size: 11) + 4
            // (anchor x, baseline, anchored at the start?) around the dot, nearest first: the lower
            // right and the upper left first, then further out. The text is about 11 px tall.
            var candidates: [(Double, Double, Bool)] = []
            for step in 0..<8 {
                let d = Double(step) * 8
                candidates += [(x + 9 + d, y + 17 + d, true), (x - 9 - d, y - 9 - d, false), (x + 9 + d, y - 9 - d, true), (x - 9 - d, y + 17 + d, false),
                               (x + 12 + 2 * d, y + 4, true), (x - 12 - 2 * d, y + 4, false)]
            }
            func box(_ c: (Double, Double, Bool)) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
                (c.2 ? c.0 - 1 : c.0 - w, c.1 - 10, c.2 ? c.0 + w : c.0 + 1, c.1 + 3)
            }
            let ring = (x0: x - 7, y0: y - 7, x1: x + 7, y1: y + 7)
            let apart = { (b: (x0: Double, y0: Double, x1: Double, y1: Double)) in b.x1 <= ring.x0 || b.x0 >= ring.x1 || b.y1 <= ring.y0 || b.y0 >= ring.y1 }
            let inside = { (c: (Double, Double, Bool)) -> Bool in
                let b = box(c)
                return b.x0 >= left + 2 && b.x1 <= width - right && b.y0 >= top && b.y1 <= plotBottom - 2 && apart(b)
            }
            let clear = { (c: (Double, Double, Bool)) -> Bool in
                let b = box(c)
                return !lines.contains { line in zip(line, line.dropFirst()).contains { crosses($0, $1, b) } }
            }
            var chosen = candidates.first { inside($0) && clear($0) } ?? candidates.first(where: inside) ?? candidates[0]
            // Kept inside the plot whatever happens.
            chosen.1 = max(top + 12, min(plotBottom - 6, chosen.1))
            svg += "<text class=\"marker-label\" x=\"\(number(chosen.0))\" y=\"\(number(chosen.1))\" text-anchor=\"\(chosen.2 ? "start" : "end")\" font-size=\"11\">\(escape(marker.label))</text>\n"
        }
        return svg
    }

    /// A line chart; `emptyReason` is shown instead of the plot when no series has a point.
    static func line(
        title: String, xLabel: String, yLabel: String, series: [Series], x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil,
        xTickNames: [String]? = nil, markers marks: [Marker] = [], verticalMarker: (x: Double, label: String)? = nil, counts: Bool = false, emptyReason: String? = nil
    ) -> String {
        if let emptyReason, series.allSatisfy({ $0.points.isEmpty }) { return empty(title: title, reason: emptyReason) }
        var (svg, mx, my, extra) = frame(title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, xTicks: xTicks, xTickNames: xTickNames, counts: counts)
        if let vertical = verticalMarker {
            let vx = mx(vertical.x)
            svg += "<line x1=\"\(number(vx))\" y1=\"\(number(top))\" x2=\"\(number(vx))\" y2=\"\(number(plotBottom))\" stroke=\"#000000\" stroke-dasharray=\"3 3\"/>\n"
            let leftSide = vx > left + (width - left - right) / 2
            svg += "<text class=\"marker-label\" x=\"\(number(leftSide ? vx - 6 : vx + 6))\" y=\"\(number(top + 12))\" text-anchor=\"\(leftSide ? "end" : "start")\" font-size=\"11\">\(escape(vertical.label))</text>\n"
        }
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let color = palette[i % palette.count]
            let d = s.points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(number(mx($0.element.0))),\(number(my($0.element.1)))" }.joined(separator: " ")
            svg += "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for (px, py) in s.points where s.points.count <= 60 {
                svg += "<circle cx=\"\(number(mx(px)))\" cy=\"\(number(my(py)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
        }
        svg += markers(marks, mx, my, avoid: series.map(\.points))
        return svg + legend(series.map(\.name), dashed: series.map(\.dashed), extra: extra) + "</svg>\n"
    }

    /// Point estimates with interval bars (capped, so a short interval still shows), one group per
    /// row label and one colour per series. A dot is ringed in white so one at 0 stays visible on
    /// the axis.
    static func intervals(title: String, yLabel: String, rows: [(String, [(estimate: Double, low: Double, high: Double)?])], series: [String], y: ClosedRange<Double> = 0...1, emptyReason: String? = nil) -> String {
        if let emptyReason, rows.allSatisfy({ $0.1.allSatisfy { $0 == nil } }) { return empty(title: title, reason: emptyReason) }
        var (svg, mx, my, extra) = frame(title: title, xLabel: "", yLabel: yLabel, x: categorical(rows.count), y: y,
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
        return svg + legend(series, extra: extra) + "</svg>\n"
    }

    /// The numbers a chart plots, as an HTML table (cells escaped). A first cell longer than
    /// `longestName` characters shows its start with an ellipsis and the full text as its title.
    static let longestName = 28
    static func table(_ header: [String], _ rows: [[String]], caption: String? = nil) -> String {
        var html = "<table>\n"
        if let caption { html += "<caption>\(escape(caption))</caption>\n" }
        html += "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            html += "<tr>" + row.enumerated().map { i, cell in
                guard i == 0, Sanitize.inline(cell).count > longestName else { return "<td>\(escape(cell))</td>" }
                return "<td title=\"\(escape(cell))\"><span class=\"name\">\(escape(abbreviate(cell, longestName)))</span></td>"
            }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }
}
