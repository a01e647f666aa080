/** What the two Net2Net stages share: reading the probe, measuring preservation, building the summary. */
import * as Effect from "effect/Effect"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { countParams, type ModelSpec } from "@growlab/core/ModelSpec"
import { StageFailure } from "@growlab/core/Errors"
import type { StageContext } from "@growlab/core/Stage"
import type * as ExpansionArtifact from "../ExpansionArtifact.js"
import * as Preservation from "../Preservation.js"
import { shapeText } from "./layers.js"

/** The optional `probe` dataset, checked against the model's input shape. */
export const readProbe = (ctx: StageContext, spec: ModelSpec) =>
  Effect.gen(function*() {
    const file = ctx.optionalInput("probe")
    if (file === undefined) return undefined
    const dataset = yield* DatasetArtifact.read(file)
    if (shapeText(dataset.shape) !== shapeText(spec.inputShape)) {
      return yield* Effect.fail(new StageFailure({
        stage: ctx.stage, reason: `probe dataset ${file} does not fit the model input`, field: "probe.shape",
        expected: shapeText(spec.inputShape), actual: shapeText(dataset.shape)
      }))
    }
    return dataset
  })

const fmt = (x: number) => x.toExponential(2)

/**
 * Measures preservation on `probeSize` seeded random inputs and the first `probeSize` probe examples, and fails the
 * stage when an exact transform (no noise) is not preserved: in exact arithmetic it is, so that can only be a bug.
 */
export const checkPreservation = (
  ctx: StageContext, source: ModelArtifact.Model, grown: ModelArtifact.Model,
  probe: { readonly size: number; readonly seed: number; readonly dataset: DatasetArtifact.Dataset | undefined },
  exact: boolean
) =>
  Effect.gen(function*() {
    const p = yield* Effect.sync(() =>
      Preservation.measureOn(source, grown, probe.dataset ? { size: probe.size, seed: probe.seed, dataset: probe.dataset } : { size: probe.size, seed: probe.seed }))
    ctx.log(`max |Δlogits|: random ${fmt(p.random.maxAbsDiff)} (${p.random.count} inputs, max |logits| ${p.random.maxAbsLogits.toFixed(2)})` +
      (p.real ? `, real ${fmt(p.real.maxAbsDiff)} (${p.real.count} images, max |logits| ${p.real.maxAbsLogits.toFixed(2)})` : ", no real probe") +
      `; relative ${fmt(p.relative)}: ${p.preserved ? "preserved" : "not preserved"}${exact ? "" : " (noise: measured, not required)"}`)
    ctx.record("maxAbsDiff", { random: p.random.maxAbsDiff, real: p.real?.maxAbsDiff ?? null })
    ctx.record("relativeDiff", { random: p.random.relativeDiff, real: p.real?.relativeDiff ?? null })
    ctx.record("preserved", p.preserved)
    if (exact && !p.preserved) {
      return yield* Effect.fail(new StageFailure({
        stage: ctx.stage, reason: "the grown model does not compute the source model's function", field: "relative max |Δlogits|",
        expected: `≤ ${p.tolerance}`, actual: String(p.relative)
      }))
    }
    return p
  })

/** The expansion summary (the keys of @growlab/expand's, see ExpansionArtifact). */
export const summary = (
  method: string, source: ModelArtifact.Model, grown: ModelArtifact.Model, p: Preservation.Preservation,
  facts: { readonly seed: number; readonly noise: { readonly ratio: number } | null; readonly breaks: ReadonlyArray<string>; readonly details: Record<string, unknown> }
): ExpansionArtifact.Summary => ({
  method, oneAxis: null, fill: null, noise: facts.noise, seed: facts.seed,
  sourceSpec: source.spec.name ?? null, targetSpec: grown.spec.name ?? null,
  sourceParams: countParams(source.spec), targetParams: countParams(grown.spec),
  preservesFunction: facts.breaks.length === 0, breaks: facts.breaks, tolerance: p.tolerance,
  random: p.random, real: p.real, relative: p.relative, preserved: p.preserved, details: facts.details
})
