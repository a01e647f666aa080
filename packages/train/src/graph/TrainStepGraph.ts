/**
 * A whole training step of a model spec as one TensorFlow graph: forward pass (the semantics of Forward.apply in
 * training mode), the objective of Loss.ts, explicit backward ops (Conv2DBackpropInput/Filter, BiasAddGrad, ReluGrad,
 * MaxPoolGrad, MatMul with transposes, SparseSoftmaxCrossEntropyWithLogits' backprop), and Adam. Written as a
 * SavedModel (saved_model.pb only; no variables checkpoint) that tfjs-node's session loader runs; see GraphTrainer.ts.
 *
 * Signature `train_step` (tag "serve"); every batch dimension is unknown (-1), so any batch size runs:
 *   inputs   x float32 [-1, ...inputShape] (raw inputs, as Forward.apply takes them), y int32 [-1], lr float32 [],
 *            probs float32 [-1, k] and entropy float32 [-1] (teacher targets, distillation only), and per variant:
 *     flat       c1 = 1 − β1^t, c2 = 1 − β2^t (float32, as tf.train.adam accumulates β^t), and w, m, v: the weights
 *                and Adam slots as flat float32 [flatSize] vectors (layout: `weightLayout`; each weight a 64-byte
 *                aligned segment that TF slices without copying, zero padding between segments);
 *     stateless  c1, c2 and `w/<name>`, `m/<name>`, `v/<name>` per weight;
 *     stateful   b1p = β1^t, b2p = β2^t, eps = ε·sqrt(1 − β2^t); weights and slots are resource variables in the
 *                session (signatures assign_w / assign_m / assign_v set them, `read` returns the weights), and so are
 *                BatchNormalization's moving statistics (in assign_w and read; each step moves them towards the
 *                batch's mean and biased variance, Keras 3's rule);
 *   outputs  loss float32 [] (the batch objective, before the update), correct int32 [] (argmax hits), and the
 *            updated w, m, v (flat, stateless).
 * Adam of flat and stateless is tf.train.adam's op sequence (bit-for-bit the same per element); stateful uses
 * ResourceApplyAdam (the same formula with ε_t, other float rounding). Signature `predict` maps x (and the weights,
 * except stateful) to logits.
 *
 * This module assembles the graph (inputs, weights, signatures); the parts live beside it: StepForward (layers),
 * StepObjective (loss and dLogits), StepBackward (gradients), StepAdam (optimizers), GraphCache (the on-disk cache).
 */
import { inferShapes, type LayerShapes, type ModelSpec, type WeightShape } from "@growlab/core/ModelSpec"
import { defaultCacheDir, writeSavedModel } from "./GraphCache.js"
import { attr, GraphBuilder, type FloatType, type Value } from "./GraphBuilder.js"
import * as Proto from "./Proto.js"
import { DT } from "./Proto.js"
import * as StepAdam from "./StepAdam.js"
import { backward } from "./StepBackward.js"
import { forward } from "./StepForward.js"
import { objective, type StepLoss } from "./StepObjective.js"

export { writeSavedModel } from "./GraphCache.js"
export type { StepLoss } from "./StepObjective.js"

/**
 * "flat": weights and Adam slots are three flat float32 vectors fed and fetched every step (each weight a zero-copy
 *   aligned slice); Adam runs once over the whole vector in plain ops, in tf.train.adam's exact op order.
 * "stateless": the same with one tensor per weight and slot (3 × #weights feeds and fetches, Adam per weight).
 * "stateful": they live in the session as resource variables, updated in place by ResourceApplyAdam.
 */
export type Variant = "flat" | "stateless" | "stateful"

/**
 * "fp32": everything in float32.
 * "bf16-mixed": Keras's `mixed_bfloat16`: the layers from the first one with weights to the logits compute in
 *   bfloat16 (weights cast on read, activations and their gradients bfloat16); the layers before it (an input
 *   rescaling), the logits, softmax, loss, weight gradients, master weights and Adam stay float32.
 */
export type Precision = "fp32" | "bf16-mixed"

/** The compute type of the layers under `precision`. */
export const computeType = (precision: Precision): FloatType => precision === "bf16-mixed" ? DT.bfloat16 : DT.float

