/// Pieces of dataset export that need no IO: CSV cells, deterministic splits, near-duplicate clusters.
public enum CSVText {
    /// One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled.
    /// A cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is
    /// neutralised with a leading apostrophe, since reviewers' free text ends up in spreadsheets.
    public static func cell(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        let needsQuotes = value.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard needsQuotes else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A numeric cell is written as is (a negative number is data, not a formula).
    public static func number(_ value: Double) -> String { JSONText.number(value) }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}

/// Assigns groups (items or clusters) to named splits, deterministically: a group's share of the
/// unit interval comes from a SplitMix64 seeded by the seed and the FNV-1a hash of the group key,
/// so the same key always lands in the same split, whatever else is exported.
public struct SplitPlan: Equatable, Sendable {
    public var splits: [(name: String, fraction: Double)]
    public var seed: UInt64

    public static func == (a: SplitPlan, b: SplitPlan) -> Bool {
        a.seed == b.seed && a.splits.map(\.name) == b.splits.map(\.name) && a.splits.map(\.fraction) == b.splits.map(\.fraction)
    }

    /// Parses `train=0.9,eval=0.1`; each fraction lies in (0, 1], each name once, and they sum to 1.
    public static func parse(_ text: String, seed: UInt64) throws(CoreError) -> SplitPlan {
        var splits: [(String, Double)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, !pieces[0].isEmpty, let fraction = Double(pieces[1]) else {
                throw .invalidSetting(name: "split", value: text, reason: "write each split as name=fraction, e.g. train=0.9,eval=0.1")
            }
            guard fraction.isFinite, fraction > 0, fraction <= 1 else {
                throw .invalidSetting(name: "split", value: text, reason: "the fraction of '\(pieces[0])' must be above 0 and at most 1")
            }
            guard !splits.contains(where: { $0.0 == pieces[0] }) else {
                throw .invalidSetting(name: "split", value: text, reason: "the split '\(pieces[0])' is named twice")
            }
            splits.append((pieces[0], fraction))
        }
        let total = splits.reduce(0) { $0 + $1.1 }
        guard !splits.isEmpty, abs(total - 1) < 1e-9 else {
            throw .invalidSetting(name: "split", value: text, reason: "the fractions must add up to 1")
        }
        return SplitPlan(splits: splits.map { (name: $0.0, fraction: $0.1) }, seed: seed)
    }

    public func split(for key: String) -> String {
        var generator = SplitMix64(seed: seed ^ Self.fnv1a(key))
        let u = generator.nextUnit()
        var cumulative = 0.0
        for split in splits {
            cumulative += split.fraction
            if u < cumulative { return split.name }
        }
        return splits.last!.name
    }

    /// FNV-1a, 64-bit.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// Groups near-duplicate items by embedding so a split never separates them: items whose
/// embeddings lie within `radius` (Euclidean, on the stored unit vectors, computed in double
/// precision) are joined, transitively. The groups are exactly the connected components of the
/// graph "distance ≤ radius": every such pair is found, none is missed.
///
/// How, exactly: each embedding is projected onto m ≤ 8 orthonormal directions (the principal
/// directions of a fixed sample of the data, so the projections spread the items as much as
/// possible). An orthonormal projection never lengthens a vector, so a pair within the radius is
/// within it in the projection too; a k-d tree over the projections finds every pair within the
/// radius there (a superset, with no misses), and each candidate is verified with its full
/// distance before it joins two groups (union–find). Candidate generation is where the speed
/// comes from; completeness comes from the contraction, so it never depends on luck (the earlier
/// sign-random-projection buckets missed pairs that straddled a hyperplane).
///
/// Complexity: O(n·d·m) to project, O(n log n) to build the tree, and per item the tree nodes
/// within the radius plus the verified candidates (O(d) each): near-linear when the projections
/// spread the items wider than the radius, as clustered embeddings do; on data with no
/// structure at all (isotropic vectors in many dimensions) the candidates approach all pairs.
public enum NearDuplicateClusters {
    /// The radius `export --group-by cluster` uses.
    public static let defaultRadius: Float = 0.2

    public static func clusters(ids: [String], embeddings: [[Float]], radius: Float = defaultRadius, seed: UInt64 = 1) -> [String: String] {
        let groups = components(embeddings: embeddings, radius: Double(radius))
        // A cluster is named after its smallest member's id.
        var smallest: [Int: String] = [:]
        for index in embeddings.indices {
            let root = groups[index]
            if let known = smallest[root], known <= ids[index] { continue }
            smallest[root] = ids[index]
        }
        var names: [String: String] = [:]
        for index in embeddings.indices { names[ids[index]] = smallest[groups[index]]! }
        return names
    }

