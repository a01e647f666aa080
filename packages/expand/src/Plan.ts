/**
 * The expansion plan: from a (source spec, target spec) pair and a method, decide for every layer which axes grow,
 * by how much, how the grown units are laid out (see AxisMap) and which operator fills the layer's weights.
 * Impossible plans fail with a PlanError naming the layer, the field, the expected and the actual value.
 *
 * The input side of every layer reuses the previous layer's output map (through pooling, activations and Flatten),
 * which is what makes the tile operators function-preserving: a layer always "knows" that its input units are copies
 * (tile) or centred originals plus new zero units (envelope).
 */
import * as Effect from "effect/Effect"
import { SpecError } from "@growlab/core/Errors"
import { inferShapes, layerName, shapeText, type Layer, type LayerShapes, type ModelSpec } from "@growlab/core/ModelSpec"
import * as AxisMap from "./AxisMap.js"
import type * as Operator from "./Operator.js"
import { PlanError } from "./PlanError.js"
import * as Registry from "./Registry.js"

/** The `method` param: one of the registered methods (Registry). */
export const Method = Registry.Method
export type Method = typeof Method.Type
export { Fill, OneAxis } from "./OperatorParams.js"

/**
 * A registered operator's name, or what the plan does to layers without a kernel: "replicate" (BatchNormalization
 * statistics and scales follow the channel map) and "none" (rescaling, pooling, flatten, activation, dropout).
 */
export type OperatorName = string

export type Growth = "none" | Operator.Growth

export interface LayerPlan {
  readonly index: number
  /** Target layer name (weights are written as `<name>/<param>`). */
  readonly name: string
  /** Source layer name (weights are read as `<sourceName>/<param>`). */
  readonly sourceName: string
  readonly kind: Layer["_tag"]
  readonly sourceShapes: LayerShapes
  readonly targetShapes: LayerShapes
  /** The layer's input feature/channel axis (a Dense after a Flatten sees the flattened map). */
  readonly inMap: AxisMap.AxisMap
  readonly outMap: AxisMap.AxisMap
  /** Kernel taps per (input, output) pair: kh·kw for Conv2D, 1 for Dense, 0 for layers without a kernel. */
  readonly spatial: number
  /** Target / source units on each axis (channels per position for a Dense after a Flatten). */
  readonly inMultiplier: number
  readonly outMultiplier: number
  readonly growth: Growth
  readonly operator: OperatorName
  /** Why this operator, when it is not simply the method (fallbacks, noise that cannot be added, ...). */
  readonly note: string
}

/** The method and its params; the shared ones get their defaults when absent. */
export interface Options {
  readonly method: string
  readonly oneAxis?: string
  readonly fill?: string
  readonly [param: string]: unknown
}

export interface Plan {
  readonly source: ModelSpec
  readonly target: ModelSpec
  readonly method: string
  readonly oneAxis: string
  readonly fill: string
  /** Every option the operators see (method params, defaults applied). */
  readonly options: Operator.Options
  readonly layers: ReadonlyArray<LayerPlan>
  /** Whether the grown model computes exactly the source's logits in exact arithmetic. */
  readonly preservesFunction: boolean
  /** Why it does not (empty when it does). */
  readonly breaks: ReadonlyArray<string>
}

const WIDTH_FIELDS = new Set(["_tag", "name", "units", "filters"])

const describeValue = (v: unknown): string => (v === undefined ? "absent" : JSON.stringify(v))

const widthOf = (layer: Layer): number | undefined =>
  layer._tag === "dense" ? layer.units : layer._tag === "conv2d" ? layer.filters : undefined

const shapesOf = (spec: ModelSpec, which: "source" | "target"): ReadonlyArray<LayerShapes> => {
  try {
    return inferShapes(spec)
  } catch (e) {
    if (e instanceof SpecError) throw new PlanError({ layer: e.layer, field: `${which}.${e.field}`, expected: e.expected, actual: e.actual })
    throw e
  }
}

