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
}
