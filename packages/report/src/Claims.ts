/**
 * Claims: statements of a published study checked against our runs. A claim selects one method's runs by their vars
 * and a metric; it either sets a published figure beside ours (is it inside our confidence interval?) or asserts that
 * the method is higher (or lower) than another selection, checked with Welch's t-test, with Welch's and a bootstrap
 * interval of the difference of means. A report's comparisons are one family: their p-values are adjusted together
 * (Holm–Bonferroni by default) and the verdicts use the adjusted p. The published figures live in the pipeline file,
 * next to where they came from.
 */
import * as Schema from "effect/Schema"
import * as Stats from "@growlab/core/Stats"
import * as Accounting from "./Accounting.js"
import type { DataTable } from "./DataTable.js"
import * as Runs from "./Runs.js"

export const ClaimMetric = Runs.SummaryMetric
export type ClaimMetric = Runs.SummaryMetric

const Var = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)
const Select = Schema.Record({ key: Schema.String, value: Var })

export const Claim = Schema.Struct({
  /** The statement, as the study makes it. */
  claim: Schema.String,
  metric: Schema.Literal(...ClaimMetric),
  /** The runs of one method: every run whose vars include these values (and of `stage`, when given). */
  select: Select,
  /** The pipeline stage of the runs (e.g. "small"), for runs that no var tells apart. */
  stage: Schema.optional(Schema.String),
  /** The study's figure for the selection (accuracies as fractions: 0.6321). */
  published: Schema.optional(Schema.Number),
  /** A second selection the first is claimed to beat (`direction`: higher by default, lower for losses and times). */
  versus: Schema.optional(Schema.Struct({
    select: Select,
    stage: Schema.optional(Schema.String),
    metric: Schema.optional(Schema.Literal(...ClaimMetric)),
    published: Schema.optional(Schema.Number)
  })),
  direction: Schema.optionalWith(Schema.Literal("higher", "lower"), { default: () => "higher" as const })
})
export type Claim = typeof Claim.Type

export const valueOf = (r: Runs.Run, metric: ClaimMetric): number => Runs.summaryMetrics[metric].pick(Runs.summarize(r.metrics))

/** The runs a selection picks, or why it picks none or several methods. */
export const select = (pool: ReadonlyArray<Runs.Run>, sel: Readonly<Record<string, string | number | boolean>>, repeatVar: string, stage?: string):
  { readonly runs: ReadonlyArray<Runs.Run> } | { readonly error: string } => {
  const runs = pool.filter((r) =>
    (stage === undefined || Runs.baseStage(r.stage) === stage) && Object.entries(sel).every(([k, v]) => k in r.vars && String(r.vars[k]) === String(v)))
  if (runs.length === 0) return { error: "none" }
  const methods = Runs.group(runs, repeatVar)
  if (methods.length > 1) return { error: `${methods.length} methods (${methods.map((g) => g.key).join("; ")})` }
  return { runs }
}

/** A value's digits in the metric's unit, without the unit: loss to 4 places, seconds to 1, accuracy in percent to 2. */
const magnitude = (v: number, metric: ClaimMetric): string =>
  metric === "val_loss" ? v.toFixed(4) : metric === "seconds_per_epoch" ? v.toFixed(1) : (v * 100).toFixed(2)

const show = (v: number, metric: ClaimMetric): string =>
  Number.isNaN(v) ? "–" : `${magnitude(v, metric)}${metric === "val_loss" ? "" : metric === "seconds_per_epoch" ? " s" : "%"}`

const withCi = (c: Stats.ConfidenceInterval, metric: ClaimMetric): string =>
  `${show(c.mean, metric)}${c.n >= 2 ? ` ± ${magnitude(c.halfWidth, metric)}` : ""} (n=${c.n})`

/** A signed difference in the metric's unit: accuracy in percentage points, loss as is, time in seconds. */
const signed = (v: number, metric: ClaimMetric): string =>
  Number.isNaN(v) ? "–" : `${v < 0 ? "−" : "+"}${magnitude(Math.abs(v), metric)}`

const unit = (metric: ClaimMetric): string => (metric === "val_loss" ? "" : metric === "seconds_per_epoch" ? " s" : " pt")

