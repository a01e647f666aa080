/** Copy: a layer whose axes do not grow keeps its weights exactly. Function-preserving. Not a method of its own. */
import * as Operator from "../Operator.js"
import { PlanError } from "../PlanError.js"
import { noNoise } from "../internal/vectors.js"

export const operator = Operator.make({
  name: "copy",
  summary: "a layer that does not grow keeps its weights",
  docs: { kernel: "`W` (layer does not grow)", bias: "`b`", preserves: "yes" },
  noise: "none",
  kernel: (input) => {
    if (input.inMap.size !== input.inMap.sourceSize || input.outMap.size !== input.outMap.sourceSize) {
      throw new PlanError({ layer: input.layer, field: "operator", expected: "a layer that does not grow (copy)", actual: `${input.inMap.sourceSize}→${input.inMap.size} in, ${input.outMap.sourceSize}→${input.outMap.size} out` })
    }
    const kernel = Float32Array.from(input.source)
    return noNoise(kernel)
  },
  bias: (source) => Float32Array.from(source)
})
