/**
 * Symmetric expansion (HyperCloning): every (input copy, output copy) block is W / k_in.
 * For 2× on both axes this is the study's [[W/2, W/2], [W/2, W/2]]; in general, with the tile maps,
 *   W'[s, r·i + v, q·o + u] = W[s, v, u] / k_in,        b'[q·o + u] = b[u].
 * Function-preserving: the k_in input copies of unit v carry the same activation x_v, so every output copy sums
 * k_in · x_v · W/k_in = x_v · W, plus the repeated bias; by induction every layer's output copies equal the source
 * layer's outputs. The divisor is the INPUT multiplier only: a layer that grows only its outputs (the first conv)
 * is [W, W]; one that grows only its inputs (the last Dense) is [[W/2], [W/2]].
 */
import type { KernelInput, Operator } from "../Operator.js"
import * as Noise from "../Noise.js"
import { follow, noNoise, requireTiled } from "../internal/vectors.js"

/** The noise-free symmetric kernel (also the base of noisy symmetric). */
export const base = (input: KernelInput): Float32Array => {
  const { source: W, spatial: S, inMap, outMap } = input
  requireTiled(inMap, "symmetric")
  requireTiled(outMap, "symmetric")
  const I = inMap.size, O = outMap.size, i = inMap.sourceSize, o = outMap.sourceSize
  const k = inMap.copies
  const out = new Float32Array(S * I * O)
  for (let s = 0; s < S; s++) {
    for (let ii = 0; ii < I; ii++) {
      const from = (s * i + inMap.source[ii]) * o
      const to = (s * I + ii) * O
      for (let oo = 0; oo < O; oo++) out[to + oo] = W[from + outMap.source[oo]] / k
    }
  }
  return out
}

export const symmetric: Operator = {
  name: "symmetric",
  kernel: (input) => {
    const kernel = base(input)
    return noNoise(kernel, Noise.energy(kernel))
  },
  bias: (source, outMap) => follow(source, outMap)
}
