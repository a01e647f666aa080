/**
 * Random initialisation, the study's second one-axis variant of diagonal expansion: the layer is drawn afresh with
 * Keras' defaults (Glorot uniform kernel, limit √(6 / (fan_in + fan_out)), fans counting kernel taps; zero bias),
 * from the layer's seeded stream. Not function-preserving. Not a method of its own (the diagonal methods' fallback).
 */
import * as Operator from "../Operator.js"
import { noNoise } from "../internal/vectors.js"

/** Glorot uniform (Keras' default kernel initialiser) for a kernel of `spatial` taps, `fanIn` inputs, `fanOut` outputs. */
export const glorotLimit = (spatial: number, fanIn: number, fanOut: number): number => Math.sqrt(6 / (spatial * fanIn + spatial * fanOut))

export const operator = Operator.make({
  name: "random",
  summary: "the layer drawn afresh (Glorot uniform, zero bias)",
  docs: { kernel: "Glorot uniform, limit `√(6/(fan_in+fan_out))`, fans × kernel taps (Keras default)", bias: "0", preserves: "**no**" },
  noise: "none",
  breaks: (layer) => `${layer}: randomly initialised`,
  kernel: (input, ctx) => {
    const { spatial: S, inMap, outMap } = input
    const limit = glorotLimit(S, inMap.size, outMap.size)
    const kernel = new Float32Array(S * inMap.size * outMap.size)
    for (let j = 0; j < kernel.length; j++) kernel[j] = (2 * ctx.rng.next() - 1) * limit
    return noNoise(kernel)
  },
  bias: (_source, outMap) => new Float32Array(outMap.size)
})
