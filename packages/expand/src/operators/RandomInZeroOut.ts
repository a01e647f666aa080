/**
 * Random fan-in, zero fan-out: the source kernel in the centre of the target's [in, out] block (envelope's layout);
 * every new output unit gets freshly drawn incoming weights (Glorot uniform over the target layer's fans, Keras'
 * default for a new layer) and a zero bias, and every weight from a new input unit to an original output unit is 0:
 *   W'[s, off_in + v, off_out + u] = W[s, v, u];   W'[s, new, off_out + u] = 0;   W'[s, ·, new] ~ U(±√(6/(S·I + S·O)));
 *   b'[off_out + u] = b[u], new biases 0.
 * Function-preserving: by induction every original unit computes the source's value (it reads the original inputs
 * with the source's weights and the new inputs with 0), and the logits are original units. Unlike envelope with
 * zeros, the new units are alive: they compute act(random · x), so the zero weights that read them get a non-zero
 * gradient at the first step, and once those move, so do the new units' incoming weights. This is the zero-fan-out
 * way of growing width while keeping the function (one side of each new unit zero, the other random), used for
 * example as a baseline in GradMax (Evci et al., 2022), which instead zeroes the fan-in and optimises the fan-out.
 */
import * as Operator from "../Operator.js"
import { PlanError } from "../PlanError.js"
import { centredKernel } from "../internal/centred.js"
import { follow } from "../internal/vectors.js"
import { glorotLimit } from "./RandomInit.js"

export const operator = Operator.make({
  name: "random-in-zero-out",
  summary: "envelope layout; new units: random fan-in (Glorot uniform), zero fan-out — preserving, and the new units train",
  docs: {
    kernel: "`W` at `[off_in + v, off_out + u]`; new output units' columns Glorot uniform over the target's fans; new input rows into original outputs 0",
    bias: "`b` centred, new 0", preserves: "yes"
  },
  method: { layout: "centre", params: {}, plan: () => ({ operator: "random-in-zero-out" }), examples: [{}] },
  noise: "none",
  kernel: (input, ctx) => {
    const { inMap, outMap } = input
    if (inMap.layout === "tile" || outMap.layout === "tile") {
      throw new PlanError({ layer: input.layer, field: "operator", expected: "centred or unchanged axes (random-in-zero-out adds new units)", actual: "a tiled axis" })
    }
    const limit = glorotLimit(input.spatial, inMap.size, outMap.size)
    return centredKernel(input, (_newInput, newOutput) => newOutput ? (2 * ctx.rng.next() - 1) * limit : undefined)
  },
  bias: (source, outMap) => follow(source, outMap, 0)
})
