#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reliability data: items × reviewers, each cell a label or missing.
///
/// For nominal and ordinal data a value is a category index into the declared labels (so unused
/// labels still count, which matters for weighted kappa and ordinal alpha); for interval and ratio
/// data a value is the number itself. Missing is NaN. Storage is one flat row-major array.
public struct RatingTable: Sendable {
    public let items: Int
    public let raters: Int
    /// Declared categories for nominal/ordinal data (values are 0..<categories); 0 for numeric data.
    public let categories: Int
    public private(set) var values: [Double]

    public init(items: Int, raters: Int, categories: Int) {
        self.items = items
        self.raters = raters
        self.categories = categories
        self.values = [Double](repeating: .nan, count: items * raters)
    }

    /// Builds a table from rows of optional values (tests and small data).
    public init(_ rows: [[Double?]], categories: Int) {
        self.init(items: rows.count, raters: rows.first?.count ?? 0, categories: categories)
        for (i, row) in rows.enumerated() { for (r, value) in row.enumerated() { if let value { self[i, r] = value } } }
    }

    public subscript(item: Int, rater: Int) -> Double? {
        get { let v = values[item * raters + rater]; return v.isNaN ? nil : v }
        set { values[item * raters + rater] = newValue ?? .nan }
    }

    /// Sets a cell by its flat index (row × raters + column); NaN is missing.
    public mutating func set(_ cell: Int, _ value: Double) { values[cell] = value }

    /// The same table with items in the given order (repeats allowed): a bootstrap resample.
    public func resampled(_ order: [Int]) -> RatingTable {
        var copy = RatingTable(items: order.count, raters: raters, categories: categories)
        copy.values.withUnsafeMutableBufferPointer { target in
            values.withUnsafeBufferPointer { source in
                for (row, item) in order.enumerated() {
                    for r in 0..<raters { target[row * raters + r] = source[item * raters + r] }
                }
            }
        }
        return copy
    }

    /// Keeps only the given raters, in that order.
    public func selecting(raters chosen: [Int]) -> RatingTable {
        var copy = RatingTable(items: items, raters: chosen.count, categories: categories)
        for i in 0..<items { for (c, r) in chosen.enumerated() { copy.values[i * chosen.count + c] = values[i * raters + r] } }
        return copy
    }

    /// Number of labels given.
    public var labelCount: Int { values.reduce(0) { $1.isNaN ? $0 : $0 + 1 } }

    /// Categories for computations: the declared ones, or the distinct numeric values in order.
    func categoryValues() -> [Double] {
        if categories > 0 { return (0..<categories).map(Double.init) }
        var seen = Set<Double>()
        for v in values where !v.isNaN { seen.insert(v) }
        return seen.sorted()
    }

    /// Per item, counts of each category (r_ik) over `categoryValues()`, as rows of a flat array.
    func countMatrix(_ categories: [Double]) -> [[Double]] {
        let flat = flatCounts(categories)
        let k = categories.count
        return (0..<items).map { i in Array(flat[(i * k)..<(i * k + k)]) }
    }

    /// The counts r_ik in one row-major array (items × k). Category values are used directly as
    /// indices when they are the declared 0..<k, else looked up.
    func flatCounts(_ categories: [Double]) -> [Double] {
        let k = categories.count
        var counts = [Double](repeating: 0, count: items * k)
        let direct = self.categories > 0 && k == self.categories
        var index: [Double: Int] = [:]
        if !direct { for (c, value) in categories.enumerated() { index[value] = c } }
        values.withUnsafeBufferPointer { source in
            counts.withUnsafeMutableBufferPointer { target in
                for i in 0..<items {
                    for r in 0..<raters {
                        let v = source[i * raters + r]
                        guard !v.isNaN else { continue }
                        if direct {
                            let c = Int(v)
                            if c >= 0 && c < k { target[i * k + c] += 1 }
                        } else if let c = index[v] {
                            target[i * k + c] += 1
                        }
                    }
                }
            }
        }
        return counts
    }
}

/// Agreement weights between categories a and b (0-based), for k categories.
public enum AgreementWeights: String, Sendable, CaseIterable {
    case none, linear, quadratic

