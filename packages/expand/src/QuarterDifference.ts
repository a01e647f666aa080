/**
 * The study's quarter-difference plot, generalised: for a tiled layer, the block (input copy 0, output copy 0) minus
 * the block (last input copy, last output copy), in the source kernel's shape [spatial, in, out]. For 2× on both axes
 * these are the two diagonal quarters, which look identical in a heatmap: exactly equal for symmetric and diagonal,
 * different by η1 + η2 for noisy diagonal (the study's point). For a layer grown along one axis they are its first
 * and last copies. Undefined (null) for layers that do not grow or are not tiled (envelope).
 */
import type { LayerPlan } from "./Plan.js"

export const applies = (layer: LayerPlan): boolean =>
  layer.spatial > 0 && layer.inMap.layout !== "centre" && layer.outMap.layout !== "centre" &&
  (layer.inMap.copies > 1 || layer.outMap.copies > 1)

/** [spatial, inMap.sourceSize, outMap.sourceSize]: block(0, 0) − block(k_in − 1, k_out − 1) of a target kernel. */
export const compute = (layer: LayerPlan, kernel: Float32Array): Float32Array | null => {
  if (!applies(layer)) return null
  const { inMap, outMap, spatial: S } = layer
  const i = inMap.sourceSize, o = outMap.sourceSize, I = inMap.size, O = outMap.size
  const ki = inMap.copies, ko = outMap.copies
  const out = new Float32Array(S * i * o)
  for (let s = 0; s < S; s++) {
    for (let v = 0; v < i; v++) {
      const a = (s * I + inMap.members[v * ki]) * O
      const b = (s * I + inMap.members[v * ki + ki - 1]) * O
      for (let u = 0; u < o; u++) {
        out[(s * i + v) * o + u] = kernel[a + outMap.members[u * ko]] - kernel[b + outMap.members[u * ko + ko - 1]]
      }
    }
  }
  return out
}

export const maxAbs = (xs: Float32Array): number => {
  let m = 0
  for (let j = 0; j < xs.length; j++) m = Math.max(m, Math.abs(xs[j]))
  return m
}
