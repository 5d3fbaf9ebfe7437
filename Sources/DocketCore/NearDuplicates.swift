/// Groups near-duplicate items by embedding so a split never separates them: items whose
/// embeddings lie within `radius` (Euclidean, on the stored vectors, decided in double precision)
/// are joined, transitively. The groups are exactly the connected components of the graph
/// "distance ≤ radius": every such pair is found, none is missed.
///
/// How, exactly (a pigeonhole filter, then a verified join):
/// - The coordinates that vary are cut into blocks of about 16 consecutive coordinates, and each
///   block b gets a share t_b of r², in proportion to its variance (Σ t_b = r²). The squared
///   distance is the sum of the blocks' squared distances, so a pair within r is within √t_b in
///   **at least one** block b (if every block exceeded its share, the sum would exceed r²).
/// - Per block, a k-d tree over that block's coordinates finds every pair within √t_b there
///   (box distances are lower bounds, so the search misses nothing); each such candidate is checked
///   with its full distance before it joins two groups (union–find), skipped when the two are
///   already in one group.
/// Completeness is by that inequality, never by luck; speed comes from the block searches: at 16
/// coordinates and a share of r², a pair that is not a near-duplicate is very rarely within its
/// share (on diffuse embeddings the candidates are nearly exactly the true pairs).
///
/// Floating point: block searches and the first full check run in Float32 with a relative slack
/// of 1e-3 (far above Float32 rounding over these sums), so they only ever keep extra candidates;
/// the decision is the double-precision distance of the stored Float32 values.
///
/// Complexity: O(n·d) to gather the blocks, per block O(n log n) to build its tree and per item the
/// tree nodes within the block's share, plus O(d) per candidate.
public enum NearDuplicateClusters {
    /// The radius `export --group-by cluster` uses.
    public static let defaultRadius: Float = 0.2
    /// Coordinates per block of the pigeonhole filter (at most 8: one SIMD8 lane each).
    public static let blockWidth = 8

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

    /// The blocks of the pigeonhole filter: consecutive runs of the given coordinates, about
    /// `width` each (sizes differ by at most one), in order.
    static func blocks(of coordinates: [Int], width: Int) -> [[Int]] {
        guard !coordinates.isEmpty else { return [] }
        let count = (coordinates.count + max(1, width) - 1) / max(1, width)
        var blocks: [[Int]] = []
        var start = 0
        for b in 0..<count {
            let size = coordinates.count / count + (b < coordinates.count % count ? 1 : 0)
            blocks.append(Array(coordinates[start..<(start + size)]))
            start += size
        }
        return blocks
    }

    /// Each block's share of `limit` (the squared radius), in proportion to the variances of its
    /// coordinates; the shares sum to `limit` (up to rounding, which the search's slack covers).
    static func shares(variances: [Double], blocks: [[Int]], limit: Double) -> [Double] {
        let weights = blocks.map { $0.reduce(0.0) { $0 + variances[$1] } }
        let total = weights.reduce(0, +)
        guard total > 0 else { return blocks.map { _ in limit / Double(blocks.count) } }
        return weights.map { limit * $0 / total }
    }

