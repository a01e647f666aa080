/**
 * Grad-CAM (Selvaraju et al. 2017) for the Conv2D layers of a model spec, in inference mode, as in the Keras
 * example the original study used:
 *
 *   A      = activations of conv layer L (after its activation), [n, h, w, c]
 *   g      = d score_k / d A, where score_k is the pre-softmax logit of the target class k of each image
 *   alpha  = spatial mean of g, [n, c]
 *   cam    = ReLU(sum_c alpha_c A_c), [n, h, w], then divided by its maximum (all zeros when the maximum is 0)
 *
 * Maps stay at the layer's resolution (the question of experiment 4 is *which region of a conv layer* matters);
 * `upsample` resizes them bilinearly (half-pixel centres) to the input size for overlays.
 */
import * as tf from "@tensorflow/tfjs"
import { inferShapes, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Forward from "@growlab/train/Forward"

export interface ConvLayer {
  readonly name: string
  /** Index in `spec.layers`. */
  readonly index: number
  readonly h: number
  readonly w: number
  readonly channels: number
}

/** Every Conv2D layer of the spec with its output size. */
export const convLayers = (spec: ModelSpec): ReadonlyArray<ConvLayer> =>
  inferShapes(spec)
    .filter((l) => l.layer._tag === "conv2d")
    .map((l) => ({ name: l.name, index: l.index, h: l.outputShape[0], w: l.outputShape[1], channels: l.outputShape[2] }))

/**
 * The spec whose output is the class score: a final softmax (as a layer activation or a trailing activation layer)
 * is removed, since Grad-CAM differentiates the pre-softmax score.
 */
export const scoreSpec = (spec: ModelSpec): ModelSpec => {
  const layers: Array<Layer> = [...spec.layers]
  const last = layers[layers.length - 1]
  if (last._tag === "activation" && last.activation === "softmax" && layers.length > 1) layers.pop()
  else if (last._tag === "dense" && last.activation === "softmax") layers[layers.length - 1] = { ...last, activation: "linear" }
  return { ...spec, layers }
}

export type Target = "predicted" | "label"

export interface LayerCams {
  readonly layer: ConvLayer
  /** n maps of h*w values in [0, 1], row-major, one per image. */
  readonly cams: Float32Array
}

export interface BatchResult {
  /** The class each image's score was taken for. */
  readonly targets: Int32Array
  readonly layers: ReadonlyArray<LayerCams>
}

/**
 * Grad-CAM maps of `layers` for a batch `x` (float32 [n, ...inputShape], the values the model was trained on).
 * `labels` are the true classes (used when `target` is "label"). Creates no tensors that outlive the call.
 */
export const computeBatch = (
  spec: ModelSpec,
  params: Forward.Params,
  x: tf.Tensor,
  layers: ReadonlyArray<ConvLayer>,
  target: Target,
  labels?: ArrayLike<number>
): BatchResult => {
  const scoring = scoreSpec(spec)
  const n = x.shape[0]
  const outputs = inferShapes(scoring)
  const classes = outputs[outputs.length - 1].outputShape[0]
  let targets: Int32Array
  if (target === "label") {
    if (!labels || labels.length !== n) throw new RangeError(`Grad-CAM: target 'label' needs ${n} labels, got ${labels?.length ?? 0}`)
    targets = Int32Array.from(labels)
  } else {
    const predicted = tf.tidy(() => tf.argMax(Forward.apply(scoring, params, x), 1))
    targets = Int32Array.from(predicted.dataSync())
    predicted.dispose()
  }
  const result: Array<LayerCams> = layers.map((layer) => {
    const cam = tf.tidy(() => {
      const oneHot = tf.oneHot(tf.tensor1d(targets, "int32"), classes).toFloat()
      const acts = Forward.apply(scoring, params, x, { to: layer.index + 1 }) as tf.Tensor4D
      // the images of a batch are independent in inference mode, so the gradient of the summed target scores
      // holds each image's own gradient
      const score = (a: tf.Tensor) => tf.sum(tf.mul(Forward.apply(scoring, params, a, { from: layer.index + 1 }), oneHot))
      const grads = tf.grad(score)(acts) as tf.Tensor4D
      const alpha = tf.mean(grads, [1, 2], true) // [n, 1, 1, c]
      const raw = tf.relu(tf.sum(tf.mul(acts, alpha), 3)) // [n, h, w]
      // a map whose maximum is 0 is all zeros (ReLU), and stays so
      return tf.div(raw, tf.maximum(tf.max(raw, [1, 2], true), 1e-30))
    })
    const cams = cam.dataSync() as Float32Array
    cam.dispose()
    return { layer, cams: Float32Array.from(cams) }
  })
  return { targets, layers: result }
}

/** Mean of the selected per-image maps (all when `select` is absent), rescaled so its maximum is 1. */
export const average = (cams: Float32Array, size: number, select?: ReadonlyArray<number>): Float32Array => {
  const n = cams.length / size
  const rows = select ?? Array.from({ length: n }, (_, i) => i)
  const out = new Float32Array(size)
  if (rows.length === 0) return out
  const sum = new Float64Array(size)
  for (const r of rows) for (let j = 0; j < size; j++) sum[j] += cams[r * size + j]
  let peak = 0
  for (let j = 0; j < size; j++) peak = Math.max(peak, sum[j])
  if (peak > 0) for (let j = 0; j < size; j++) out[j] = sum[j] / peak
  return out
}

/** Bilinear resize of one h×w map to H×W with half-pixel centres (as OpenCV / PIL), edges clamped. */
export const upsample = (map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array => {
  const out = new Float32Array(H * W)
  for (let Y = 0; Y < H; Y++) {
    const sy = Math.min(h - 1, Math.max(0, ((Y + 0.5) * h) / H - 0.5))
    const y0 = Math.floor(sy)
    const y1 = Math.min(h - 1, y0 + 1)
    const fy = sy - y0
    for (let X = 0; X < W; X++) {
      const sx = Math.min(w - 1, Math.max(0, ((X + 0.5) * w) / W - 0.5))
      const x0 = Math.floor(sx)
      const x1 = Math.min(w - 1, x0 + 1)
      const fx = sx - x0
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx
      out[Y * W + X] = top * (1 - fy) + bottom * fy
    }
  }
  return out
}

/**
 * How much of a map's mass sits in its centre: the mean over the central box (the middle half of the rows and of the
 * columns) divided by the mean over the whole map. 1 for a uniform map, above 1 when the centre dominates,
 * NaN for an all-zero map.
 */
export const centreRatio = (map: ArrayLike<number>, h: number, w: number): number => {
  const r0 = Math.floor(h / 4)
  const r1 = Math.max(r0 + 1, Math.ceil((3 * h) / 4))
  const c0 = Math.floor(w / 4)
  const c1 = Math.max(c0 + 1, Math.ceil((3 * w) / 4))
  let all = 0
  let centre = 0
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = map[y * w + x]
      all += v
      if (y >= r0 && y < r1 && x >= c0 && x < c1) centre += v
    }
  }
  if (all === 0) return NaN
  return centre / ((r1 - r0) * (c1 - c0)) / (all / (h * w))
}

/** Row and column of a map's maximum (the first one in row-major order). */
export const peak = (map: ArrayLike<number>, w: number): { readonly row: number; readonly col: number } => {
  let best = 0
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i
  return { row: Math.floor(best / w), col: best % w }
}