/** `+2.17 [+1.50, +2.84] pt`: a difference and an interval, in the metric's unit. */
export const differenceText = (d: number, lower: number, upper: number, metric: ClaimMetric): string =>
  Number.isNaN(d) ? "–" : `${signed(d, metric)}${Number.isNaN(lower) ? "" : ` [${signed(lower, metric)}, ${signed(upper, metric)}]`}${unit(metric)}`

/** The statistics of a claim that compares two selections: Welch's test, Welch's interval and a bootstrap interval. */
export interface Comparison {
  readonly test: Stats.WelchTest
  readonly interval: Stats.DifferenceInterval
  readonly bootstrap: Stats.BootstrapInterval
  /** Whether the difference of the means points the claimed way. */
  readonly claimedWay: boolean
}

/** A claim with the statistics of our runs, before its family's p-values are adjusted. */
export interface Evaluated {
  readonly claim: Claim
  readonly ours: Stats.ConfidenceInterval
  readonly versus: Stats.ConfidenceInterval | undefined
  readonly comparison: Comparison | undefined
  /** For a seconds-per-epoch comparison: whether both sides do the same work per epoch. */
  readonly note: string
}

export interface Checked extends Evaluated {
  /** The comparison's p-value adjusted over the report's comparisons (NaN without a test or a comparison). */
  readonly pAdjusted: number
  readonly verdict: string
  /** holds | reversed | not significant | untested | published figure verdicts; for tallies. */
  readonly outcome: Outcome
}

export type Outcome = "holds" | "reversed" | "not significant" | "untested" | "inside" | "higher" | "lower" | "no figure"

/** The training FLOPs per epoch of a selection's runs, when they all agree (NaN otherwise). */
const flopsPerEpochOf = (runs: ReadonlyArray<Runs.Run>): number => {
  const values = new Set(runs.map((r) => Accounting.flopsPerEpoch(r.metrics)))
  return values.size === 1 ? [...values][0] : NaN
}

/**
 * A claim about seconds per epoch compares wall time, which follows the work per epoch and the machine's load: when
 * both selections do the same training FLOPs per epoch, say so, since then no method can be faster by itself.
 */
const workNote = (a: ReadonlyArray<Runs.Run>, b: ReadonlyArray<Runs.Run>): string => {
  const fa = flopsPerEpochOf(a), fb = flopsPerEpochOf(b)
  if (Number.isNaN(fa) || Number.isNaN(fb)) return ""
  return fa === fb
    ? `; both do ${fa.toExponential(2)} training FLOPs per epoch, so the difference is the machine's load, not the method`
    : `; training FLOPs per epoch ${fa.toExponential(2)} vs ${fb.toExponential(2)}`
}

export interface EvaluateOptions {
  readonly level: number
  readonly bootstrap: { readonly resamples: number; readonly seed: number }
  /** The bootstrap's random stream (the claim's index), so each claim draws its own resamples. */
  readonly stream: number
}

/** Our statistics for one claim (`versusRuns` when it compares two selections). */
export const evaluate = (claim: Claim, runs: ReadonlyArray<Runs.Run>, versusRuns: ReadonlyArray<Runs.Run> | undefined, options: EvaluateOptions): Evaluated => {
  const a = runs.map((r) => valueOf(r, claim.metric))
  const ours = Stats.confidenceInterval(a, options.level)
  if (!(claim.versus && versusRuns)) return { claim, ours, versus: undefined, comparison: undefined, note: "" }
  const b = versusRuns.map((r) => valueOf(r, claim.versus!.metric ?? claim.metric))
  const test = Stats.welchTest(a, b)
  return {
    claim, ours,
    versus: Stats.confidenceInterval(b, options.level),
    comparison: {
      test,
      interval: Stats.welchInterval(test, options.level),
      bootstrap: Stats.bootstrapDifference(a, b, { level: options.level, ...options.bootstrap, stream: options.stream }),
      claimedWay: claim.direction === "higher" ? test.difference > 0 : test.difference < 0
    },
    note: claim.metric === "seconds_per_epoch" ? workNote(runs, versusRuns) : ""
  }
}

