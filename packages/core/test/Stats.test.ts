import { describe, it, assert } from "@effect/vitest"
import * as Stats from "../src/Stats.js"

// Reference values below come from scipy 1.17 (scipy.stats.t.ppf / t.cdf / ttest_ind(equal_var=False)).
const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.isBelow(Math.abs(actual - expected), tol, `${what}: expected ${expected}, got ${actual}`)

describe("Stats", () => {
  it("mean, sample variance (n - 1), std, min, max", () => {
    const xs = [0.612, 0.634, 0.641, 0.628]
    close(Stats.mean(xs), 0.62875, 1e-15, "mean")
    close(Stats.variance(xs), 0.00015291666666666692, 1e-15, "variance")
    close(Stats.std(xs), Math.sqrt(0.00015291666666666692), 1e-15, "std")
    assert.strictEqual(Stats.min(xs), 0.612)
    assert.strictEqual(Stats.max(xs), 0.641)
    assert.isNaN(Stats.variance([1]))
    assert.isNaN(Stats.mean([]))
    assert.deepStrictEqual(Stats.summary([2, 4]), { n: 2, mean: 3, variance: 2, std: Math.SQRT2, min: 2, max: 4 })
  })

  it("Student t CDF matches the closed forms for df = 1 (Cauchy) and df = 2", () => {
    for (const t of [-30, -3.2, -1, -0.25, 0, 0.4, 1.7, 12]) {
      close(Stats.studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `cdf(${t}, 1)`)
      close(Stats.studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `cdf(${t}, 2)`)
    }
    close(Stats.studentTCdf(-2.5, 7), 0.020496109292876444, 1e-12, "cdf(-2.5, 7)")
    close(Stats.studentTCdf(1.3, 3.7), 0.8656666379136863, 1e-12, "cdf(1.3, 3.7)")
  })

  it("t quantiles match scipy's t.ppf", () => {
    const table: Array<[number, number]> = [
      [1, 12.706204736174694], [2, 4.302652729749462], [3, 3.1824463052837078], [4, 2.7764451051977934],
      [5, 2.5705818356363146], [10, 2.228138851986274], [30, 2.0422724563012378], [100, 1.9839715185235518]
    ]
    for (const [df, q] of table) close(Stats.tQuantile(0.975, df), q, 1e-9, `t_0.975(${df})`)
    close(Stats.tQuantile(0.995, 2.5), 7.163728138948783, 1e-8, "t_0.995(2.5)")
    close(Stats.tQuantile(0.025, 4), -2.7764451051977934, 1e-9, "lower tail")
    close(Stats.tQuantile(0.975, 1e6), 1.959966356814107, 1e-9, "df = 1e6")
    for (const p of [0.6, 0.9, 0.999]) close(Stats.studentTCdf(Stats.tQuantile(p, 6), 6), p, 1e-12, `round trip ${p}`)
  })

  it("95% confidence interval of the mean matches scipy's t.interval", () => {
    const ci = Stats.confidenceInterval([0.612, 0.634, 0.641, 0.628])
    close(ci.lower, 0.6090730174485541, 1e-12, "lower")
    close(ci.upper, 0.6484269825514459, 1e-12, "upper")
    assert.strictEqual(ci.n, 4)
    assert.isNaN(Stats.confidenceInterval([0.5]).halfWidth)
  })

  it("Welch's t-test matches scipy's ttest_ind(equal_var=False)", () => {
    const w = Stats.welchTest([0.612, 0.634, 0.641, 0.628], [0.655, 0.671, 0.649])
    close(w.t, -3.280154358937713, 1e-10, "t")
    close(w.df, 4.671033842654669, 1e-10, "df")
    close(w.pValue, 0.024263439051193075, 1e-10, "p")
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    const w2 = Stats.welchTest(a, b)
    close(w2.t, -2.455356398286006, 1e-10, "t2")
    close(w2.df, 24.988529290231416, 1e-9, "df2")
    close(w2.pValue, 0.021378001462866992, 1e-10, "p2")
    // symmetric in its arguments up to the sign of t
    const back = Stats.welchTest(b, a)
    close(back.pValue, w2.pValue, 1e-15, "symmetric p")
    close(back.t, -w2.t, 1e-15, "antisymmetric t")
  })

  it("Welch's test on degenerate samples", () => {
    assert.isNaN(Stats.welchTest([1], [1, 2]).pValue)
    assert.strictEqual(Stats.welchTest([1, 1], [1, 1]).pValue, 1)
    assert.strictEqual(Stats.welchTest([1, 1], [2, 2]).pValue, 0)
  })
})
