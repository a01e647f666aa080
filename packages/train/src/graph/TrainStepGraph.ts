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
 *                session (signatures assign_w / assign_m / assign_v set them, `read` returns the weights);
 *   outputs  loss float32 [] (the batch objective, before the update), correct int32 [] (argmax hits), and the
 *            updated w, m, v (flat, stateless).
 * Adam of flat and stateless is tf.train.adam's op sequence (bit-for-bit the same per element); stateful uses
 * ResourceApplyAdam (the same formula with ε_t, other float rounding). Signature `predict` maps x (and the weights,
 * except stateful) to logits.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { inferShapes, type LayerShapes, type ModelSpec, type WeightShape } from "@growlab/core/ModelSpec"
import { attr, GraphBuilder, type FloatType, type Value } from "./GraphBuilder.js"
import * as Proto from "./Proto.js"
import { DT } from "./Proto.js"

/** Loss of the step: cross-entropy with the labels, or Loss.ts's a·KD + b·CE. */
export type StepLoss = "ce" | { readonly kd: { readonly teacherWeight: number; readonly labelWeight: number; readonly temperature: number } }

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

/**
 * Output positions (h'·w') up to which `filterGradAsConv` applies. Measured (one core, bfloat16, batch 32 and 128,
 * 64 or 128 channels): the forward-conv form takes 0.4–0.75× the time of Conv2DBackpropFilter at 4×4, 6×6 and 8×8
 * outputs, about the same at 10×10 and 1.1–1.3× at 13×13.
 */
export const FILTER_GRAD_AS_CONV_MAX_AREA = 64

export const defaultStepOptions: StepGraphOptions = { variant: "stateful", beta1: 0.9, beta2: 0.999, epsilon: 1e-7, loss: "ce", precision: "fp32" }

/** GraphDef producer version written (TF 2.9's; the ops used are all older). */
const PRODUCER = 1087

export const SIGNATURE = "train_step"
export const PREDICT_SIGNATURE = "predict"
export const TAG = "serve"

/** Why the graph path cannot run `spec` (undefined when it can). */
export const unsupportedReason = (spec: ModelSpec): string | undefined => {
  let layers: ReadonlyArray<LayerShapes>
  try {
    layers = inferShapes(spec)
  } catch (e) {
    return `spec does not infer: ${(e as Error).message}`
  }
  for (const l of layers) {
    const layer = l.layer
    if (layer._tag === "batchNormalization") return `layer ${l.name}: batchNormalization is not in the graph path`
    if (layer._tag === "dropout" && layer.rate > 0) return `layer ${l.name}: dropout with rate > 0 is not in the graph path`
  }
  const last = layers[layers.length - 1]
  if (last.outputShape.length !== 1) return `the model output must be logits [n, k], got [n, ${last.outputShape.join(", ")}]`
  if (!layers.some((l) => l.weights.length > 0)) return "the model has no trainable weights"
  return undefined
}

export const supports = (spec: ModelSpec): boolean => unsupportedReason(spec) === undefined

export interface StepGraph {
  /** saved_model.pb bytes. */
  readonly savedModel: Uint8Array
  /** Trainable weights in spec order (all weights of a supported spec are trainable). */
  readonly weights: ReadonlyArray<WeightShape>
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
  readonly numClasses: number
  /** Each weight's segment of the flat vectors ("flat" variant), at offsets aligned to FLAT_ALIGN floats. */
  readonly segments: ReadonlyArray<Segment>
  /** Length of the flat vectors (the segments plus zero padding). */
  readonly flatSize: number
}

export const weightLayout = (spec: ModelSpec): WeightLayout => {
  const layers = inferShapes(spec)
  const weights = layers.flatMap((l) => l.weights)
  let offset = 0
  const segments = weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1)
    const seg = { name: w.name, shape: w.shape, offset, size }
    offset += Math.ceil(size / FLAT_ALIGN) * FLAT_ALIGN
    return seg
  })
  return { weights, numClasses: layers[layers.length - 1].outputShape[0], segments, flatSize: offset }
}

