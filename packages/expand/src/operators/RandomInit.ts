/**
 * Random initialisation, the study's second one-axis variant of diagonal expansion: the layer is drawn afresh with
 * Keras' defaults (Glorot uniform kernel, limit √(6 / (fan_in + fan_out)), fans counting kernel taps; zero bias),
 * from the layer's seeded stream. Not function-preserving.
 */
import type { Operator } from "../Operator.js"
import * as Noise from "../Noise.js"
import { noNoise } from "../internal/vectors.js"

export const randomInit: Operator = {
  name: "random",
  kernel: (input, ctx) => {
    const { spatial: S, inMap, outMap } = input
    const limit = Math.sqrt(6 / (S * inMap.size + S * outMap.size))
    const kernel = new Float32Array(S * inMap.size * outMap.size)
    for (let j = 0; j < kernel.length; j++) kernel[j] = (2 * ctx.rng.next() - 1) * limit
    return noNoise(kernel, Noise.energy(kernel))
  },
  bias: (_source, outMap) => new Float32Array(outMap.size)
}
