/**
 * Stage kind `net2deeper`: inserts an identity-initialised Dense or Conv2D layer with Net2DeeperNet, checks function
 * preservation on the probe's real images and on seeded random inputs, and writes the deeper model and its table.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Backend from "@growlab/core/Backend"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { Activation } from "@growlab/core/ModelSpec"
import * as Stage from "@growlab/core/Stage"
import * as ExpansionArtifact from "./ExpansionArtifact.js"
import * as Net2Deeper from "./Net2Deeper.js"
import { checkPreservation, readProbe, summary } from "./internal/stageSupport.js"

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

export const net2deeperStage = Stage.make<Params>({
  kind: "net2deeper",
  description: "Net2DeeperNet: insert an identity-initialised Dense/Conv2D layer (function-preserving)",
  params: Params,
  inputs: {
    model: { description: "the trained source model", kind: "model" },
    probe: { description: "real examples to check preservation on (the first probeSize)", kind: "dataset", optional: true }
  },
  outputs: {
    model: { description: "the deeper model", kind: "model", file: "model.arrow" },
    expansion: { description: "the inserted layer and measured preservation", kind: "expansion", file: "expansion.arrow" }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const source = yield* ModelArtifact.read(ctx.input("model"))
      const dataset = yield* readProbe(ctx, source.spec)
      const deeper = yield* Net2Deeper.deepen(source, {
        after: params.after, kernelSize: params.kernelSize, activation: params.activation,
        ...(params.name !== undefined ? { name: params.name } : {})
      })
      const ins = deeper.inserted
      ctx.log(`inserted ${ins.name} (${ins.kind}${ins.kernelSize === null ? "" : ` ${ins.kernelSize}×${ins.kernelSize}`}, ${ins.width} units, ${ins.activation}) at index ${ins.index}`)
      const preservation = yield* checkPreservation(ctx, source, deeper.model, { size: params.probeSize, seed: params.seed, dataset }, true)
      yield* ModelArtifact.write(ctx.output("model"), {
        ...deeper.model,
        info: { ...deeper.model.info, maxAbsDiff: { random: preservation.random.maxAbsDiff, real: preservation.real?.maxAbsDiff ?? null } }
      })
      yield* ExpansionArtifact.write(ctx.output("expansion"), {
        layers: deeper.layers,
        summary: summary("net2deeper", source, deeper.model, preservation, {
          seed: params.seed, noise: null, breaks: [], details: { after: params.after, inserted: ins, probeSize: params.probeSize }
        })
      })
      ctx.record("inserted", ins)
    })
})
