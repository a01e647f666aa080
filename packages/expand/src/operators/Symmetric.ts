/**
 * Symmetric expansion (HyperCloning): every (input copy, output copy) block is W / k_in.
 * For 2× on both axes this is the study's [[W/2, W/2], [W/2, W/2]]; in general, with the tile maps,
 *   W'[s, r·i + v, q·o + u] = W[s, v, u] / k_in,        b'[q·o + u] = b[u].
 * Function-preserving: the k_in input copies of unit v carry the same activation x_v, so every output copy sums
 * k_in · x_v · W/k_in = x_v · W, plus the repeated bias; by induction every layer's output copies equal the source
 * layer's outputs. The divisor is the INPUT multiplier only: a layer that grows only its outputs (the first conv)
 * is [W, W]; one that grows only its inputs (the last Dense) is [[W/2], [W/2]].
 */
import * as Operator from "../Operator.js"
import { follow, noNoise, requireTiled } from "../internal/vectors.js"

/** The noise-free symmetric kernel (also the base of noisy symmetric and the diagonal methods' fallback). */
export const base = (input: Operator.KernelInput): Float32Array => {
  const { source: W, spatial: S, inMap, outMap } = input
  requireTiled(inMap, "symmetric", input.layer)
  requireTiled(outMap, "symmetric", input.layer)
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

export const operator = Operator.make({
  name: "symmetric",
  summary: "every (input copy, output copy) block is W / k_in (HyperCloning)",
  docs: { kernel: "`W[s,v,u] / k_in` (2×2: `[[W/2, W/2], [W/2, W/2]]`)", bias: "`b[u]` repeated", preserves: "yes" },
  method: { layout: "tile", params: {}, plan: () => ({ operator: "symmetric" }), examples: [{}] },
  noise: "none",
  kernel: (input) => {
    const kernel = base(input)
    return noNoise(kernel)
  },
  bias: (source, outMap) => follow(source, outMap)
})