export interface StepGraphOptions {
  readonly variant: Variant
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly loss: StepLoss
  /** Default "fp32". */
  readonly precision?: Precision
  /**
   * Compute relu(maxpool(z)) for a ReLU layer followed by a max-pool (exact: same values and gradients). Default: false
   * in fp32 (measured no faster), true in bf16-mixed (the ReLU and its gradient run on the 4× smaller pooled tensor,
   * which matters there because TensorFlow's bfloat16 ReluGrad is an Eigen kernel at ≈ 2× the float32 cost).
   */
  readonly reorderReluPool?: boolean
  /**
   * Compute a conv layer's weight gradient as a forward Conv2D (see `filterGradient`) where the layer is VALID,
   * stride 1 and its output has at most FILTER_GRAD_AS_CONV_MAX_AREA positions. Default: false in fp32, true in
   * bf16-mixed (oneDNN's bfloat16 backward-weights kernel on this CPU is slow for small outputs).
   */
  readonly filterGradAsConv?: boolean
}

export const defaultStepOptions: StepGraphOptions = { variant: "stateful", beta1: 0.9, beta2: 0.999, epsilon: 1e-7, loss: "ce", precision: "fp32" }

/** GraphDef producer version written (TF 2.9's; the ops used are all older). */
const PRODUCER = 1087

export const SIGNATURE = "train_step"
export const PREDICT_SIGNATURE = "predict"
export const TAG = "serve"

/** The weight parameters Adam does not train (BatchNormalization's moving statistics, updated by the step itself). */
export const isStatistic = (w: WeightShape): boolean => w.param === "movingMean" || w.param === "movingVariance"

/**
 * Why the graph path cannot run `spec` with `options` (default: the stateful variant in fp32; undefined when it can).
 * BatchNormalization needs the stateful variant (its moving statistics live in the session).
 */
export const unsupportedReason = (spec: ModelSpec, options: Partial<Pick<StepGraphOptions, "variant" | "precision">> = {}): string | undefined => {
  let layers: ReadonlyArray<LayerShapes>
  try {
    layers = inferShapes(spec)
  } catch (e) {
    return `spec does not infer: ${(e as Error).message}`
  }
  const variant = options.variant ?? defaultStepOptions.variant
  const precision = options.precision ?? "fp32"
  const read = new Set(layers.flatMap((l) => l.inputs))
  for (const l of layers) {
    const layer = l.layer
    if (layer._tag === "batchNormalization") {
      if (variant !== "stateful") {
        return `layer ${l.name}: batchNormalization needs the "stateful" variant (its moving statistics live in the session), not "${variant}"`
      }
    }
    if (layer._tag === "dropout" && layer.rate > 0) return `layer ${l.name}: dropout with rate > 0 is not in the graph path`
    if (l.index < layers.length - 1 && !read.has(l.index)) return `layer ${l.name}: its output is read by no layer (the graph path trains layers that feed the logits)`
  }
  const last = layers[layers.length - 1]
  if (last.outputShape.length !== 1) return `the model output must be logits [n, k], got [n, ${last.outputShape.join(", ")}]`
  if (!layers.some((l) => l.weights.length > 0)) return "the model has no trainable weights"
  return undefined
}

export const supports = (spec: ModelSpec, options: Partial<Pick<StepGraphOptions, "variant" | "precision">> = {}): boolean =>
  unsupportedReason(spec, options) === undefined

export interface StepGraph {
  /** saved_model.pb bytes. */
  readonly savedModel: Uint8Array
  /** Trainable weights in spec order. */
  readonly weights: ReadonlyArray<WeightShape>
  /** BatchNormalization's moving statistics in spec order (stateful variant: variables the step updates). */
  readonly stats: ReadonlyArray<WeightShape>
  readonly numClasses: number
  readonly nodeCount: number
  /** The graph's nodes (for inspection: op types, dtypes, where casts go). */
  readonly nodes: ReadonlyArray<Proto.NodeDef>
  /** Node output of each weight's float32 gradient (for profiling: fetchable from the session). */
  readonly gradientNodes: ReadonlyMap<string, string>
  /** Node output of the batch objective before any update (for profiling: fetching it runs the forward pass only). */
  readonly lossNode: string
}

