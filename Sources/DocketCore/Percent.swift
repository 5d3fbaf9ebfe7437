/// The one rule for printing a share as a percentage, everywhere Docket prints one (tables, report
/// text and HTML, reasons): one decimal, always, so 30.0% stands beside 35.7% and 0.0% is not
/// mistaken for a rounded-away value. Rounded half away from zero.
public enum Percent {
    /// 0.3 → "30.0%", 0.35714 → "35.7%", 1 → "100.0%"; nil → "-".
    public static func text(_ share: Double?) -> String {
        guard let share, share.isFinite else { return "-" }
        let tenths = (share * 1000).rounded(.toNearestOrAwayFromZero)
        let magnitude = Int(abs(tenths))
        return (tenths < 0 ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)%"
    }

    /// A setting given as a share, printed as the percentage it is, without rounding to one
    /// decimal: 0.05 → "5%", 0.033 → "3.3%", 0.0333 → "3.33%" (to 1e-8 of a percentage point, so
    /// binary noise such as 3.3299999999999996 does not show).
    public static func setting(_ share: Double) -> String {
        guard share.isFinite else { return "-" }
        let value = (share * 100 * 1e8).rounded() / 1e8
        var text = "\(value)"
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text + "%"
    }
}