    /// The connected component of each embedding (an index of one of its members) under
    /// "distance ≤ radius". Embeddings whose dimension differs from the first one's are alone.
    public static func components(embeddings: [[Float]], radius: Double) -> [Int] {
        let n = embeddings.count
        var parent = Array(0..<n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        guard let d = embeddings.first?.count, d > 0, n > 1 else { return parent }
        let members = (0..<n).filter { embeddings[$0].count == d }
        var flat = [Double](repeating: 0, count: members.count * d)
        for (row, index) in members.enumerated() {
            let vector = embeddings[index]
            for k in 0..<d { flat[row * d + k] = Double(vector[k]) }
        }
        let directions = principalDirections(flat, rows: members.count, dimension: d, count: min(8, d))
        let m = directions.count / d
        var projected = [Double](repeating: 0, count: members.count * m)
        flat.withUnsafeBufferPointer { x in
            directions.withUnsafeBufferPointer { u in
                projected.withUnsafeMutableBufferPointer { p in
                    for row in 0..<members.count {
                        for c in 0..<m {
                            var dot = 0.0
                            for k in 0..<d { dot += x[row * d + k] * u[c * d + k] }
                            p[row * m + c] = dot
                        }
                    }
                }
            }
        }
        let limit = radius * radius
        // The projection is orthonormal up to rounding: a hair of slack keeps every true pair.
        let slack = radius + 1e-9 * (1 + radius)
        let tree = KDTree(points: projected, dimension: m)
        flat.withUnsafeBufferPointer { x in
            tree.pairs(within: slack) { a, b in
                var sum = 0.0
                let ra = a * d, rb = b * d
                for k in 0..<d {
                    let diff = x[ra + k] - x[rb + k]
                    sum += diff * diff
                    if sum > limit { return }
                }
                let ca = find(members[a]), cb = find(members[b])
                if ca != cb { parent[max(ca, cb)] = min(ca, cb) }
            }
        }
        return (0..<n).map(find)
    }

    /// Up to `count` orthonormal directions of largest variance of a fixed sample of the rows (at
    /// most 4,096, evenly spaced), by power iteration with deflation, completed with coordinate
    /// axes when the data have fewer directions of spread. Deterministic. O(sample · d · count · 20).
    static func principalDirections(_ x: [Double], rows: Int, dimension d: Int, count: Int) -> [Double] {
        let step = max(1, rows / 4096)
        let sample = Array(stride(from: 0, to: rows, by: step))
        var mean = [Double](repeating: 0, count: d)
        for row in sample { for k in 0..<d { mean[k] += x[row * d + k] } }
        for k in 0..<d { mean[k] /= Double(max(1, sample.count)) }
        var centred = [Double](repeating: 0, count: sample.count * d)
        for (i, row) in sample.enumerated() { for k in 0..<d { centred[i * d + k] = x[row * d + k] - mean[k] } }
        var basis: [[Double]] = []
        func orthonormalise(_ v: inout [Double]) -> Bool {
            for _ in 0..<2 {
                for b in basis {
                    var dot = 0.0
                    for k in 0..<d { dot += v[k] * b[k] }
                    for k in 0..<d { v[k] -= dot * b[k] }
                }
            }
            var norm = 0.0
            for k in 0..<d { norm += v[k] * v[k] }
            norm = norm.squareRoot()
            guard norm > 1e-12 else { return false }
            for k in 0..<d { v[k] /= norm }
            return true
        }
        var generator = SplitMix64(seed: 0x5EED)
        while basis.count < count {
            var v = (0..<d).map { _ in generator.nextUnit() - 0.5 }
            guard orthonormalise(&v) else { break }
            var found = true
            for _ in 0..<20 {
                // v ← Cᵀ(C v), C the centred sample: the covariance times v, up to a factor.
                var next = [Double](repeating: 0, count: d)
                for i in 0..<sample.count {
                    var dot = 0.0
                    for k in 0..<d { dot += centred[i * d + k] * v[k] }
                    if dot != 0 { for k in 0..<d { next[k] += dot * centred[i * d + k] } }
                }
                guard orthonormalise(&next) else { found = false; break }
                v = next
            }
            if !found { break }
            basis.append(v)
        }
        // Too little spread for more principal directions: coordinate axes complete the basis.
        var axis = 0
        while basis.count < count, axis < d {
            var v = [Double](repeating: 0, count: d)
            v[axis] = 1
            axis += 1
            if orthonormalise(&v) { basis.append(v) }
        }
        return basis.flatMap { $0 }
    }
}

/// A k-d tree over points in a few dimensions, for the pairs within a radius (Euclidean). Each
/// node keeps the bounding box of its points; a query skips a node whose box lies farther than the
/// radius (the distance to a box is a lower bound on the distance to every point in it).
struct KDTree {
    let points: [Double]
    let dimension: Int
    /// Point indices, reordered so each node is a contiguous range.
    var order: [Int]
    var starts: [Int] = [], ends: [Int] = [], lefts: [Int] = [], rights: [Int] = []
    /// Per node, the box: low and high per dimension (node × dimension).
    var lows: [Double] = [], highs: [Double] = []
    static let leafSize = 16

