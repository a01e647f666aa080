/**
 * Applies a plan to a model: every kernel through its operator, biases and BatchNorm vectors through the output map,
 * each layer with its own random stream `Random.make(seed, layerIndex)`. Pure Float32Array math, no tensors.
 */
import * as Effect from "effect/Effect"
import * as Random from "@growlab/core/Random"
import type { Model, Weight } from "@growlab/core/ModelArtifact"
import type { ModelSpec } from "@growlab/core/ModelSpec"
import type * as Noise from "./Noise.js"
import type { Operator, KernelResult } from "./Operator.js"
import * as Plan from "./Plan.js"
import { PlanError } from "./PlanError.js"
import * as QuarterDifference from "./QuarterDifference.js"
import { follow } from "./internal/vectors.js"
import { copy } from "./operators/Copy.js"
import { diagonal } from "./operators/Diagonal.js"
import { envelope } from "./operators/Envelope.js"
import { noisyDiagonal } from "./operators/NoisyDiagonal.js"
import { noisySymmetric } from "./operators/NoisySymmetric.js"
import { randomInit } from "./operators/RandomInit.js"
import { symmetric } from "./operators/Symmetric.js"

export const operators: Readonly<Partial<Record<Plan.OperatorName, Operator>>> = {
  copy, symmetric, "noisy-symmetric": noisySymmetric, diagonal, "noisy-diagonal": noisyDiagonal, envelope, random: randomInit
}

export interface Options {
  /** Required when a noisy operator adds noise; used by envelope's `scaled-noise` fill (default scaled, normal). */
  readonly noise?: Noise.Scheme
  readonly seed: number
}

/** What was done to one layer. */
export interface LayerRecord {
  readonly layer: string
  readonly sourceLayer: string
  readonly kind: string
  readonly growth: Plan.Growth
  readonly operator: Plan.OperatorName
  readonly note: string
  readonly inUnits: readonly [source: number, target: number]
  readonly outUnits: readonly [source: number, target: number]
  readonly inMultiplier: number
  readonly outMultiplier: number
  readonly snrDb: number | null
  readonly signalEnergy: number | null
  readonly noiseEnergy: number | null
  readonly noiseMean: number | null
  readonly noiseStd: number | null
  /** max |block(0,0) − block(last,last)| (see QuarterDifference), null where it does not apply. */
  readonly quarterMaxAbsDiff: number | null
}

export interface Expansion {
  readonly plan: Plan.Plan
  readonly source: Model
  readonly model: Model
  readonly layers: ReadonlyArray<LayerRecord>
  /** Per kernel layer: the operator's full result (for figures and tests). */
  readonly kernels: ReadonlyMap<string, KernelResult>
}

const shapeText = (s: ReadonlyArray<number>) => `[${s.join(", ")}]`

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
  const needsNoise = plan.layers.some((l) => (l.operator === "noisy-symmetric" || l.operator === "noisy-diagonal") && l.inMap.copies > 1)
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
      const op = operators[layer.operator]
      if (!op) throw new Error(`no kernel operator '${layer.operator}'`)
      const sourceShapes = layer.sourceShapes.weights
      const kernelShape = sourceShapes.find((w) => w.param === "kernel")!
      const source = get(layer, "kernel", kernelShape.shape)
      const ctx = { rng: Random.make(options.seed, layer.index), noise: options.noise, fill: plan.fill }
      result = op.kernel({ source: source.values, spatial: layer.spatial, inMap: layer.inMap, outMap: layer.outMap }, ctx)
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
      expansion: { method: plan.method, oneAxis: plan.oneAxis, fill: plan.fill, noise: options.noise ?? null, seed: options.seed }
    }
  }
  return { plan, source: model, model: grown, layers: records, kernels }
}

const attempt = <A>(f: () => A): Effect.Effect<A, PlanError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      if (e instanceof PlanError) return Effect.fail(e)
      throw e
    }
  })

/** Expands `model` (whose spec must be the plan's source) along a plan. */
export const expand = (model: Model, plan: Plan.Plan, options: Options): Effect.Effect<Expansion, PlanError> =>
  attempt(() => build(model, plan, options))

/** Plans and expands in one step. */
export const grow = (model: Model, target: ModelSpec, options: Plan.Options & Options): Effect.Effect<Expansion, PlanError> =>
  Effect.flatMap(Plan.make(model.spec, target, options), (plan) => expand(model, plan, options))