/** Alignment of each weight's segment in the flat vectors, in floats (64 bytes: TF slices such segments without copying). */
export const FLAT_ALIGN = 16

export interface Segment {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly offset: number
  readonly size: number
}

export interface WeightLayout {
  /** Trainable weights in spec order. */
  readonly weights: ReadonlyArray<WeightShape>
  /** Every weight in spec order: the trainable ones and BatchNormalization's moving statistics. */
  readonly all: ReadonlyArray<WeightShape>
  /** The moving statistics in spec order (not trained by Adam; updated by the step). */
  readonly stats: ReadonlyArray<WeightShape>
  readonly numClasses: number
  /** Each weight's segment of the flat vectors ("flat" variant), at offsets aligned to FLAT_ALIGN floats. */
  readonly segments: ReadonlyArray<Segment>
  /** Length of the flat vectors (the segments plus zero padding). */
  readonly flatSize: number
}

export const weightLayout = (spec: ModelSpec): WeightLayout => {
  const layers = inferShapes(spec)
  const all = layers.flatMap((l) => l.weights)
  const weights = all.filter((w) => !isStatistic(w))
  let offset = 0
  const segments = weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1)
    const seg = { name: w.name, shape: w.shape, offset, size }
    offset += Math.ceil(size / FLAT_ALIGN) * FLAT_ALIGN
    return seg
  })
  return { weights, all, stats: all.filter(isStatistic), numClasses: layers[layers.length - 1].outputShape[0], segments, flatSize: offset }
}

const tensorName = (node: Value): string => node.includes(":") ? node : `${node}:0`

const inputShapeOf = (spec: ModelSpec): Array<number> => [-1, ...spec.inputShape]

