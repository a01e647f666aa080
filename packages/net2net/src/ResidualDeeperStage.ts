/**
 * Stage kind `residual-deeper`: grows a residual network in depth into a target spec with new, zero-initialised
 * residual blocks (ResidualDeeper.ts), checks function preservation on the probe's real images and on seeded random
 * inputs, and writes the deeper model and its table (a GrowthStage; missing the tolerance fails the stage when the
 * growth claims to preserve the function).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Growth } from "@growlab/core/Growth"
import { ModelSpec } from "@growlab/core/ModelSpec"
import type { Net2NetError } from "./Net2NetError.js"
import * as ResidualDeeper from "./ResidualDeeper.js"
import { net2netStage } from "./internal/stage.js"

export const Params = Schema.Struct({
  /** The deeper spec: every source layer under its name, plus the new blocks. */
  target: ModelSpec,
  /** What starts each new branch at zero: the last BatchNormalization's gamma (default) or the last conv's kernel. */
  zero: Schema.optionalWith(Schema.Literal("gamma", "kernel"), { default: () => "gamma" as const }),
  /** Seeds the new kernels and the random probe inputs. */
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  probeSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 })
})
export type Params = typeof Params.Type

export const growth: Growth<Params, Net2NetError> = {
  params: Params,
  grow: (source, params) =>
    Effect.map(ResidualDeeper.deepen(source, params.target, { zero: params.zero, seed: params.seed }), (d) => ({
      model: d.model, layers: d.layers, method: "residual-deeper", oneAxis: null, fill: null, noise: null, seed: params.seed,
      breaks: d.breaks,
      details: { zero: params.zero, added: d.added.length, zeroed: d.zeroed, probeSize: params.probeSize },
      log: [`added ${d.added.length} layers; zeroed (${params.zero}): ${d.zeroed.join(", ") || "none"}`],
      facts: { added: d.added.length, zeroed: d.zeroed }
    }))
}

export const residualDeeperStage = net2netStage({
  kind: "residual-deeper",
  description: "Residual Net2DeeperNet: add residual blocks whose branch starts at zero (function-preserving)",
  growth,
  outputs: { model: "the deeper model", expansion: "per-layer records and measured preservation" }
})
