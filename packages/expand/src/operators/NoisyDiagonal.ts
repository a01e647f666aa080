/**
 * Noisy diagonal expansion: the diagonal kernel plus noise that cancels over the input copies.
 * For 2×, in the [in, out] layout (rows = input copies, columns = output copies):
 *   [[W + η1, η2], [−η1, W − η2]]
 * which is the study's [[W+η1, −η1], [η2, W−η2]] in the [out, in] convention. Output copy q gets W from input copy q
 * and noise summing to zero over the input copies: function-preserving. The diagonal blocks (the study's "quarters"
 * that look identical) differ by η1 + η2.
 */
import type { Operator } from "../Operator.js"
import * as Noise from "../Noise.js"
import { follow } from "../internal/vectors.js"
import { addZeroSumNoise } from "../internal/zeroSumNoise.js"
import { base } from "./Diagonal.js"

export const noisyDiagonal: Operator = {
  name: "noisy-diagonal",
  kernel: (input, ctx) => {
    const kernel = base(input)
    return addZeroSumNoise(kernel, Noise.energy(kernel), input, ctx, "noisy-diagonal")
  },
  bias: (source, outMap) => follow(source, outMap)
}
