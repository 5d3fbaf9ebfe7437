import Foundation
import DocketTestSupport
import Testing

@testable import DocketCore

/// Near-duplicate groups are exactly the connected components of "distance ≤ radius".
@Suite struct NearDuplicateTests {
    static func unit(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    static func distance(_ a: [Float], _ b: [Float]) -> Double {
        var sum = 0.0
        for k in a.indices { let d = Double(a[k]) - Double(b[k]); sum += d * d }
        return sum.squareRoot()
    }

    /// Components by brute force: every pair compared; with the pairs within the radius.
    static func bruteForce(_ vectors: [[Float]], radius: Double) -> (components: [Int], pairs: [(Int, Int)]) {
        var parent = Array(vectors.indices)
        var pairs: [(Int, Int)] = []
        func find(_ x: Int) -> Int { var x = x; while parent[x] != x { x = parent[x] }; return x }
        for a in vectors.indices {
            for b in (a + 1)..<vectors.count where distance(vectors[a], vectors[b]) <= radius {
                pairs.append((a, b))
                let ra = find(a), rb = find(b)
                if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
            }
        }
        return (vectors.indices.map(find), pairs)
    }

    /// Same partition, whatever the representatives.
    static func samePartition(_ a: [Int], _ b: [Int]) -> Bool {
        var forward: [Int: Int] = [:], backward: [Int: Int] = [:]
        for i in a.indices {
            if let seen = forward[a[i]], seen != b[i] { return false }
            if let seen = backward[b[i]], seen != a[i] { return false }
            forward[a[i]] = b[i]
            backward[b[i]] = a[i]
        }
        return true
    }

    /// A data set built to defeat bucket hashing: clustered unit vectors; near-duplicate pairs
    /// placed on both sides of the old method's hyperplanes (the 12 planes of SplitMix64 seed 1)
    /// at distances just inside the radius; and chains whose links are within the radius while
    /// the ends are far apart.
    static func adversarial(seed: UInt64, dimension d: Int, count: Int) -> [[Float]] {
        var generator = SplitMix64(seed: seed)
        func gaussian() -> Double {
            let u = max(generator.nextUnit(), 1e-300), v = generator.nextUnit()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
        var planeGenerator = SplitMix64(seed: 1)
        let planes = (0..<12).map { _ in unit((0..<d).map { _ in planeGenerator.nextUnit() * 2 - 1 }) }
        let centres = (0..<6).map { _ in unit((0..<d).map { _ in gaussian() }) }
        var vectors: [[Double]] = []
        while vectors.count < count {
            let centre = centres[Int(generator.next(below: 6))]
            let base = unit(centre.indices.map { centre[$0] + 0.25 * gaussian() / Double(d).squareRoot() * 4 })
            switch generator.next(below: 4) {
            case 0:
                // Straddle a plane: move the point onto the plane, then ± along its normal.
                let plane = planes[Int(generator.next(below: 12))]
                let dot = zip(base, plane).reduce(0) { $0 + $1.0 * $1.1 }
                let onPlane = unit(base.indices.map { base[$0] - dot * plane[$0] })
                let offset = 0.0995 * (0.9 + 0.1 * generator.nextUnit())
                vectors.append(unit(onPlane.indices.map { onPlane[$0] + offset * plane[$0] }))
                vectors.append(unit(onPlane.indices.map { onPlane[$0] - offset * plane[$0] }))
            case 1:
                // A chain of 4 links, each step just inside the radius, along a fixed direction.
                let direction = unit((0..<d).map { _ in gaussian() })
                var point = base
                for _ in 0..<5 {
                    vectors.append(point)
                    point = unit(point.indices.map { point[$0] + 0.195 * direction[$0] })
                }
            default:
                vectors.append(base)
            }
        }
        return vectors.map { $0.map(Float.init) }
    }

    /// For 20 seeds and three dimensions, the groups equal the brute-force components, and no pair
    /// within the radius is split by a split plan.
    @Test func exactlyTheComponentsForTwentySeeds() {
        let plan = try! SplitPlan.parse("train=0.5,eval=0.5", seed: 3)
        var straddling = 0
        for seed in UInt64(1)...20 {
            let d = [16, 64, 384][Int(seed % 3)]
            let vectors = Self.adversarial(seed: seed, dimension: d, count: d == 384 ? 60 : 150)
            let ids = vectors.indices.map { "item-\($0)" }
            let found = NearDuplicateClusters.components(embeddings: vectors, radius: 0.2)
            let truth = Self.bruteForce(vectors, radius: 0.2)
            #expect(Self.samePartition(found, truth.components), "seed \(seed), d \(d)")
            let names = NearDuplicateClusters.clusters(ids: ids, embeddings: vectors)
            for (a, b) in truth.pairs {
                #expect(plan.split(for: names[ids[a]]!) == plan.split(for: names[ids[b]]!), "seed \(seed): \(a) and \(b) split")
                if a + 1 == b { straddling += 1 }
            }
        }
        #expect(straddling > 60)
    }

    /// Identical vectors, vectors of another dimension, a single item, none.
    @Test func edgeCases() {
        let same: [[Float]] = Array(repeating: [1, 0, 0], count: 40) + [[0, 1, 0], [0, 1]]
        let groups = NearDuplicateClusters.components(embeddings: same, radius: 0.2)
        #expect(Set(groups[0..<40]).count == 1 && groups[40] != groups[0] && groups[41] == 41)
        #expect(NearDuplicateClusters.components(embeddings: [[1, 0]], radius: 0.2) == [0])
        #expect(NearDuplicateClusters.components(embeddings: [], radius: 0.2).isEmpty)
        // Exactly at the radius is within it.
        let atRadius: [[Float]] = [[1, 0], [0.98, 0.198997487]]
        #expect(Self.distance(atRadius[0], atRadius[1]) <= 0.2)
        #expect(NearDuplicateClusters.components(embeddings: atRadius, radius: 0.2) == [0, 0])
    }
}

/// The pigeonhole filter's own structure: blocks, shares, and pairs at its boundaries.
@Suite struct NearDuplicateBlockTests {
    @Test func blocksAreConsecutiveAndEven() {
        #expect(NearDuplicateClusters.blocks(of: Array(0..<20), width: 8) == [Array(0..<7), Array(7..<14), Array(14..<20)])
        #expect(NearDuplicateClusters.blocks(of: Array(0..<16), width: 8) == [Array(0..<8), Array(8..<16)])
        #expect(NearDuplicateClusters.blocks(of: [0, 2, 5], width: 8) == [[0, 2, 5]])
        #expect(NearDuplicateClusters.blocks(of: [], width: 8).isEmpty)
    }

    @Test func sharesFollowTheVariances() {
        let shares = NearDuplicateClusters.shares(variances: [1, 1, 2, 0], blocks: [[0, 1], [2, 3]], limit: 0.04)
        #expect(shares == [0.02, 0.02])
        #expect(NearDuplicateClusters.shares(variances: [3, 1], blocks: [[0], [1]], limit: 1) == [0.75, 0.25])
        #expect(NearDuplicateClusters.shares(variances: [0, 0], blocks: [[0], [1]], limit: 0.04) == [0.02, 0.02])
    }

    /// Vectors in 24 dimensions (three blocks of 8): pairs whose difference is spread evenly over
    /// the blocks so each block is near its share (the pigeonhole's boundary), pairs whose whole
    /// difference lies in one block or one coordinate, at 0.15, just inside, at and just outside the
    /// radius; the groups equal brute force's (35 pairs within 0.2 once stored as Float32).
    @Test func pairsAtTheBlockBoundaries() {
        var generator = SplitMix64(seed: 11)
        var vectors: [[Float]] = []
        for pair in 0..<60 {
            var base = (0..<24).map { _ in generator.nextUnit() * 2 - 1 }
            let norm = base.reduce(0) { $0 + $1 * $1 }.squareRoot()
            base = base.map { $0 / norm }
            var step = [Double](repeating: 0, count: 24)
            switch pair % 3 {
            case 0: for k in 0..<24 { step[k] = k % 2 == 0 ? 1 : -1 }  // spread over every block
            case 1: for k in 8..<16 { step[k] = 1 }  // all in the middle block
            default: step[23] = 1  // one coordinate of the last block
            }
            let length = step.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let distance = [0.2, 0.1999, 0.2001, 0.15][pair % 4]
            vectors.append(base.map(Float.init))
            vectors.append(zip(base, step).map { Float($0 + distance * $1 / length) })
        }
        let found = NearDuplicateClusters.components(embeddings: vectors, radius: 0.2)
        let truth = NearDuplicateTests.bruteForce(vectors, radius: 0.2)
        #expect(NearDuplicateTests.samePartition(found, truth.components))
        #expect(truth.pairs.count == 35)
    }

    /// A coordinate that never varies is left out of the blocks (it adds nothing to any distance);
    /// vectors that are all equal form one group; a vector with a NaN is alone.
    @Test func constantCoordinatesAndNonFiniteValues() {
        let flat: [[Float]] = [[0.6, 0.8, 0], [0.6, 0.8, 0], [0.6, 0.8, 0]]
        #expect(NearDuplicateClusters.components(embeddings: flat, radius: 0.2) == [0, 0, 0])
        let mixed: [[Float]] = [[0.5, 0.5, 0.5], [0.5, 0.6, 0.5], [0.5, .nan, 0.5], [0.5, 0.9, 0.5], [0.5, 1.05, 0.5]]
        #expect(NearDuplicateClusters.components(embeddings: mixed, radius: 0.2) == [0, 0, 2, 3, 3])
    }
}
