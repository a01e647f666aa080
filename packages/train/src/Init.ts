/**
 * Weight initialisation of a spec, as Keras does it by default, deterministic for a seed:
 * - Dense and Conv2D kernels: Glorot (Xavier) uniform, U(-l, l) with l = sqrt(6 / (fanIn + fanOut)),
 *   Dense [in, out]: fanIn = in, fanOut = out; Conv2D [kh, kw, in, out]: fanIn = kh·kw·in, fanOut = kh·kw·out;
 * - biases and BatchNormalization beta / moving mean: 0; gamma / moving variance: 1.
 * Each layer draws from its own stream of core Random (`Random.make(seed, layerIndex)`), so a layer's initial
 * kernel depends only on the seed, its index and its shape.
 */
import * as Random from "@growlab/core/Random"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, type ModelSpec, type WeightShape } from "@growlab/core/ModelSpec"

const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** Glorot-uniform limit of a kernel shape (Keras `_compute_fans`). */
export const glorotLimit = (shape: ReadonlyArray<number>): number => {
  const receptive = shape.length > 2 ? size(shape.slice(0, -2)) : 1
  const fanIn = shape[shape.length - 2] * receptive
  const fanOut = shape[shape.length - 1] * receptive
  return Math.sqrt(6 / (fanIn + fanOut))
}

const initial = (w: WeightShape, rng: Random.Rng): Float32Array => {
  const n = size(w.shape)
  switch (w.param) {
    case "kernel": {
      const limit = glorotLimit(w.shape)
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * limit
      return out
    }
    case "gamma":
    case "movingVariance":
      return new Float32Array(n).fill(1)
    case "bias":
    case "beta":
    case "movingMean":
      return new Float32Array(n)
  }
}

/** A freshly initialised model for `spec` (info records the scheme and the seed). */
export const initialize = (spec: ModelSpec, seed: number): ModelArtifact.Model => ({
  spec,
  weights: inferShapes(spec).flatMap((layer) => {
    const rng = Random.make(seed, layer.index)
    return layer.weights.map((w) => ({ name: w.name, layer: w.layer, param: w.param, shape: w.shape, values: initial(w, rng) }))
  }),
  info: { init: "glorot-uniform", seed }
})
