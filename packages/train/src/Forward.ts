/**
 * The forward pass of a model spec as plain tf ops over a map of weight tensors (no tf.LayersModel), so the same
 * code serves inference on artifacts, gradient-based training, function-preservation checks and Grad-CAM taps.
 * Layouts: Dense kernel [in, out], Conv2D kernel [kh, kw, in, out], channels-last activations.
 */
import * as tf from "@tensorflow/tfjs"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, type Activation, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Native from "./internal/native.js"

export type Params = ReadonlyMap<string, tf.Tensor>

export interface ApplyOptions {
  /** Training mode: BatchNormalization uses batch statistics and Dropout drops. Default false (inference). */
  readonly training?: boolean
  /** Apply layers [from, to) only (default: all). `x` must then be the input of layer `from`. */
  readonly from?: number
  readonly to?: number
  /**
   * Which kernels run Dense, Conv2D (linear or ReLU), MaxPooling2D (stride = pool size) and ReLU layers:
   * - "tfjs" (default): tfjs ops (`tf.fused.matMul` / `tf.fused.conv2d` / `tf.maxPool`), on any backend;
   * - "native": TensorFlow ops called directly with hand-written gradients (Conv2D + BiasAdd + Relu forward;
   *   ReluGrad, BiasAddGrad, Conv2DBackprop*, a vectorised max-pool gradient backward; see internal/native.ts):
   *   the same math, ≈ 1.3–2× faster training steps on the 'tensorflow' backend. Falls back to "tfjs" elsewhere.
   */
  readonly kernels?: "tfjs" | "native"
  /** Training mode: seed of the Dropout masks for this call (vary it per step; layer i uses seed + i). */
  readonly dropoutSeed?: number
  /**
   * Training mode: receives each BatchNormalization layer's batch mean and variance (biased, as used to normalise),
   * so a trainer can update the moving statistics. The tensors belong to the enclosing tidy scope.
   */
  readonly onBatchStats?: (layer: string, mean: tf.Tensor, variance: tf.Tensor) => void
}

export const activate = (x: tf.Tensor, activation: Activation): tf.Tensor => {
  switch (activation) {
    case "linear": return x
    case "relu": return tf.relu(x)
    case "tanh": return tf.tanh(x)
    case "sigmoid": return tf.sigmoid(x)
    case "softmax": return tf.softmax(x)
  }
}

const fusedActivation = (a: Activation): "linear" | "relu" | undefined =>
  a === "linear" ? "linear" : a === "relu" ? "relu" : undefined

interface LayerContext {
  readonly params: Params
  readonly training: boolean
  readonly native: boolean
  readonly options: ApplyOptions
}

/**
 * x[:, ::s, ::s, :] of an NHWC tensor, from ops with gradients in tfjs (StridedSlice has none): pad h and w up to
 * multiples of s, view each as [positions, s] and keep offset 0.
 */
const subsample = (x: tf.Tensor4D, s: number): tf.Tensor4D => {
  const [n, h, w, c] = x.shape
  const oh = Math.ceil(h / s), ow = Math.ceil(w / s)
  const padded = oh * s === h && ow * s === w ? x : tf.pad(x, [[0, 0], [0, oh * s - h], [0, ow * s - w], [0, 0]])
  return tf.reshape(tf.slice(tf.reshape(padded, [n, oh, s, ow, s, c]), [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]), [n, oh, ow, c])
}

