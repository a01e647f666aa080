/** Copy: a layer whose axes do not grow keeps its weights exactly. Function-preserving. */
import type { Operator } from "../Operator.js"
import * as Noise from "../Noise.js"
import { noNoise } from "../internal/vectors.js"

export const copy: Operator = {
  name: "copy",
  kernel: (input) => {
    if (input.inMap.size !== input.inMap.sourceSize || input.outMap.size !== input.outMap.sourceSize) {
      throw new Error("copy: the layer grows")
    }
    const kernel = Float32Array.from(input.source)
    return noNoise(kernel, Noise.energy(kernel))
  },
  bias: (source) => Float32Array.from(source)
}