const publishedVerdict = (claim: Claim, ours: Stats.ConfidenceInterval): { readonly verdict: string; readonly outcome: Outcome } => {
  const pub = claim.published
  if (pub === undefined) return { verdict: "no published figure", outcome: "no figure" }
  if (ours.n < 2) return ours.mean >= pub ? { verdict: "ours higher (1 run, no interval)", outcome: "higher" } : { verdict: "ours lower (1 run, no interval)", outcome: "lower" }
  if (pub >= ours.lower && pub <= ours.upper) return { verdict: "published figure inside our interval", outcome: "inside" }
  return pub < ours.lower ? { verdict: "ours higher than published", outcome: "higher" } : { verdict: "ours lower than published", outcome: "lower" }
}

/**
 * The verdicts of a report's claims: the comparisons' p-values are adjusted together (one family: every claim with a
 * `versus` that could be tested), and a comparison holds or is reversed only when its adjusted p is below `alpha`.
 */
export const judge = (evaluated: ReadonlyArray<Evaluated>, options: { readonly alpha: number; readonly correction: Stats.Correction }): ReadonlyArray<Checked> => {
  const adjusted = Stats.adjust(evaluated.map((e) => e.comparison?.test.pValue ?? NaN), options.correction)
  return evaluated.map((e, i): Checked => {
    const c = e.comparison
    if (!c) return { ...e, pAdjusted: NaN, ...publishedVerdict(e.claim, e.ours) }
    const p = adjusted[i]
    const base = Number.isNaN(p)
      ? { verdict: `${c.claimedWay ? "holds" : "does not hold"} in the mean (fewer than 2 runs a side, no test)`, outcome: "untested" as const }
      : p < options.alpha
        ? (c.claimedWay ? { verdict: "holds", outcome: "holds" as const } : { verdict: "reversed", outcome: "reversed" as const })
        : { verdict: c.claimedWay ? "same direction, not significant" : "does not hold, not significant", outcome: "not significant" as const }
    return { ...e, pAdjusted: p, verdict: base.verdict + e.note, outcome: base.outcome }
  })
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

/** One sentence counting the verdicts: how many comparisons hold, are reversed, are not significant; the published figures. */
export const tally = (checked: ReadonlyArray<Checked>, options: { readonly alpha: number; readonly correction: Stats.Correction }): string => {
  const of = (o: Outcome) => checked.filter((c) => c.outcome === o).length
  const comparisons = checked.filter((c) => c.comparison)
  const tested = comparisons.filter((c) => c.outcome !== "untested").length
  const figures = checked.filter((c) => !c.comparison)
  const parts: Array<string> = []
  if (comparisons.length > 0) {
    const ns = comparisons.filter((c) => c.outcome === "not significant")
    parts.push(`${count(comparisons.length, "comparison")}: ${of("holds")} hold, ${of("reversed")} reversed, ${ns.length} not significant` +
      (ns.length > 0 ? ` (${ns.filter((c) => c.comparison!.claimedWay).length} of them in the claimed direction)` : "") +
      (of("untested") > 0 ? `, ${of("untested")} untested (fewer than 2 runs a side)` : "") +
      ` (Welch's t-test, ${Stats.correctionName(options.correction)}-adjusted p < ${options.alpha} over the ${tested} tested)`)
  }
  if (figures.length > 0) {
    parts.push(`${count(figures.length, "published figure")}: ${of("inside")} inside our confidence interval, ${of("higher")} ours higher, ${of("lower")} ours lower` +
      (of("no figure") > 0 ? `, ${of("no figure")} without a figure` : ""))
  }
  return parts.join("; ") + "."
}

const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")

const bootstrapNote = (checked: ReadonlyArray<Checked>, bootstrap: EvaluateOptions["bootstrap"]): string => {
  const boots = checked.flatMap((c) => (c.comparison && c.comparison.bootstrap.resamples > 0 ? [c.comparison.bootstrap] : []))
  if (boots.length === 0) return ""
  const how = boots.every((b) => b.exact) ? "every resample enumerated" : boots.some((b) => b.exact)
    ? `enumerated up to ${thousands(bootstrap.resamples)} resamples, else ${thousands(bootstrap.resamples)} drawn with seed ${bootstrap.seed}`
    : `${thousands(bootstrap.resamples)} resamples drawn with seed ${bootstrap.seed}`
  return ` Bootstrap: percentile interval, each side's runs resampled with replacement (${how}); with so few runs it sees only ` +
    "their spread and is narrower than Welch's."
}

/**
 * Every claim with every number (written as CSV and Arrow): the selections' means, confidence half-widths and run
 * counts, the difference with Welch's and the bootstrap interval, the raw and adjusted p-values and the verdict.
 */
export const claimsTable = (checked: ReadonlyArray<Checked>, level: number, correction: Stats.Correction): DataTable => ({
  name: "claims",
  title: "The study's claims",
  caption: `Each claim of the original study beside our runs (n runs per selection in ours_n, versus_n): mean ± ${Math.round(level * 100)}% ` +
    "confidence half-width (Student t); a comparison is Welch's two-sided t-test between the two selections with Welch's and a " +
    `bootstrap ${Math.round(level * 100)}% interval of the difference of means; p_adjusted is ${Stats.correctionName(correction)} over the ` +
    "report's tested comparisons, and the verdict uses it.",
  columns: [
    { key: "claim", title: "Claim", format: "text" },
    { key: "kind", title: "Kind", format: "text" },
    { key: "metric", title: "Metric", format: "text" },
    { key: "study", title: "Study", format: "text" },
    { key: "ours", title: "Ours", format: "text" },
    { key: "versus_study", title: "Versus, study", format: "text" },
    { key: "versus_ours", title: "Versus, ours", format: "text" },
    { key: "verdict", title: "Verdict", format: "text" },
    { key: "ours_mean", title: "Ours (mean)", format: "fixed4" },
    { key: "ours_ci", title: "Ours (CI half-width)", format: "fixed4" },
    { key: "ours_n", title: "Ours (n)", format: "int" },
    { key: "versus_mean", title: "Versus (mean)", format: "fixed4" },
    { key: "versus_ci", title: "Versus (CI half-width)", format: "fixed4" },
    { key: "versus_n", title: "Versus (n)", format: "int" },
    { key: "difference", title: "Difference", format: "fixed4" },
    { key: "difference_lower", title: "Welch CI lower", format: "fixed4" },
    { key: "difference_upper", title: "Welch CI upper", format: "fixed4" },
    { key: "bootstrap_lower", title: "Bootstrap CI lower", format: "fixed4" },
    { key: "bootstrap_upper", title: "Bootstrap CI upper", format: "fixed4" },
    { key: "t", title: "t", format: "fixed2" },
    { key: "df", title: "df", format: "fixed2" },
    { key: "p", title: "p", format: "pvalue" },
    { key: "p_adjusted", title: "p (adjusted)", format: "pvalue" }
  ],
  rows: checked.map((c) => {
    const vm = c.claim.versus?.metric ?? c.claim.metric
    const k = c.comparison
    return {
      claim: c.claim.claim,
      kind: k ? "comparison" : "published figure",
      metric: c.claim.metric,
      study: c.claim.published === undefined ? "" : show(c.claim.published, c.claim.metric),
      ours: withCi(c.ours, c.claim.metric),
      versus_study: c.claim.versus?.published === undefined ? "" : show(c.claim.versus.published, vm),
      versus_ours: c.versus ? withCi(c.versus, vm) : "",
      verdict: c.verdict,
      ours_mean: c.ours.mean, ours_ci: c.ours.halfWidth, ours_n: c.ours.n,
      versus_mean: c.versus?.mean ?? null, versus_ci: c.versus?.halfWidth ?? null, versus_n: c.versus?.n ?? null,
      difference: k?.test.difference ?? null,
      difference_lower: k?.interval.lower ?? null, difference_upper: k?.interval.upper ?? null,
      bootstrap_lower: k?.bootstrap.lower ?? null, bootstrap_upper: k?.bootstrap.upper ?? null,
      t: k?.test.t ?? null, df: k?.test.df ?? null,
      p: k?.test.pValue ?? null, p_adjusted: k ? c.pAdjusted : null
    }
  })
})

/** The comparisons as a reader takes them in: the two sides, the difference with both intervals, raw and adjusted p, verdict. */
export const comparisonsView = (checked: ReadonlyArray<Checked>, options: { readonly level: number; readonly alpha: number; readonly correction: Stats.Correction; readonly bootstrap: EvaluateOptions["bootstrap"] }): DataTable => {
  const rows = checked.filter((c) => c.comparison)
  const pct = `${Math.round(options.level * 100)}%`
  const ns = rows.flatMap((c) => [c.ours.n, c.versus!.n])
  // with one n throughout, the caption says it once
  const uniform = ns.every((n) => n === ns[0])
  // each side's mean (its interval is in claims.csv: the difference's interval is the comparison's); the study's figure
  const side = (ci: Stats.ConfidenceInterval, metric: ClaimMetric, published: number | undefined) =>
    show(ci.mean, metric) + (uniform ? "" : ` (n=${ci.n})`) + (published === undefined ? "" : `; study ${show(published, metric)}`)
  const short = Stats.correctionShortName(options.correction)
  return {
    name: "claim_comparisons",
    title: "Comparisons",
    caption: `${Runs.nRange(ns)} runs per selection${uniform ? "" : " (in brackets)"}; ours and versus: means over the runs (with their ${pct} ` +
      "intervals in claims.csv). " +
      `Difference = ours − versus (accuracy in percentage points) with Welch's ${pct} interval. p: Welch's two-sided t-test; ` +
      `p (${short}): ${Stats.correctionName(options.correction)} over the ${rows.filter((c) => !Number.isNaN(c.pAdjusted)).length} tested comparisons ` +
      `of this report; a claim holds (or is reversed) when p (${short}) < ${options.alpha}.` + bootstrapNote(rows, options.bootstrap),
    columns: [
      { key: "claim", title: "Claim", format: "text" },
      { key: "ours", title: "Ours", format: "text" },
      { key: "versus", title: "Versus", format: "text" },
      { key: "difference", title: `Difference [${pct} CI, Welch]`, format: "text", nowrap: true },
      { key: "bootstrap", title: `Bootstrap ${pct} CI`, format: "text", nowrap: true },
      { key: "p", title: "p", format: "pvalue" },
      { key: "p_adjusted", title: `p (${short})`, format: "pvalue" },
      { key: "verdict", title: "Verdict", format: "text" }
    ],
    rows: rows.map((c) => {
      const k = c.comparison!
      const vm = c.claim.versus?.metric ?? c.claim.metric
      return {
        claim: c.claim.claim,
        ours: side(c.ours, c.claim.metric, c.claim.published),
        versus: side(c.versus!, vm, c.claim.versus?.published),
        difference: differenceText(k.test.difference, k.interval.lower, k.interval.upper, c.claim.metric),
        bootstrap: Number.isNaN(k.bootstrap.lower) ? "–" : `[${signed(k.bootstrap.lower, c.claim.metric)}, ${signed(k.bootstrap.upper, c.claim.metric)}]${unit(c.claim.metric)}`,
        p: k.test.pValue, p_adjusted: c.pAdjusted, verdict: c.verdict
      }
    })
  }
}

/** The claims that set a published figure beside ours. */
export const figuresView = (checked: ReadonlyArray<Checked>, level: number): DataTable => {
  const rows = checked.filter((c) => !c.comparison)
  return {
    name: "claim_figures",
    title: "Published figures",
    caption: `The study's absolute numbers beside ours: mean ± ${Math.round(level * 100)}% confidence half-width (Student t) over ` +
      `${Runs.nRange(rows.map((c) => c.ours.n))} runs; the verdict says whether the published figure lies inside that interval.`,
    columns: [
      { key: "claim", title: "Claim", format: "text" },
      { key: "study", title: "Study", format: "text" },
      { key: "ours", title: "Ours", format: "text" },
      { key: "verdict", title: "Verdict", format: "text" }
    ],
    rows: rows.map((c) => ({
      claim: c.claim.claim, study: c.claim.published === undefined ? "" : show(c.claim.published, c.claim.metric),
      ours: withCi(c.ours, c.claim.metric), verdict: c.verdict
    }))
  }
}
