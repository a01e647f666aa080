/**
 * Net2DeeperNet's residual form: grows a residual network in depth by adding residual blocks whose branch starts at
 * zero, so each new block computes relu(0 + x) = x on the non-negative output of the block before it (ResNet-8 →
 * 14 → 20 with @growlab/core's ResNet specs).
 *
 * The target spec must hold every source layer under the same name with the same weight shapes (those weights are
 * copied); its other layers are new: kernels Glorot-uniform (Init's scheme, seeded per layer), BatchNormalization
 * gamma 1, beta 0, moving mean 0, moving variance 1. Then, for each new `add` layer, the branch input that comes out
 * of new layers is zeroed at its last layer:
 * - `zero: "gamma"` (default): the branch ends in a BatchNormalization; its gamma (and beta) become 0, so the branch
 *   outputs 0 in inference mode and in training mode (whatever the batch statistics);
 * - `zero: "kernel"`: the last convolution (or dense layer) of the branch gets a zero kernel (and bias); a
 *   BatchNormalization after it then sees zeros (0 in inference mode with moving mean 0 and beta 0; in training mode
 *   the batch mean and variance are 0 too).
 * The grown model computes the source's function when, in addition, every new layer lies on such a branch or is the
 * new `add` or a ReLU right after it, and the add's other input is non-negative (a ReLU output); `breaks` says
 * which condition fails otherwise. Existing layers may read new ones (the next stage's first block reads the last
 * new block): that is what inserting means.
 */
import * as Effect from "effect/Effect"
import type { LayerRecord } from "@growlab/core/ExpansionArtifact"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, shapeText, type LayerShapes, type ModelSpec, type WeightShape } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import { Net2NetError } from "./Net2NetError.js"

export type Zero = "gamma" | "kernel"

export interface Options {
  readonly zero?: Zero
  /** Seeds the new layers' kernels (layer i draws from `Random.make(seed, i)`). */
  readonly seed: number
}

export interface Deepened {
  readonly model: ModelArtifact.Model
  /** The new layers, in target order. */
  readonly added: ReadonlyArray<string>
  /** The layers zeroed so the new branches start at 0. */
  readonly zeroed: ReadonlyArray<string>
  readonly breaks: ReadonlyArray<string>
  readonly layers: ReadonlyArray<LayerRecord>
}

const fail = (layer: string, reason: string, expected: string, actual: string) =>
  new Net2NetError({ operation: "residual-deeper", layer, reason, expected, actual })

const size = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

/** Init's Glorot-uniform kernel (Keras' default), drawn from `rng`. */
const glorot = (shape: ReadonlyArray<number>, rng: Random.Rng): Float32Array => {
  const receptive = shape.length > 2 ? size(shape.slice(0, -2)) : 1
  const limit = Math.sqrt(6 / ((shape[shape.length - 2] + shape[shape.length - 1]) * receptive))
  const out = new Float32Array(size(shape))
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit
  return out
}

const freshValues = (w: WeightShape, rng: Random.Rng): Float32Array =>
  w.param === "kernel" ? glorot(w.shape, rng) : w.param === "gamma" || w.param === "movingVariance" ? new Float32Array(size(w.shape)).fill(1) : new Float32Array(size(w.shape))

/** Whether a layer's output is ≥ 0 for every input: a ReLU (activation layer or fused). */
const reluOutput = (l: LayerShapes): boolean =>
  (l.layer._tag === "activation" || l.layer._tag === "dense" || l.layer._tag === "conv2d") && l.layer.activation === "relu"

