/**
 * Net2DeeperNet (Chen, Goodfellow & Shlens 2016, §3.2): inserts a layer initialised to the identity after an
 * existing layer. On a rank-1 activation it is a Dense layer (identity kernel, zero bias); on a rank-3 activation a
 * Conv2D (odd kernel, 'same' padding, stride 1, kernel zero except the centre tap (c, c) which is the identity
 * from input channel i to output channel i, zero bias).
 *
 * The new layer computes act(x). That equals x for every x only when:
 * - act is linear (always), or
 * - act is ReLU and x ≥ 0 is guaranteed, i.e. the activation at the insertion point comes out of a ReLU, sigmoid
 *   or softmax, possibly through max pooling, flatten, dropout or a non-negative rescaling (ReLU(ReLU(x)) = ReLU(x)).
 * Every other combination (ReLU after a linear/tanh/BatchNormalization output, or a tanh, sigmoid or softmax
 * identity layer) is refused with a Net2NetError.
 */
import * as Effect from "effect/Effect"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, isSequential, layerName, shapeText, type Activation, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"
import type { LayerRecord } from "@growlab/core/ExpansionArtifact"
import { Net2NetError } from "./Net2NetError.js"

export interface Options {
  /** The layer after which to insert: its name (`layerName`) or its index in the source spec. */
  readonly after: string | number
  /** Kernel size of an inserted Conv2D (odd). Default 3. Ignored for a Dense insertion. */
  readonly kernelSize?: number
  /** Activation of the inserted layer. Default "relu" (as in the paper). */
  readonly activation?: Activation
  /** Name of the inserted layer. Default `<after>_deeper` (made unique). */
  readonly name?: string
}

export interface Inserted {
  readonly name: string
  /** Index of the new layer in the deeper spec. */
  readonly index: number
  readonly kind: "dense" | "conv2d"
  readonly width: number
  readonly kernelSize: number | null
  readonly activation: Activation
}

export interface Deepened {
  readonly model: ModelArtifact.Model
  readonly inserted: Inserted
  /** One record per layer of the deeper model (the rows of the expansion artifact). */
  readonly layers: ReadonlyArray<LayerRecord>
}

const fail = (layer: string, reason: string, expected: string, actual: string) =>
  new Net2NetError({ operation: "net2deeper", layer, reason, expected, actual })

/**
 * Whether the output of layer `index` is provably non-negative for every input (the raw input is not assumed to be).
 * Dense/Conv2D/Activation with ReLU, sigmoid or softmax produce x ≥ 0; max pooling, flatten and dropout keep it;
 * a rescaling keeps it when scale ≥ 0 and offset ≥ 0; anything else (linear, tanh, BatchNormalization) does not.
 */
export const nonNegativeAfter = (spec: ModelSpec, index: number): boolean => {
  let nonNeg = false
  const positive = (a: Activation) => a === "relu" || a === "sigmoid" || a === "softmax"
  for (let i = 0; i <= index; i++) {
    const l = spec.layers[i]
    switch (l._tag) {
      case "dense":
      case "conv2d":
      case "activation":
        nonNeg = positive(l.activation)
        break
      case "rescaling":
        nonNeg = nonNeg && l.scale >= 0 && l.offset >= 0
        break
      case "batchNormalization":
        nonNeg = false
        break
      case "maxPooling2d":
      case "flatten":
      case "dropout":
        break
    }
  }
  return nonNeg
}

/** Resolves `after` (name or index) to an index of the spec, or fails listing the layer names. */
export const resolveLayer = (spec: ModelSpec, after: string | number): number => {
  const names = spec.layers.map((l, i) => layerName(l, i))
  if (typeof after === "number") {
    if (Number.isInteger(after) && after >= 0 && after < names.length) return after
    throw fail(String(after), "unknown layer index", `an index in [0, ${names.length})`, String(after))
  }
  const i = names.indexOf(after)
  if (i < 0) throw fail(after, "unknown layer", `one of ${names.join(", ")}`, after)
  return i
}

/** The identity kernel for a Dense [n, n] or a Conv2D [k, k, n, n] (centre tap). */
export const identityKernel = (kind: "dense" | "conv2d", width: number, kernelSize = 1): Float32Array => {
  if (kind === "dense") {
    const w = new Float32Array(width * width)
    for (let i = 0; i < width; i++) w[i * width + i] = 1
    return w
  }
  const k = kernelSize, c = (k - 1) / 2
  const w = new Float32Array(k * k * width * width)
  for (let i = 0; i < width; i++) w[((c * k + c) * width + i) * width + i] = 1
  return w
}

