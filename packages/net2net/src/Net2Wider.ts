/**
 * Net2WiderNet (Chen, Goodfellow & Shlens 2016, arXiv:1511.05641 §3.1): grows the width of Dense and Conv2D layers
 * of a trained model while computing the same function.
 *
 * For a layer widened from n to m ≥ n units, a mapping g: [0, m) → [0, n) picks a source unit per new unit:
 * g(j) = j for j < n, otherwise uniform over [0, n) (seeded). New unit j copies the incoming kernel column and bias
 * of unit g(j), so replicas compute identical activations. The next weighted layer's input-side weights for unit j
 * are the source weights of g(j) divided by the replication count |{k : g(k) = g(j)}|, so the replicas' sum equals
 * the original contribution. Per-channel layers in between (BatchNormalization γ, β, moving mean and variance;
 * pooling, dropout, elementwise activations) follow the same mapping, and a channels-last Flatten turns it into a
 * flat mapping: new flat index p·C' + j reads source index p·C + g(j), divided by the count of g(j).
 *
 * The next layer's input side is rewritten whether or not that layer is itself widened, through any pooling, BN and
 * Flatten in between: the third Conv2D (64 filters) and the output Dense (10 units) of "large model 1" get their
 * input sides grown from the widened layers before them — the two layers the original study's Net2Net code left
 * unmodified ("not expandable by Net2Net-Wider").
 *
 * In a DAG spec (residual networks), the Dense/Conv2D layers whose outputs meet in an `add` share one mapping (drawn
 * for the first of them), so both sides of a residual connection replicate the same units and the sum stays a
 * replica sum; each layer's input side follows its producer's map.
 *
 * Optional noise (the symmetry-breaking variant of the reference Keras example `mnist_net2net.py`): Gaussian
 * noise with std = ratio × std(replicated input-side weights) is added to the next layer's weights of the new
 * units only. Function preservation then no longer holds exactly and is measured (see Preservation).
 */
import * as Effect from "effect/Effect"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, shapeText, type Layer, type LayerShapes, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import type { LayerRecord } from "@growlab/core/ExpansionArtifact"
import { Net2NetError } from "./Net2NetError.js"
import { compareStructure, layerWidth, sourceWeight } from "./internal/layers.js"

export interface Options {
  /** Seeds the mappings (one stream per layer) and the noise (separate streams). */
  readonly seed: number
  /** Symmetry-breaking noise on the next layer's weights of new units, std = ratio × std of those weights. */
  readonly noise?: { readonly ratio: number }
  /**
   * Fixed mappings g by target layer name, overriding the random ones: length = new width, values in [0, old width),
   * every source unit used at least once (otherwise a unit's contribution would be lost).
   */
  readonly mappings?: Readonly<Record<string, ReadonlyArray<number>>>
}

export interface Widened {
  readonly model: ModelArtifact.Model
  /** One record per layer of the target model (the rows of the expansion artifact). */
  readonly layers: ReadonlyArray<LayerRecord>
  /** The mapping g of every layer whose output side was widened, by target layer name. */
  readonly mappings: Readonly<Record<string, Int32Array>>
}

/** g(j) = j for j < n, otherwise a uniform draw from [0, n). */
export const randomMapping = (oldWidth: number, newWidth: number, rng: Random.Rng): Int32Array => {
  const g = new Int32Array(newWidth)
  for (let j = 0; j < newWidth; j++) g[j] = j < oldWidth ? j : rng.int(oldWidth)
  return g
}

/** count[i] = |{ j : g(j) = i }|. */
export const replicationCounts = (g: ArrayLike<number>, oldWidth: number): Int32Array => {
  const counts = new Int32Array(oldWidth)
  for (let j = 0; j < g.length; j++) counts[g[j]]++
  return counts
}

/** Stream ids: mapping of layer i uses stream i, the noise of layer i stream NOISE_STREAM + i. */
const NOISE_STREAM = 1 << 20

/**
 * How each feature on the last axis of the current activation derives from a source-model feature:
 * new feature k reads source feature src[k], and the weights that consume it are divided by div[k].
 * `fresh[k]` marks features added by widening (the copies; noise goes on their outgoing weights).
 */
interface FeatureMap {
  readonly oldSize: number
  readonly src: Int32Array
  readonly div: Int32Array
  readonly fresh: Uint8Array
  readonly identity: boolean
}

