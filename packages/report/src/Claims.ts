/**
 * Claims: statements of a published study checked against our runs. A claim selects one method's runs by their vars
 * and a metric; it either sets a published figure beside ours (is it inside our confidence interval?) or asserts that
 * the method is higher (or lower) than another selection, checked with Welch's t-test. The published figures live in
 * the pipeline file, next to where they came from.
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

const show = (v: number, metric: ClaimMetric): string =>
  Number.isNaN(v) ? "–" : metric === "val_loss" ? v.toFixed(4) : metric === "seconds_per_epoch" ? `${v.toFixed(1)} s` : `${(v * 100).toFixed(2)}%`

const withCi = (c: Stats.ConfidenceInterval, metric: ClaimMetric): string =>
  `${show(c.mean, metric)}${c.n >= 2 ? ` ± ${metric === "val_loss" ? c.halfWidth.toFixed(4) : metric === "seconds_per_epoch" ? c.halfWidth.toFixed(1) : (c.halfWidth * 100).toFixed(2)}` : ""} (n=${c.n})`

export interface Checked {
  readonly claim: Claim
  readonly ours: Stats.ConfidenceInterval
  readonly versus: Stats.ConfidenceInterval | undefined
  readonly test: Stats.WelchTest | undefined
  readonly verdict: string
}

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

/** Checks one claim against the selected runs (`versusRuns` when it compares two selections). */
export const check = (claim: Claim, runs: ReadonlyArray<Runs.Run>, versusRuns: ReadonlyArray<Runs.Run> | undefined, level: number, alpha: number): Checked => {
  const ours = Stats.confidenceInterval(runs.map((r) => valueOf(r, claim.metric)), level)
  if (claim.versus && versusRuns) {
    const vm = claim.versus.metric ?? claim.metric
    const b = versusRuns.map((r) => valueOf(r, vm))
    const versus = Stats.confidenceInterval(b, level)
    const test = Stats.welchTest(runs.map((r) => valueOf(r, claim.metric)), b)
    const right = claim.direction === "higher" ? test.difference > 0 : test.difference < 0
    const p = Number.isNaN(test.pValue) ? "fewer than 2 runs a side, no test" : `p = ${test.pValue < 1e-4 ? test.pValue.toExponential(1) : test.pValue.toFixed(4)}`
    const verdict = Number.isNaN(test.pValue)
      ? (right ? `holds in the mean (${p})` : `does not hold in the mean (${p})`)
      : test.pValue < alpha
        ? (right ? `holds (${p})` : `reversed (${p})`)
        : (right ? `same direction, not significant (${p})` : `does not hold, not significant (${p})`)
    return { claim, ours, versus, test, verdict: claim.metric === "seconds_per_epoch" ? verdict + workNote(runs, versusRuns) : verdict }
  }
  const pub = claim.published
  const verdict = pub === undefined
    ? "no published figure"
    : ours.n < 2
      ? (ours.mean >= pub ? "ours higher (1 run, no interval)" : "ours lower (1 run, no interval)")
      : pub >= ours.lower && pub <= ours.upper
        ? "published figure inside our interval"
        : pub < ours.lower ? "ours higher than published" : "ours lower than published"
  return { claim, ours, versus: undefined, test: undefined, verdict }
}

export const claimsTable = (checked: ReadonlyArray<Checked>, level: number): DataTable => ({
  name: "claims",
  title: "The study's claims",
  caption: `Each claim of the original study beside our runs: ours is the mean ± ${Math.round(level * 100)}% confidence half-width ` +
    "(Student t) over runs; a comparison is Welch's two-sided t-test between the two selections.",
  columns: [
    { key: "claim", title: "Claim", format: "text" },
    { key: "study", title: "Study", format: "text" },
    { key: "ours", title: "Ours", format: "text" },
    { key: "versus_study", title: "Versus, study", format: "text" },
    { key: "versus_ours", title: "Versus, ours", format: "text" },
    { key: "verdict", title: "Verdict", format: "text" },
    { key: "ours_mean", title: "Ours (mean)", format: "fixed4" },
    { key: "ours_ci", title: "Ours (CI half-width)", format: "fixed4" },
    { key: "p", title: "p", format: "pvalue" }
  ],
  rows: checked.map((c) => {
    const vm = c.claim.versus?.metric ?? c.claim.metric
    return {
      claim: c.claim.claim,
      study: c.claim.published === undefined ? "" : show(c.claim.published, c.claim.metric),
      ours: withCi(c.ours, c.claim.metric),
      versus_study: c.claim.versus?.published === undefined ? "" : show(c.claim.versus.published, vm),
      versus_ours: c.versus ? withCi(c.versus, vm) : "",
      verdict: c.verdict,
      ours_mean: c.ours.mean, ours_ci: c.ours.halfWidth, p: c.test?.pValue ?? null
    }
  })
})
