import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Hidden: claims and finishes items in a loop and prints each claim's latency, for scripts/bench
/// and the multi-process tests. Not part of the documented interface.
struct ClaimBenchCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim-loop",
        abstract: "Claim and finish items in a loop (benchmarks and tests).",
        shouldDisplay: false
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as")) var reviewer: String
    @Option var count: Int = 100
    @Flag(help: "Leave each claimed item open instead of finishing it.") var hold = false

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--count", count, OptionBounds.benchCount, "claims")
        let store = try database.open(for: .bench, in: context).store
        var lines = ""
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try store.claimNext(for: reviewer, at: context.clock())
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            guard case .claimed(let assignment) = outcome else {
                lines += "end \(outcome == .budgetSpent ? "budget" : "empty")\n"
                break
            }
            if !hold { try store.finish(assignment: assignment.id, at: context.clock()) }
            store.idle()
            lines += "claim \(assignment.itemID) \(elapsed)\n"
        }
        context.console.write(lines)
    }
}

/// Hidden: times `queuePreview` in-process, for scripts/bench. Prints one line per run in nanoseconds.
struct QueueTimingCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-timing",
        abstract: "Time the queue preview in-process (benchmarks).",
        shouldDisplay: false
    )

    @OptionGroup var database: DatabaseOptions
    @Option var budget: Int = 1000
    @Option var repeats: Int = 20

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--budget", budget, OptionBounds.queueLength, "items")
        try OptionBounds.whole("--repeats", repeats, OptionBounds.benchRepeats, "runs")
        let store = try database.openForReading(for: .bench, in: context).store
        var lines = ""
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let preview = try store.queuePreview(limit: budget)
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            lines += "queue \(preview.entries.count) \(elapsed)\n"
        }
        context.console.write(lines)
    }
}

/// Hidden: the reviewer's loop without the terminal — submit a label, then claim and load the
/// next item — timing from the submission to the next item ready to show. For scripts/bench.
struct ReviewTimingCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "review-timing",
        abstract: "Time submit-to-next-item in-process (benchmarks).",
        shouldDisplay: false
    )

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("as")) var reviewer: String
    @Option var count: Int = 100

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--count", count, OptionBounds.benchCount, "submissions")
        let store = try database.open(for: .bench, in: context).store
        let label = try store.taskDefinition().definition.labels.first ?? "x"
        guard case .claimed(var assignment) = try store.claimNext(for: reviewer, at: context.clock()) else { return }
        var lines = ""
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try store.submit(FeedbackDraft(kind: .label, label: label), assignment: assignment.id, secondsSpent: 1, at: context.clock())
            guard case .claimed(let next) = try store.claimNext(for: reviewer, at: context.clock()) else { break }
            _ = try store.reviewItem(assignment: next.id)
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            store.idle()
            assignment = next
            lines += "next \(next.itemID) \(elapsed)\n"
        }
        context.console.write(lines)
    }
}

/// Hidden: times the agreement statistics and Dawid–Skene on a label matrix read from a file
/// (one line per item, one character per reviewer: a category digit or '.'), for scripts/bench.
struct StatsTimingCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats-timing",
        abstract: "Time the statistics on an in-memory label matrix (benchmarks).",
        shouldDisplay: false
    )

    @Option var matrix: String
    @Option var categories: Int = 3
    @Option var iterations: Int = 20

    func run(in context: CommandContext) throws {
        // The matrix holds one digit per cell, so at most ten categories.
        try OptionBounds.whole("--categories", categories, 2...10, "categories")
        try OptionBounds.whole("--iterations", iterations, OptionBounds.maxIterations, "iterations")
        let reader = try LineReader(path: matrix)
        var rows: [[UInt8]] = []
        while let _ = try reader.nextLine({ rows.append(Array($0)) }) {}
        let raters = rows.first?.count ?? 0
        var table = RatingTable(items: rows.count, raters: raters, categories: categories)
        for (i, row) in rows.enumerated() {
            for (r, byte) in row.enumerated() where byte >= 48 && byte <= 57 { table[i, r] = Double(byte - 48) }
        }
        func time(_ name: String, _ body: () -> Double?) {
            let start = DispatchTime.now().uptimeNanoseconds
            let value = body()
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            context.console.write("\(name) \(String(format: "%.3f", elapsed)) \(value.map { String($0) } ?? "undefined")\n")
        }
        time("krippendorff") { Agreement.krippendorffAlpha(table, level: .nominal).value }
        time("fleiss") { Agreement.fleissKappa(table).value }
        time("pairwise") {
            var sum = 0.0
            for a in 0..<raters { for b in (a + 1)..<raters { sum += Agreement.cohensKappa(table.selecting(raters: [a, b])).value ?? 0 } }
            return sum / Double(raters * (raters - 1) / 2)
        }
        time("dawid-skene") { Aggregation.dawidSkene(table, tolerance: 0, maxIterations: iterations).priors.first }
    }
}

/// Hidden: times exact near-duplicate grouping (`NearDuplicateClusters.components`) on seeded
/// clustered unit vectors, beside the time of one pass over the same vectors (8 dot products per
/// item, the floor of any projection), for scripts/bench.
struct ClusterTimingCommand: ContextCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-timing",
        abstract: "Time exact near-duplicate grouping on generated embeddings (benchmarks).",
        shouldDisplay: false
    )

    @Option var count: Int = 1_000_000
    @Option var dimension: Int = 16
    @Option var seed: UInt64 = 1

    func run(in context: CommandContext) throws {
        try OptionBounds.whole("--count", count, 1...5_000_000, "items")
        try OptionBounds.whole("--dimension", dimension, 1...4096, "dimensions")
        // Clustered like sentence embeddings of many topics: 1,000 centres, items spread around
        // them, every 25th a near-duplicate (distance about 0.05) of the item before it.
        var generator = SplitMix64(seed: seed)
        func gaussian() -> Double {
            let u = max(generator.nextUnit(), 1e-300), v = generator.nextUnit()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
        func unit(_ v: [Double]) -> [Float] {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { Float($0 / norm) }
        }
        let d = dimension
        let centres = (0..<1000).map { _ in (0..<d).map { _ in gaussian() / Double(d).squareRoot() } }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(count)
        for i in 0..<count {
            if i % 25 == 24 {
                let previous = vectors[i - 1]
                vectors.append(unit(previous.map { Double($0) + 0.05 * gaussian() / Double(d).squareRoot() }))
            } else {
                let centre = centres[Int(generator.next(below: 1000))]
                vectors.append(unit(centre.map { $0 + 0.6 * gaussian() / Double(d).squareRoot() }))
            }
        }
        var start = DispatchTime.now().uptimeNanoseconds
        var checksum: Float = 0
        for vector in vectors {
            for c in 0..<min(8, d) {
                var dot: Float = 0
                for k in 0..<d { dot += vector[k] * Float(c + k & 7) }
                checksum += dot
            }
        }
        let pass = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        start = DispatchTime.now().uptimeNanoseconds
        let groups = NearDuplicateClusters.components(embeddings: vectors, radius: Double(NearDuplicateClusters.defaultRadius))
        let exact = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let sizes = Dictionary(grouping: groups.indices, by: { groups[$0] }).values.map(\.count)
        context.console.write("items \(count) dimension \(d) groups \(sizes.count) largest \(sizes.max() ?? 0) exact_s \(String(format: "%.3f", exact)) pass_s \(String(format: "%.3f", pass)) checksum \(checksum.isFinite)\n")
    }
}