const identityMap = (n: number): FeatureMap => {
  const src = new Int32Array(n)
  for (let k = 0; k < n; k++) src[k] = k
  return { oldSize: n, src, div: new Int32Array(n).fill(1), fresh: new Uint8Array(n), identity: true }
}

const channelMap = (g: Int32Array, oldWidth: number): FeatureMap => {
  const counts = replicationCounts(g, oldWidth)
  const div = new Int32Array(g.length)
  const fresh = new Uint8Array(g.length)
  let identity = g.length === oldWidth
  for (let j = 0; j < g.length; j++) {
    div[j] = counts[g[j]]
    fresh[j] = j >= oldWidth ? 1 : 0
    if (g[j] !== j) identity = false
  }
  return { oldSize: oldWidth, src: g, div, fresh, identity }
}

/** Channels-last flatten of [..positions, C]: new index p·C' + j reads p·C + src[j]. */
const flattenMap = (m: FeatureMap, positions: number): FeatureMap => {
  if (m.identity) return identityMap(positions * m.oldSize)
  const c1 = m.src.length
  const src = new Int32Array(positions * c1)
  const div = new Int32Array(positions * c1)
  const fresh = new Uint8Array(positions * c1)
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < c1; j++) {
      src[p * c1 + j] = p * m.oldSize + m.src[j]
      div[p * c1 + j] = m.div[j]
      fresh[p * c1 + j] = m.fresh[j]
    }
  }
  return { oldSize: positions * m.oldSize, src, div, fresh, identity: false }
}

const fail = (layer: string, reason: string, expected: string, actual: string) =>
  new Net2NetError({ operation: "net2wider", layer, reason, expected, actual })

const validMapping = (name: string, g: ReadonlyArray<number>, oldWidth: number, newWidth: number): Int32Array => {
  if (g.length !== newWidth) throw fail(name, "mapping length", `${newWidth} entries (the new width)`, `${g.length}`)
  const out = Int32Array.from(g)
  const counts = new Int32Array(oldWidth)
  for (const v of g) {
    if (!Number.isInteger(v) || v < 0 || v >= oldWidth) throw fail(name, "mapping value", `an integer in [0, ${oldWidth})`, String(v))
    counts[v]++
  }
  const unused = counts.findIndex((c) => c === 0)
  if (unused >= 0) throw fail(name, "mapping drops a source unit", "every source unit used at least once", `unit ${unused} unused`)
  return out
}

interface KernelResult {
  readonly values: Float32Array
  readonly signalEnergy: number
  /** Target std of the noise (ratio × std of the noised weights); 0 without noise. */
  readonly noiseTarget: number
  readonly noise: { readonly energy: number; readonly mean: number; readonly std: number; readonly count: number } | null
}

/**
 * Rewrites a kernel viewed as [pre, in, out] (Dense: pre = 1; Conv2D: pre = kh·kw): input rows through `inMap`
 * (divided by the replication count, noise on fresh rows), then output columns through `g`.
 */
const growKernel = (
  w: Float32Array, pre: number, oldIn: number, oldOut: number, inMap: FeatureMap, g: Int32Array,
  noise: { readonly ratio: number; readonly rng: Random.Rng } | undefined
): KernelResult => {
  const newIn = inMap.src.length
  const newOut = g.length
  // input side, in float64 until the single rounding to float32
  const rows = new Float64Array(pre * newIn * oldOut)
  for (let p = 0; p < pre; p++) {
    for (let i = 0; i < newIn; i++) {
      const from = (p * oldIn + inMap.src[i]) * oldOut
      const to = (p * newIn + i) * oldOut
      const d = inMap.div[i]
      for (let o = 0; o < oldOut; o++) rows[to + o] = w[from + o] / d
    }
  }
  // energies of the final kernel: column o of `rows` appears once per output replica of o
  const outCount = replicationCounts(g, oldOut)
  let signalEnergy = 0
  for (let k = 0; k < rows.length; k++) signalEnergy += rows[k] * rows[k] * outCount[k % oldOut]
  let noiseTarget = 0
  let drawn: KernelResult["noise"] = null
  if (noise && noise.ratio > 0 && !inMap.identity) {
    let n = 0, sum = 0, sumSq = 0
    for (let p = 0; p < pre; p++) {
      for (let i = 0; i < newIn; i++) {
        if (!inMap.fresh[i]) continue
        const at = (p * newIn + i) * oldOut
        for (let o = 0; o < oldOut; o++) { const v = rows[at + o]; n++; sum += v; sumSq += v * v }
      }
    }
    if (n > 0) {
      const mean = sum / n
      noiseTarget = noise.ratio * Math.sqrt(Math.max(0, sumSq / n - mean * mean))
      let energy = 0, eSum = 0, eSumSq = 0
      for (let p = 0; p < pre; p++) {
        for (let i = 0; i < newIn; i++) {
          if (!inMap.fresh[i]) continue
          const at = (p * newIn + i) * oldOut
          for (let o = 0; o < oldOut; o++) {
            const eta = noise.rng.normal() * noiseTarget
            rows[at + o] += eta
            eSum += eta
            eSumSq += eta * eta
            energy += eta * eta * outCount[o]
          }
        }
      }
      const eMean = eSum / n
      drawn = { energy, mean: eMean, std: Math.sqrt(Math.max(0, eSumSq / n - eMean * eMean)), count: n }
    }
  }
  const values = new Float32Array(pre * newIn * newOut)
  for (let r = 0; r < pre * newIn; r++) {
    const from = r * oldOut
    const to = r * newOut
    for (let o = 0; o < newOut; o++) values[to + o] = rows[from + g[o]]
  }
  return { values, signalEnergy, noiseTarget, noise: drawn }
}

