/**
 * Noisy symmetric expansion: the symmetric kernel plus noise that cancels over the input copies.
 * For 2× on both axes, in the [in, out] layout (rows = input copies, columns = output copies):
 *   [[W/2 + η1, W/2 + η2], [W/2 − η1, W/2 − η2]]
 * which is the study's [[W/2+η1, W/2−η1], [W/2+η2, W/2−η2]] written in the [out, in] convention (its rows are output
 * units; only that reading preserves the function). For k copies: η_0 .. η_{k-2} independent, η_{k-1} = −Σ others,
 * drawn independently for every (tap, source input unit, output unit). Function-preserving (the noise meets k
 * identical inputs and sums to zero). A layer whose input axis does not grow (the first conv) cannot carry such noise:
 * its output copies stay exact (snrDb null). Biases are repeated without noise.
 */
import * as Operator from "../Operator.js"
import * as OperatorParams from "../OperatorParams.js"
import { follow } from "../internal/vectors.js"
import { zeroSumNoisy } from "../internal/zeroSumNoise.js"
import { base } from "./Symmetric.js"

export const operator = Operator.make({
  name: "noisy-symmetric",
  summary: "symmetric plus noise that cancels over the input copies",
  docs: {
    kernel: "`W/k_in + η_q[s,r,v,u]`, `Σ_r η_q[·,r,·,·] = 0` (2×2, `[in,out]`: `[[W/2+η1, W/2+η2], [W/2−η1, W/2−η2]]`)",
    bias: "repeated", preserves: "yes"
  },
  method: {
    layout: "tile",
    params: { noise: OperatorParams.noise },
    plan: (l) => l.growth === "output"
      ? { operator: "noisy-symmetric", note: "input axis not grown: noise cannot cancel over input copies, so the output copies are exact (no noise)" }
      : { operator: "noisy-symmetric" },
    examples: [{ noise: { scheme: "snr", snrDb: 10 } }, { noise: { scheme: "scaled", distribution: "normal" } }, { noise: { scheme: "scaled", distribution: "uniform" } }]
  },
  ...zeroSumNoisy("noisy-symmetric", base),
  bias: (source, outMap) => follow(source, outMap)
})