const deepenSync = (source: ModelArtifact.Model, options: Options): Deepened => {
  const spec = source.spec
  if (!isSequential(spec)) {
    throw fail("<model>", "Net2DeeperNet inserts into a plain layer list", "a spec without `input` or `add` layers", "a spec with branches")
  }
  const shapes = inferShapes(spec)
  const at = resolveLayer(spec, options.after)
  const afterName = shapes[at].name
  const activation = options.activation ?? "relu"
  const kernelSize = options.kernelSize ?? 3
  const out = shapes[at].outputShape
  if (out.length !== 1 && out.length !== 3) {
    throw fail(afterName, "an identity layer needs a rank-1 (Dense) or rank-3 (Conv2D) activation", "[n] or [h, w, c]", shapeText(out))
  }
  const kind = out.length === 1 ? "dense" as const : "conv2d" as const
  const width = out[out.length - 1]
  if (kind === "conv2d" && (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0)) {
    throw fail(afterName, "an identity Conv2D needs an odd kernel size (a centre tap)", "an odd positive integer", String(kernelSize))
  }
  if (activation === "tanh" || activation === "sigmoid" || activation === "softmax") {
    throw fail(afterName, `an identity layer with ${activation} computes ${activation}(x) ≠ x`, "activation relu (after a non-negative output) or linear", activation)
  }
  if (activation === "relu" && !nonNegativeAfter(spec, at)) {
    const l = spec.layers[at]
    const what = "activation" in l ? `activation ${l.activation}` : `a ${l._tag} output`
    throw fail(afterName, `ReLU(x) ≠ x where x can be negative (the layer has ${what})`, "insert after a ReLU/sigmoid/softmax output, or use activation linear", "relu")
  }
  // Freeze every existing layer's name so the weight names `<layer>/<param>` survive the index shift.
  const taken = new Set(shapes.map((s) => s.name))
  let name = options.name ?? `${afterName}_deeper`
  if (options.name !== undefined && taken.has(name)) throw fail(afterName, "name of the new layer is taken", "a new layer name", name)
  for (let n = 2; taken.has(name); n++) name = `${afterName}_deeper${n}`
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw fail(afterName, "invalid layer name", "^[A-Za-z][A-Za-z0-9_]*$", name)
  const newLayer: Layer = kind === "dense"
    ? { _tag: "dense", name, units: width, activation, useBias: true }
    : { _tag: "conv2d", name, filters: width, kernelSize, strides: 1, padding: "same", activation, useBias: true }
  const specLayers: Array<Layer> = spec.layers.map((l, i) => ({ ...l, name: shapes[i].name }))
  specLayers.splice(at + 1, 0, newLayer)
  const deeper: ModelSpec = { ...spec, layers: specLayers }
  const newShapes = inferShapes(deeper)
  const inserted = newShapes[at + 1]
  const weights: Array<ModelArtifact.Weight> = []
  for (const s of newShapes) {
    for (const ws of s.weights) {
      if (s.index === at + 1) {
        const values = ws.param === "kernel" ? identityKernel(kind, width, kernelSize) : new Float32Array(width)
        weights.push({ name: ws.name, layer: s.name, param: ws.param, shape: ws.shape, values })
        continue
      }
      const w = source.weights.find((x) => x.name === ws.name)
      if (!w) throw fail(s.name, "missing weight", ws.name, "absent")
      weights.push({ name: ws.name, layer: s.name, param: ws.param, shape: ws.shape, values: Float32Array.from(w.values) })
    }
  }
  const energy = (name: string) => {
    const w = weights.find((x) => x.name === name)
    return w ? w.values.reduce((a, v) => a + v * v, 0) : null
  }
  const layers: Array<LayerRecord> = newShapes.map((s) => {
    const isNew = s.index === at + 1
    const inW = s.inputShape[s.inputShape.length - 1], outW = s.outputShape[s.outputShape.length - 1]
    const weighted = s.weights.length > 0
    return {
      layer: s.name, sourceLayer: isNew ? "" : s.name, kind: s.layer._tag, growth: "none",
      operator: isNew ? "net2deeper" : weighted ? "copy" : "none",
      note: isNew ? `identity-initialised ${kind === "conv2d" ? `${kernelSize}×${kernelSize} 'same' Conv2D` : "Dense"} (${activation}) after ${afterName}` : "",
      inUnits: [inW, inW], outUnits: [outW, outW], inMultiplier: 1, outMultiplier: 1,
      snrDb: null, signalEnergy: weighted && s.weights.some((w) => w.param === "kernel") ? energy(`${s.name}/kernel`) : null,
      noiseEnergy: null, noiseMean: null, noiseStd: null, quarterMaxAbsDiff: null, newUnits: 0, replicatedSources: 0, maxReplication: 1
    }
  })
  return {
    model: { spec: deeper, weights, info: { method: "net2deeper", after: afterName, inserted: name, source: source.info } },
    inserted: { name, index: inserted.index, kind, width, kernelSize: kind === "conv2d" ? kernelSize : null, activation },
    layers
  }
}

/** Inserts an identity-initialised layer after `options.after`, or fails where the identity cannot preserve the function. */
export const deepen = (source: ModelArtifact.Model, options: Options): Effect.Effect<Deepened, Net2NetError> =>
  Effect.try({
    try: () => deepenSync(source, options),
    catch: (e) => e instanceof Net2NetError ? e : fail(String(options.after), "inconsistent spec or weights", "a valid model", e instanceof Error ? e.message : String(e))
  })