const gather = (v: Float32Array, src: Int32Array): Float32Array => {
  const out = new Float32Array(src.length)
  for (let k = 0; k < src.length; k++) out[k] = v[src[k]]
  return out
}

const lastDim = (shape: ReadonlyArray<number>): number => shape[shape.length - 1]

const sameMap = (a: FeatureMap, b: FeatureMap): boolean =>
  a.oldSize === b.oldSize && a.src.length === b.src.length && a.src.every((v, k) => v === b.src[k])

/**
 * The group of every Dense/Conv2D layer (by index): layers whose output channels meet in an `add` (through the
 * per-channel layers after them: BatchNormalization, activations, pooling, dropout, other adds) must replicate the
 * same units, so they share one mapping, drawn for the group's first layer (its index names the group and seeds the
 * draw; a layer that meets no other keeps its own index, as in a plain layer list).
 */
const tiedGroups = (layers: ReadonlyArray<LayerShapes>): Map<number, number> => {
  const parent = new Map<number, number>()
  const find = (i: number): number => {
    let r = i
    while (parent.get(r)! !== r) r = parent.get(r)!
    parent.set(i, r)
    return r
  }
  /** The weighted layer whose output channels layer i carries (-1: the model input). */
  const origin: Array<number> = []
  for (const l of layers) {
    if (l.layer._tag === "dense" || l.layer._tag === "conv2d") {
      parent.set(l.index, l.index)
      origin.push(l.index)
      continue
    }
    const from = l.inputs.map((j) => (j < 0 ? -1 : origin[j]))
    if (l.layer._tag === "add") {
      const roots = from.filter((o) => o >= 0).map(find)
      for (const r of roots.slice(1)) {
        const a = find(roots[0]), b = find(r)
        if (a !== b) parent.set(Math.max(a, b), Math.min(a, b))
      }
    }
    origin.push(from[0])
  }
  return new Map([...parent.keys()].map((i) => [i, find(i)]))
}

