/**
 * The loop of the centred (envelope-layout) operators: the source kernel where both the input and the output unit
 * are original ones, and `draw(inputIsNew, outputIsNew)` everywhere else (undefined leaves 0). Draws happen in the
 * kernel's row-major order (tap, input, output), so a seeded stream gives the same kernel every time; their energy,
 * mean and std are returned with the kernel. `signalEnergy` is Σ W² of the source kernel (computed here unless the
 * caller already has it).
 */
import type { KernelInput, KernelResult } from "../Operator.js"
import * as Noise from "../Noise.js"

export const centredKernel = (
  input: KernelInput,
  draw: (inputIsNew: boolean, outputIsNew: boolean) => number | undefined,
  signalEnergy: number = Noise.energy(input.source)
): KernelResult => {
  const { source: W, spatial: S, inMap, outMap } = input
  const I = inMap.size, O = outMap.size, i = inMap.sourceSize, o = outMap.sourceSize
  const out = new Float32Array(S * I * O)
  const tally = new Noise.Tally()
  let noiseEnergy = 0
  for (let s = 0; s < S; s++) {
    for (let ii = 0; ii < I; ii++) {
      const si = inMap.source[ii]
      const from = (s * i + si) * o
      const to = (s * I + ii) * O
      for (let oo = 0; oo < O; oo++) {
        const so = outMap.source[oo]
        if (si >= 0 && so >= 0) out[to + oo] = W[from + so]
        else {
          const e = draw(si < 0, so < 0)
          if (e === undefined) continue
          tally.add(e)
          noiseEnergy += e * e
          out[to + oo] = e
        }
      }
    }
  }
  return {
    kernel: out, signalEnergy, noiseEnergy, snrDb: Noise.snrDb(signalEnergy, noiseEnergy),
    noise: tally.n > 0 ? { mean: tally.mean, std: tally.std, count: tally.n } : null
  }
}
