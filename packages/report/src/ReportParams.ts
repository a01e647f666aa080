/** The params of the `report` stage. */
import * as Schema from "effect/Schema"
import * as Stats from "@growlab/core/Stats"
import * as Analysis from "./Analysis.js"
import * as Claims from "./Claims.js"

export const Params = Schema.Struct({
  title: Schema.optional(Schema.String),
  /** The var whose values are repeats of one method (runs differing only in it are averaged). */
  repeatVar: Schema.optionalWith(Schema.String, { default: () => "seed" }),
  /** Which runs are the reference (e.g. training from scratch): those whose `vars[var]` equals `value`. */
  reference: Schema.optional(Schema.Struct({ var: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })),
  /**
   * Vars a method and a separate reference (and a target of the time-to-target table) must agree on, e.g. ["target"]
   * to compare each grown model with the same architecture trained from scratch. Empty: every reference applies.
   */
  matchOn: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Statements of a published study to check against these runs (see Claims.ts). */
  claims: Schema.optionalWith(Schema.Array(Claims.Claim), { default: () => [] }),
  /** Confidence level of the intervals. */
  level: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0.5), Schema.lessThan(1)), { default: () => 0.95 }),
  /** Significance level of the Welch tests, applied to the adjusted p-values. */
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { default: () => 0.05 }),
  /**
   * How the p-values of one family of tests are adjusted before a verdict: "holm" (Holm–Bonferroni, the family-wise
   * error rate) or "benjamini-hochberg" (the false discovery rate). The families: the report's claims that compare two
   * selections, and the tests of the differences-from-the-reference table.
   */
  correction: Schema.optionalWith(Schema.Literal(...Stats.Correction), { default: () => "holm" as const }),
  /**
   * The bootstrap interval of a difference of means: at most `resamples` resample pairs (enumerated exactly when there
   * are no more than that, as with 3 runs a side: 729), else that many drawn with `seed`.
   */
  bootstrap: Schema.optionalWith(Schema.Struct({
    resamples: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(100)), { default: () => 10_000 }),
    seed: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 })
  }), { default: () => ({ resamples: 10_000, seed: 0 }) }),
  sortBy: Schema.optionalWith(Schema.Literal(...Analysis.SortKey), { default: () => "val_accuracy" as const }),
  /** Which weight heatmaps of the expansions to embed: all, only the expanded kernels ("after"), or none. */
  weightFigures: Schema.optionalWith(Schema.Literal("all", "after", "none"), { default: () => "all" as const }),
  /**
   * Of which repeats of a method to embed the weight heatmaps: "first" (the lowest `repeatVar` value; its repeats differ
   * only in their seeds) or "all". Either way a heatmap identical to one already embedded (the small model's weights
   * before expansion, shared by every method grown from it) is embedded once.
   */
  weightFigureRepeats: Schema.optionalWith(Schema.Literal("first", "all"), { default: () => "first" as const }),
  /**
   * Vars to draw the learning curves apart by: one set of curves per combination of their values (a method without
   * one of these vars appears in every set), so a report of many methods keeps each chart readable. Empty: one set.
   */
  curvesBy: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /**
   * Method families by hand: family name → method names (the value of the var that names methods). Methods not listed
   * get the default family: the first word of their name that is not a qualifier (`noisy`, `scaled`, `zeros`, ...).
   * Each family has one hue in every chart, and the learning curves of many methods are drawn one family per panel.
   */
  families: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }), { default: () => ({}) }),
  /** Of how many images to embed the Grad-CAM overlays (every layer's) per Grad-CAM artifact. */
  gradcamOverlays: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 2 })
})
export type Params = typeof Params.Type