const widenSync = (source: ModelArtifact.Model, target: ModelSpec, options: Options): Widened => {
  const src = inferShapes(source.spec)
  const tgt = inferShapes(target)
  if (shapeText(source.spec.inputShape) !== shapeText(target.inputShape)) {
    throw fail("(input)", "input shape differs", shapeText(source.spec.inputShape), shapeText(target.inputShape))
  }
  if (src.length !== tgt.length) {
    throw fail("(model)", "layer count differs (Net2WiderNet only widens; use net2deeper to add layers)", `${src.length} layers`, `${tgt.length}`)
  }
  const lastSrc = src[src.length - 1], lastTgt = tgt[tgt.length - 1]
  if (shapeText(lastSrc.outputShape) !== shapeText(lastTgt.outputShape)) {
    throw fail(lastTgt.name, "output shape differs (the logits cannot be widened)", shapeText(lastSrc.outputShape), shapeText(lastTgt.outputShape))
  }
  const weights: Array<ModelArtifact.Weight> = []
  const layers: Array<LayerRecord> = []
  const mappings: Record<string, Int32Array> = {}
  const inputMap = identityMap(lastDim(source.spec.inputShape))
  /** Per layer: the feature map of its output and the layer whose widening that map comes from. */
  const maps: Array<FeatureMap> = []
  const mapFroms: Array<string> = []
  const groups = tiedGroups(tgt)
  /** The mapping g of each group of layers whose outputs meet in an `add` (drawn once, for the group's first layer). */
  const groupMappings = new Map<number, Int32Array>()
  const push = (t: LayerShapes, param: string, values: Float32Array) => {
    const ws = t.weights.find((w) => w.param === param)!
    weights.push({ name: ws.name, layer: t.name, param, shape: ws.shape, values })
  }
  const replication = (m: FeatureMap) => {
    const counts = replicationCounts(m.src, m.oldSize)
    return { replicatedSources: counts.filter((c) => c > 1).length, maxReplication: counts.reduce((a, b) => Math.max(a, b), 0) }
  }
  const noNoise = { snrDb: null, signalEnergy: null, noiseEnergy: null, noiseMean: null, noiseStd: null, quarterMaxAbsDiff: null }
  for (let i = 0; i < tgt.length; i++) {
    const s = src[i], t = tgt[i]
    compareStructure("net2wider", s, t)
    const sl = s.layer, tl = t.layer as Layer
    const producer = t.inputs[0]
    let map = producer < 0 ? inputMap : maps[producer]
    let mapFrom = producer < 0 ? "" : mapFroms[producer]
    for (const other of t.inputs.slice(1)) {
      if (!sameMap(maps[other], map)) {
        throw fail(t.name, "the inputs of an add are widened by different mappings", `${tgt[producer].name}'s mapping`, `${tgt[other].name}'s`)
      }
    }
    const inUnits = [map.oldSize, map.src.length] as const
    switch (tl._tag) {
      case "dense":
      case "conv2d": {
        const oldOut = layerWidth(sl), newOut = layerWidth(tl)
        if (newOut < oldOut) throw fail(t.name, "target is narrower than the source", `at least ${oldOut} units`, String(newOut))
        const oldIn = lastDim(s.inputShape), newIn = lastDim(t.inputShape)
        if (map.oldSize !== oldIn || map.src.length !== newIn) {
          throw fail(t.name, "input width does not follow from the layers before it", `${map.oldSize} → ${map.src.length}`, `${oldIn} → ${newIn}`)
        }
        const fixed = options.mappings?.[t.name]
        const group = groups.get(i)!
        const shared = groupMappings.get(group)
        const g = fixed !== undefined
          ? validMapping(t.name, fixed, oldOut, newOut)
          : shared !== undefined && shared.length === newOut ? shared
          : newOut > oldOut ? randomMapping(oldOut, newOut, Random.make(options.seed, group)) : identityMap(oldOut).src
        if (shared !== undefined && (shared.length !== g.length || shared.some((v, j) => v !== g[j]))) {
          throw fail(t.name, "layers whose outputs meet in an add need one mapping", `the mapping of ${tgt[group].name}`, fixed !== undefined ? "another fixed mapping" : `another width (${newOut})`)
        }
        if (shared === undefined) groupMappings.set(group, g)
        const outMap = fixed !== undefined || newOut > oldOut ? channelMap(g, oldOut) : identityMap(oldOut)
        if (!outMap.identity && tl.activation === "softmax") {
          throw fail(t.name, "softmax is not elementwise, so replicated units change its normalisation", "an elementwise activation on a widened layer", "softmax")
        }
        const pre = tl._tag === "conv2d" ? tl.kernelSize * tl.kernelSize : 1
        const kernel = sourceWeight("net2wider", source, s, "kernel")
        const noise = options.noise ? { ratio: options.noise.ratio, rng: Random.make(options.seed, NOISE_STREAM + i) } : undefined
        const k = growKernel(kernel, pre, oldIn, oldOut, map, outMap.src, noise)
        push(t, "kernel", k.values)
        if (tl.useBias) push(t, "bias", gather(sourceWeight("net2wider", source, s, "bias"), outMap.src))
        if (!outMap.identity) mappings[t.name] = outMap.src
        const gIn = !map.identity, gOut = !outMap.identity
        const notes: Array<string> = []
        if (gIn) notes.push(`input side follows ${mapFrom}: rows of g(j), divided by its replication count`)
        if (gOut) notes.push(`${newOut - oldOut} new units copy g(j) (seeded uniform over ${oldOut})`)
        if (k.noise) notes.push(`noise std ${k.noiseTarget.toPrecision(3)} = ${options.noise!.ratio} × std of the new units' rows (${k.noise.count} weights)`)
        const { replicatedSources, maxReplication } = replication(outMap)
        layers.push({
          layer: t.name, sourceLayer: s.name, kind: tl._tag, growth: gIn && gOut ? "both" : gIn ? "input" : gOut ? "output" : "none",
          operator: gIn || gOut ? "net2wider" : "copy", note: notes.join("; "),
          inUnits: [oldIn, newIn], outUnits: [oldOut, newOut], inMultiplier: newIn / oldIn, outMultiplier: newOut / oldOut,
          snrDb: k.noise && k.noise.energy > 0 ? 10 * Math.log10(k.signalEnergy / k.noise.energy) : null,
          signalEnergy: k.signalEnergy, noiseEnergy: k.noise ? k.noise.energy : null,
          noiseMean: k.noise ? k.noise.mean : null, noiseStd: k.noise ? k.noise.std : null, quarterMaxAbsDiff: null,
          newUnits: newOut - oldOut, replicatedSources, maxReplication
        })
        map = outMap
        if (gOut) mapFrom = t.name
        break
      }
      case "batchNormalization": {
        const c = lastDim(t.outputShape)
        if (map.src.length !== c) throw fail(t.name, "channel count does not follow from the layers before it", String(map.src.length), String(c))
        for (const param of ["gamma", "beta", "movingMean", "movingVariance"] as const) {
          push(t, param, gather(sourceWeight("net2wider", source, s, param), map.src))
        }
        layers.push({
          layer: t.name, sourceLayer: s.name, kind: tl._tag, growth: map.identity ? "none" : "both",
          operator: map.identity ? "copy" : "replicate", note: map.identity ? "" : `γ, β, moving mean and variance of g(j) (follows ${mapFrom})`,
          inUnits, outUnits: inUnits, inMultiplier: inUnits[1] / inUnits[0], outMultiplier: inUnits[1] / inUnits[0],
          ...noNoise, newUnits: c - map.oldSize, ...replication(map)
        })
        break
      }
      case "add":
      case "globalAveragePooling2d":
      case "flatten":
      case "activation":
      case "rescaling":
      case "maxPooling2d":
      case "dropout": {
        if (tl._tag === "activation" && tl.activation === "softmax" && !map.identity) {
          throw fail(t.name, "softmax is not elementwise, so replicated units change its normalisation", "an elementwise activation after a widened layer", "softmax")
        }
        if (tl._tag === "flatten") map = flattenMap(map, s.inputShape.slice(0, -1).reduce((a, b) => a * b, 1))
        const outUnits = [map.oldSize, map.src.length] as const
        layers.push({
          layer: t.name, sourceLayer: s.name, kind: tl._tag, growth: map.identity ? "none" : "both", operator: "none",
          note: tl._tag === "flatten" && !map.identity ? `channels-last: flat index p·C' + j reads p·C + g(j) (follows ${mapFrom})` : "",
          inUnits, outUnits, inMultiplier: inUnits[1] / inUnits[0], outMultiplier: outUnits[1] / outUnits[0],
          ...noNoise, newUnits: 0, replicatedSources: 0, maxReplication: 1
        })
        break
      }
    }
    maps.push(map)
    mapFroms.push(mapFrom)
  }
  if (!maps[maps.length - 1].identity) throw fail(lastTgt.name, "the output features are still replicated at the end of the model", "an unchanged output layer", "a widened output")
  return {
    model: { spec: target, weights, info: { method: "net2wider", seed: options.seed, noise: options.noise ?? null, source: source.info } },
    layers,
    mappings
  }
}

/**
 * Widens `source` to the layer widths of `target` (same layers in the same order; only Dense units and Conv2D
 * filters may grow). Pure: no tensors. Fails with a Net2NetError naming the layer for a narrower or structurally
 * different target, a widened softmax, a widened output layer or a bad fixed mapping.
 */
export const widen = (source: ModelArtifact.Model, target: ModelSpec, options: Options): Effect.Effect<Widened, Net2NetError> =>
  Effect.try({
    try: () => widenSync(source, target, options),
    catch: (e) => e instanceof Net2NetError ? e : fail("(model)", "inconsistent spec or weights", "a valid model", e instanceof Error ? e.message : String(e))
  })