/** Builds the SavedModel of the training step of `spec`. Throws when `supports(spec)` is false. */
export const buildTrainStep = (spec: ModelSpec, options: StepGraphOptions): StepGraph => {
  const reason = unsupportedReason(spec, options)
  if (reason) throw new Error(`graph training step: ${reason}`)
  const layers = inferShapes(spec)
  const { weights, all, stats, numClasses, segments, flatSize } = weightLayout(spec)
  const stateful = options.variant === "stateful"
  const flat = options.variant === "flat"
  const g = new GraphBuilder()
  type Sig = { inputs: Array<[string, Proto.TensorInfo]>; outputs: Array<[string, Proto.TensorInfo]> }
  const sig = (): Sig => ({ inputs: [], outputs: [] })
  const step = sig()
  const input = (s: Sig, name: string, dtype: Proto.DataType, shape: ReadonlyArray<number>): Value => {
    const v = g.placeholder(name, dtype, shape)
    s.inputs.push([name, { name: tensorName(v), dtype, shape }])
    return v
  }
  const output = (s: Sig, name: string, v: Value, dtype: Proto.DataType, shape: ReadonlyArray<number>, control?: ReadonlyArray<Value>): void => {
    const id = g.identity(v, dtype, { name: `out/${name}`, absolute: true, control })
    s.outputs.push([name, { name: tensorName(id), dtype, shape }])
  }

  const x = input(step, "x", DT.float, inputShapeOf(spec))
  const y = input(step, "y", DT.int32, [-1])
  const lr = input(step, "lr", DT.float, [])
  // stateless: c1 = 1 − β1^t, c2 = 1 − β2^t; stateful: β1^t, β2^t and ε_t = ε·sqrt(1 − β2^t) (ResourceApplyAdam's inputs).
  const s1 = input(step, stateful ? "b1p" : "c1", DT.float, [])
  const s2 = input(step, stateful ? "b2p" : "c2", DT.float, [])
  const epsT = stateful ? input(step, "eps", DT.float, []) : undefined
  const teacher = options.loss === "ce" ? undefined : { probs: input(step, "probs", DT.float, [-1, numClasses]), entropy: input(step, "entropy", DT.float, [-1]) }

  // Weights: placeholders (stateless), slices of flat placeholders (flat) or resource variables (stateful).
  const wv = new Map<string, Value>()
  const mv = new Map<string, Value>()
  const vv = new Map<string, Value>()
  const handles = new Map<string, { w: Value; m: Value; v: Value }>()
  const flatIn = flat
    ? { w: input(step, "w", DT.float, [flatSize]), m: input(step, "m", DT.float, [flatSize]), v: input(step, "v", DT.float, [flatSize]) }
    : undefined
  for (const [i, w] of all.entries()) {
    if (flatIn) {
      const seg = segments[i]
      wv.set(w.name, g.within(`w/${w.name}`, () => g.reshape(g.slice(flatIn.w, seg.offset, seg.size), g.ints(w.shape))))
    } else if (stateful) {
      const handle = (kind: string): Value => g.op("VarHandleOp", [], {
        dtype: attr.type(DT.float), shape: attr.shape(w.shape), container: attr.s(""), shared_name: attr.s(`${kind}/${w.name}`)
      }, { name: `var/${kind}/${w.name}`, absolute: true })
      // A moving statistic has no Adam slots (its m and v handles are never created).
      const h = isStatistic(w) ? { w: handle("w"), m: "", v: "" } : { w: handle("w"), m: handle("m"), v: handle("v") }
      handles.set(w.name, h)
      wv.set(w.name, g.op("ReadVariableOp", [h.w], { dtype: attr.type(DT.float) }, { name: `read/w/${w.name}`, absolute: true }))
    } else {
      wv.set(w.name, input(step, `w/${w.name}`, DT.float, w.shape))
      mv.set(w.name, input(step, `m/${w.name}`, DT.float, w.shape))
      vv.set(w.name, input(step, `v/${w.name}`, DT.float, w.shape))
    }
  }
  const read = (name: string): Value => {
    const v = wv.get(name)
    if (!v) throw new Error(`missing weight ${name}`)
    return v
  }
  // The layers' view of the weights: the float32 values, or one cast per weight shared by forward and backward.
  const compute = computeType(options.precision ?? "fp32")
  // (BatchNormalization's γ and β stay float32: it computes in float32, as Keras's mixed_bfloat16 does.)
  const bnLayers = new Set(layers.filter((l) => l.layer._tag === "batchNormalization").map((l) => l.name))
  const casts = compute === DT.float
    ? undefined
    : new Map(weights.filter((w) => !bnLayers.has(w.layer)).map((w) => [w.name, g.within(`cast/${w.name}`, () => g.cast(read(w.name), DT.float, compute))]))
  const readCompute = casts === undefined ? read : (name: string): Value => casts.get(name) ?? read(name)

  const mixed = compute !== DT.float
  const fwd = forward(g, layers, x, readCompute, options.reorderReluPool ?? mixed, compute)
  const { loss, dLogits } = objective(g, options.loss, fwd.logits, y, teacher)
  const grads = backward(g, layers, fwd, dLogits, readCompute, compute, options.filterGradAsConv ?? mixed)
  const correct = g.within("metrics", () => g.correctCount(fwd.logits, y))

  const signatures: Array<[string, Proto.SignatureDef]> = []
  const method = "tensorflow/serving/predict"
  if (!stateful) {
    output(step, "loss", loss, DT.float, [])
    output(step, "correct", correct, DT.int32, [])
    const adam = StepAdam.plain(g, options, lr, s1, s2)
    const gradOf = (name: string): Value => {
      const grad = grads.get(name)
      if (!grad) throw new Error(`no gradient for ${name}`)
      return grad
    }
    if (flatIn) {
      g.within("adam", () => {
        const { w2, m2, v2 } = adam(flatIn.w, flatIn.m, flatIn.v, StepAdam.flatGradient(g, segments, flatSize, gradOf))
        output(step, "w", w2, DT.float, [flatSize])
        output(step, "m", m2, DT.float, [flatSize])
        output(step, "v", v2, DT.float, [flatSize])
      })
    } else {
      for (const w of weights) {
        g.within(`adam/${w.name}`, () => {
          const { w2, m2, v2 } = adam(wv.get(w.name)!, mv.get(w.name)!, vv.get(w.name)!, gradOf(w.name))
          output(step, `w/${w.name}`, w2, DT.float, w.shape)
          output(step, `m/${w.name}`, m2, DT.float, w.shape)
          output(step, `v/${w.name}`, v2, DT.float, w.shape)
        })
      }
    }
  } else {
    const updates = StepAdam.resource(g, options, weights.map((w) => ({ name: w.name, ...handles.get(w.name)!, grad: grads.get(w.name)! })), s1, s2, lr, epsT!)
    // BatchNormalization's moving statistics: moving·momentum + batch statistic·(1 − momentum) (biased variance).
    for (const l of layers) {
      const layer = l.layer
      const bn = fwd.trace[l.index].bn
      if (layer._tag !== "batchNormalization" || !bn) continue
      g.within(`moving/${l.name}`, () => {
        for (const [param, stat] of [["movingMean", bn.mean], ["movingVariance", bn.variance]] as const) {
          const name = `${l.name}/${param}`
          const next = g.add(g.mul(read(name), g.scalar(layer.momentum)), g.mul(stat, g.scalar(1 - layer.momentum)))
          updates.push(g.op("AssignVariableOp", [handles.get(name)!.w, next], { dtype: attr.type(DT.float) }, { name: `assign_moving/${name}`, absolute: true }))
        }
      })
    }
    output(step, "loss", loss, DT.float, [], updates)
    output(step, "correct", correct, DT.int32, [], updates)
    // assign: sets weights and/or slots (feeds are optional per signature: run only the keys fed).
    for (const kind of ["w", "m", "v"] as const) {
      const s = sig()
      // assign_w and read cover the moving statistics too; assign_m / assign_v the trainable weights only.
      const assigns = (kind === "w" ? all : weights).map((w) => {
        const value = input(s, `set/${kind}/${w.name}`, DT.float, w.shape)
        return g.op("AssignVariableOp", [handles.get(w.name)![kind], value], { dtype: attr.type(DT.float) }, { name: `assign/${kind}/${w.name}`, absolute: true })
      })
      output(s, `assigned/${kind}`, g.intScalar(0), DT.int32, [], assigns)
      signatures.push([`assign_${kind}`, { ...s, methodName: method }])
    }
    const r = sig()
    for (const w of all) output(r, `w/${w.name}`, wv.get(w.name)!, DT.float, w.shape)
    signatures.push(["read", { ...r, methodName: method }])
  }
  signatures.unshift([SIGNATURE, { ...step, methodName: method }])

  // predict: logits from x and the weights (inference mode: the same forward, except that BatchNormalization uses the
  // moving statistics, so a spec with it gets a second forward pass).
  const inference = stats.length === 0 ? fwd.logits : g.within("predict", () => forward(g, layers, x, readCompute, false, compute, "inference").logits)
  const predictOut = g.identity(inference, DT.float, { name: "out/logits", absolute: true })
  signatures.push([PREDICT_SIGNATURE, {
    inputs: [["x", { name: tensorName(x), dtype: DT.float, shape: inputShapeOf(spec) }],
      ...(flatIn ? [["w", { name: tensorName(flatIn.w), dtype: DT.float, shape: [flatSize] }] as [string, Proto.TensorInfo]] : []),
      ...(stateful || flatIn ? [] : weights.map((w) => [`w/${w.name}`, { name: tensorName(wv.get(w.name)!), dtype: DT.float, shape: w.shape }] as [string, Proto.TensorInfo]))],
    outputs: [["logits", { name: tensorName(predictOut), dtype: DT.float, shape: [-1, numClasses] }]],
    methodName: method
  }])

  const meta = Proto.metaGraphDef({ tags: [TAG], graph: Proto.graphDef(g.nodes, PRODUCER), signatures })
  return {
    savedModel: Proto.savedModel([meta]), weights, stats, numClasses, nodeCount: g.nodes.length, nodes: g.nodes,
    gradientNodes: new Map([...grads].map(([k, v]) => [k, tensorName(v)])), lossNode: tensorName(loss)
  }
}

/**
 * The directory of the step's SavedModel, built and written on first use (atomically: a temporary directory renamed
 * into place, so concurrent processes never see a partial model).
 */
export const savedModelDir = (spec: ModelSpec, options: StepGraphOptions, cacheDir: string = defaultCacheDir()): string =>
  // Building is cheap (milliseconds); the cache saves rewriting files and keeps one directory per distinct graph.
  writeSavedModel(buildTrainStep(spec, options).savedModel, cacheDir)
