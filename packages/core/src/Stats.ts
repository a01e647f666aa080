/**
 * Small-sample statistics for comparing runs: mean, sample variance, Student-t quantiles and confidence
 * intervals, Welch's unequal-variance t-test and its interval for a difference of means, a percentile bootstrap of a
 * difference of means (exact enumeration for small samples, else seeded), and Holm–Bonferroni and Benjamini–Hochberg
 * adjusted p-values for a family of tests. Pure functions over plain number arrays; the only dependency is the
 * seeded generator of ./Random.
 *
 * The t distribution is evaluated through the regularised incomplete beta function
 * (continued fraction, Lentz's method), accurate to ~1e-12 for the degrees of freedom seen here (1 .. 10^6).
 */
import * as Random from "./Random.js"

/** Arithmetic mean; NaN for an empty sample. */
export const mean = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

/** Sample variance (divisor n - 1, as numpy's `ddof=1`); NaN for fewer than two values. */
export const variance = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return NaN
  const m = mean(xs)
  let s = 0
  for (const x of xs) s += (x - m) * (x - m)
  return s / (xs.length - 1)
}

/** Sample standard deviation (divisor n - 1). */
export const std = (xs: ReadonlyArray<number>): number => Math.sqrt(variance(xs))

export const min = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => (b < a ? b : a)))
export const max = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => (b > a ? b : a)))

export interface Summary {
  readonly n: number
  readonly mean: number
  readonly variance: number
  readonly std: number
  readonly min: number
  readonly max: number
}

export const summary = (xs: ReadonlyArray<number>): Summary => ({
  n: xs.length, mean: mean(xs), variance: variance(xs), std: std(xs), min: min(xs), max: max(xs)
})

// ---------------------------------------------------------------------------------------------------------------
// Special functions

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
]

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
export const logGamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  const z = x - 1
  let a = 0.99999999999980993
  const t = z + 7.5
  for (let i = 0; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i + 1)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
const betaContinuedFraction = (a: number, b: number, x: number): number => {
  const TINY = 1e-300
  const qab = a + b
  const qap = a + 1
  const qam = a - 1
  let c = 1
  let d = 1 - (qab * x) / qap
  if (Math.abs(d) < TINY) d = TINY
  d = 1 / d
  let h = d
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** Regularised incomplete beta I_x(a, b), for a, b > 0 and x in [0, 1]. */
export const incompleteBeta = (x: number, a: number, b: number): number => {
  if (!(a > 0) || !(b > 0) || Number.isNaN(x)) return NaN
  if (x <= 0) return 0
  if (x >= 1) return 1
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x)
  return x < (a + 1) / (a + b + 2)
    ? (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a
    : 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b
}

// ---------------------------------------------------------------------------------------------------------------
// Student's t distribution

/** P(T <= t) for Student's t with `df` > 0 degrees of freedom (df may be fractional, as in Welch's test). */
export const studentTCdf = (t: number, df: number): number => {
  if (!(df > 0) || Number.isNaN(t)) return NaN
  if (t === Infinity) return 1
  if (t === -Infinity) return 0
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t > 0 ? 1 - tail : tail
}

/** Two-sided tail probability P(|T| >= |t|). */
export const studentTTwoSided = (t: number, df: number): number => {
  if (!(df > 0) || Number.isNaN(t)) return NaN
  if (!Number.isFinite(t)) return 0
  return incompleteBeta(df / (df + t * t), df / 2, 0.5)
}

/** The p-quantile of Student's t with `df` degrees of freedom (`tQuantile(0.975, 4)` = 2.776...). */
export const tQuantile = (p: number, df: number): number => {
  if (!(df > 0) || !(p >= 0 && p <= 1)) return NaN
  if (p === 0) return -Infinity
  if (p === 1) return Infinity
  if (p === 0.5) return 0
  if (p < 0.5) return -tQuantile(1 - p, df)
  // bracket, then bisection refined by Newton steps on the monotone CDF
  let lo = 0
  let hi = 1
  while (studentTCdf(hi, df) < p) {
    lo = hi
    hi *= 2
    if (hi > 1e12) return hi
  }
  let t = (lo + hi) / 2
  for (let i = 0; i < 200; i++) {
    const f = studentTCdf(t, df) - p
    if (f > 0) hi = t
    else lo = t
    const pdf = Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((t * t) / df))
    let next = t - f / pdf
    if (!(next > lo && next < hi)) next = (lo + hi) / 2
    if (Math.abs(next - t) <= 1e-14 * Math.max(1, Math.abs(t))) return next
    t = next
  }
  return t
}

