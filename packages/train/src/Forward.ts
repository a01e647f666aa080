/**
 * The forward pass of a model spec as plain tf ops over a map of weight tensors (no tf.LayersModel), so the same
 * code serves inference on artifacts, gradient-based training, function-preservation checks and Grad-CAM taps.
 * Layouts: Dense kernel [in, out], Conv2D kernel [kh, kw, in, out], channels-last activations.
 */
import * as tf from "@tensorflow/tfjs"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, type Activation, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"

export type Params = ReadonlyMap<string, tf.Tensor>

export interface ApplyOptions {
  /** Training mode: BatchNormalization uses batch statistics and Dropout drops. Default false (inference). */
  readonly training?: boolean
  /** Apply layers [from, to) only (default: all). `x` must then be the input of layer `from`. */
  readonly from?: number
  readonly to?: number
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

const applyLayer = (layer: Layer, name: string, params: Params, x: tf.Tensor, training: boolean): tf.Tensor => {
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
      const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: p("kernel") as tf.Tensor2D, bias, activation: fused ?? "linear" })
      return fused ? y : activate(y, layer.activation)
    }
    case "conv2d": {
      const bias = layer.useBias ? (p("bias") as tf.Tensor1D) : undefined
      const fused = fusedActivation(layer.activation)
      const y = tf.fused.conv2d({
        x: x as tf.Tensor4D, filter: p("kernel") as tf.Tensor4D, strides: layer.strides, pad: layer.padding,
        bias, activation: fused ?? "linear"
      })
      return fused ? y : activate(y, layer.activation)
    }
    case "maxPooling2d":
      return tf.maxPool(x as tf.Tensor4D, layer.poolSize, layer.strides ?? layer.poolSize, "valid")
    case "flatten":
      return tf.reshape(x, [x.shape[0], -1])
    case "activation":
      return activate(x, layer.activation)
    case "batchNormalization": {
      const axes = x.shape.slice(0, -1).map((_, i) => i)
      const { mean, variance } = training ? tf.moments(x, axes) : { mean: p("movingMean"), variance: p("movingVariance") }
      return tf.batchNorm(x, mean, variance, p("beta"), p("gamma"), layer.epsilon)
    }
    case "dropout":
      return training && layer.rate > 0 ? tf.dropout(x, layer.rate) : x
  }
}

/** Runs layers [from, to) of `spec` on `x`. Call inside tf.tidy (intermediates are not disposed here). */
export const apply = (spec: ModelSpec, params: Params, x: tf.Tensor, options: ApplyOptions = {}): tf.Tensor => {
  const shapes = inferShapes(spec)
  const from = options.from ?? 0
  const to = options.to ?? spec.layers.length
  let y = x
  for (let i = from; i < to; i++) y = applyLayer(spec.layers[i], shapes[i].name, params, y, options.training ?? false)
  return y
}

/** Creates one tensor per weight of the artifact. The caller owns (and disposes) them. */
export const paramsOf = (model: ModelArtifact.Model): Map<string, tf.Tensor> =>
  new Map(model.weights.map((w) => [w.name, tf.tensor(w.values, w.shape as Array<number>, "float32")]))

export const disposeParams = (params: Params): void => {
  for (const t of params.values()) t.dispose()
}

/** Logits of `model` for `x` (float32 [n, ...inputShape]), computed in batches. Returns a tensor the caller owns. */
export const logits = (model: ModelArtifact.Model, x: tf.Tensor, batchSize = 256): tf.Tensor2D => {
  const params = paramsOf(model)
  try {
    return logitsWith(model.spec, params, x, batchSize)
  } finally {
    disposeParams(params)
  }
}

/** Logits with already-created weight tensors (e.g. trainable variables). Returns a tensor the caller owns. */
export const logitsWith = (spec: ModelSpec, params: Params, x: tf.Tensor, batchSize = 256): tf.Tensor2D => {
  const n = x.shape[0]
  if (n <= batchSize) return tf.tidy(() => apply(spec, params, x) as tf.Tensor2D)
  const parts: Array<tf.Tensor2D> = []
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start)
      parts.push(tf.tidy(() => apply(spec, params, tf.slice(x, start, size)) as tf.Tensor2D))
    }
    return tf.concat(parts, 0)
  } finally {
    for (const p of parts) p.dispose()
  }
}
