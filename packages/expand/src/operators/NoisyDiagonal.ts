/**
 * Noisy diagonal expansion: the diagonal kernel plus noise that cancels over the input copies.
 * For 2×, in the [in, out] layout (rows = input copies, columns = output copies):
 *   [[W + η1, η2], [−η1, W − η2]]
 * which is the study's [[W+η1, −η1], [η2, W−η2]] in the [out, in] convention. Output copy q gets W from input copy q
 * and noise summing to zero over the input copies: function-preserving. The diagonal blocks (the study's "quarters"
 * that look identical) differ by η1 + η2. One-axis layers: noisy symmetric, or random (oneAxis).
 */
import * as Operator from "../Operator.js"
import * as OperatorParams from "../OperatorParams.js"
import { diagonalRule } from "../internal/diagonalRule.js"
import { follow } from "../internal/vectors.js"
import { zeroSumNoisy } from "../internal/zeroSumNoise.js"
import { base } from "./Diagonal.js"

export const operator = Operator.make({
  name: "noisy-diagonal",
  summary: "diagonal plus noise that cancels over the input copies; one-axis layers: noisy symmetric or random (oneAxis)",
  docs: { kernel: "`δ_rq · W + η_q[s,r,v,u]`, `Σ_r η = 0` (2×2, `[in,out]`: `[[W+η1, η2], [−η1, W−η2]]`)", bias: "repeated", preserves: "yes" },
  method: {
    layout: "tile",
    params: { oneAxis: OperatorParams.oneAxis, noise: OperatorParams.noise },
    plan: diagonalRule("noisy-diagonal", "noisy-symmetric"),
    examples: [
      { oneAxis: "symmetric", noise: { scheme: "snr", snrDb: 10 } },
      { oneAxis: "symmetric", noise: { scheme: "scaled", distribution: "normal" } },
      { oneAxis: "random", noise: { scheme: "snr", snrDb: 10 } }
    ]
  },
  ...zeroSumNoisy("noisy-diagonal", base),
  bias: (source, outMap) => follow(source, outMap)
})
