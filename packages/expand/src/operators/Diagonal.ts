/**
 * Diagonal expansion: output copy q reads only input copy q, the other blocks are zero.
 * For 2×: [[W, 0], [0, W]]; in general (k_in = k_out = k, tile maps)
 *   W'[s, r·i + v, q·o + u] = (r == q) · W[s, v, u],        b'[q·o + u] = b[u].
 * Function-preserving: output copy q sees exactly one copy of each input, x_v · W, plus b. It needs both axes to grow
 * by the same k; the plan sends layers that grow along one axis to the symmetric fallback (which divides by k_in:
 * stacking [W; W] on the last Dense without the 1/k would double the logits) or to random initialisation.
 */
import * as Operator from "../Operator.js"
import * as OperatorParams from "../OperatorParams.js"
import { PlanError } from "../PlanError.js"
import { diagonalRule } from "../internal/diagonalRule.js"
import { follow, noNoise, requireTiled } from "../internal/vectors.js"

/** The noise-free diagonal kernel (also the base of noisy diagonal). */
export const base = (input: Operator.KernelInput): Float32Array => {
  const { source: W, spatial: S, inMap, outMap } = input
  requireTiled(inMap, "diagonal", input.layer)
  requireTiled(outMap, "diagonal", input.layer)
  if (inMap.copies !== outMap.copies) {
    throw new PlanError({ layer: input.layer, field: "operator", expected: `diagonal blocks: input ×${inMap.copies} = output ×${outMap.copies}`, actual: "they differ" })
  }
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

export const operator = Operator.make({
  name: "diagonal",
  summary: "output copy q reads only input copy q; one-axis layers: symmetric or random (oneAxis)",
  docs: { kernel: "`δ_rq · W[s,v,u]` (needs `k_in = k_out`; 2×2: `[[W, 0], [0, W]]`)", bias: "repeated", preserves: "yes" },
  method: {
    layout: "tile",
    params: { oneAxis: OperatorParams.oneAxis },
    plan: diagonalRule("diagonal", "symmetric"),
    examples: [{ oneAxis: "symmetric" }, { oneAxis: "random" }]
  },
  noise: "none",
  kernel: (input) => {
    const kernel = base(input)
    return noNoise(kernel)
  },
  bias: (source, outMap) => follow(source, outMap)
})
