/**
 * Stage kind `expand`: grows a trained model into a target spec with one method, measures function preservation on
 * random and real inputs, and draws the kernels before and after.
 *
 * Inputs: `model` (model), `probe` (dataset, optional: real images for the preservation check).
 * Params: `target` (ModelSpec), `method`, `noise` (required by noisy methods), `oneAxis`, `fill`, `seed`, `probeSize`.
 * Outputs: `model` (model.arrow), `expansion` (expansion.arrow), `figures` (folder of PNGs + index.json).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { writeFileAtomic, writeJsonAtomic } from "@growlab/core/ArtifactStore"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import { StageFailure } from "@growlab/core/Errors"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec, countParams } from "@growlab/core/ModelSpec"
import * as Stage from "@growlab/core/Stage"
import * as Expander from "./Expander.js"
import * as ExpansionArtifact from "./ExpansionArtifact.js"
import * as Figures from "./Figures.js"
import * as Noise from "./Noise.js"
import * as Plan from "./Plan.js"
import * as Preservation from "./Preservation.js"

export const Params = Schema.Struct({
  /** The spec to grow into (same layers, wider Dense units / Conv2D filters). */
  target: ModelSpec,
  method: Plan.Method,
  /** Noise of the noisy methods (required by them), and of envelope's `scaled-noise` fill (default scaled normal). */
  noise: Schema.optional(Noise.Scheme),
  /** Diagonal methods: layers that grow along one axis get the symmetric operator or a random initialisation. */
  oneAxis: Schema.optionalWith(Plan.OneAxis, { default: () => "symmetric" as const }),
  /** Envelope: what surrounds the centred source weights. */
  fill: Schema.optionalWith(Plan.Fill, { default: () => "zeros" as const }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Examples of the random and of the real probe batch. */
  probeSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 })
})
export type Params = typeof Params.Type

const fmt = (x: number) => x.toExponential(2)

export const expandStage = Stage.make<Params>({
  kind: "expand",
  description: "Grow a trained model into a wider spec (symmetric, noisy symmetric, diagonal, noisy diagonal, envelope); measure function preservation",
  params: Params,
  inputs: {
    model: { description: "the trained source model", kind: "model" },
    probe: { description: "real images for the preservation check (first probeSize examples)", kind: "dataset", optional: true }
  },
  outputs: {
    model: { description: "the grown model", kind: "model", file: "model.arrow" },
    expansion: { description: "per-layer operators, SNR, and measured max |Δlogits|", kind: "expansion", file: "expansion.arrow" },
    figures: { description: "kernel heatmaps before/after and quarter differences (PNG)", kind: "figure", file: "figures", dir: true }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const source = yield* ModelArtifact.read(ctx.input("model"))
      const started = performance.now()
      const expansion = yield* Expander.grow(source, params.target, {
        method: params.method, oneAxis: params.oneAxis, fill: params.fill, noise: params.noise, seed: params.seed
      })
      const expandMs = performance.now() - started
      const grown = expansion.model
      const inputShape = source.spec.inputShape

      const random = Preservation.compare(source, grown, Preservation.randomInputs(inputShape, params.probeSize, params.seed), params.probeSize)
      let real: Preservation.Comparison | null = null
      const probeFile = ctx.optionalInput("probe")
      if (probeFile !== undefined) {
        const probe = yield* DatasetArtifact.read(probeFile)
        if (probe.shape.join(",") !== inputShape.join(",")) {
          return yield* Effect.fail(new StageFailure({
            stage: ctx.stage, reason: "probe images do not fit the model input", field: "probe.shape",
            expected: `[${inputShape.join(", ")}]`, actual: `[${probe.shape.join(", ")}]`
          }))
        }
        const { x, count } = Preservation.datasetInputs(probe, params.probeSize)
        if (count > 0) real = Preservation.compare(source, grown, x, count)
      }
      const preserved = random.relativeDiff <= Preservation.TOLERANCE && (real === null || real.relativeDiff <= Preservation.TOLERANCE)
      const plan = expansion.plan
      const summary: ExpansionArtifact.Summary = {
        method: plan.method, oneAxis: plan.oneAxis, fill: plan.fill, noise: params.noise ?? null, seed: params.seed,
        sourceSpec: source.spec.name ?? null, targetSpec: params.target.name ?? null,
        sourceParams: countParams(source.spec), targetParams: countParams(params.target),
        preservesFunction: plan.preservesFunction, breaks: plan.breaks, tolerance: Preservation.TOLERANCE,
        random, real, preserved
      }

      yield* ModelArtifact.write(ctx.output("model"), grown)
      yield* ExpansionArtifact.write(ctx.output("expansion"), { layers: expansion.layers, summary })
      const figures = Figures.render(expansion)
      const dir = ctx.output("figures")
      for (const f of figures) yield* writeFileAtomic(`${dir}/${f.file}`, f.bytes)
      yield* writeJsonAtomic(`${dir}/index.json`, Figures.index(figures))

      ctx.record("method", plan.method)
      ctx.record("maxAbsDiff", { random: random.maxAbsDiff, real: real?.maxAbsDiff ?? null })
      ctx.record("relativeDiff", { random: random.relativeDiff, real: real?.relativeDiff ?? null })
      ctx.record("preserved", preserved)
      ctx.record("preservesFunction", plan.preservesFunction)
      ctx.measure("expandMs", Math.round(expandMs * 100) / 100)
      ctx.record("operators", Object.fromEntries(expansion.layers.filter((l) => l.operator !== "none").map((l) => [l.layer, l.operator])))
      ctx.log(`${plan.method}: ${summary.sourceParams} → ${summary.targetParams} params in ${expandMs.toFixed(1)} ms; ` +
        `max |Δlogits| random ${fmt(random.maxAbsDiff)}${real ? `, real ${fmt(real.maxAbsDiff)}` : ""} (${preserved ? "preserved" : "not preserved"})`)
      if (plan.preservesFunction && !preserved) {
        ctx.log(`WARNING: ${plan.method} preserves the function in exact arithmetic but the measured relative difference exceeds ${Preservation.TOLERANCE}`)
      }
      if (!plan.preservesFunction) ctx.log(`not function-preserving by construction: ${plan.breaks.join("; ")}`)
    })
})
