/**
 * Stage kind `net2deeper`: inserts an identity-initialised Dense or Conv2D layer with Net2DeeperNet, checks function
 * preservation on the probe's real images and on seeded random inputs, and writes the deeper model and its table
 * (a GrowthStage; missing the tolerance fails the stage).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Growth } from "@growlab/core/Growth"
import { Activation } from "@growlab/core/ModelSpec"
import * as Net2Deeper from "./Net2Deeper.js"
import type { Net2NetError } from "./Net2NetError.js"
import { net2netStage } from "./internal/stage.js"

export const Params = Schema.Struct({
  /** The layer after which to insert: a layer name or an index into the source spec. */
  after: Schema.Union(Schema.String, Schema.Int.pipe(Schema.nonNegative())),
  /** Kernel size of an inserted Conv2D (odd). */
  kernelSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 3 }),
  /** Activation of the new layer: relu (only after a non-negative output) or linear. */
  activation: Schema.optionalWith(Activation, { default: () => "relu" as const }),
  /** Name of the new layer (default `<after>_deeper`). */
  name: Schema.optional(Schema.String),
  /** Seeds the random probe inputs. */
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  probeSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 })
})
export type Params = typeof Params.Type

export const growth: Growth<Params, Net2NetError> = {
  params: Params,
  grow: (source, params) =>
    Effect.map(Net2Deeper.deepen(source, {
      after: params.after, kernelSize: params.kernelSize, activation: params.activation,
      ...(params.name !== undefined ? { name: params.name } : {})
    }), (d) => {
      const ins = d.inserted
      return {
        model: d.model, layers: d.layers, method: "net2deeper", oneAxis: null, fill: null, noise: null, seed: params.seed, breaks: [],
        details: { after: params.after, inserted: ins, probeSize: params.probeSize },
        log: [`inserted ${ins.name} (${ins.kind}${ins.kernelSize === null ? "" : ` ${ins.kernelSize}×${ins.kernelSize}`}, ${ins.width} units, ${ins.activation}) at index ${ins.index}`],
        facts: { inserted: ins }
      }
    })
}

export const net2deeperStage = net2netStage({
  kind: "net2deeper",
  description: "Net2DeeperNet: insert an identity-initialised Dense/Conv2D layer (function-preserving)",
  growth,
  outputs: { model: "the deeper model", expansion: "the inserted layer and measured preservation" }
})
