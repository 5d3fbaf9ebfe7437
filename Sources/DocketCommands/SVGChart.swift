import DocketCore
import Foundation

/// Small, dependency-free SVG charts for the HTML report: axes with ticks and labels, a legend,
/// and the Okabe–Ito colour-blind-safe palette. Output is well-formed XML.
enum SVGChart {
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
    static let width = 640.0, height = 320.0
    static let left = 64.0, right = 20.0, top = 40.0, bottom = 52.0

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

    struct Series {
        var name: String
        var points: [(Double, Double)]
        var dashed = false
    }

    /// A frame with title, axes, ticks and axis labels; returns the SVG opening and the plot mappings.
    static func frame(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil, xTickNames: [String]? = nil) -> (String, (Double) -> Double, (Double) -> Double) {
        let plotW = width - left - right, plotH = height - top - bottom
        let xSpan = max(x.upperBound - x.lowerBound, 1e-9), ySpan = max(y.upperBound - y.lowerBound, 1e-9)
        let mx = { (v: Double) in left + (v - x.lowerBound) / xSpan * plotW }
        let my = { (v: Double) in top + plotH - (v - y.lowerBound) / ySpan * plotH }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        svg += "<title>\(escape(title))</title>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        svg += "<text x=\"\(number(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top + plotH))\" x2=\"\(number(left + plotW))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        svg += "<line x1=\"\(number(left))\" y1=\"\(number(top))\" x2=\"\(number(left))\" y2=\"\(number(top + plotH))\" stroke=\"#333333\"/>\n"
        for i in 0...4 {
            let v = y.lowerBound + ySpan * Double(i) / 4
            svg += "<line x1=\"\(number(left - 4))\" y1=\"\(number(my(v)))\" x2=\"\(number(left + plotW))\" y2=\"\(number(my(v)))\" stroke=\"#dddddd\"/>\n"
            svg += "<text x=\"\(number(left - 8))\" y=\"\(number(my(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(tickLabel(v))</text>\n"
        }
        let ticks = xTicks ?? (0...4).map { x.lowerBound + xSpan * Double($0) / 4 }
        for (i, v) in ticks.enumerated() {
            svg += "<line x1=\"\(number(mx(v)))\" y1=\"\(number(top + plotH))\" x2=\"\(number(mx(v)))\" y2=\"\(number(top + plotH + 4))\" stroke=\"#333333\"/>\n"
            let name = xTickNames.map { i < $0.count ? $0[i] : "" } ?? tickLabel(v)
            svg += "<text x=\"\(number(mx(v)))\" y=\"\(number(top + plotH + 18))\" text-anchor=\"middle\" font-size=\"11\">\(escape(name))</text>\n"
        }
        svg += "<text x=\"\(number(left + plotW / 2))\" y=\"\(number(height - 10))\" text-anchor=\"middle\" font-size=\"12\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"16\" y=\"\(number(top + plotH / 2))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(number(top + plotH / 2)))\">\(escape(yLabel))</text>\n"
        return (svg, mx, my)
    }

    static func legend(_ names: [String]) -> String {
        var svg = ""
        for (i, name) in names.enumerated() {
            let x = left + 10 + Double(i) * 150
            svg += "<rect x=\"\(number(x))\" y=\"\(number(top - 14))\" width=\"12\" height=\"4\" fill=\"\(palette[i % palette.count])\"/>\n"
            svg += "<text x=\"\(number(x + 16))\" y=\"\(number(top - 10))\" font-size=\"11\">\(escape(name))</text>\n"
        }
        return svg
    }

    static func line(title: String, xLabel: String, yLabel: String, series: [Series], x: ClosedRange<Double>, y: ClosedRange<Double>, xTicks: [Double]? = nil, xTickNames: [String]? = nil) -> String {
        var (svg, mx, my) = frame(title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, xTicks: xTicks, xTickNames: xTickNames)
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let color = palette[i % palette.count]
            let d = s.points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(number(mx($0.element.0))),\(number(my($0.element.1)))" }.joined(separator: " ")
            svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for (px, py) in s.points where s.points.count <= 60 {
                svg += "<circle cx=\"\(number(mx(px)))\" cy=\"\(number(my(py)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
        }
        return svg + legend(series.map(\.name)) + "</svg>\n"
    }

    /// Point estimates with interval bars, one group per row label and one colour per series.
    static func intervals(title: String, yLabel: String, rows: [(String, [(estimate: Double, low: Double, high: Double)?])], series: [String]) -> String {
        let count = Double(max(rows.count, 1))
        var (svg, mx, my) = frame(title: title, xLabel: "", yLabel: yLabel, x: 0...count, y: 0...1,
                                  xTicks: rows.indices.map { Double($0) + 0.5 }, xTickNames: rows.map(\.0))
        for (r, row) in rows.enumerated() {
            for (s, value) in row.1.enumerated() {
                guard let value else { continue }
                let x = mx(Double(r) + 0.35 + 0.3 * Double(s) / Double(max(1, series.count - 1)))
                let color = palette[s % palette.count]
                svg += "<line x1=\"\(number(x))\" y1=\"\(number(my(value.low)))\" x2=\"\(number(x))\" y2=\"\(number(my(value.high)))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                svg += "<circle cx=\"\(number(x))\" cy=\"\(number(my(value.estimate)))\" r=\"4\" fill=\"\(color)\"/>\n"
            }
        }
        return svg + legend(series) + "</svg>\n"
    }
}