    /// The connected component of each embedding (an index of one of its members: the smallest)
    /// under "distance ≤ radius". Embeddings whose dimension differs from the first one's, or with a
    /// component that is not finite, are alone (no distance to them is ≤ radius).
    public static func components(embeddings: [[Float]], radius: Double) -> [Int] {
        let n = embeddings.count
        var parent = Array(0..<n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        func union(_ a: Int, _ b: Int) {
            let ra = find(a), rb = find(b)
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        guard let d = embeddings.first?.count, d > 0, n > 1, radius >= 0, radius.isFinite else { return parent }
        let members = (0..<n).filter { embeddings[$0].count == d && embeddings[$0].allSatisfy(\.isFinite) }
        let rows = members.count
        guard rows > 1 else { return parent }
        var flat = [Float](repeating: 0, count: rows * d)
        var low = [Float](repeating: .infinity, count: d), high = [Float](repeating: -.infinity, count: d)
        var mean = [Double](repeating: 0, count: d), variance = [Double](repeating: 0, count: d)
        for (row, index) in members.enumerated() {
            let vector = embeddings[index]
            for k in 0..<d {
                let v = vector[k]
                flat[row * d + k] = v
                low[k] = min(low[k], v)
                high[k] = max(high[k], v)
                mean[k] += Double(v)
            }
        }
        for k in 0..<d { mean[k] /= Double(rows) }
        for row in 0..<rows {
            for k in 0..<d { let e = Double(flat[row * d + k]) - mean[k]; variance[k] += e * e }
        }
        // A coordinate with one value adds nothing to any distance.
        let varying = (0..<d).filter { low[$0] < high[$0] }
        let limit = radius * radius
        guard !varying.isEmpty else {
            // All the vectors are equal: every pair is at distance 0.
            for row in 1..<rows { union(members[0], members[row]) }
            return (0..<n).map(find)
        }
        let blocks = Self.blocks(of: varying, width: blockWidth)
        let shares = Self.shares(variances: variance, blocks: blocks, limit: limit)
        let fullLimit = Float(limit) * (1 + 1e-3) + 1e-9
        flat.withUnsafeBufferPointer { x in
            for (block, share) in zip(blocks, shares) {
                var coordinates = [SIMD8<Float>](repeating: SIMD8(), count: rows)
                for row in 0..<rows {
                    for (c, coordinate) in block.enumerated() { coordinates[row][c] = x[row * d + coordinate] }
                }
                let tree = KDTree(points: coordinates)
                tree.pairs(withinSquared: Float(share) * (1 + 1e-3) + 1e-9) { a, b in
                    let ma = members[a], mb = members[b]
                    guard find(ma) != find(mb) else { return }
                    // Float32 first, stopping once past the radius; then the exact decision.
                    let ra = a * d, rb = b * d
                    var sum: Float = 0
                    var k = 0
                    while k < d {
                        let end = min(d, k + 16)
                        while k < end { let diff = x[ra + k] - x[rb + k]; sum += diff * diff; k += 1 }
                        if sum > fullLimit { return }
                    }
                    var exact = 0.0
                    for k in 0..<d { let diff = Double(x[ra + k]) - Double(x[rb + k]); exact += diff * diff }
                    if exact <= limit { union(ma, mb) }
                }
            }
        }
        return (0..<n).map(find)
    }
}

/// A k-d tree over points of up to 8 coordinates (Float32, one SIMD8 each, unused lanes zero), for
/// the pairs within a squared radius. Each node keeps the bounding box of its points; the search
/// skips a node whose box lies farther than the radius (the distance to a box is a lower bound on
/// the distance to every point in it).
struct KDTree {
    /// The points, reordered so each node is a contiguous range.
    private(set) var points: [SIMD8<Float>]
    /// Position in the tree → index of the point given.
    private(set) var order: [Int]
    private var starts: [Int] = [], ends: [Int] = [], lefts: [Int] = [], rights: [Int] = []
    /// Per node, the box.
    private var lows: [SIMD8<Float>] = [], highs: [SIMD8<Float>] = []
    static let leafSize = 32

    init(points source: [SIMD8<Float>]) {
        order = Array(source.indices)
        points = []
        if !source.isEmpty { _ = build(source, 0, source.count) }
        points = order.map { source[$0] }
    }

    /// Builds the node over order[start..<end] (median split on the axis of widest spread); returns its index.
    private mutating func build(_ source: [SIMD8<Float>], _ start: Int, _ end: Int) -> Int {
        let index = starts.count
        starts.append(start); ends.append(end); lefts.append(-1); rights.append(-1)
        var low = SIMD8<Float>(repeating: .infinity), high = SIMD8<Float>(repeating: -.infinity)
        for i in start..<end {
            let v = source[order[i]]
            low.replace(with: v, where: v .< low)
            high.replace(with: v, where: v .> high)
        }
        lows.append(low)
        highs.append(high)
        var axis = 0
        var widest: Float = 0
        for a in 0..<8 where high[a] - low[a] > widest { widest = high[a] - low[a]; axis = a }
        guard end - start > Self.leafSize, widest > 0 else { return index }
        let middle = (start + end) / 2
        select(source, middle, start, end, axis)
        let left = build(source, start, middle)
        let right = build(source, middle, end)
        lefts[index] = left
        rights[index] = right
        return index
    }

    /// Quickselect: puts the k-th smallest (on `axis`) of order[start..<end] at k, smaller before, larger after.
    private mutating func select(_ source: [SIMD8<Float>], _ k: Int, _ start: Int, _ end: Int, _ axis: Int) {
        var low = start, high = end - 1
        order.withUnsafeMutableBufferPointer { order in
            source.withUnsafeBufferPointer { p in
                while low < high {
                    let pivot = p[order[(low + high) / 2]][axis]
                    var i = low, j = high
                    while i <= j {
                        while p[order[i]][axis] < pivot { i += 1 }
                        while p[order[j]][axis] > pivot { j -= 1 }
                        if i <= j { order.swapAt(i, j); i += 1; j -= 1 }
                    }
                    if k <= j { high = j } else if k >= i { low = i } else { return }
                }
            }
        }
    }

    /// Calls `body(a, b)` (indices of the points given) once for every pair whose squared
    /// distance, computed in Float32, is at most `limit`: one search per point, for partners after
    /// it in the tree's order.
    func pairs(withinSquared limit: Float, _ body: (Int, Int) -> Void) {
        var stack = [Int](repeating: 0, count: 2 * (starts.count + 1))
        let zero = SIMD8<Float>()
        points.withUnsafeBufferPointer { p in
            lows.withUnsafeBufferPointer { lows in
                highs.withUnsafeBufferPointer { highs in
                    starts.withUnsafeBufferPointer { starts in
                        ends.withUnsafeBufferPointer { ends in
                            lefts.withUnsafeBufferPointer { lefts in
                                rights.withUnsafeBufferPointer { rights in
                                    stack.withUnsafeMutableBufferPointer { stack in
                                        for a in 0..<p.count {
                                            let v = p[a]
                                            var top = 1
                                            stack[0] = 0
                                            while top > 0 {
                                                top -= 1
                                                let node = stack[top]
                                                // Only partners after a in the tree's order: each pair once.
                                                if ends[node] <= a + 1 { continue }
                                                // The squared distance from the point to the node's box.
                                                var outside = lows[node] - v
                                                let above = v - highs[node]
                                                outside.replace(with: above, where: above .> outside)
                                                outside.replace(with: zero, where: outside .< zero)
                                                if (outside * outside).sum() > limit { continue }
                                                if lefts[node] < 0 {
                                                    for b in max(starts[node], a + 1)..<ends[node] {
                                                        let diff = v - p[b]
                                                        if (diff * diff).sum() <= limit { body(order[a], order[b]) }
                                                    }
                                                    continue
                                                }
                                                stack[top] = lefts[node]
                                                stack[top + 1] = rights[node]
                                                top += 2
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