// ---------------------------------------------------------------------------------------------------------------
// Intervals and tests

export interface ConfidenceInterval {
  readonly n: number
  readonly mean: number
  readonly std: number
  readonly level: number
  /** Half width: t_{(1+level)/2, n-1} * s / sqrt(n); NaN with fewer than two values. */
  readonly halfWidth: number
  readonly lower: number
  readonly upper: number
}

/** Student-t confidence interval for the mean (default 95%). */
export const confidenceInterval = (xs: ReadonlyArray<number>, level = 0.95): ConfidenceInterval => {
  const n = xs.length
  const m = mean(xs)
  const s = std(xs)
  const halfWidth = n >= 2 ? (tQuantile((1 + level) / 2, n - 1) * s) / Math.sqrt(n) : NaN
  return { n, mean: m, std: s, level, halfWidth, lower: m - halfWidth, upper: m + halfWidth }
}

export interface WelchTest {
  /** mean(a) - mean(b). */
  readonly difference: number
  readonly t: number
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number
  /** Two-sided p-value. */
  readonly pValue: number
  /** Standard error of the difference, sqrt(s_a²/n_a + s_b²/n_b); NaN with fewer than two values a side. */
  readonly se: number
}

/**
 * Welch's unequal-variance t-test of mean(a) = mean(b), two-sided (scipy's `ttest_ind(a, b, equal_var=False)`).
 * Needs at least two values per sample; otherwise every field is NaN. Two constant, equal samples give p = 1;
 * two constant, different samples give p = 0.
 */
export const welchTest = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): WelchTest => {
  const difference = mean(a) - mean(b)
  if (a.length < 2 || b.length < 2) return { difference, t: NaN, df: NaN, pValue: NaN, se: NaN }
  const va = variance(a) / a.length
  const vb = variance(b) / b.length
  const se2 = va + vb
  if (se2 === 0) {
    return difference === 0
      ? { difference, t: 0, df: a.length + b.length - 2, pValue: 1, se: 0 }
      : { difference, t: difference > 0 ? Infinity : -Infinity, df: a.length + b.length - 2, pValue: 0, se: 0 }
  }
  const se = Math.sqrt(se2)
  const t = difference / se
  const df = (se2 * se2) / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1))
  return { difference, t, df, pValue: studentTTwoSided(t, df), se }
}

/** Welch's confidence interval for a difference of means. */
export interface DifferenceInterval {
  /** mean(a) - mean(b). */
  readonly difference: number
  readonly level: number
  readonly lower: number
  readonly upper: number
}

/**
 * Welch's interval for mean(a) - mean(b) from `welchTest(a, b)`: difference ± t_{(1+level)/2, df} · sqrt(s_a²/n_a +
 * s_b²/n_b) with the Welch–Satterthwaite df, the interval that matches the test (it excludes 0 exactly when
 * p < 1 - level). NaN bounds with fewer than two values a side; two constant samples give a zero-width interval.
 */
export const welchInterval = (w: WelchTest, level = 0.95): DifferenceInterval => {
  if (Number.isNaN(w.df)) return { difference: w.difference, level, lower: NaN, upper: NaN }
  const half = w.se === 0 ? 0 : tQuantile((1 + level) / 2, w.df) * w.se
  return { difference: w.difference, level, lower: w.difference - half, upper: w.difference + half }
}

// ---------------------------------------------------------------------------------------------------------------
// Bootstrap

/** The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default, "type 7"). */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  const n = sorted.length
  if (n === 0 || !(q >= 0 && q <= 1)) return NaN
  const h = (n - 1) * q
  const i = Math.floor(h)
  return i + 1 < n ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[n - 1]
}

export interface BootstrapInterval extends DifferenceInterval {
  /** How many resampled differences the interval is read from. */
  readonly resamples: number
  /** Whether every resample was enumerated (n_a^n_a · n_b^n_b of them) instead of drawn. */
  readonly exact: boolean
}

/** The means of every ordered resample with replacement of xs (n^n of them), by enumeration. */
const allResampleMeans = (xs: ReadonlyArray<number>): Float64Array => {
  const n = xs.length
  const out = new Float64Array(n ** n)
  const idx = new Array<number>(n).fill(0)
  for (let k = 0; k < out.length; k++) {
    let s = 0
    for (let i = 0; i < n; i++) s += xs[idx[i]]
    out[k] = s / n
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i] < n) break
      idx[i] = 0
    }
  }
  return out
}

