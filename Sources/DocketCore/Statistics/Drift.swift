#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the label distribution shifted between two groups of labels (`docket drift`): one rule
/// for which test is used and when a shift may be called at all.
///
/// - Test: Pearson's chi-square test of homogeneity when every expected count is at least
///   `smallExpected` (Cochran's rule); below that its χ² approximation is poor (two labels against
///   two gave p = 0.0455 where the exact p is 0.33), so the exact conditional test is used:
///   Fisher's exact test, generalised to 2 × k tables (Freeman & Halton 1951), summing the
///   probability of every table with the same margins that is no more likely than the one observed.
///   When there are more than `exactTables` such tables, the same p-value is estimated from
///   `monteCarloDraws` seeded random tables with those margins (Monte Carlo exact test).
/// - Minimum: a shift is called only when each group has at least `minimumLabels` labels; below
///   that `shift` is nil, with the reason. The p-value and PSI are still given.
public struct DriftComparison: Equatable, Sendable {
    public enum Test: String, Equatable, Sendable {
        case chiSquare = "chi-square"
        case fisherExact = "fisher-exact"
        case fisherMonteCarlo = "fisher-monte-carlo"
    }

    /// Nil when there is nothing to test (fewer than two labels used across the two groups).
    public var test: Test?
    /// The chi-square statistic and its degrees of freedom (chi-square test only).
    public var statistic: Double?
    public var df: Int?
    public var p: Double?
    public var psi: Double?
    /// Nil when a shift cannot be called (too few labels): `reason` says why.
    public var shift: Bool?
    public var reason: String?

    /// Labels each group needs before a shift is called.
    public static let minimumLabels = 10
    /// Expected counts below this send the comparison to the exact test.
    public static let smallExpected = 5.0
    /// Tables with the observed margins enumerated at most; beyond, the Monte Carlo estimate.
    public static let exactTables = 1_000_000.0
    public static let monteCarloDraws = 10_000
    public static let monteCarloSeed: UInt64 = 0x5EED

    /// Compares `current` with `reference` (label counts in the same order).
    public static func compare(reference: [Double], current: [Double], alpha: Double, psiLimit: Double) -> DriftComparison {
        var result = DriftComparison()
        result.psi = Proportions.populationStabilityIndex(reference: reference, current: current)
        let columns = reference.indices.filter { reference[$0] + current[$0] > 0 }
        let a = reference.reduce(0, +), b = current.reduce(0, +)
        if columns.count >= 2, a > 0, b > 0 {
            let total = a + b
            let small = columns.contains { c in
                let column = reference[c] + current[c]
                return a * column / total < smallExpected || b * column / total < smallExpected
            }
            if !small, let chi = Proportions.chiSquareHomogeneity([reference, current]) {
                result.test = .chiSquare
                result.statistic = chi.statistic
                result.df = chi.df
                result.p = chi.p
            } else {
                let exact = Proportions.fisherExact(columns.map { Int(reference[$0]) }, columns.map { Int(current[$0]) })
                result.test = exact.enumerated ? .fisherExact : .fisherMonteCarlo
                result.p = exact.p
            }
        }
        let fewest = Int(min(a, b))
        if fewest < minimumLabels {
            result.reason = "too few labels to call a shift: \(fewest) in the smaller group; a shift needs at least \(minimumLabels) in each"
            return result
        }
        result.shift = (result.p.map { $0 < alpha } ?? false) || (result.psi.map { $0 > psiLimit } ?? false)
        return result
    }
}

extension Proportions {
    /// The Fisher–Freeman–Halton exact test for a 2 × k table of counts (`first` and `second` are
    /// the rows): the probability, under the multivariate hypergeometric distribution of tables with
    /// the observed margins, of a table no more likely than the observed one (relative tolerance
    /// 1e-7, as R's fisher.test). Enumerated when there are at most `DriftComparison.exactTables`
    /// such tables (`enumerated` true), else estimated from `DriftComparison.monteCarloDraws`
    /// seeded random tables as (1 + hits) / (1 + draws).
    public static func fisherExact(_ first: [Int], _ second: [Int]) -> (p: Double, enumerated: Bool) {
        let columns = zip(first, second).map { $0 + $1 }
        let rowTotal = first.reduce(0, +), total = columns.reduce(0, +)
        guard rowTotal > 0, rowTotal < total else { return (1, true) }
        func logChoose(_ n: Int, _ k: Int) -> Double {
            Distributions.logGamma(Double(n + 1)) - Distributions.logGamma(Double(k + 1)) - Distributions.logGamma(Double(n - k + 1))
        }
        let logDenominator = logChoose(total, rowTotal)
        func logProbability(_ x: [Int]) -> Double {
            zip(columns, x).reduce(-logDenominator) { $0 + logChoose($1.0, $1.1) }
        }
        let observed = logProbability(first)
        let cutoff = observed + log1p(1e-7)
        // The number of tables: vectors 0 ≤ x_j ≤ column_j summing to the row total (a DP over sums).
        var ways = [Double](repeating: 0, count: rowTotal + 1)
        ways[0] = 1
        for column in columns {
            var next = [Double](repeating: 0, count: rowTotal + 1)
            var window = 0.0
            for s in 0...rowTotal {
                window += ways[s]
                if s - column - 1 >= 0 { window -= ways[s - column - 1] }
                next[s] = window
            }
            ways = next
        }
        if ways[rowTotal] <= DriftComparison.exactTables {
            var p = 0.0
            // Suffix sums bound what the remaining columns can hold.
            var after = [Int](repeating: 0, count: columns.count + 1)
            for j in stride(from: columns.count - 1, through: 0, by: -1) { after[j] = after[j + 1] + columns[j] }
            func walk(_ j: Int, _ left: Int, _ logSoFar: Double) {
                if j == columns.count - 1 {
                    let value = logSoFar + logChoose(columns[j], left)
                    if value <= cutoff { p += exp(value) }
                    return
                }
                for v in max(0, left - after[j + 1])...min(columns[j], left) {
                    walk(j + 1, left - v, logSoFar + logChoose(columns[j], v))
                }
            }
            walk(0, rowTotal, -logDenominator)
            return (min(1, p), true)
        }
        // Monte Carlo: draw the first row's count in each column without replacement from the urn.
        var generator = SplitMix64(seed: DriftComparison.monteCarloSeed)
        var hits = 0
        var x = [Int](repeating: 0, count: columns.count)
        for _ in 0..<DriftComparison.monteCarloDraws {
            var inFirst = rowTotal, left = total
            for (j, column) in columns.enumerated() {
                var drawn = 0
                for _ in 0..<column {
                    if generator.next(below: UInt64(left)) < UInt64(inFirst) { drawn += 1; inFirst -= 1 }
                    left -= 1
                }
                x[j] = drawn
            }
            if logProbability(x) <= cutoff { hits += 1 }
        }
        return (Double(1 + hits) / Double(1 + DriftComparison.monteCarloDraws), false)
    }
}
