/** Claims are checked as one family: raw and adjusted p-values, verdicts from the adjusted ones, intervals of the difference. */
import { describe, it, assert } from "@effect/vitest"
import type * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as Stats from "@growlab/core/Stats"
import * as Claims from "../src/Claims.js"
import type * as Runs from "../src/Runs.js"
import * as DataTable from "../src/DataTable.js"

/** One-epoch runs with the given final validation accuracies (the metric the claims below compare). */
const runsOf = (accuracies: ReadonlyArray<number>): ReadonlyArray<Runs.Run> =>
  accuracies.map((v, i) => {
    const metrics: MetricsArtifact.Metrics = {
      epochs: [{ epoch: 1, trainLoss: 1, trainAccuracy: v, valLoss: 1 - v, valAccuracy: v, seconds: 1, learningRate: 0.001 }],
      info: {}
    }
    return { path: `r${i}`, stage: "train", vars: { seed: i + 1 }, metrics }
  })

// Welch p = 0.024263 between these two (scipy, see packages/core/test/Stats.test.ts): "significant" alone, not after
// a correction over three such tests (Holm: 3 × 0.0243 = 0.073)
const LOW = runsOf([0.612, 0.634, 0.641, 0.628])
const HIGH = runsOf([0.655, 0.671, 0.649])

const claim = (text: string, direction: "higher" | "lower", extra: Partial<Claims.Claim> = {}): Claims.Claim =>
  ({ claim: text, metric: "val_accuracy", select: {}, versus: { select: {} }, direction, ...extra })

const options = { level: 0.95, bootstrap: { resamples: 10_000, seed: 0 } }

const family = () => [
  Claims.evaluate(claim("low is lower", "lower"), LOW, HIGH, { ...options, stream: 0 }),
  Claims.evaluate(claim("low is lower, said twice", "lower"), LOW, HIGH, { ...options, stream: 1 }),
  Claims.evaluate(claim("low is higher", "higher"), LOW, HIGH, { ...options, stream: 2 }),
  // not tests: a published figure, and a comparison with one run on a side
  Claims.evaluate({ claim: "a published figure", metric: "val_accuracy", select: {}, published: 0.63, direction: "higher" }, LOW, undefined, { ...options, stream: 3 }),
  Claims.evaluate(claim("one run", "higher"), runsOf([0.7]), HIGH, { ...options, stream: 4 })
]

describe("claims", () => {
  it("verdicts use the Holm-adjusted p over the report's tested comparisons; both p-values are kept", () => {
    const raw = Stats.welchTest([0.612, 0.634, 0.641, 0.628], [0.655, 0.671, 0.649]).pValue
    assert.closeTo(raw, 0.024263439051193075, 1e-12)
    const checked = Claims.judge(family(), { alpha: 0.05, correction: "holm" })
    // three tested comparisons: the published figure and the untested one are not in the family
    for (const c of checked.slice(0, 3)) {
      assert.closeTo(c.comparison!.test.pValue, raw, 1e-15)
      assert.closeTo(c.pAdjusted, 3 * raw, 1e-15)
    }
    assert.deepStrictEqual(checked.map((c) => c.verdict), [
      "same direction, not significant",
      "same direction, not significant",
      "does not hold, not significant",
      "published figure inside our interval",
      "holds in the mean (fewer than 2 runs a side, no test)"
    ])
    assert.isNaN(checked[3].pAdjusted)
    assert.isNaN(checked[4].pAdjusted)
    // uncorrected, the same three would hold, hold and be reversed: Benjamini–Hochberg leaves equal p-values as they are
    const bh = Claims.judge(family(), { alpha: 0.05, correction: "benjamini-hochberg" })
    assert.deepStrictEqual(bh.slice(0, 3).map((c) => [c.verdict, c.pAdjusted]), [["holds", raw], ["holds", raw], ["reversed", raw]])
    assert.strictEqual(Claims.tally(checked, { alpha: 0.05, correction: "holm" }),
      "4 comparisons: 0 hold, 0 reversed, 3 not significant (2 of them in the claimed direction), 1 untested (fewer than 2 runs a side)" +
      " (Welch's t-test, Holm–Bonferroni-adjusted p < 0.05 over the 3 tested); 1 published figure: 1 inside our confidence interval, 0 ours higher, 0 ours lower.")
  })

  it("tables: every number in the claims table, the comparisons and published figures as a reader sees them", () => {
    const checked = Claims.judge(family(), { alpha: 0.05, correction: "holm" })
    const full = Claims.claimsTable(checked, 0.95, "holm")
    const first = full.rows[0]
    const welch = Stats.welchInterval(Stats.welchTest([0.612, 0.634, 0.641, 0.628], [0.655, 0.671, 0.649]))
    const boot = Stats.bootstrapDifference([0.612, 0.634, 0.641, 0.628], [0.655, 0.671, 0.649])
    assert.isTrue(boot.exact, "4 and 3 runs: 6,912 resample pairs, enumerated")
    assert.deepStrictEqual(
      [first.difference, first.difference_lower, first.difference_upper, first.bootstrap_lower, first.bootstrap_upper, first.ours_n, first.versus_n],
      [welch.difference, welch.lower, welch.upper, boot.lower, boot.upper, 4, 3])
    assert.strictEqual(first.p_adjusted, checked[0].pAdjusted)
    assert.strictEqual(full.rows[3].kind, "published figure")
    assert.strictEqual(full.rows[3].p_adjusted, null)

    const view = Claims.comparisonsView(checked, { level: 0.95, alpha: 0.05, correction: "holm", bootstrap: options.bootstrap })
    assert.deepStrictEqual(view.rows.map((r) => r.claim), ["low is lower", "low is lower, said twice", "low is higher", "one run"])
    // accuracy differences in percentage points, Welch's interval beside the difference
    assert.strictEqual(view.rows[0].difference, "−2.96 [−5.33, −0.59] pt")
    assert.strictEqual(view.rows[0].bootstrap, `[−${(-boot.lower * 100).toFixed(2)}, −${(-boot.upper * 100).toFixed(2)}] pt`)
    assert.include(view.caption, "n = 1–4 runs per selection")
    assert.include(view.caption, "Holm–Bonferroni over the 3 tested comparisons")
    assert.strictEqual(view.rows[0].ours, "62.88% (n=4)", "n in every cell when it differs between selections")
    const md = DataTable.toMarkdown(view)
    assert.include(md, "| p | p (Holm) | Verdict |")
    assert.include(md, "| 0.0243 | 0.0728 | same direction, not significant |")
    const figures = Claims.figuresView(checked, 0.95)
    assert.deepStrictEqual(figures.rows.map((r) => [r.claim, r.study, r.verdict]), [["a published figure", "63.00%", "published figure inside our interval"]])
    assert.include(figures.caption, "n = 4 runs")
  })
})