    init(points: [Double], dimension: Int) {
        self.points = points
        self.dimension = dimension
        order = Array(0..<(dimension == 0 ? 0 : points.count / dimension))
        if !order.isEmpty { _ = build(0, order.count) }
    }

    /// Builds the node over order[start..<end] (median split on the axis of widest spread); returns its index.
    private mutating func build(_ start: Int, _ end: Int) -> Int {
        let index = starts.count
        starts.append(start); ends.append(end); lefts.append(-1); rights.append(-1)
        var axis = 0, widest = -1.0
        for a in 0..<dimension {
            var low = Double.infinity, high = -Double.infinity
            for i in start..<end { let v = points[order[i] * dimension + a]; low = min(low, v); high = max(high, v) }
            lows.append(low)
            highs.append(high)
            if high - low > widest { widest = high - low; axis = a }
        }
        guard end - start > Self.leafSize, widest > 0 else { return index }
        let middle = (start + end) / 2
        select(middle, start, end, axis)
        let left = build(start, middle)
        let right = build(middle, end)
        lefts[index] = left
        rights[index] = right
        return index
    }

    /// Quickselect: puts the k-th smallest (on `axis`) of order[start..<end] at k, smaller before, larger after.
    private mutating func select(_ k: Int, _ start: Int, _ end: Int, _ axis: Int) {
        var low = start, high = end - 1
        let d = dimension
        order.withUnsafeMutableBufferPointer { order in
            points.withUnsafeBufferPointer { p in
                while low < high {
                    let pivot = p[order[(low + high) / 2] * d + axis]
                    var i = low, j = high
                    while i <= j {
                        while p[order[i] * d + axis] < pivot { i += 1 }
                        while p[order[j] * d + axis] > pivot { j -= 1 }
                        if i <= j { order.swapAt(i, j); i += 1; j -= 1 }
                    }
                    if k <= j { high = j } else if k >= i { low = i } else { return }
                }
            }
        }
    }

    /// Calls `body(a, b)` once for every pair a < b whose points lie within `radius`.
    func pairs(within radius: Double, _ body: (Int, Int) -> Void) {
        let r2 = radius * radius
        let d = dimension
        var stack: [Int] = []
        points.withUnsafeBufferPointer { p in
            lows.withUnsafeBufferPointer { lows in
                highs.withUnsafeBufferPointer { highs in
                    for a in 0..<order.count {
                        stack.removeAll(keepingCapacity: true)
                        stack.append(0)
                        while let node = stack.popLast() {
                            // The squared distance from the point to the node's box.
                            var gap = 0.0
                            for c in 0..<d {
                                let q = p[a * d + c]
                                let below = lows[node * d + c] - q, above = q - highs[node * d + c]
                                if below > 0 { gap += below * below } else if above > 0 { gap += above * above }
                            }
                            if gap > r2 { continue }
                            if lefts[node] < 0 {
                                for i in starts[node]..<ends[node] {
                                    let b = order[i]
                                    guard b > a else { continue }
                                    var sum = 0.0
                                    for c in 0..<d {
                                        let diff = p[a * d + c] - p[b * d + c]
                                        sum += diff * diff
                                    }
                                    if sum <= r2 { body(a, b) }
                                }
                                continue
                            }
                            stack.append(lefts[node])
                            stack.append(rights[node])
                        }
                    }
                }
            }
        }
    }
}
