/**
 * The stage every growth method runs as (`expand`, `net2wider`, `net2deeper`): reads the trained model and the
 * optional real probe, grows (Growth.ts), measures function preservation on seeded random inputs and the probe's first
 * examples (the `Measurer` service, Preservation.ts), and writes the grown model, the expansion artifact
 * (ExpansionArtifact.ts) and, for growths that draw, the figures.
 *
 * Inputs: `model` (model), `probe` (dataset, optional). Outputs: `model` (model.arrow), `expansion` (expansion.arrow),
 * `figures` (a folder with index.json) when declared. Params: the growth's, which must include `seed` (the random
 * probe's stream) and `probeSize` (random inputs, and real examples taken).
 * Manifest: `method`, `maxAbsDiff` {random, real}, `relativeDiff`, `preserved`, `preservesFunction`, the growth's own
 * facts; the growth's time in `measurements.growMs`.
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { writeFileAtomic, writeJsonAtomic } from "./ArtifactStore.js"
import * as Backend from "./Backend.js"
import { StageFailure } from "./Errors.js"
import * as ExpansionArtifact from "./ExpansionArtifact.js"
import type { Growth, Grown } from "./Growth.js"
import * as ModelArtifact from "./ModelArtifact.js"
import { countParams } from "./ModelSpec.js"
import * as Preservation from "./Preservation.js"
import * as Stage from "./Stage.js"
import * as StageInputs from "./StageInputs.js"

export interface Options<P extends { readonly seed: number; readonly probeSize: number }, E extends { readonly _tag: string; readonly message: string }> {
  readonly kind: string
  readonly description: string
  readonly growth: Growth<P, E>
  readonly inputs: { readonly model: string; readonly probe: string }
  readonly outputs: { readonly model: string; readonly expansion: string; readonly figures?: string }
  /**
   * When a growth that preserves the function in exact arithmetic misses the tolerance: "fail" the stage (it can only
   * be a bug) or "warn" (logged, recorded as `preserved: false`).
   */
  readonly onMiss: "fail" | "warn"
  /**
   * Also write the measured max |Δlogits| into the grown model's info (`method`, `maxAbsDiff`) and the summary's
   * `relative`: Net2Net's layout. Off: the model is written as grown.
   */
  readonly measuredInModel: boolean
  /** Runs the two models (@growlab/train/Preservation's `layer` on TensorFlow). */
  readonly measurer: Layer.Layer<Preservation.Measurer>
}

const fmt = (x: number) => x.toExponential(2)

const summaryOf = (
  source: ModelArtifact.Model, grown: Grown, p: Preservation.Preservation, measuredInModel: boolean
): ExpansionArtifact.Summary => ({
  method: grown.method, oneAxis: grown.oneAxis, fill: grown.fill, noise: grown.noise, seed: grown.seed,
  sourceSpec: source.spec.name ?? null, targetSpec: grown.model.spec.name ?? null,
  sourceParams: countParams(source.spec), targetParams: countParams(grown.model.spec),
  preservesFunction: grown.breaks.length === 0, breaks: grown.breaks, tolerance: p.tolerance,
  random: p.random, real: p.real, ...(measuredInModel ? { relative: p.relative } : {}), preserved: p.preserved,
  ...(grown.details !== undefined ? { details: grown.details } : {})
})

export const make = <P extends { readonly seed: number; readonly probeSize: number }, E extends { readonly _tag: string; readonly message: string }>(
  o: Options<P, E>
): Stage.Stage<P> => Stage.make<P>({
  kind: o.kind,
  description: o.description,
  params: o.growth.params,
  inputs: { model: StageInputs.modelInput(o.inputs.model), probe: StageInputs.probeInput(o.inputs.probe) },
  outputs: {
    model: { description: o.outputs.model, kind: "model", file: "model.arrow" },
    expansion: { description: o.outputs.expansion, kind: "expansion", file: "expansion.arrow" },
    ...(o.outputs.figures !== undefined ? { figures: { description: o.outputs.figures, kind: "figure", file: "figures", dir: true } } : {})
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const source = yield* StageInputs.model(ctx)
      const dataset = yield* StageInputs.optionalDatasetFor(ctx, "probe", source.spec)
      const started = performance.now()
      const grown = yield* o.growth.grow(source, params)
      const growMs = performance.now() - started
      for (const line of grown.log ?? []) ctx.log(line)
      const measurer = yield* Preservation.Measurer
      const p = yield* measurer.measure(source, grown.model, {
        size: params.probeSize, seed: params.seed, ...(dataset !== undefined ? { dataset } : {})
      })
      const exact = grown.breaks.length === 0
      ctx.log(`${grown.method}: ${countParams(source.spec)} → ${countParams(grown.model.spec)} params in ${growMs.toFixed(1)} ms; ` +
        `max |Δlogits| random ${fmt(p.random.maxAbsDiff)} (${p.random.count} inputs, max |logits| ${p.random.maxAbsLogits.toFixed(2)})` +
        (p.real ? `, real ${fmt(p.real.maxAbsDiff)} (${p.real.count} examples, max |logits| ${p.real.maxAbsLogits.toFixed(2)})` : ", no real probe") +
        `; relative ${fmt(p.relative)}: ${p.preserved ? "preserved" : "not preserved"}`)
      if (!exact) ctx.log(`not function-preserving by construction: ${grown.breaks.join("; ")}`)
      if (exact && !p.preserved) {
        if (o.onMiss === "fail") {
          return yield* Effect.fail(new StageFailure({
            stage: ctx.stage, reason: "the grown model does not compute the source model's function", field: "relative max |Δlogits|",
            expected: `≤ ${p.tolerance}`, actual: String(p.relative)
          }))
        }
        ctx.log(`WARNING: ${grown.method} preserves the function in exact arithmetic but the measured relative difference exceeds ${p.tolerance}`)
      }
      const maxAbsDiff = { random: p.random.maxAbsDiff, real: p.real?.maxAbsDiff ?? null }
      yield* ModelArtifact.write(ctx.output("model"), o.measuredInModel
        ? { ...grown.model, info: { ...grown.model.info, method: grown.method, maxAbsDiff } }
        : grown.model)
      yield* ExpansionArtifact.write(ctx.output("expansion"), { layers: grown.layers, summary: summaryOf(source, grown, p, o.measuredInModel) })
      if (o.outputs.figures !== undefined) {
        const dir = ctx.output("figures")
        const figures = grown.figures?.() ?? { files: [], index: [] }
        for (const f of figures.files) yield* writeFileAtomic(`${dir}/${f.file}`, f.bytes)
        yield* writeJsonAtomic(`${dir}/index.json`, figures.index)
      }
      ctx.record("method", grown.method)
      ctx.record("maxAbsDiff", maxAbsDiff)
      ctx.record("relativeDiff", { random: p.random.relativeDiff, real: p.real?.relativeDiff ?? null })
      ctx.record("preserved", p.preserved)
      ctx.record("preservesFunction", exact)
      for (const [k, v] of Object.entries(grown.facts ?? {})) ctx.record(k, v)
      ctx.measure("growMs", Math.round(growMs * 100) / 100)
    }).pipe(Effect.provide(o.measurer))
})