const tensorName = (node: Value): string => node.includes(":") ? node : `${node}:0`

interface Traced {
  readonly input: Value
  readonly output: Value
  /** conv2d/dense: the ReLU was moved after the following max-pool (the layer's output is pre-activation). */
  readonly reluDeferred?: boolean
  /** maxPooling2d: the pool of the preceding layer's pre-activation, before the moved ReLU (output = relu(pooled)). */
  readonly pooled?: Value
}

interface Forwarded {
  /** float32 logits (cast from the compute type when it is bfloat16). */
  readonly logits: Value
  /** Per layer: its input and output values (of the layer's compute type). */
  readonly trace: ReadonlyArray<Traced>
}

/**
 * Forward pass (training mode = inference mode for the supported layers). `w(name)` gives a weight's value.
 * With `reorderReluPool`, act = relu followed by a max-pool computes relu(maxpool(z)) instead of maxpool(relu(z)):
 * the same values (max and relu commute), and in the backward pass the ReLU gradient runs on the pooled tensor
 * (ties in a window: both route the gradient to an element equal to the window's max, and windows whose max is ≤ 0
 * get zero either way), so the gradients are the same too.
 * With `compute` bfloat16, layers from the first one with weights on run in bfloat16: its input is cast once, `w`
 * gives bfloat16 weights, and the logits are cast back to float32.
 */
const forward = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, x: Value, w: (name: string) => Value, reorderReluPool: boolean, compute: FloatType): Forwarded => {
  const trace: Array<Traced> = []
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  let h = x
  layers.forEach((l, i) => {
    const layer = l.layer
    if (i === firstTrainable && compute !== DT.float) h = g.within("to_compute", () => g.cast(h, DT.float, compute))
    const input = h
    const p = (param: string): Value => w(`${l.name}/${param}`)
    g.computeIn(i >= firstTrainable ? compute : DT.float, () => g.within(l.name, () => {
      switch (layer._tag) {
        case "rescaling":
          h = g.mul(h, g.scalar(layer.scale))
          if (layer.offset !== 0) h = g.add(h, g.scalar(layer.offset))
          break
        case "dense":
        case "conv2d": {
          let z = layer._tag === "dense" ? g.matMul(h, p("kernel")) : g.conv2d(h, p("kernel"), layer.strides, layer.padding)
          if (layer.useBias) z = g.biasAdd(z, p("bias"))
          const defer = reorderReluPool && layer.activation === "relu" && layers[i + 1]?.layer._tag === "maxPooling2d"
          h = defer ? z : activate(g, z, layer.activation)
          trace.push({ input, output: h, reluDeferred: defer })
          return
        }
        case "maxPooling2d": {
          h = g.maxPool(h, layer.poolSize, layer.strides ?? layer.poolSize)
          if (trace[i - 1]?.reluDeferred) {
            const pooled = h
            h = g.relu(pooled)
            trace.push({ input, output: h, pooled })
            return
          }
          break
        }
        case "flatten":
          h = g.reshape(h, g.ints([-1, l.outputShape[0]]))
          break
        case "activation":
          h = activate(g, h, layer.activation)
          break
        case "dropout":
          break
        case "batchNormalization":
          throw new Error(`layer ${l.name}: batchNormalization is not supported by the graph path`)
      }
      trace.push({ input, output: h })
    }))
  })
  return { logits: compute === DT.float ? h : g.within("to_float", () => g.cast(h, compute, DT.float)), trace }
}

const activate = (g: GraphBuilder, z: Value, a: string): Value => {
  switch (a) {
    case "linear": return z
    case "relu": return g.relu(z)
    case "tanh": return g.tanh(z)
    case "sigmoid": return g.sigmoid(z)
    case "softmax": return g.softmax(z)
    default: throw new Error(`unknown activation ${a}`)
  }
}

