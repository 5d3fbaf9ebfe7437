#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Intervals for proportions and tests between distributions.
public enum Proportions {
    /// Wilson score interval (Wilson 1927) for k successes in n trials:
    /// (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). Defined at k = 0 and k = n, unlike Wald's.
    public static func wilson(successes k: Int, trials n: Int, level: Double = 0.95) -> (low: Double, high: Double)? {
        guard n > 0, k >= 0, k <= n else { return nil }
        let z = Distributions.normalQuantile(1 - (1 - level) / 2)
        let nn = Double(n), p = Double(k) / nn
        let denominator = 1 + z * z / nn
        let centre = (p + z * z / (2 * nn)) / denominator
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / denominator
        // At k = 0 and k = n the bound is exactly 0 or 1; computed, it can be off by rounding.
        return (k == 0 ? 0 : max(0, centre - half), k == n ? 1 : min(1, centre + half))
    }

    /// Pearson's chi-square test of homogeneity for a table of counts (rows: samples, columns:
    /// categories). Columns empty in every row are left out. Returns the statistic, the degrees of
    /// freedom and the p-value, or nil when there is nothing to compare.
    public static func chiSquareHomogeneity(_ counts: [[Double]]) -> (statistic: Double, df: Int, p: Double)? {
        let columns = (0..<(counts.first?.count ?? 0)).filter { c in counts.contains { $0[c] > 0 } }
        let rows = counts.filter { row in columns.contains { row[$0] > 0 } }
        guard rows.count >= 2, columns.count >= 2 else { return nil }
        let rowTotals = rows.map { row in columns.reduce(0) { $0 + row[$1] } }
        let columnTotals = columns.map { c in rows.reduce(0) { $0 + $1[c] } }
        let total = rowTotals.reduce(0, +)
        var statistic = 0.0
        for (r, row) in rows.enumerated() {
            for (j, c) in columns.enumerated() {
                let expected = rowTotals[r] * columnTotals[j] / total
                statistic += (row[c] - expected) * (row[c] - expected) / expected
            }
        }
        let df = (rows.count - 1) * (columns.count - 1)
        return (statistic, df, Distributions.chiSquareSurvival(statistic, df: Double(df)))
    }

    /// Population stability index between a reference and a current distribution of counts:
    /// Σ (q_i − p_i) ln(q_i / p_i), with shares floored at `floor` so empty categories stay finite.
    /// Common reading: < 0.1 stable, 0.1–0.25 some shift, > 0.25 a major shift.
    public static func populationStabilityIndex(reference: [Double], current: [Double], floor: Double = 1e-4) -> Double? {
        let a = reference.reduce(0, +), b = current.reduce(0, +)
        guard a > 0, b > 0, reference.count == current.count else { return nil }
        var psi = 0.0
        for i in reference.indices {
            let p = max(reference[i] / a, floor), q = max(current[i] / b, floor)
            psi += (q - p) * log(q / p)
        }
        return psi
    }
}
