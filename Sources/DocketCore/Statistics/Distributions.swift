/// Special functions and quantiles used by the confidence intervals. Pure Swift, no Foundation.
public enum Distributions {
    /// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error below 1e-15).
    public static func logGamma(_ x: Double) -> Double {
        let coefficients: [Double] = [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ]
        if x < 0.5 {
            // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
            return log(Double.pi / abs(sin(Double.pi * x))) - logGamma(1 - x)
        }
        let z = x - 1
        var a = coefficients[0]
        let t = z + 7.5
        for i in 1..<9 { a += coefficients[i] / (z + Double(i)) }
        return 0.5 * log(2 * Double.pi) + (z + 0.5) * log(t) - t + log(a)
    }

    /// Regularised incomplete beta I_x(a, b), by Lentz's continued fraction (Numerical Recipes 6.4).
    public static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log(1 - x))
        if x < (a + 1) / (a + b + 2) { return front * betaFraction(x, a, b) / a }
        return 1 - front * betaFraction(1 - x, b, a) / b
    }

    /// The p-quantile of the Beta(a, b) distribution: the x with I_x(a, b) = p. Newton's method on
    /// `incompleteBeta` inside a bisection bracket (a step that leaves the bracket bisects), to
    /// within 1e-15; a few dozen evaluations at most.
    public static func betaQuantile(_ p: Double, _ a: Double, _ b: Double) -> Double {
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        let logBeta = logGamma(a) + logGamma(b) - logGamma(a + b)
        var low = 0.0, high = 1.0
        var x = a / (a + b)
        for _ in 0..<200 {
            let f = incompleteBeta(x, a, b) - p
            if f < 0 { low = x } else { high = x }
            let density = exp((a - 1) * log(x) + (b - 1) * log(1 - x) - logBeta)
            var next = density > 0 && density.isFinite ? x - f / density : .nan
            if !(next > low && next < high) { next = (low + high) / 2 }
            if abs(next - x) < 1e-15 || high - low < 1e-15 { return next }
            x = next
        }
        return x
    }

    private static func betaFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-16 { break }
        }
        return h
    }

    /// CDF of Student's t with `df` degrees of freedom.
    public static func studentTCDF(_ t: Double, df: Double) -> Double {
        let x = df / (df + t * t)
        let tail = 0.5 * incompleteBeta(x, df / 2, 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// Quantile of Student's t (by bisection on the CDF; exact to about 1e-12).
    public static func studentTQuantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0 && p < 1 && df > 0)
        if p == 0.5 { return 0 }
        var low = -1.0, high = 1.0
        while studentTCDF(low, df: df) > p { low *= 2 }
        while studentTCDF(high, df: df) < p { high *= 2 }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if studentTCDF(mid, df: df) < p { low = mid } else { high = mid }
            if high - low < 1e-13 * max(1, abs(mid)) { break }
        }
        return (low + high) / 2
    }

    /// Standard normal quantile (Wichura's AS 241, PPND16; about 1e-16 relative accuracy).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let q = p - 0.5
        if abs(q) <= 0.425 {
            let r = 0.180625 - q * q
            return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r + 133.14166789178437745) * r
                + 3.387132872796366608)
                / (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                    + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r + 42.313330701600911252) * r + 1)
        }
        var r = q < 0 ? p : 1 - p
        r = (-log(r)).squareRoot()
        var value: Double
        if r <= 5 {
            r -= 1.6
            value = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r + 4.6303378461565452959) * r
                + 1.42343711074968357734)
                / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                    + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1)
        } else {
            r -= 5
            value = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r
                + 6.6579046435011037772)
                / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                    + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r + 1)
        }
        return q < 0 ? -value : value
    }

    /// Upper-tail probability of the chi-square distribution: P(X ≥ x) with `df` degrees of freedom.
    public static func chiSquareSurvival(_ x: Double, df: Double) -> Double {
        if x <= 0 { return 1 }
        return 1 - lowerIncompleteGamma(df / 2, x / 2)
    }

    /// Regularised lower incomplete gamma P(a, x) (series, or continued fraction for large x).
    public static func lowerIncompleteGamma(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x < a + 1 {
            var sum = 1 / a, term = 1 / a, n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            return sum * exp(-x + a * log(x) - logGamma(a))
        }
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1...10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < tiny { d = tiny }
            c = b + an / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-16 { break }
        }
        return 1 - exp(-x + a * log(x) - logGamma(a)) * h
    }
}

// Elementary functions through the C library the standard library already links.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