/** d(act(z))/dz · dy given y = act(z). */
const activationGrad = (g: GraphBuilder, a: string, y: Value, dy: Value): Value => {
  switch (a) {
    case "linear": return dy
    case "relu": return g.reluGrad(dy, y)
    case "tanh": return g.tanhGrad(y, dy)
    case "sigmoid": return g.sigmoidGrad(y, dy)
    case "softmax": {
      // dz = (dy − Σ_c dy·y) · y
      const s = g.sum(g.mul(dy, y), [-1], true)
      return g.mul(g.sub(dy, s), y)
    }
    default: throw new Error(`unknown activation ${a}`)
  }
}

/**
 * Backward pass from the float32 dLogits; returns the float32 gradient of every trainable weight (by name). With
 * `compute` bfloat16 it runs in bfloat16 (dLogits cast down, each weight gradient cast up: the gradient of the
 * forward's casts).
 */
const backward = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, fwd: Forwarded, dLogits: Value, w: (name: string) => Value, compute: FloatType, filterGradAsConv: boolean): Map<string, Value> => {
  if (compute === DT.float) return backwardIn(g, layers, fwd, dLogits, w, filterGradAsConv)
  const dy = g.within("grad/to_compute", () => g.cast(dLogits, DT.float, compute))
  const grads = g.computeIn(compute, () => backwardIn(g, layers, fwd, dy, w, filterGradAsConv))
  return new Map([...grads].map(([name, grad]) => [name, g.within(`grad/to_float/${name}`, () => g.cast(grad, compute, DT.float))]))
}

const backwardIn = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, fwd: Forwarded, dLogits: Value, w: (name: string) => Value, filterGradAsConv: boolean): Map<string, Value> => {
  const grads = new Map<string, Value>()
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  let dy = dLogits
  for (let i = layers.length - 1; i >= firstTrainable; i--) {
    const l = layers[i]
    const layer = l.layer
    const { input, output, reluDeferred, pooled } = fwd.trace[i]
    const needDx = i > firstTrainable
    g.within(`grad/${l.name}`, () => {
      switch (layer._tag) {
        case "rescaling":
          dy = g.mul(dy, g.scalar(layer.scale))
          break
        case "dense":
        case "conv2d": {
          const dz = reluDeferred ? dy : activationGrad(g, layer.activation, output, dy)
          const asConv = layer._tag === "conv2d" && filterGradAsConv && layer.strides === 1 && layer.padding === "valid" &&
            l.outputShape[0] * l.outputShape[1] <= FILTER_GRAD_AS_CONV_MAX_AREA
          // TensorFlow's CPU BiasAddGrad accumulates bfloat16 in bfloat16 (measured: up to 27 % off for 5,000+ terms);
          // in bfloat16 it stays only where oneDNN fuses it into Conv2DBackpropFilter (float32 accumulation), and
          // elsewhere Sum (float accumulation, one final rounding) gives the bias gradient.
          const fusedBiasGrad = layer._tag === "conv2d" && !asConv
          if (layer.useBias) {
            grads.set(`${l.name}/bias`, g.computeType === DT.float || fusedBiasGrad ? g.biasAddGrad(dz) : g.sum(dz, l.outputShape.map((_, a) => a), false))
          }
          const kernel = w(`${l.name}/kernel`)
          if (layer._tag === "dense") {
            grads.set(`${l.name}/kernel`, g.matMul(input, dz, true, false))
            if (needDx) dy = g.matMul(dz, kernel, false, true)
          } else {
            const ks = l.weights.find((x) => x.param === "kernel")!.shape
            grads.set(`${l.name}/kernel`, asConv ? filterGradient(g, input, dz) : g.conv2dBackpropFilter(input, g.ints(ks), dz, layer.strides, layer.padding))
            if (needDx) dy = g.conv2dBackpropInput(g.shape(input), kernel, dz, layer.strides, layer.padding)
          }
          break
        }
        case "maxPooling2d":
          if (pooled) dy = g.maxPoolGrad(input, pooled, g.reluGrad(dy, output), layer.poolSize, layer.strides ?? layer.poolSize)
          else dy = g.maxPoolGrad(input, output, dy, layer.poolSize, layer.strides ?? layer.poolSize)
          break
        case "flatten":
          dy = g.reshape(dy, g.shape(input))
          break
        case "activation":
          dy = activationGrad(g, layer.activation, output, dy)
          break
        case "dropout":
          break
        case "batchNormalization":
          throw new Error("unreachable")
      }
    })
  }
  return grads
}