/**
 * Percentile bootstrap interval for mean(a) - mean(b), each sample resampled with replacement on its own. When every
 * resample pair fits in `resamples` (n_a^n_a · n_b^n_b: 729 for three runs a side) the bootstrap distribution is
 * enumerated exactly; otherwise `resamples` pairs are drawn from `Random.make(seed, stream)`, so a report is a function
 * of its inputs. NaN bounds with fewer than two values a side. With three values a side the bootstrap sees only the
 * spread of those three and its interval is narrower than the t interval: read it beside `welchInterval`.
 */
export const bootstrapDifference = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  options: { readonly level?: number; readonly resamples?: number; readonly seed?: number; readonly stream?: number } = {}
): BootstrapInterval => {
  const level = options.level ?? 0.95
  const resamples = options.resamples ?? 10_000
  const difference = mean(a) - mean(b)
  if (a.length < 2 || b.length < 2) return { difference, level, lower: NaN, upper: NaN, resamples: 0, exact: false }
  const pairs = a.length ** a.length * b.length ** b.length
  let diffs: Float64Array
  let exact = false
  if (pairs <= resamples) {
    const ma = allResampleMeans(a)
    const mb = allResampleMeans(b)
    diffs = new Float64Array(pairs)
    let k = 0
    for (const x of ma) for (const y of mb) diffs[k++] = x - y
    exact = true
  } else {
    const rng = Random.make(options.seed ?? 0, options.stream ?? 0)
    const resampledMean = (xs: ReadonlyArray<number>) => {
      let s = 0
      for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)]
      return s / xs.length
    }
    diffs = new Float64Array(resamples)
    for (let k = 0; k < resamples; k++) diffs[k] = resampledMean(a) - resampledMean(b)
  }
  diffs.sort()
  return {
    difference, level, resamples: diffs.length, exact,
    lower: quantileSorted(diffs, (1 - level) / 2), upper: quantileSorted(diffs, (1 + level) / 2)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Multiple comparisons

export const Correction = ["holm", "benjamini-hochberg"] as const
export type Correction = (typeof Correction)[number]

/** The indices of the finite p-values, in ascending order of p (ties keep their input order). */
const ranked = (ps: ReadonlyArray<number>): Array<number> =>
  ps.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p)).sort((x, y) => x[0] - y[0] || x[1] - y[1]).map(([, i]) => i)

/**
 * Holm–Bonferroni step-down adjusted p-values (controls the family-wise error rate under any dependence): with the m
 * p-values sorted ascending, adjusted p_(i) = max over j ≤ i of min(1, (m - j + 1) · p_(j)), so the adjusted values
 * keep the order of the raw ones. A NaN p-value (a comparison that could not be tested) stays NaN and is not counted
 * in m. Reject at level α exactly where adjusted p < α.
 */
export const holm = (ps: ReadonlyArray<number>): ReadonlyArray<number> => {
  const order = ranked(ps)
  const m = order.length
  const out = ps.map(() => NaN)
  let running = 0
  order.forEach((i, j) => {
    running = Math.max(running, Math.min(1, (m - j) * ps[i]))
    out[i] = running
  })
  return out
}

/**
 * Benjamini–Hochberg step-up adjusted p-values (controls the false discovery rate for independent or positively
 * dependent tests): adjusted p_(i) = min over j ≥ i of min(1, m / j · p_(j)). NaN entries as in `holm`.
 */
export const benjaminiHochberg = (ps: ReadonlyArray<number>): ReadonlyArray<number> => {
  const order = ranked(ps)
  const m = order.length
  const out = ps.map(() => NaN)
  let running = 1
  for (let j = m - 1; j >= 0; j--) {
    const i = order[j]
    running = Math.min(running, Math.min(1, (m / (j + 1)) * ps[i]))
    out[i] = running
  }
  return out
}

/** Adjusted p-values of one family of tests by the named correction. */
export const adjust = (ps: ReadonlyArray<number>, correction: Correction): ReadonlyArray<number> =>
  correction === "holm" ? holm(ps) : benjaminiHochberg(ps)

/** How a correction is named in a caption. */
export const correctionName = (correction: Correction): string =>
  correction === "holm" ? "Holm–Bonferroni" : "Benjamini–Hochberg"

/** How a correction is named in a column title: `p (Holm)`, `p (BH)`. */
export const correctionShortName = (correction: Correction): string =>
  correction === "holm" ? "Holm" : "BH"