    public func matrix(_ categories: [Double]) -> [[Double]] {
        let k = categories.count
        let span = (categories.last ?? 0) - (categories.first ?? 0)
        return (0..<k).map { a in
            (0..<k).map { b in
                switch self {
                case .none: return a == b ? 1 : 0
                case .linear: return span == 0 ? 1 : 1 - abs(categories[a] - categories[b]) / span
                case .quadratic: return span == 0 ? 1 : 1 - pow((categories[a] - categories[b]) / span, 2)
                }
            }
        }
    }
}

/// A statistic's value, or the reason it is undefined; with its standard error when the literature gives one.
public struct Estimate: Equatable, Sendable {
    public var value: Double?
    public var reason: String?
    public var standardError: Double?
    /// Degrees of freedom for a t-based interval (irrCAC's convention: items − 1).
    public var degreesOfFreedom: Double?
    public var itemsUsed: Int
    public var itemsDropped: Int
    public var labels: Int

    public init(value: Double?, reason: String?, standardError: Double?, degreesOfFreedom: Double?, itemsUsed: Int, itemsDropped: Int, labels: Int) {
        self.value = value
        self.reason = reason
        self.standardError = standardError
        self.degreesOfFreedom = degreesOfFreedom
        self.itemsUsed = itemsUsed
        self.itemsDropped = itemsDropped
        self.labels = labels
    }

    public static func undefined(_ reason: String, items: Int, dropped: Int = 0, labels: Int) -> Estimate {
        Estimate(value: nil, reason: reason, standardError: nil, degreesOfFreedom: nil, itemsUsed: items, itemsDropped: dropped, labels: labels)
    }

    /// A two-sided interval from the standard error: t-based when degrees of freedom are known.
    public func analyticInterval(level: Double = 0.95) -> (Double, Double)? {
        guard let value, let se = standardError, se.isFinite else { return nil }
        let q = degreesOfFreedom.map { Distributions.studentTQuantile(1 - (1 - level) / 2, df: $0) }
            ?? Distributions.normalQuantile(1 - (1 - level) / 2)
        return (value - q * se, value + q * se)
    }
}

