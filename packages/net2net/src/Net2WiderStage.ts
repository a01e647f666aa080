/**
 * Stage kind `net2wider`: widens a trained model to a target spec with Net2WiderNet, measures function preservation
 * on the probe's real images and on seeded random inputs, and writes the grown model and the expansion table.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Backend from "@growlab/core/Backend"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec } from "@growlab/core/ModelSpec"
import * as Stage from "@growlab/core/Stage"
import * as ExpansionArtifact from "./ExpansionArtifact.js"
import * as Net2Wider from "./Net2Wider.js"
import { checkPreservation, readProbe, summary } from "./internal/stageSupport.js"

export const Params = Schema.Struct({
  /** The target spec (encoded form): same layers as the source, Dense units / Conv2D filters ≥ the source's. */
  target: ModelSpec,
  /** Seeds the mappings, the noise and the random probe inputs. */
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Symmetry-breaking noise: std = ratio × std of the replicated next-layer weights. Absent: exact Net2WiderNet. */
  noise: Schema.optional(Schema.Struct({ ratio: Schema.Number.pipe(Schema.nonNegative()) })),
  /** Random inputs, and real probe examples, used to measure preservation. */
  probeSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 })
})
export type Params = typeof Params.Type

export const net2widerStage = Stage.make<Params>({
  kind: "net2wider",
  description: "Net2WiderNet: widen a trained model to a target spec (function-preserving; optional symmetry-breaking noise)",
  params: Params,
  inputs: {
    model: { description: "the trained source model", kind: "model" },
    probe: { description: "real examples to measure preservation on (the first probeSize)", kind: "dataset", optional: true }
  },
  outputs: {
    model: { description: "the widened model", kind: "model", file: "model.arrow" },
    expansion: { description: "per-layer widening and measured preservation", kind: "expansion", file: "expansion.arrow" }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const source = yield* ModelArtifact.read(ctx.input("model"))
      const dataset = yield* readProbe(ctx, source.spec)
      const exact = params.noise === undefined || params.noise.ratio === 0
      const widened = yield* Net2Wider.widen(source, params.target, params.noise ? { seed: params.seed, noise: params.noise } : { seed: params.seed })
      for (const l of widened.layers) {
        if (l.operator === "net2wider") {
          ctx.log(`${l.layer} (${l.kind}): in ${l.inUnits[0]} → ${l.inUnits[1]}, out ${l.outUnits[0]} → ${l.outUnits[1]}` +
            (l.snrDb === null ? "" : `, noise SNR ${l.snrDb.toFixed(1)} dB`))
        }
      }
      const preservation = yield* checkPreservation(ctx, source, widened.model, { size: params.probeSize, seed: params.seed, dataset }, exact)
      const method = exact ? "net2wider" : "net2wider-noise"
      const breaks = exact ? [] : widened.layers.filter((l) => l.noiseEnergy !== null && l.noiseEnergy > 0)
        .map((l) => `${l.layer}: noise on the new units' input-side weights (SNR ${l.snrDb?.toFixed(1)} dB)`)
      yield* ModelArtifact.write(ctx.output("model"), {
        ...widened.model,
        info: { ...widened.model.info, method, maxAbsDiff: { random: preservation.random.maxAbsDiff, real: preservation.real?.maxAbsDiff ?? null } }
      })
      yield* ExpansionArtifact.write(ctx.output("expansion"), {
        layers: widened.layers,
        summary: summary(method, source, widened.model, preservation, {
          seed: params.seed, noise: params.noise ?? null, breaks,
          details: { mappings: Object.fromEntries(Object.entries(widened.mappings).map(([k, g]) => [k, Array.from(g)])), probeSize: params.probeSize }
        })
      })
      ctx.record("method", method)
      ctx.record("widened", Object.keys(widened.mappings))
      ctx.record("inputSideRewritten", widened.layers.filter((l) => l.growth === "input").map((l) => l.layer))
    })
})
