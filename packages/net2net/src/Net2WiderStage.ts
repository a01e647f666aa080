/**
 * Stage kind `net2wider`: widens a trained model to a target spec with Net2WiderNet, measures function preservation
 * on the probe's real images and on seeded random inputs, and writes the grown model and the expansion table
 * (a GrowthStage; an exact widening that misses the tolerance fails the stage).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Growth } from "@growlab/core/Growth"
import { ModelSpec } from "@growlab/core/ModelSpec"
import * as Net2Wider from "./Net2Wider.js"
import type { Net2NetError } from "./Net2NetError.js"
import { net2netStage } from "./internal/stage.js"

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

export const growth: Growth<Params, Net2NetError> = {
  params: Params,
  grow: (source, params) =>
    Effect.map(Net2Wider.widen(source, params.target, params.noise ? { seed: params.seed, noise: params.noise } : { seed: params.seed }), (w) => {
      const exact = params.noise === undefined || params.noise.ratio === 0
      return {
        model: w.model,
        layers: w.layers,
        method: exact ? "net2wider" : "net2wider-noise",
        oneAxis: null, fill: null, noise: params.noise ?? null, seed: params.seed,
        breaks: exact ? [] : w.layers.filter((l) => l.noiseEnergy !== null && l.noiseEnergy > 0)
          .map((l) => `${l.layer}: noise on the new units' input-side weights (SNR ${l.snrDb?.toFixed(1)} dB)`),
        details: { mappings: Object.fromEntries(Object.entries(w.mappings).map(([k, g]) => [k, Array.from(g)])), probeSize: params.probeSize },
        log: w.layers.filter((l) => l.operator === "net2wider").map((l) =>
          `${l.layer} (${l.kind}): in ${l.inUnits[0]} → ${l.inUnits[1]}, out ${l.outUnits[0]} → ${l.outUnits[1]}` +
          (l.snrDb === null ? "" : `, noise SNR ${l.snrDb.toFixed(1)} dB`)),
        facts: { widened: Object.keys(w.mappings), inputSideRewritten: w.layers.filter((l) => l.growth === "input").map((l) => l.layer) }
      }
    })
}

export const net2widerStage = net2netStage({
  kind: "net2wider",
  description: "Net2WiderNet: widen a trained model to a target spec (function-preserving; optional symmetry-breaking noise)",
  growth,
  outputs: { model: "the widened model", expansion: "per-layer widening and measured preservation" }
})