/// Chance-corrected agreement statistics. Every function is pure and documents its formula.
public enum Agreement {
    /// Percent agreement: the mean over items with two or more labels of the share of agreeing
    /// label pairs, Σ_k r_ik(r_ik − 1) / (r_i(r_i − 1)). With two reviewers, the share of items
    /// on which they agree. O(items × reviewers).
    public static func percentAgreement(_ table: RatingTable) -> Estimate {
        let cats = table.categoryValues()
        let counts = table.countMatrix(cats)
        var sum = 0.0, used = 0
        for row in counts {
            let r = row.reduce(0, +)
            guard r >= 2 else { continue }
            used += 1
            sum += row.reduce(0) { $0 + $1 * ($1 - 1) } / (r * (r - 1))
        }
        guard used > 0 else { return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: table.labelCount) }
        return Estimate(value: sum / Double(used), reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: used, itemsDropped: table.items - used, labels: table.labelCount)
    }

    /// Cohen's kappa for two reviewers (Cohen 1960; weighted: Cohen 1968), over the items both labelled:
    /// κ = (p_o − p_e) / (1 − p_e), p_o = Σ w_ab p_ab, p_e = Σ w_ab p_a· p_·b.
    /// Standard error: the large-sample variance of Fleiss, Cohen & Everitt (1969),
    /// var = [Σ p_ab (w_ab − (w̄_a· + w̄_·b)(1 − κ))² − (κ − p_e(1 − κ))²] / (n (1 − p_e)²).
    /// Complexity O(items + k²).
    public static func cohensKappa(_ table: RatingTable, weights: AgreementWeights = .none) -> Estimate {
        precondition(table.raters == 2, "Cohen's kappa compares two reviewers")
        return twoRaterKappa(table, weights: weights, scott: false)
    }

    /// Scott's pi (Scott 1955): as Cohen's kappa, with chance agreement from the pooled marginals,
    /// p_e = Σ_k ((p_k· + p_·k) / 2)².
    public static func scottsPi(_ table: RatingTable) -> Estimate {
        precondition(table.raters == 2, "Scott's pi compares two reviewers")
        return twoRaterKappa(table, weights: .none, scott: true)
    }

    static func twoRaterKappa(_ table: RatingTable, weights: AgreementWeights, scott: Bool) -> Estimate {
        let cats = table.categoryValues()
        let k = cats.count
        var index: [Double: Int] = [:]
        for (i, c) in cats.enumerated() { index[c] = i }
        let direct = table.categories > 0
        var flatP = [Double](repeating: 0, count: k * k)
        var n = 0
        table.values.withUnsafeBufferPointer { values in
            for i in 0..<table.items {
                let a = values[i * 2], b = values[i * 2 + 1]
                guard !a.isNaN, !b.isNaN else { continue }
                if direct {
                    flatP[Int(a) * k + Int(b)] += 1
                } else if let x = index[a], let y = index[b] {
                    flatP[x * k + y] += 1
                } else {
                    continue
                }
                n += 1
            }
        }
        var p = (0..<k).map { Array(flatP[($0 * k)..<($0 * k + k)]) }
        let labels = table.labelCount
        guard n > 0 else { return .undefined("the two reviewers share no items", items: 0, dropped: table.items, labels: labels) }
        let nn = Double(n)
        for x in 0..<k { for y in 0..<k { p[x][y] /= nn } }
        let w = weights.matrix(cats)
        let rows = (0..<k).map { x in p[x].reduce(0, +) }
        let columns = (0..<k).map { y in (0..<k).reduce(0) { $0 + p[$1][y] } }
        var po = 0.0, pe = 0.0
        for x in 0..<k {
            for y in 0..<k {
                po += w[x][y] * p[x][y]
                if scott {
                    let m = x == y ? (rows[x] + columns[x]) / 2 : 0
                    pe += x == y ? m * m : 0
                } else {
                    pe += w[x][y] * rows[x] * columns[y]
                }
            }
        }
        guard pe < 1 - 1e-15 else {
            return .undefined("expected agreement is 1 (a single category is in use)", items: n, dropped: table.items - n, labels: labels)
        }
        let kappa = (po - pe) / (1 - pe)
        var se: Double?
        if !scott {
            let wRow = (0..<k).map { x in (0..<k).reduce(0) { $0 + columns[$1] * w[x][$1] } }
            let wColumn = (0..<k).map { y in (0..<k).reduce(0) { $0 + rows[$1] * w[$1][y] } }
            var sum = 0.0
            for x in 0..<k {
                for y in 0..<k where p[x][y] > 0 {
                    let d = w[x][y] - (wRow[x] + wColumn[y]) * (1 - kappa)
                    sum += p[x][y] * d * d
                }
            }
            let last = kappa - pe * (1 - kappa)
            let variance = (sum - last * last) / (nn * (1 - pe) * (1 - pe))
            se = variance > 0 ? variance.squareRoot() : 0
        }
        return Estimate(value: kappa, reason: nil, standardError: se, degreesOfFreedom: nil, itemsUsed: n, itemsDropped: table.items - n, labels: labels)
    }

    /// The shared pieces of Fleiss-type statistics with missing data (Gwet 2014, as in irrCAC):
    /// items with no label are left out; p_a averages agreement over items with r_i ≥ 2;
    /// π_k is the mean over items of r_ik / r_i.
    struct MultiRater {
        var k: Int
        var counts: [Double]  // r_ik, flat (n × k), items with ≥ 1 label
        var totals: [Double]  // r_i
        var weights: [[Double]]
        var pa: Double
        var paItem: [Double]
        var pi: [Double]
        var n: Int
        var n2: Int
        var dropped: Int
        var labels: Int
    }

    static func multiRater(_ table: RatingTable, weights: AgreementWeights) -> MultiRater? {
        let cats = table.categoryValues()
        let k = cats.count
        let w = weights.matrix(cats)
        let identity = weights == .none
        let flat = table.flatCounts(cats)
        var counts: [Double] = []
        counts.reserveCapacity(flat.count)
        var totals: [Double] = []
        totals.reserveCapacity(table.items)
        for i in 0..<table.items {
            var total = 0.0
            for c in 0..<k { total += flat[i * k + c] }
            guard total > 0 else { continue }
            counts.append(contentsOf: flat[(i * k)..<(i * k + k)])
            totals.append(total)
        }
        let n = totals.count
        var paItem = [Double](repeating: 0, count: n)
        var n2 = 0, sum = 0.0
        var pi = [Double](repeating: 0, count: k)
        counts.withUnsafeBufferPointer { counts in
            for i in 0..<n {
                let row = counts.baseAddress! + i * k
                for a in 0..<k { pi[a] += row[a] / totals[i] }
                guard totals[i] >= 2 else { continue }
                n2 += 1
                var s = 0.0
                for a in 0..<k where row[a] > 0 {
                    // r*_ia = Σ_b w_ab r_ib; unweighted it is r_ia.
                    var weighted = row[a]
                    if !identity {
                        weighted = 0
                        for b in 0..<k { weighted += w[a][b] * row[b] }
                    }
                    s += row[a] * (weighted - 1)
                }
                paItem[i] = s / (totals[i] * (totals[i] - 1))
                sum += paItem[i]
            }
        }
        guard n2 > 0, n > 0 else { return nil }
        for a in 0..<k { pi[a] /= Double(n) }
        return MultiRater(
            k: k, counts: counts, totals: totals, weights: w, pa: sum / Double(n2), paItem: paItem, pi: pi, n: n, n2: n2,
            dropped: table.items - n2, labels: table.labelCount)
    }

    /// Fleiss' kappa (Fleiss 1971), generalised to missing data as in Gwet (2014) and irrCAC:
    /// κ = (p_a − p_e) / (1 − p_e), p_e = Σ_kl w_kl π_k π_l. With every item labelled by the same
    /// number of reviewers this is Fleiss' 1971 statistic. Standard error: Gwet's linearisation,
    /// var = Σ_i (κ*_i − κ)² / (n(n − 1)), κ*_i = (n/n₂)(p_a|i − p_e·[r_i≥2])/(1 − p_e)
    /// − 2(1 − κ)(p_e|i − p_e)/(1 − p_e). O(items × k²).
    public static func fleissKappa(_ table: RatingTable, weights: AgreementWeights = .none) -> Estimate {
        guard let m = multiRater(table, weights: weights) else {
            return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: table.labelCount)
        }
        let k = m.pi.count
        var pe = 0.0
        for a in 0..<k { for b in 0..<k { pe += m.weights[a][b] * m.pi[a] * m.pi[b] } }
        guard pe < 1 - 1e-15 else { return .undefined("expected agreement is 1 (a single category is in use)", items: m.n2, dropped: m.dropped, labels: m.labels) }
        let kappa = (m.pa - pe) / (1 - pe)
        // π̄_k = (Σ_l w_kl π_l + Σ_l w_lk π_l) / 2
        var piW = [Double](repeating: 0, count: k)
        for a in 0..<k {
            for b in 0..<k {
                let w: Double = (m.weights[a][b] + m.weights[b][a]) / 2
                piW[a] += w * m.pi[b]
            }
        }
        var sum = 0.0
        let n = Double(m.n), n2 = Double(m.n2)
        for i in 0..<m.n {
            let has2 = m.totals[i] >= 2
            let kappaI = (n / n2) * (m.paItem[i] - (has2 ? pe : 0)) / (1 - pe)
            var peI = 0.0
            for c in 0..<k { peI += m.counts[i * k + c] * piW[c] }
            peI /= m.totals[i]
            let x = kappaI - 2 * (1 - kappa) * (peI - pe) / (1 - pe)
            sum += (x - kappa) * (x - kappa)
        }
        let variance = m.n > 1 ? sum / (n * (n - 1)) : .nan
        return Estimate(value: kappa, reason: nil, standardError: variance.isNaN ? nil : variance.squareRoot(), degreesOfFreedom: m.n > 1 ? n - 1 : nil, itemsUsed: m.n2, itemsDropped: m.dropped, labels: m.labels)
    }

    /// Conger's kappa (Conger 1980), the multi-rater generalisation of Cohen's kappa, with missing
    /// data and weights as in Gwet (2014) and irrCAC's `conger`: p_a as Fleiss'; chance agreement
    /// from each reviewer's own marginals, p_e = Σ_kl w_kl (p̄_k p̄_l − s²_kl / r), where p_gk is the
    /// share of reviewer g's labels in category k, p̄_k the mean over the r reviewers and
    /// s²_kl = (Σ_g p_gk p_gl − r p̄_k p̄_l)/(r − 1). With every item labelled by every reviewer it is
    /// the mean of Cohen's pairwise chance agreements (nltk's `multi_kappa`); with two reviewers,
    /// Cohen's kappa on complete data. Standard error: Gwet's linearisation, as for Fleiss' kappa,
    /// with p_e|i = Σ_g λ_ig / (r(r − 1)), λ_ig = (n/n_g) Σ_k [Σ_l w_kl (δ_igl − (ε_ig − n_g/n) p_gl)]
    /// (r p̄_k − p_gk). Reviewers without labels are left out. O(items × reviewers + reviewers × k²).
    public static func congersKappa(_ table: RatingTable, weights: AgreementWeights = .none) -> Estimate {
        guard let m = multiRater(table, weights: weights) else {
            return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: table.labelCount)
        }
        let cats = table.categoryValues()
        let k = cats.count
        var index: [Double: Int] = [:]
        for (i, c) in cats.enumerated() { index[c] = i }
        // Each kept item's class per reviewer (−1: no label), in multiRater's item order.
        var classes: [Int] = []
        classes.reserveCapacity(m.n * table.raters)
        var perRater = [Double](repeating: 0, count: table.raters * k)
        for i in 0..<table.items {
            var row: [Int] = []
            row.reserveCapacity(table.raters)
            for g in 0..<table.raters {
                let v = table.values[i * table.raters + g]
                let c = v.isNaN ? -1 : (table.categories > 0 ? (Int(v) < k && v >= 0 ? Int(v) : -1) : (index[v] ?? -1))
                row.append(c)
            }
            guard row.contains(where: { $0 >= 0 }) else { continue }
            for (g, c) in row.enumerated() where c >= 0 { perRater[g * k + c] += 1 }
            classes.append(contentsOf: row)
        }
        let raters = (0..<table.raters).filter { g in (0..<k).contains { perRater[g * k + $0] > 0 } }
        let r = raters.count
        guard r >= 2 else { return .undefined("Conger's kappa needs two or more reviewers with labels", items: m.n2, dropped: m.dropped, labels: m.labels) }
        let n = Double(m.n), rr = Double(r), w = m.weights
        let ng = raters.map { g in (0..<k).reduce(0.0) { $0 + perRater[g * k + $1] } }
        let p = raters.enumerated().map { j, g in (0..<k).map { perRater[g * k + $0] / ng[j] } }
        let mean = (0..<k).map { c in p.reduce(0) { $0 + $1[c] } / rr }
        var pe = 0.0
        for a in 0..<k {
            for b in 0..<k {
                let s2 = (p.reduce(0) { $0 + $1[a] * $1[b] } - rr * mean[a] * mean[b]) / (rr - 1)
                pe += w[a][b] * (mean[a] * mean[b] - s2 / rr)
            }
        }
        guard pe < 1 - 1e-15 else { return .undefined("expected agreement is 1 (a single category is in use)", items: m.n2, dropped: m.dropped, labels: m.labels) }
        let kappa = (m.pa - pe) / (1 - pe)
        // Per reviewer: B_gk = r p̄_k − p_gk, C_g = Σ_k (Σ_l w_kl p_gl) B_gk, D_gc = Σ_k w_kc B_gk.
        var cTerm = [Double](repeating: 0, count: r)
        var dTerm = [[Double]](repeating: [Double](repeating: 0, count: k), count: r)
        for j in 0..<r {
            for a in 0..<k {
                let b = rr * mean[a] - p[j][a]
                var wp = 0.0
                for l in 0..<k { wp += w[a][l] * p[j][l] }
                cTerm[j] += wp * b
                for c in 0..<k { dTerm[j][c] += w[a][c] * b }
            }
        }
        var sum = 0.0
        let n2 = Double(m.n2)
        for i in 0..<m.n {
            var lambda = 0.0
            for (j, g) in raters.enumerated() {
                let c = classes[i * table.raters + g]
                let labelled = c >= 0 ? 1.0 : 0.0
                lambda += (n / ng[j]) * ((c >= 0 ? dTerm[j][c] : 0) - (labelled - ng[j] / n) * cTerm[j])
            }
            let peI = lambda / (rr * (rr - 1))
            let kappaI = (n / n2) * (m.paItem[i] - (m.totals[i] >= 2 ? pe : 0)) / (1 - pe)
            let x = kappaI - 2 * (1 - kappa) * (peI - pe) / (1 - pe)
            sum += (x - kappa) * (x - kappa)
        }
        let variance = m.n > 1 ? sum / (n * (n - 1)) : .nan
        return Estimate(value: kappa, reason: nil, standardError: variance.isNaN ? nil : variance.squareRoot(), degreesOfFreedom: m.n > 1 ? n - 1 : nil, itemsUsed: m.n2, itemsDropped: m.dropped, labels: m.labels)
    }

    /// Gwet's AC1 (Gwet 2008), with missing data and its variance as in Gwet (2014) and irrCAC:
    /// p_e = T_w Σ_k π_k(1 − π_k) / (k(k − 1)), T_w the sum of the weights (k when unweighted).
    public static func gwetAC1(_ table: RatingTable, weights: AgreementWeights = .none) -> Estimate {
        guard let m = multiRater(table, weights: weights) else {
            return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: table.labelCount)
        }
        let k = m.pi.count
        guard k >= 2 else { return .undefined("fewer than two categories", items: m.n2, dropped: m.dropped, labels: m.labels) }
        let tw = m.weights.reduce(0) { $0 + $1.reduce(0, +) }
        let kk = Double(k * (k - 1))
        let pe = tw * m.pi.reduce(0) { $0 + $1 * (1 - $1) } / kk
        guard pe < 1 - 1e-15 else { return .undefined("expected agreement is 1", items: m.n2, dropped: m.dropped, labels: m.labels) }
        let ac1 = (m.pa - pe) / (1 - pe)
        var sum = 0.0
        let n = Double(m.n), n2 = Double(m.n2)
        for i in 0..<m.n {
            let has2 = m.totals[i] >= 2
            let ac1I = (n / n2) * (m.paItem[i] - (has2 ? pe : 0)) / (1 - pe)
            var peI = 0.0
            for c in 0..<k { peI += m.counts[i * k + c] * (1 - m.pi[c]) }
            peI *= (tw / kk) / m.totals[i]
            let x = ac1I - 2 * (1 - ac1) * (peI - pe) / (1 - pe)
            sum += (x - ac1) * (x - ac1)
        }
        let variance = m.n > 1 ? sum / (n * (n - 1)) : .nan
        return Estimate(value: ac1, reason: nil, standardError: variance.isNaN ? nil : variance.squareRoot(), degreesOfFreedom: m.n > 1 ? n - 1 : nil, itemsUsed: m.n2, itemsDropped: m.dropped, labels: m.labels)
    }

    /// Randolph's free-marginal multirater kappa (Randolph 2005): κ = (p_a − 1/k) / (1 − 1/k),
    /// with k the number of declared categories.
    public static func randolphKappa(_ table: RatingTable) -> Estimate {
        guard let m = multiRater(table, weights: .none) else {
            return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: table.labelCount)
        }
        let k = Double(m.pi.count)
        guard k >= 2 else { return .undefined("fewer than two categories", items: m.n2, dropped: m.dropped, labels: m.labels) }
        return Estimate(value: (m.pa - 1 / k) / (1 - 1 / k), reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: m.n2, itemsDropped: m.dropped, labels: m.labels)
    }

    /// Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"):
    /// α = 1 − D_o / D_e from the coincidence matrix o_ck = Σ_u (c–k pairs in u) / (m_u − 1) over
    /// units with m_u ≥ 2 values, D_o = Σ o_ck δ²_ck / n, D_e = Σ n_c n_k δ²_ck / (n(n − 1)), with
    /// δ² nominal [c ≠ k], ordinal (Σ_{g=c..k} n_g − (n_c + n_k)/2)², interval (c − k)², ratio
    /// ((c − k)/(c + k))². Units with fewer than two values are ignored. O(items × reviewers + k²).
    public static func krippendorffAlpha(_ table: RatingTable, level: MeasurementLevel) -> Estimate {
        let cats = table.categoryValues()
        let k = cats.count
        let counts = table.flatCounts(cats)
        var flatO = [Double](repeating: 0, count: k * k)
        var used = 0
        counts.withUnsafeBufferPointer { counts in
            flatO.withUnsafeMutableBufferPointer { o in
                for i in 0..<table.items {
                    let row = counts.baseAddress! + i * k
                    var m = 0.0
                    for c in 0..<k { m += row[c] }
                    guard m >= 2 else { continue }
                    used += 1
                    let scale = 1 / (m - 1)
                    for c in 0..<k where row[c] > 0 {
                        for d in 0..<k where row[d] > 0 {
                            o[c * k + d] += row[c] * (c == d ? row[d] - 1 : row[d]) * scale
                        }
                    }
                }
            }
        }
        let o = (0..<k).map { Array(flatO[($0 * k)..<($0 * k + k)]) }
        let labels = table.labelCount
        guard used > 0 else { return .undefined("no item has two or more labels", items: 0, dropped: table.items, labels: labels) }
        let nc = (0..<k).map { o[$0].reduce(0, +) }
        let n = nc.reduce(0, +)
        func delta(_ c: Int, _ d: Int) -> Double {
            switch level {
            case .nominal: return c == d ? 0 : 1
            case .ordinal:
                let (lo, hi) = c <= d ? (c, d) : (d, c)
                var s = 0.0
                for g in lo...hi { s += nc[g] }
                s -= (nc[c] + nc[d]) / 2
                return s * s
            case .interval: return (cats[c] - cats[d]) * (cats[c] - cats[d])
            case .ratio:
                let sum = cats[c] + cats[d]
                return sum == 0 ? 0 : pow((cats[c] - cats[d]) / sum, 2)
            }
        }
        var observed = 0.0, expected = 0.0
        for c in 0..<k {
            for d in 0..<k where c != d {
                let dd = delta(c, d)
                observed += o[c][d] * dd
                expected += nc[c] * nc[d] * dd
            }
        }
        observed /= n
        expected /= n * (n - 1)
        guard expected > 0 else {
            return .undefined("expected disagreement is 0 (a single value is in use)", items: used, dropped: table.items - used, labels: labels)
        }
        return Estimate(value: 1 - observed / expected, reason: nil, standardError: nil, degreesOfFreedom: nil, itemsUsed: used, itemsDropped: table.items - used, labels: labels)
    }

    /// A percentile bootstrap interval over items: `reps` resamples drawn with a SplitMix64 from `seed`.
    /// Resamples where the statistic is undefined are left out (and counted).
    public static func bootstrap(
        _ table: RatingTable, reps: Int, seed: UInt64, level: Double = 0.95, statistic: (RatingTable) -> Double?
    ) -> (low: Double, high: Double, undefined: Int)? {
        guard table.items > 0, reps > 0 else { return nil }
        var generator = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(reps)
        var undefined = 0
        var order = [Int](repeating: 0, count: table.items)
        for _ in 0..<reps {
            for i in 0..<table.items { order[i] = Int(generator.next(below: UInt64(table.items))) }
            if let value = statistic(table.resampled(order)) { values.append(value) } else { undefined += 1 }
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        func quantile(_ q: Double) -> Double {
            // Type 7 (linear interpolation), as numpy.percentile's default.
            let h = Double(values.count - 1) * q
            let lo = Int(h.rounded(.down)), hi = min(values.count - 1, lo + 1)
            return values[lo] + (h - Double(lo)) * (values[hi] - values[lo])
        }
        return (quantile((1 - level) / 2), quantile(1 - (1 - level) / 2), undefined)
    }
}
