/**
 * Stage kind `expand`: grows a trained model into a target spec with one registered method (Registry), measures
 * function preservation on random and real inputs, and draws the kernels before and after (a GrowthStage).
 *
 * Inputs: `model` (model), `probe` (dataset, optional: real images for the preservation check).
 * Params: `target` (ModelSpec), `method` (a registered method), every method's own params (merged from the
 * registry: `noise`, `oneAxis`, `fill`, ...), `seed`, `probeSize`.
 * Outputs: `model` (model.arrow), `expansion` (expansion.arrow), `figures` (folder of PNGs + index.json).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Growth } from "@growlab/core/Growth"
import * as GrowthStage from "@growlab/core/GrowthStage"
import { ModelSpec } from "@growlab/core/ModelSpec"
import * as Preservation from "@growlab/train/Preservation"
import * as Expander from "./Expander.js"
import * as Figures from "./Figures.js"
import type * as Noise from "./Noise.js"
import type { PlanError } from "./PlanError.js"
import * as Registry from "./Registry.js"

const fields = Schema.Struct({
  /** The spec to grow into (same layers, wider Dense units / Conv2D filters). */
  target: ModelSpec,
  method: Registry.Method,
  ...Registry.params,
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Examples of the random and of the real probe batch. */
  probeSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 256 })
})
/** The decoded params: the fixed fields, the shared method params, and each method's own (read by the plan and the operators). */
export interface Params {
  readonly target: ModelSpec
  readonly method: string
  readonly oneAxis: string
  readonly fill: string
  readonly noise?: Noise.Scheme
  readonly seed: number
  readonly probeSize: number
  readonly [param: string]: unknown
}

/** The params Schema, derived from the registry (its merged fields are only known when the operators load). */
export const Params = fields as unknown as Schema.Schema<Params, Record<string, unknown>>

/** The `expand` growth: plan + operators (pure), the kernel figures drawn when the stage writes them. */
export const growth: Growth<Params, PlanError> = {
  params: Params,
  grow: (source, params) =>
    Effect.map(Expander.grow(source, params.target, params), (e) => {
      const own = Expander.ownParams(e.plan)
      return {
        model: e.model,
        layers: e.layers,
        method: e.plan.method,
        oneAxis: e.plan.oneAxis,
        fill: e.plan.fill,
        noise: params.noise ?? null,
        seed: params.seed,
        breaks: e.plan.breaks,
        ...(Object.keys(own).length > 0 ? { details: { params: own } } : {}),
        figures: () => {
          const figures = Figures.render(e)
          return { files: figures, index: Figures.index(figures) }
        },
        facts: { operators: Object.fromEntries(e.layers.filter((l) => l.operator !== "none").map((l) => [l.layer, l.operator])) }
      }
    })
}

export const expandStage = GrowthStage.make({
  kind: "expand",
  description: `Grow a trained model into a wider spec (${Registry.describe()}); measure function preservation`,
  growth,
  inputs: {
    model: "the trained source model",
    probe: "real images for the preservation check (first probeSize examples)"
  },
  outputs: {
    model: "the grown model",
    expansion: "per-layer operators, SNR, and measured max |Δlogits|",
    figures: "kernel heatmaps before/after and quarter differences (PNG)"
  },
  onMiss: "warn",
  measuredInModel: false,
  measurer: Preservation.layer
})