const deepenSync = (source: ModelArtifact.Model, target: ModelSpec, options: Options): Deepened => {
  const zero = options.zero ?? "gamma"
  const src = new Map(inferShapes(source.spec).map((l) => [l.name, l]))
  const tgt = inferShapes(target)
  if (shapeText(source.spec.inputShape) !== shapeText(target.inputShape)) {
    throw fail("<model>", "input shape differs", shapeText(source.spec.inputShape), shapeText(target.inputShape))
  }
  const targetNames = new Set(tgt.map((l) => l.name))
  for (const name of src.keys()) {
    if (!targetNames.has(name)) throw fail(name, "the target has no layer of this name (residual deepening keeps every source layer)", "a target layer named " + name, "absent")
  }
  const sourceWeights = new Map(source.weights.map((w) => [w.name, w]))
  const isNew = (l: LayerShapes) => !src.has(l.name)
  // Existing layers: same kind and same weight shapes.
  for (const t of tgt) {
    const s = src.get(t.name)
    if (!s) continue
    if (s.layer._tag !== t.layer._tag) throw fail(t.name, "layer type differs from the source's", s.layer._tag, t.layer._tag)
    const a = s.weights.map((w) => `${w.param}${shapeText(w.shape)}`).join(" ")
    const b = t.weights.map((w) => `${w.param}${shapeText(w.shape)}`).join(" ")
    if (a !== b) throw fail(t.name, "weight shapes differ from the source's (residual deepening does not widen)", a || "no weights", b || "no weights")
  }
  // The branch of each new add: the new layers behind the add's inputs that come out of new layers.
  const zeroed: Array<string> = []
  const onBranch = new Set<number>()
  const allowed = new Set<number>()
  const breaks: Array<string> = []
  const zeroWeights = new Set<string>()
  const ancestry = new Map<number, Set<number>>()
  /** The layers `i` reads, directly or not (-1: the model input). */
  const ancestors = (i: number): Set<number> => {
    if (i < 0) return new Set()
    const hit = ancestry.get(i)
    if (hit) return hit
    const out = new Set<number>()
    for (const j of tgt[i].inputs) {
      out.add(j)
      for (const k of ancestors(j)) out.add(k)
    }
    ancestry.set(i, out)
    return out
  }
  for (const t of tgt) {
    if (t.layer._tag !== "add" || !isNew(t)) continue
    allowed.add(t.index)
    const next = tgt[t.index + 1]
    if (next && isNew(next) && next.layer._tag === "activation" && next.layer.activation === "relu" && next.inputs[0] === t.index) allowed.add(next.index)
    // The shortcut: the input every other input descends from (a block's branch starts at its shortcut); else
    // (branches from a common ancestor) the inputs that come out of existing layers.
    const descended = t.inputs.filter((j) => t.inputs.every((i) => i === j || ancestors(i).has(j)))
    const fromExisting = (i: number) => !(i >= 0 && isNew(tgt[i]))
    const shortcuts = descended.length === 1 ? descended : t.inputs.filter(fromExisting)
    const branches = t.inputs.filter((i) => !shortcuts.includes(i))
    if (shortcuts.length !== 1) {
      breaks.push(`${t.name}: a new add needs exactly one shortcut input, got ${shortcuts.length}`)
    } else if (allowed.has(t.index + 1) && !(shortcuts[0] >= 0 && reluOutput(tgt[shortcuts[0]]))) {
      breaks.push(`${t.name}: the ReLU after the new add keeps its shortcut only when that is non-negative (${shortcuts[0] >= 0 ? tgt[shortcuts[0]].name : "the model input"} is not a ReLU output)`)
    }
    for (const b of branches) {
      // Walk back through the branch's new layers.
      const stack = [b]
      while (stack.length > 0) {
        const i = stack.pop()!
        if (i < 0 || !isNew(tgt[i]) || onBranch.has(i) || shortcuts.includes(i)) continue
        onBranch.add(i)
        stack.push(...tgt[i].inputs)
      }
      const last = tgt[b]
      if (zero === "gamma") {
        if (last.layer._tag !== "batchNormalization") {
          throw fail(last.name, `zero "gamma" zeroes the BatchNormalization that ends a new branch`, "batchNormalization", last.layer._tag)
        }
        zeroWeights.add(`${last.name}/gamma`).add(`${last.name}/beta`)
        zeroed.push(last.name)
      } else {
        let k = b
        while (k >= 0 && isNew(tgt[k]) && tgt[k].layer._tag !== "conv2d" && tgt[k].layer._tag !== "dense") {
          const l = tgt[k]
          if (l.layer._tag !== "batchNormalization") throw fail(l.name, `zero "kernel" zeroes the last convolution of a new branch; only BatchNormalization may follow it`, "batchNormalization", l.layer._tag)
          k = l.inputs[0]
        }
        if (k < 0 || !isNew(tgt[k])) throw fail(last.name, `zero "kernel" needs a new convolution or dense layer on the branch`, "a new conv2d/dense layer", "none")
        zeroWeights.add(`${tgt[k].name}/kernel`).add(`${tgt[k].name}/bias`)
        zeroed.push(tgt[k].name)
      }
    }
  }
  for (const t of tgt) {
    if (isNew(t) && !onBranch.has(t.index) && !allowed.has(t.index)) {
      breaks.push(`${t.name}: a new layer outside a zero-initialised residual branch`)
    }
  }
  const weights: Array<ModelArtifact.Weight> = []
  for (const t of tgt) {
    const rng = Random.make(options.seed, t.index)
    for (const w of t.weights) {
      if (!isNew(t)) {
        const s = sourceWeights.get(w.name)
        if (!s || s.values.length !== size(w.shape)) throw fail(t.name, "missing or mis-sized source weight", `${w.name} ${shapeText(w.shape)}`, s ? `${s.values.length} values` : "absent")
        weights.push({ name: w.name, layer: w.layer, param: w.param, shape: w.shape, values: Float32Array.from(s.values) })
        continue
      }
      const values = freshValues(w, rng)
      if (zeroWeights.has(w.name)) values.fill(0)
      weights.push({ name: w.name, layer: w.layer, param: w.param, shape: w.shape, values })
    }
  }
  const energy = (name: string) => {
    const w = weights.find((x) => x.name === name)
    return w ? w.values.reduce((a, v) => a + v * v, 0) : null
  }
  const layers: Array<LayerRecord> = tgt.map((t) => {
    const inW = t.inputShape[t.inputShape.length - 1], outW = t.outputShape[t.outputShape.length - 1]
    const fresh = isNew(t)
    return {
      layer: t.name, sourceLayer: fresh ? "" : t.name, kind: t.layer._tag, growth: "none",
      operator: fresh ? "residual-deeper" : t.weights.length > 0 ? "copy" : "none",
      note: fresh ? (zeroed.includes(t.name) ? `new, zeroed (${zero}): the branch starts at 0` : "new") : "",
      inUnits: [inW, inW], outUnits: [outW, outW], inMultiplier: 1, outMultiplier: 1,
      snrDb: null, signalEnergy: t.weights.some((w) => w.param === "kernel") ? energy(`${t.name}/kernel`) : null,
      noiseEnergy: null, noiseMean: null, noiseStd: null, quarterMaxAbsDiff: null
    }
  })
  const added = tgt.filter(isNew).map((t) => t.name)
  return {
    model: { spec: target, weights, info: { method: "residual-deeper", zero, seed: options.seed, added: added.length, source: source.info } },
    added, zeroed, breaks, layers
  }
}

/** Adds the target's new residual blocks, zero-initialised, or fails where the target does not extend the source. */
export const deepen = (source: ModelArtifact.Model, target: ModelSpec, options: Options): Effect.Effect<Deepened, Net2NetError> =>
  Effect.try({
    try: () => deepenSync(source, target, options),
    catch: (e) => e instanceof Net2NetError ? e : fail("<model>", "inconsistent spec or weights", "a valid source model and target spec", e instanceof Error ? e.message : String(e))
  })
