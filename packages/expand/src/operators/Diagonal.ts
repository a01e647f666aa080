/**
 * Diagonal expansion: output copy q reads only input copy q, the other blocks are zero.
 * For 2×: [[W, 0], [0, W]]; in general (k_in = k_out = k, tile maps)
 *   W'[s, r·i + v, q·o + u] = (r == q) · W[s, v, u],        b'[q·o + u] = b[u].
 * Function-preserving: output copy q sees exactly one copy of each input, x_v · W, plus b. It needs both axes to grow
 * by the same k; the plan sends layers that grow along one axis to the symmetric fallback (which divides by k_in:
 * stacking [W; W] on the last Dense without the 1/k would double the logits) or to random initialisation.
 */
import type { KernelInput, Operator } from "../Operator.js"
import * as Noise from "../Noise.js"
import { follow, noNoise, requireTiled } from "../internal/vectors.js"

/** The noise-free diagonal kernel (also the base of noisy diagonal). */
export const base = (input: KernelInput): Float32Array => {
  const { source: W, spatial: S, inMap, outMap } = input
  requireTiled(inMap, "diagonal")
  requireTiled(outMap, "diagonal")
  if (inMap.copies !== outMap.copies) throw new Error(`diagonal: input ×${inMap.copies} and output ×${outMap.copies} differ`)
  const I = inMap.size, O = outMap.size, i = inMap.sourceSize, o = outMap.sourceSize
  const out = new Float32Array(S * I * O)
  for (let s = 0; s < S; s++) {
    for (let ii = 0; ii < I; ii++) {
      const r = inMap.replica[ii]
      const from = (s * i + inMap.source[ii]) * o
      const to = (s * I + ii) * O
      for (let oo = 0; oo < O; oo++) if (outMap.replica[oo] === r) out[to + oo] = W[from + outMap.source[oo]]
    }
  }
  return out
}

export const diagonal: Operator = {
  name: "diagonal",
  kernel: (input) => {
    const kernel = base(input)
    return noNoise(kernel, Noise.energy(kernel))
  },
  bias: (source, outMap) => follow(source, outMap)
}