const build = (source: ModelSpec, target: ModelSpec, given: Options): Plan => {
  const method = given.method
  const descriptor = Registry.get(method)
  if (descriptor?.method === undefined) {
    throw new PlanError({ layer: "<model>", field: "method", expected: `one of ${Registry.describe()}`, actual: JSON.stringify(method) })
  }
  const rule = descriptor.method
  const options: Operator.Options = { ...given, method, oneAxis: given.oneAxis ?? "symmetric", fill: given.fill ?? "zeros" }
  const { oneAxis, fill } = options
  const src = shapesOf(source, "source")
  const tgt = shapesOf(target, "target")
  if (source.layers.length !== target.layers.length) {
    throw new PlanError({ layer: "<model>", field: "layers", expected: `${source.layers.length} layers (expansion widens layers, it does not add them)`, actual: `${target.layers.length}` })
  }
  if (shapeText(source.inputShape) !== shapeText(target.inputShape)) {
    throw new PlanError({ layer: "<model>", field: "inputShape", expected: shapeText(source.inputShape), actual: shapeText(target.inputShape) })
  }
  const inputMap = AxisMap.identity(source.inputShape[source.inputShape.length - 1])
  /** The output map of each layer (a layer's input side is its producer's: the previous layer, or `input` / `inputs`). */
  const maps: Array<AxisMap.AxisMap> = []
  const mapOf = (i: number) => (i < 0 ? inputMap : maps[i])
  const layers: Array<LayerPlan> = []
  const breaks: Array<string> = []
  source.layers.forEach((s, index) => {
    const t = target.layers[index]
    const name = layerName(t, index)
    if (s._tag !== t._tag) {
      throw new PlanError({ layer: name, field: "_tag", expected: `${s._tag} (the source's layer ${index})`, actual: t._tag })
    }
    const keys = new Set([...Object.keys(s), ...Object.keys(t)])
    for (const key of keys) {
      if (WIDTH_FIELDS.has(key)) continue
      const a = (s as unknown as Record<string, unknown>)[key]
      const b = (t as unknown as Record<string, unknown>)[key]
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new PlanError({ layer: name, field: key, expected: `${describeValue(a)} (only units / filters may differ)`, actual: describeValue(b) })
      }
    }
    const producers = src[index].inputs
    const inMap = mapOf(producers[0])
    for (const other of producers.slice(1)) {
      if (!AxisMap.equal(mapOf(other), inMap)) {
        throw new PlanError({
          layer: name, field: "inputs",
          expected: `inputs whose channels grow alike (${src[producers[0]].name}: ${AxisMap.describe(inMap)})`,
          actual: `${src[other].name}: ${AxisMap.describe(mapOf(other))}`
        })
      }
    }
    const base = { index, name, sourceName: layerName(s, index), kind: s._tag, sourceShapes: src[index], targetShapes: tgt[index], inMap }
    const o = widthOf(s)
    const O = widthOf(t)
    if (o !== undefined && O !== undefined) {
      if (O < o) {
        throw new PlanError({ layer: name, field: s._tag === "dense" ? "units" : "filters", expected: `at least ${o} (the source's; expansion cannot shrink)`, actual: String(O) })
      }
      const spatialOut = (l: LayerShapes) => shapeText(l.outputShape.slice(0, -1))
      if (spatialOut(src[index]) !== spatialOut(tgt[index])) {
        throw new PlanError({ layer: name, field: "outputShape", expected: `spatial size ${spatialOut(src[index])}`, actual: spatialOut(tgt[index]) })
      }
      let outMap: AxisMap.AxisMap
      if (O === o) outMap = AxisMap.identity(o)
      else if (rule.layout === "centre") outMap = AxisMap.centre(o, O)
      else if (O % o !== 0) {
        throw new PlanError({
          layer: name, field: s._tag === "dense" ? "units" : "filters",
          expected: `an integer multiple of ${o} (${method} tiles whole copies of the source units)`,
          actual: `${O} (×${(O / o).toFixed(3)})`
        })
      } else outMap = AxisMap.tile(o, O / o)
      const inUnits = tgt[index].weights.find((w) => w.param === "kernel")!.shape.at(-2)!
      if (inMap.size !== inUnits) {
        throw new PlanError({ layer: name, field: "inputShape", expected: `${inMap.size} input units from the previous layers`, actual: String(inUnits) })
      }
      const gIn = AxisMap.grows(inMap)
      const gOut = AxisMap.grows(outMap)
      const growth: Growth = gIn && gOut ? "both" : gIn ? "input" : gOut ? "output" : "none"
      let operator: OperatorName = "copy"
      let note = ""
      if (growth !== "none") {
        const choice = rule.plan({ name, kind: s._tag === "dense" ? "dense" : "conv2d", growth, inMap, outMap, options })
        operator = choice.operator
        note = choice.note ?? ""
      }
      const chosen = Registry.get(operator)
      if (!chosen) throw new PlanError({ layer: name, field: "operator", expected: `a registered operator (${method}'s planning rule chose it)`, actual: operator })
      const broken = chosen.breaks?.(name, options)
      if (broken !== undefined) breaks.push(broken)
      if (gOut && "activation" in t && t.activation === "softmax") breaks.push(`${name}: softmax over a grown axis is not elementwise`)
      const kernel = src[index].weights.find((w) => w.param === "kernel")!.shape
      layers.push({
        ...base, outMap, spatial: kernel.length === 4 ? kernel[0] * kernel[1] : 1,
        inMultiplier: inMap.size / inMap.sourceSize, outMultiplier: outMap.size / outMap.sourceSize,
        growth, operator, note
      })
      maps.push(outMap)
      return
    }
    let outMap = inMap
    if (s._tag === "flatten") {
      const a = src[index].inputShape
      const b = tgt[index].inputShape
      if (shapeText(a.slice(0, -1)) !== shapeText(b.slice(0, -1))) {
        throw new PlanError({ layer: name, field: "inputShape", expected: `spatial size ${shapeText(a.slice(0, -1))}`, actual: shapeText(b.slice(0, -1)) })
      }
      outMap = AxisMap.flatten(inMap, a.slice(0, -1).reduce((x, y) => x * y, 1))
    }
    if (s._tag === "activation" && s.activation === "softmax" && AxisMap.grows(inMap)) breaks.push(`${name}: softmax over a grown axis is not elementwise`)
    const grown = AxisMap.grows(inMap)
    layers.push({
      ...base, outMap, spatial: 0, inMultiplier: inMap.size / inMap.sourceSize, outMultiplier: outMap.size / outMap.sourceSize,
      growth: grown ? "both" : "none",
      operator: s._tag === "batchNormalization" ? (grown ? "replicate" : "copy") : "none",
      note: ""
    })
    maps.push(outMap)
  })
  if (AxisMap.grows(maps[maps.length - 1])) {
    const last = layers[layers.length - 1]
    throw new PlanError({
      layer: last.name, field: "outputShape",
      expected: `${shapeText(src[src.length - 1].outputShape)} (the model's output cannot grow: the logits must stay comparable)`,
      actual: shapeText(tgt[tgt.length - 1].outputShape)
    })
  }
  return { source, target, method, oneAxis, fill, options, layers, preservesFunction: breaks.length === 0, breaks }
}

/** Runs pure planning code that signals an impossible plan by throwing a PlanError; anything else is a defect. */
export const attempt = <A>(f: () => A): Effect.Effect<A, PlanError> =>
  Effect.try({ try: f, catch: (e) => e }).pipe(
    Effect.catchAll((e) => e instanceof PlanError ? Effect.fail(e) : Effect.die(e)))

/** Plans growing `source` into `target` with a method. Fails with a PlanError for an impossible plan. */
export const make = (source: ModelSpec, target: ModelSpec, options: Options): Effect.Effect<Plan, PlanError> =>
  attempt(() => build(source, target, options))

/** The layers that carry a kernel (Dense, Conv2D). */
export const weightLayers = (plan: Plan): ReadonlyArray<LayerPlan> =>
  plan.layers.filter((l) => l.kind === "dense" || l.kind === "conv2d")