const applyLayer = (layer: Layer, index: number, name: string, ctx: LayerContext, x: tf.Tensor): tf.Tensor => {
  const { params, training, native } = ctx
  const p = (param: string): tf.Tensor => {
    const t = params.get(`${name}/${param}`)
    if (!t) throw new Error(`missing weight ${name}/${param}`)
    return t
  }
  switch (layer._tag) {
    case "rescaling":
      return layer.offset === 0 ? tf.mul(x, layer.scale) : tf.add(tf.mul(x, layer.scale), layer.offset)
    case "dense": {
      const bias = layer.useBias ? (p("bias") as tf.Tensor1D) : undefined
      const fused = fusedActivation(layer.activation)
      if (native) {
        const y = Native.dense(x, p("kernel"), bias, { activation: fused ?? "linear" })
        return fused ? y : activate(y, layer.activation)
      }
      const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: p("kernel") as tf.Tensor2D, bias, activation: fused ?? "linear" })
      return fused ? y : activate(y, layer.activation)
    }
    case "conv2d": {
      const bias = layer.useBias ? (p("bias") as tf.Tensor1D) : undefined
      if (layer.kernelSize === 1 && layer.strides > 1) {
        // A 1×1 convolution with stride s reads every s-th position (SAME and VALID agree for 1×1): subsample, then
        // stride 1. The same math, and it keeps oneDNN's 1×1 strided kernel out (TF 2.21, oneDNN on: it corrupts the
        // heap once the batch size changes between calls, e.g. on a smaller last batch; see graph/StepForward.ts).
        return applyLayer({ ...layer, strides: 1, padding: "valid" }, index, name, ctx, subsample(x as tf.Tensor4D, layer.strides))
      }
      const fused = fusedActivation(layer.activation)
      if (native) {
        const y = Native.conv2d(x, p("kernel"), bias, { strides: layer.strides, pad: layer.padding, activation: fused ?? "linear" })
        return fused ? y : activate(y, layer.activation)
      }
      const y = tf.fused.conv2d({
        x: x as tf.Tensor4D, filter: p("kernel") as tf.Tensor4D, strides: layer.strides, pad: layer.padding,
        bias, activation: fused ?? "linear"
      })
      return fused ? y : activate(y, layer.activation)
    }
    case "maxPooling2d":
      if (native && (layer.strides ?? layer.poolSize) === layer.poolSize) return Native.maxPool(x, layer.poolSize)
      return tf.maxPool(x as tf.Tensor4D, layer.poolSize, layer.strides ?? layer.poolSize, "valid")
    case "flatten":
      return tf.reshape(x, [x.shape[0], -1])
    case "activation":
      return native && layer.activation === "relu" ? Native.relu(x) : activate(x, layer.activation)
    case "batchNormalization": {
      const axes = x.shape.slice(0, -1).map((_, i) => i)
      const { mean, variance } = training ? tf.moments(x, axes) : { mean: p("movingMean"), variance: p("movingVariance") }
      if (training) ctx.options.onBatchStats?.(name, mean, variance)
      return tf.batchNorm(x, mean, variance, p("beta"), p("gamma"), layer.epsilon)
    }
    case "dropout":
      return training && layer.rate > 0
        ? tf.dropout(x, layer.rate, undefined, ctx.options.dropoutSeed === undefined ? undefined : ctx.options.dropoutSeed + index)
        : x
    case "globalAveragePooling2d":
      return tf.mean(x, [1, 2])
    case "add":
      throw new Error(`layer ${name}: add takes several inputs (apply sums them)`)
  }
}

/**
 * Runs layers [from, to) of `spec` on `x` (the output of layer from − 1, or the model input when from is 0).
 * Layers that read an earlier layer (`input`, `add`) take its output; a layer in [from, to) that reads a layer before
 * from − 1 cannot run from a cut there (Error). Call inside tf.tidy (intermediates are not disposed here).
 */
export const apply = (spec: ModelSpec, params: Params, x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor => {
  const shapes = inferShapes(spec)
  const from = options.from ?? 0
  const to = options.to ?? spec.layers.length
  const ctx: LayerContext = { params, training: options.training ?? false, native: options.kernels === "native" && Native.available(), options }
  const outputs = new Map<number, tf.Tensor>([[from - 1, x]])
  for (let i = from; i < to; i++) {
    const l = shapes[i]
    const inputs = l.inputs.map((j) => {
      const t = outputs.get(j)
      if (!t) throw new Error(`layer ${l.name} reads layer ${j}, which is before the cut at layer ${from}`)
      return t
    })
    outputs.set(i, l.layer._tag === "add" ? inputs.slice(1).reduce((a, b) => tf.add(a, b), inputs[0]) : applyLayer(l.layer, i, l.name, ctx, inputs[0]))
  }
  return outputs.get(to - 1)!
}

/** Creates one tensor per weight of the artifact. The caller owns (and disposes) them. */
export const paramsOf = (model: ModelArtifact.Model): Map<string, tf.Tensor> =>
  new Map(model.weights.map((w) => [w.name, tf.tensor(w.values, w.shape as Array<number>, "float32")]))

export const disposeParams = (params: Params): void => {
  for (const t of params.values()) t.dispose()
}

/** Logits of `model` for `x` (float32 [n, ...inputShape]), computed in batches. Returns a tensor the caller owns. */
export const logits = (model: ModelArtifact.Model, x: tf.Tensor, batchSize = 256, options: Pick<ApplyOptions, "kernels"> = {}): tf.Tensor2D => {
  const params = paramsOf(model)
  try {
    return logitsWith(model.spec, params, x, batchSize, options)
  } finally {
    disposeParams(params)
  }
}

/** Logits with already-created weight tensors (e.g. trainable variables). Returns a tensor the caller owns. */
export const logitsWith = (spec: ModelSpec, params: Params, x: tf.Tensor, batchSize = 256, options: Pick<ApplyOptions, "kernels"> = {}): tf.Tensor2D => {
  const n = x.shape[0]
  const opts: ApplyOptions = { kernels: options.kernels }
  if (n <= batchSize) return tf.tidy(() => apply(spec, params, x, opts) as tf.Tensor2D)
  const parts: Array<tf.Tensor2D> = []
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start)
      parts.push(tf.tidy(() => apply(spec, params, tf.slice(x, start, size), opts) as tf.Tensor2D))
    }
    return tf.concat(parts, 0)
  } finally {
    for (const p of parts) p.dispose()
  }
}
