import DocketTestSupport
import Testing

@testable import DocketCore

/// The Hájek interval at small effective sizes, under the queue's own selection policy.
///
/// A fixed population of items (risk uniform on 0..1, an attack succeeding with probability
/// a + b·risk) is served by the queue's epsilon-greedy schedule (`ExplorationSchedule`: each
/// step exploits the highest-risk unserved item or, with probability ε, draws one uniformly),
/// recording the propensity the store records. The truth is the population's rate; each
/// replication is a new schedule seed, so the coverage is over the selection design, as the
/// report's interval claims. With ε = 0.1, S steps give about 0.1·S exploration picks, and the
/// effective size n_eff is about that: S = 30, 50, 100, 300, 1000 give n_eff ≈ 3, 5, 10, 30, 100.
@Suite struct HajekCoverageTests {
    struct Population {
        var outcomes: [Bool]  // in serving order (highest risk first)
        var truth: Double

        init(size: Int, base: Double, slope: Double, seed: UInt64) {
            var generator = SplitMix64(seed: seed)
            let risk = (0..<size).map { _ in generator.nextUnit() }
            let success = risk.map { generator.nextUnit() < base + slope * $0 }
            let order = risk.indices.sorted { risk[$0] > risk[$1] }
            outcomes = order.map { success[$0] }
            truth = Double(success.filter { $0 }.count) / Double(size)
        }
    }

    struct Coverage {
        var covered = 0, replications = 0, zeroWidth = 0
        var effectiveSizes: [Double] = []
        var rate: Double { Double(covered) / Double(replications) }
        var medianEffectiveSize: Double { effectiveSizes.sorted()[effectiveSizes.count / 2] }
    }

    /// Serves `steps` items by the queue's schedule `replications` times and counts how often the
    /// Hájek interval covers the population's rate.
    static func coverage(_ population: Population, steps: Int, epsilon: Double, replications: Int, seed: UInt64) -> Coverage {
        let size = population.outcomes.count
        var served = [Bool](repeating: false, count: size)
        var result = Coverage()
        for replication in 0..<replications {
            let schedule = ExplorationSchedule(epsilon: epsilon, seed: seed &+ UInt64(replication))
            var picked: [Int] = [], outcomes: [Bool] = [], propensities: [Double] = []
            var top = 0
            for step in 0..<steps {
                while served[top] { top += 1 }
                var (policy, generator) = schedule.draw(step: step)
                var pick = top
                if policy == .explore {
                    repeat { pick = Int(generator.next(below: UInt64(size))) } while served[pick]
                } else {
                    policy = .exploit
                }
                propensities.append(schedule.propensity(isTop: pick == top, poolSize: size - step))
                outcomes.append(population.outcomes[pick])
                served[pick] = true
                picked.append(pick)
            }
            for pick in picked { served[pick] = false }
            let estimate = Proportions.hajek(outcomes: outcomes, propensities: propensities)!
            result.replications += 1
            result.effectiveSizes.append(estimate.effectiveSize)
            if estimate.high - estimate.low <= 0 { result.zeroWidth += 1 }
            if estimate.low <= population.truth && population.truth <= estimate.high { result.covered += 1 }
        }
        return result
    }

    static let steps = [30, 50, 100, 300, 1000]

    /// Coverage at least 90% at every effective size, 93–97% from about 30 up, and never an
    /// interval of zero width; for a common outcome (about 25%) and a rare one (about 5%).
    @Test(arguments: [(0.05, 0.4, UInt64(11)), (0.0, 0.1, UInt64(12))])
    func coverageHoldsAtSmallEffectiveSizes(base: Double, slope: Double, seed: UInt64) {
        let population = Population(size: 20_000, base: base, slope: slope, seed: seed)
        for steps in Self.steps {
            let result = Self.coverage(population, steps: steps, epsilon: 0.1, replications: 1200, seed: seed &* 1000 &+ UInt64(steps))
            let neff = result.medianEffectiveSize
            #expect(abs(neff - Double(steps) / 10) < Double(steps) / 20, "median n_eff \(neff) at \(steps) steps")
            #expect(result.zeroWidth == 0, "\(result.zeroWidth) zero-width intervals at n_eff \(neff)")
            #expect(result.rate >= 0.90, "coverage \(result.rate) at n_eff \(neff) (truth \(population.truth))")
            if steps >= 300 {
                #expect((0.93...0.97).contains(result.rate), "coverage \(result.rate) at n_eff \(neff) (truth \(population.truth))")
            }
        }
    }

    /// The report's failure: every reviewed outcome equal gave [0%, 0%] and [100%, 100%].
    @Test func equalOutcomesKeepAnOpenEnd() {
        let none = Proportions.hajek(outcomes: [false, false, false], propensities: [0.9, 0.9, 0.001])!
        #expect(none.estimate == 0 && none.low == 0 && none.high > 0.3)
        let all = Proportions.hajek(outcomes: [true], propensities: [0.5])!
        #expect(all.estimate == 1 && all.high == 1 && all.low > 0 && all.low < 0.5)
        #expect(all.effectiveSize == 1)
        // scipy.stats.beta.ppf(0.025, 1.5, 0.5) = 0.146746...: the Jeffreys bound for 1 of 1.
        #expect(abs(all.low - 0.14674631630957513) < 1e-9, "\(all.low)")
    }

    /// Jeffreys against scipy.stats.beta.ppf at integer and fractional counts.
    @Test func jeffreysMatchesBetaQuantiles() {
        let a = Proportions.jeffreys(successes: 3, trials: 10)!
        // beta.ppf(0.025, 3.5, 7.5), beta.ppf(0.975, 3.5, 7.5)
        #expect(abs(a.low - 0.09269459393815316) < 1e-9 && abs(a.high - 0.6058183181486713) < 1e-9, "\(a)")
        let b = Proportions.jeffreys(successes: 0, trials: 2.5)!
        // beta.ppf(0.975, 0.5, 3.0)
        #expect(b.low == 0 && abs(b.high - 0.5949531330134032) < 1e-9, "\(b)")
        #expect(Proportions.jeffreys(successes: 1, trials: 0) == nil)
    }
}
