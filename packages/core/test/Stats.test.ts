import { describe, it, assert } from "@effect/vitest"
import * as Stats from "../src/Stats.js"

// Welch intervals, adjusted p-values and exact bootstrap intervals: test/support/statsReference.py (scipy 1.17.1,
// numpy 2.4.6), an implementation independent of Stats.ts; the values it printed are hard-coded below.
const A = [0.612, 0.634, 0.641, 0.628]
const B = [0.655, 0.671, 0.649]
const A3 = [0.7399, 0.7352, 0.7421]
const B3 = [0.7140, 0.7158, 0.7122]

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
    assert.isNaN(Stats.welchTest([1], [1, 2]).se)
    assert.strictEqual(Stats.welchTest([1, 1], [2, 2]).se, 0)
  })

  it("Welch's interval for a difference of means matches scipy's ttest_ind(...).confidence_interval", () => {
    const w = Stats.welchInterval(Stats.welchTest(A, B))
    close(w.lower, -0.053266925902041615, 1e-12, "lower")
    close(w.upper, -0.0058997407646249785, 1e-12, "upper")
    close(w.difference, Stats.mean(A) - Stats.mean(B), 1e-15, "difference")
    const w90 = Stats.welchInterval(Stats.welchTest(A3, B3), 0.9)
    close(w90.lower, 0.01967213326543572, 1e-12, "lower, 90%")
    close(w90.upper, 0.03046120006789764, 1e-12, "upper, 90%")
    // the interval excludes 0 exactly when the test rejects at 1 - level
    const p = Stats.welchTest(A, B).pValue
    assert.isBelow(p, 0.05)
    assert.isAbove(Stats.welchInterval(Stats.welchTest(A, B), 1 - p / 2).upper, 0, "at level 1 - p/2 > 1 - p the interval reaches past 0")
    assert.isNaN(Stats.welchInterval(Stats.welchTest([1], [1, 2])).lower)
    assert.deepStrictEqual(Stats.welchInterval(Stats.welchTest([1, 1], [2, 2])), { difference: -1, level: 0.95, lower: -1, upper: -1 })
  })

  it("Holm–Bonferroni: step-down adjusted p-values, monotone in the raw ones, NaN not counted", () => {
    const ps = [0.01, 0.04, 0.03, 0.005, NaN, 0.2, 0.04, 0.0001]
    const want = [0.05, 0.12, 0.12, 0.03, NaN, 0.2, 0.12, 0.0007]
    const got = Stats.holm(ps)
    want.forEach((w, i) => (Number.isNaN(w) ? assert.isNaN(got[i]) : close(got[i], w, 1e-15, `holm[${i}]`)))
    // monotone: a larger raw p never gets a smaller adjusted p; never below the raw p, never above 1
    for (const [i, p] of ps.entries()) {
      if (Number.isNaN(p)) continue
      assert.isAtLeast(got[i], p)
      assert.isAtMost(got[i], 1)
      for (const [j, q] of ps.entries()) if (q > p) assert.isAtLeast(got[j], got[i], `holm(${q}) >= holm(${p})`)
    }
    // the step-down's running maximum: the largest p alone would get 1 × 0.035, below the 2 × 0.03 before it
    assert.deepStrictEqual(Stats.holm([0.01, 0.03, 0.035]).map((v) => Number(v.toFixed(12))), [0.03, 0.06, 0.06])
    assert.deepStrictEqual(Stats.holm([0.02, 0.02, 0.04]).map((v) => Number(v.toFixed(12))), [0.06, 0.06, 0.06], "ties")
    assert.deepStrictEqual(Stats.holm([0.04, 0.011, 0.02]).map((v) => Number(v.toFixed(12))), [0.04, 0.033, 0.04])
    assert.deepStrictEqual(Stats.holm([0.6, 0.9]), [1, 1], "capped at 1")
    assert.deepStrictEqual(Stats.holm([0.3]), [0.3], "one test: unchanged")
    assert.deepStrictEqual(Stats.holm([]), [])
  })

  it("Benjamini–Hochberg matches scipy's false_discovery_control(method='bh')", () => {
    const ps = [0.01, 0.04, 0.03, 0.005, NaN, 0.2, 0.04, 0.0001]
    const want = [0.023333333333333334, 0.04666666666666667, 0.04666666666666667, 0.0175, NaN, 0.2, 0.04666666666666667, 0.0007]
    const got = Stats.benjaminiHochberg(ps)
    want.forEach((w, i) => (Number.isNaN(w) ? assert.isNaN(got[i]) : close(got[i], w, 1e-15, `bh[${i}]`)))
    assert.deepStrictEqual(Stats.adjust(ps, "benjamini-hochberg"), got)
    assert.deepStrictEqual(Stats.adjust(ps, "holm"), Stats.holm(ps))
    for (const [i, p] of ps.entries()) if (!Number.isNaN(p)) assert.isAtMost(got[i], Stats.holm(ps)[i], "BH never stricter than Holm")
  })

  it("quantiles of sorted values interpolate as numpy's default", () => {
    const xs = [1, 2, 4, 8]
    assert.strictEqual(Stats.quantileSorted(xs, 0), 1)
    assert.strictEqual(Stats.quantileSorted(xs, 1), 8)
    assert.strictEqual(Stats.quantileSorted(xs, 0.5), 3)
    close(Stats.quantileSorted(xs, 0.9), 6.8, 1e-15, "np.percentile([1, 2, 4, 8], 90)")
    assert.isNaN(Stats.quantileSorted([], 0.5))
  })

  it("bootstrap of a difference of means: exact enumeration matches numpy's, bounds inside the data's range", () => {
    const e = Stats.bootstrapDifference(A3, B3)
    assert.isTrue(e.exact)
    assert.strictEqual(e.resamples, 729)
    close(e.lower, 0.021199999999999997, 1e-12, "lower")
    close(e.upper, 0.028566666666666518, 1e-12, "upper")
    const e90 = Stats.bootstrapDifference(A, B, { level: 0.9 })
    assert.strictEqual(e90.resamples, 6912)
    close(e90.lower, -0.04241666666666666, 1e-12, "lower, 90%")
    close(e90.upper, -0.017249999999999988, 1e-12, "upper, 90%")
    // with three values a side the bootstrap interval is narrower than Welch's (it sees only their spread)
    const w = Stats.welchInterval(Stats.welchTest(A3, B3))
    assert.isAbove(e.lower, w.lower)
    assert.isBelow(e.upper, w.upper)
    assert.isNaN(Stats.bootstrapDifference([1], [1, 2]).lower)
  })

  it("bootstrap of larger samples draws seeded resamples: the same seed gives the same interval, close to the exact one", () => {
    // 4^4 · 4^4 = 65,536 resample pairs: drawn when `resamples` is smaller, enumerated when it is not
    const a = [0.70, 0.72, 0.69, 0.75]
    const b = [0.66, 0.71, 0.68, 0.65]
    const exact = Stats.bootstrapDifference(a, b, { resamples: 65_536 })
    assert.isTrue(exact.exact)
    const drawn = Stats.bootstrapDifference(a, b, { resamples: 20_000, seed: 7 })
    assert.isFalse(drawn.exact)
    assert.strictEqual(drawn.resamples, 20_000)
    assert.deepStrictEqual(Stats.bootstrapDifference(a, b, { resamples: 20_000, seed: 7 }), drawn, "deterministic for a seed")
    assert.notDeepEqual(Stats.bootstrapDifference(a, b, { resamples: 20_000, seed: 8 }), drawn, "another seed draws other resamples")
    assert.notDeepEqual(Stats.bootstrapDifference(a, b, { resamples: 20_000, seed: 7, stream: 1 }), drawn, "another stream too")
    // Monte Carlo error of a 2.5% quantile from 20,000 draws: well under a tenth of the interval's width
    const width = exact.upper - exact.lower
    close(drawn.lower, exact.lower, width / 10, "drawn lower vs exact")
    close(drawn.upper, exact.upper, width / 10, "drawn upper vs exact")
  })
})
