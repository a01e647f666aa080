/**
 * Envelope expansion (experiment 4): the source kernel sits in the centre of the target's [in, out] channel block
 * (every kernel tap keeps its place), the rest is zeros or noise:
 *   W'[s, off_in + v, off_out + u] = W[s, v, u],  off = floor((target − source) / 2),  elsewhere 0 or η;
 *   b'[off_out + u] = b[u], new biases 0.
 * The input offset follows the previous layer's centred outputs (per spatial position after a Flatten).
 * With `fill: "zeros"` it is function-preserving: new units get zero weights and bias, so they output act(0), and the
 * rows that read them are zero. (Their gradients are zero too: under gradient descent the new units never move.)
 * With `fill: "scaled-noise"` the new weights are drawn with the source kernel's mean and std (or from `noise`), and
 * they reach the outputs: not function-preserving; the stage measures by how much.
 */
import * as Noise from "../Noise.js"
import * as Operator from "../Operator.js"
import * as OperatorParams from "../OperatorParams.js"
import { centredKernel } from "../internal/centred.js"
import { follow } from "../internal/vectors.js"

export const operator = Operator.make({
  name: "envelope",
  summary: "the source kernel centred in the target, zeros or noise around it (fill)",
  docs: {
    kernel: "`W` at `[off_in + v, off_out + u]`, `off = ⌊(target − source)/2⌋`; elsewhere 0 (`fill: zeros`) or noise (`fill: scaled-noise`)",
    bias: "`b` centred, new 0", preserves: "zeros: yes (see the caveat); scaled-noise: **no**"
  },
  method: {
    layout: "centre",
    params: { fill: OperatorParams.fill, noise: OperatorParams.noise },
    plan: () => ({ operator: "envelope" }),
    examples: [{ fill: "zeros" }, { fill: "scaled-noise" }, { fill: "scaled-noise", noise: { scheme: "snr", snrDb: 10 } }]
  },
  noise: "optional",
  breaks: (layer, options) => options.fill === "scaled-noise" ? `${layer}: envelope filled with noise that reaches the outputs` : undefined,
  kernel: (input, ctx) => {
    const { source: W, spatial: S, inMap, outMap } = input
    const newEntries = S * (inMap.size * outMap.size - inMap.sourceSize * outMap.sourceSize)
    const scheme = ctx.options.noise ?? { scheme: "scaled" as const, distribution: "normal" as const }
    const signalEnergy = Noise.energy(W)
    const sampler = ctx.options.fill === "zeros" || newEntries === 0
      ? undefined
      : scheme.scheme === "snr"
        ? Noise.gaussian(ctx.rng, 0, Noise.stdForSnr(signalEnergy, scheme.snrDb, newEntries))
        : Noise.scaled(ctx.rng, W, scheme.distribution)
    return centredKernel(input, () => sampler?.draw(), signalEnergy)
  },
  bias: (source, outMap) => follow(source, outMap, 0)
})