/**
 * The weight gradient of a VALID, stride-1 Conv2D as a forward Conv2D: dW[i,j,c,o] = Σ_{n,h,w} x[n,h+i,w+j,c]·dz[n,h,w,o]
 * is the VALID convolution of x laid out as [c, H, W, n] (batch c, channels n) with dz as the filter [h', w', n, o],
 * which gives [c, kh, kw, o]; three transposes (oneDNN reorders) put the operands and result in place. The bias
 * gradient stays BiasAddGrad (Conv2DBackpropFilter + BiasAddGrad fuse into one oneDNN op only on the other path).
 */
const filterGradient = (g: GraphBuilder, x: Value, dz: Value): Value =>
  g.transpose(g.conv2d(g.transpose(x, [3, 1, 2, 0]), g.transpose(dz, [1, 2, 0, 3]), 1, "valid"), [1, 2, 0, 3])

interface LossOut {
  readonly loss: Value
  readonly dLogits: Value
}

/** The objective of Loss.ts and its gradient with respect to the logits. */
const objective = (g: GraphBuilder, loss: StepLoss, logits: Value, y: Value, teacher: { probs: Value; entropy: Value } | undefined): LossOut =>
  g.within("loss", () => {
    const n = g.sizeAsFloat(y, DT.int32)
    // CE: SparseSoftmaxCrossEntropyWithLogits gives per-example losses and softmax(z) − onehot(y).
    const ce = (): { value: Value; grad: Value } => {
      const sce = g.op("SparseSoftmaxCrossEntropyWithLogits", [logits, y], { T: { kind: "type", value: DT.float }, Tlabels: { kind: "type", value: DT.int32 } })
      return { value: g.mean(sce, [0]), grad: GraphBuilder.out(sce, 1) }
    }
    if (loss === "ce") {
      const { value, grad } = ce()
      return { loss: value, dLogits: g.div(grad, n) }
    }
    const { teacherWeight: a, labelWeight: b, temperature: t } = loss.kd
    if (!teacher) throw new Error("distillation needs teacher inputs")
    // KD = T²·mean(CE(p, z/T) − H(p)); ∂KD/∂z = (T/n)(softmax(z/T) − p)
    const zt = g.div(logits, g.scalar(t))
    const sce = g.op("SoftmaxCrossEntropyWithLogits", [zt, teacher.probs], { T: { kind: "type", value: DT.float } })
    const kl = g.mean(g.sub(sce, teacher.entropy), [0])
    const kd = g.mul(kl, g.scalar(t * t))
    let value = g.mul(kd, g.scalar(a))
    let grad = g.mul(GraphBuilder.out(sce, 1), g.scalar(a * t))
    if (b !== 0) {
      const c = ce()
      value = g.add(value, g.mul(c.value, g.scalar(b)))
      grad = g.add(grad, g.mul(c.grad, g.scalar(b)))
    }
    return { loss: value, dLogits: g.div(grad, n) }
  })

const inputShapeOf = (spec: ModelSpec): Array<number> => [-1, ...spec.inputShape]

