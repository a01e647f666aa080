/**
 * Applies a plan to a model: every kernel through its operator, biases and BatchNorm vectors through the output map,
 * each layer with its own random stream `Random.make(seed, layerIndex)`. Pure Float32Array math, no tensors.
 */
import * as Effect from "effect/Effect"
import type * as ExpansionArtifact from "@growlab/core/ExpansionArtifact"
import * as Random from "@growlab/core/Random"
import type { Model, Weight } from "@growlab/core/ModelArtifact"
import { shapeText, type ModelSpec } from "@growlab/core/ModelSpec"
import type * as Noise from "./Noise.js"
import type { KernelResult } from "./Operator.js"
import * as Plan from "./Plan.js"
import { PlanError } from "./PlanError.js"
import * as QuarterDifference from "./QuarterDifference.js"
import * as Registry from "./Registry.js"
import { follow } from "./internal/vectors.js"

export interface Options {
  /** Required when a noisy operator adds noise; used by envelope's `scaled-noise` fill (default scaled, normal). */
  readonly noise?: Noise.Scheme
  readonly seed: number
}

/** What was done to one layer: a row of the expansion artifact. */
export type LayerRecord = ExpansionArtifact.LayerRecord

export interface Expansion {
  readonly plan: Plan.Plan
  readonly source: Model
  readonly model: Model
  readonly layers: ReadonlyArray<LayerRecord>
  /** Per kernel layer: the operator's full result (for figures and tests). */
  readonly kernels: ReadonlyMap<string, KernelResult>
}

const build = (model: Model, plan: Plan.Plan, options: Options): Expansion => {
  const weights = new Map(model.weights.map((w) => [w.name, w]))
  const get = (layer: Plan.LayerPlan, param: string, shape: ReadonlyArray<number>): Weight => {
    const w = weights.get(`${layer.sourceName}/${param}`)
    if (!w) throw new PlanError({ layer: layer.name, field: `${layer.sourceName}/${param}`, expected: `a source weight ${shapeText(shape)}`, actual: "absent" })
    if (shapeText(w.shape) !== shapeText(shape) || w.values.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new PlanError({ layer: layer.name, field: `${layer.sourceName}/${param}`, expected: shapeText(shape), actual: `${shapeText(w.shape)} (${w.values.length} values)` })
    }
    return w
  }
  const needsNoise = plan.layers.some((l) => {
    const d = Registry.get(l.operator)
    return d?.noise === "required" && (d.drawsNoise?.(l) ?? true)
  })
  if (needsNoise && !options.noise) {
    throw new PlanError({ layer: "<model>", field: "noise", expected: `a noise scheme for ${plan.method} ({scheme: "snr", snrDb} or {scheme: "scaled", distribution})`, actual: "absent" })
  }
  const out: Array<Weight> = []
  const records: Array<LayerRecord> = []
  const kernels = new Map<string, KernelResult>()
  for (const layer of plan.layers) {
    const targetWeights = layer.targetShapes.weights
    let result: KernelResult | undefined
    if (layer.spatial > 0) {
      const op = Registry.get(layer.operator)
      if (!op) throw new PlanError({ layer: layer.name, field: "operator", expected: "a registered operator", actual: layer.operator })
      const sourceShapes = layer.sourceShapes.weights
      const kernelShape = sourceShapes.find((w) => w.param === "kernel")!
      const source = get(layer, "kernel", kernelShape.shape)
      const ctx = { rng: Random.make(options.seed, layer.index), options: plan.options }
      result = op.kernel({ source: source.values, spatial: layer.spatial, inMap: layer.inMap, outMap: layer.outMap, layer: layer.name }, ctx)
      kernels.set(layer.name, result)
      for (const w of targetWeights) {
        if (w.param === "kernel") out.push({ ...w, values: result.kernel })
        else if (w.param === "bias") out.push({ ...w, values: op.bias(get(layer, "bias", sourceShapes.find((x) => x.param === "bias")!.shape).values, layer.outMap) })
      }
    } else {
      for (const w of targetWeights) {
        const sourceShape = layer.sourceShapes.weights.find((x) => x.param === w.param)!.shape
        const fill = w.param === "gamma" || w.param === "movingVariance" ? 1 : 0
        out.push({ ...w, values: follow(get(layer, w.param, sourceShape).values, layer.outMap, fill) })
      }
    }
    const diff = result ? QuarterDifference.compute(layer, result.kernel) : null
    records.push({
      layer: layer.name, sourceLayer: layer.sourceName, kind: layer.kind, growth: layer.growth, operator: layer.operator, note: layer.note,
      inUnits: [layer.inMap.sourceSize, layer.inMap.size], outUnits: [layer.outMap.sourceSize, layer.outMap.size],
      inMultiplier: layer.inMultiplier, outMultiplier: layer.outMultiplier,
      snrDb: result?.snrDb ?? null, signalEnergy: result?.signalEnergy ?? null, noiseEnergy: result?.noiseEnergy ?? null,
      noiseMean: result?.noise?.mean ?? null, noiseStd: result?.noise?.std ?? null,
      quarterMaxAbsDiff: diff ? QuarterDifference.maxAbs(diff) : null
    })
  }
  const grown: Model = {
    spec: plan.target,
    weights: out,
    info: {
      expandedFrom: model.info,
      expansion: { method: plan.method, oneAxis: plan.oneAxis, fill: plan.fill, noise: options.noise ?? null, seed: options.seed, ...ownParams(plan) }
    }
  }
  return { plan, source: model, model: grown, layers: records, kernels }
}

/** The method's params other than the shared ones (recorded after them, so existing methods' records do not change). */
export const ownParams = (plan: Plan.Plan): Record<string, unknown> => {
  const own = Registry.get(plan.method)?.method?.params ?? {}
  return Object.fromEntries(Object.keys(own).filter((k) => !SHARED.has(k) && plan.options[k] !== undefined).map((k) => [k, plan.options[k]]))
}
const SHARED = new Set(["method", "oneAxis", "fill", "noise"])

/** Expands `model` (whose spec must be the plan's source) along a plan. */
export const expand = (model: Model, plan: Plan.Plan, options: Options): Effect.Effect<Expansion, PlanError> =>
  Plan.attempt(() => build(model, plan, options))

/** Plans and expands in one step. */
export const grow = (model: Model, target: ModelSpec, options: Plan.Options & Options): Effect.Effect<Expansion, PlanError> =>
  Effect.flatMap(Plan.make(model.spec, target, options), (plan) => expand(model, plan, options))