/** Builds the SavedModel of the training step of `spec`. Throws when `supports(spec)` is false. */
export const buildTrainStep = (spec: ModelSpec, options: StepGraphOptions): StepGraph => {
  const reason = unsupportedReason(spec)
  if (reason) throw new Error(`graph training step: ${reason}`)
  const layers = inferShapes(spec)
  const { weights, numClasses, segments, flatSize } = weightLayout(spec)
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
  for (const [i, w] of weights.entries()) {
    if (flatIn) {
      const seg = segments[i]
      wv.set(w.name, g.within(`w/${w.name}`, () => g.reshape(g.slice(flatIn.w, seg.offset, seg.size), g.ints(w.shape))))
    } else if (stateful) {
      const handle = (kind: string): Value => g.op("VarHandleOp", [], {
        dtype: attr.type(DT.float), shape: attr.shape(w.shape), container: attr.s(""), shared_name: attr.s(`${kind}/${w.name}`)
      }, { name: `var/${kind}/${w.name}`, absolute: true })
      const h = { w: handle("w"), m: handle("m"), v: handle("v") }
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
  const casts = compute === DT.float
    ? undefined
    : new Map(weights.map((w) => [w.name, g.within(`cast/${w.name}`, () => g.cast(read(w.name), DT.float, compute))]))
  const readCompute = casts === undefined ? read : (name: string): Value => casts.get(name) ?? read(name)

  const mixed = compute !== DT.float
  const fwd = forward(g, layers, x, readCompute, options.reorderReluPool ?? mixed, compute)
  const { loss, dLogits } = objective(g, options.loss, fwd.logits, y, teacher)
  const grads = backward(g, layers, fwd, dLogits, readCompute, compute, options.filterGradAsConv ?? mixed)
  const correct = g.within("metrics", () => g.correctCount(fwd.logits, y))

  const { beta1, beta2, epsilon } = options
  const signatures: Array<[string, Proto.SignatureDef]> = []
  const method = "tensorflow/serving/predict"
  if (!stateful) {
    output(step, "loss", loss, DT.float, [])
    output(step, "correct", correct, DT.int32, [])
    // Adam, in tf.train.adam's op order (tfjs-core AdamOptimizer.applyGradients):
    //   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  w' = (m'/c1) / (sqrt(v'/c2) + ε) · (−lr) + w
    // (elementwise, so running it over the flat vector gives the same bits per element).
    const b1 = g.scalar(beta1)
    const omb1 = g.scalar(1 - beta1)
    const b2 = g.scalar(beta2)
    const omb2 = g.scalar(1 - beta2)
    const eps = g.scalar(epsilon)
    const negLr = g.within("adam", () => g.neg(lr))
    const adam = (w: Value, m: Value, v: Value, grad: Value) => {
      const m2 = g.add(g.mul(m, b1), g.mul(grad, omb1))
      const v2 = g.add(g.mul(v, b2), g.mul(g.square(grad), omb2))
      const mHat = g.div(m2, s1)
      const vHat = g.div(v2, s2)
      return { w2: g.add(g.mul(g.div(mHat, g.add(g.sqrt(vHat), eps)), negLr), w), m2, v2 }
    }
    const gradOf = (name: string): Value => {
      const grad = grads.get(name)
      if (!grad) throw new Error(`no gradient for ${name}`)
      return grad
    }
    if (flatIn) {
      g.within("adam", () => {
        // The gradients as one flat vector, zero in the padding (where w, m and v stay 0).
        const parts: Array<Value> = []
        segments.forEach((seg, i) => {
          parts.push(g.reshape(gradOf(seg.name), g.ints([-1])))
          const end = i + 1 < segments.length ? segments[i + 1].offset : flatSize
          if (end > seg.offset + seg.size) parts.push(g.const(DT.float, [end - seg.offset - seg.size], new Array(end - seg.offset - seg.size).fill(0)))
        })
        const flatGrad = parts.length === 1 ? parts[0] : g.concat(parts, 0)
        const { w2, m2, v2 } = adam(flatIn.w, flatIn.m, flatIn.v, flatGrad)
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
    // ResourceApplyAdam: α = lr·sqrt(1−β2^t)/(1−β1^t); m += (g−m)(1−β1); v += (g²−v)(1−β2); w −= α·m/(sqrt(v)+ε_t).
    // With ε_t = ε·sqrt(1−β2^t) this is tf.train.adam's w −= lr·m̂/(sqrt(v̂)+ε) (same math, other float rounding).
    const b1 = g.scalar(beta1)
    const b2 = g.scalar(beta2)
    const updates: Array<Value> = []
    for (const w of weights) {
      const h = handles.get(w.name)!
      updates.push(g.op("ResourceApplyAdam", [h.w, h.m, h.v, s1, s2, lr, b1, b2, epsT!, grads.get(w.name)!], {
        T: attr.type(DT.float), use_locking: attr.b(false), use_nesterov: attr.b(false)
      }, { name: `adam/${w.name}` }))
    }
    output(step, "loss", loss, DT.float, [], updates)
    output(step, "correct", correct, DT.int32, [], updates)
    // assign: sets weights and/or slots (feeds are optional per signature: run only the keys fed).
    for (const kind of ["w", "m", "v"] as const) {
      const s = sig()
      const assigns = weights.map((w) => {
        const value = input(s, `set/${kind}/${w.name}`, DT.float, w.shape)
        return g.op("AssignVariableOp", [handles.get(w.name)![kind], value], { dtype: attr.type(DT.float) }, { name: `assign/${kind}/${w.name}`, absolute: true })
      })
      output(s, `assigned/${kind}`, g.intScalar(0), DT.int32, [], assigns)
      signatures.push([`assign_${kind}`, { ...s, methodName: method }])
    }
    const r = sig()
    for (const w of weights) output(r, `w/${w.name}`, wv.get(w.name)!, DT.float, w.shape)
    signatures.push(["read", { ...r, methodName: method }])
  }
  signatures.unshift([SIGNATURE, { ...step, methodName: method }])

  // predict: logits from x and the weights (inference mode; same forward for the supported layers).
  const predictOut = g.identity(fwd.logits, DT.float, { name: "out/logits", absolute: true })
  signatures.push([PREDICT_SIGNATURE, {
    inputs: [["x", { name: tensorName(x), dtype: DT.float, shape: inputShapeOf(spec) }],
      ...(flatIn ? [["w", { name: tensorName(flatIn.w), dtype: DT.float, shape: [flatSize] }] as [string, Proto.TensorInfo]] : []),
      ...(stateful || flatIn ? [] : weights.map((w) => [`w/${w.name}`, { name: tensorName(wv.get(w.name)!), dtype: DT.float, shape: w.shape }] as [string, Proto.TensorInfo]))],
    outputs: [["logits", { name: tensorName(predictOut), dtype: DT.float, shape: [-1, numClasses] }]],
    methodName: method
  }])

  const meta = Proto.metaGraphDef({ tags: [TAG], graph: Proto.graphDef(g.nodes, PRODUCER), signatures })
  return {
    savedModel: Proto.savedModel([meta]), weights, numClasses, nodeCount: g.nodes.length, nodes: g.nodes,
    gradientNodes: new Map([...grads].map(([k, v]) => [k, tensorName(v)])), lossNode: tensorName(loss)
  }
}

/** The cache key of a built step graph: a hash of its saved_model.pb (content-addressed, so never stale). */
export const cacheKey = (savedModel: Uint8Array): string => createHash("sha256").update(savedModel).digest("hex").slice(0, 32)

export const defaultCacheDir = (): string => process.env.GROWLAB_GRAPH_CACHE ?? path.join(os.tmpdir(), "growlab-graphs")

/**
 * The directory of the step's SavedModel, built and written on first use (atomically: a temporary directory renamed
 * into place, so concurrent processes never see a partial model).
 */
export const savedModelDir = (spec: ModelSpec, options: StepGraphOptions, cacheDir: string = defaultCacheDir()): string =>
  // Building is cheap (milliseconds); the cache saves rewriting files and keeps one directory per distinct graph.
  writeSavedModel(buildTrainStep(spec, options).savedModel, cacheDir)

/** The directory of a built step graph's SavedModel in `cacheDir`, written (atomically) when absent. */
export const writeSavedModel = (savedModel: Uint8Array, cacheDir: string = defaultCacheDir()): string => {
  const dir = path.join(cacheDir, cacheKey(savedModel))
  if (fs.existsSync(path.join(dir, "saved_model.pb"))) return dir
  fs.mkdirSync(cacheDir, { recursive: true })
  const tmp = fs.mkdtempSync(path.join(cacheDir, ".tmp-"))
  fs.writeFileSync(path.join(tmp, "saved_model.pb"), savedModel)
  try {
    fs.renameSync(tmp, dir)
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true })
    if (!fs.existsSync(path.join(dir, "saved_model.pb"))) throw e
  }
  return dir
}
