/**
 * Adds noise that cancels over the input copies of every source input unit: for each (tap s, source input unit v,
 * target output unit o), the k input copies of v receive η_0 .. η_{k-1} with Σ_r η_r = 0. Because the k input copies
 * carry the same activation, the noise adds Σ_r η_r·x_v = 0 to every output: function preserved.
 * η_0 .. η_{k-2} are drawn independently from the scheme; η_{k-1} = −Σ of the others. For k = 2 this is exactly the
 * study's paired ±η. Returns the noise energy and the statistics of the independent draws.
 */
import type { KernelInput, Context, KernelResult } from "../Operator.js"
import * as Noise from "../Noise.js"
import { PlanError } from "../PlanError.js"

export const addZeroSumNoise = (kernel: Float32Array, input: KernelInput, ctx: Context, operator: string): KernelResult => {
  const signalEnergy = Noise.energy(kernel)
  const { spatial: S, inMap, outMap, source } = input
  const k = inMap.copies
  if (k < 2) return { kernel, signalEnergy, noiseEnergy: 0, snrDb: null, noise: null }
  const scheme = ctx.options.noise
  if (!scheme) throw new PlanError({ layer: input.layer, field: "noise", expected: `a noise scheme (${operator} adds noise here)`, actual: "absent" })
  const I = inMap.size
  const O = outMap.size
  const v0 = inMap.sourceSize
  const groups = S * v0 * O
  // free draws have variance σ² each (k-1 per group); the dependent one has variance (k-1)σ²: 2(k-1)σ² per group
  const sampler = scheme.scheme === "snr"
    ? Noise.gaussian(ctx.rng, 0, Noise.stdForSnr(signalEnergy, scheme.snrDb, 2 * (k - 1) * groups))
    : Noise.scaled(ctx.rng, source, scheme.distribution)
  const tally = new Noise.Tally()
  const sum = new Float64Array(O)
  let noiseEnergy = 0
  for (let s = 0; s < S; s++) {
    for (let v = 0; v < v0; v++) {
      sum.fill(0)
      for (let r = 0; r < k - 1; r++) {
        const row = (s * I + inMap.members[v * k + r]) * O
        for (let o = 0; o < O; o++) {
          const e = sampler.draw()
          tally.add(e)
          sum[o] += e
          noiseEnergy += e * e
          kernel[row + o] += e
        }
      }
      const last = (s * I + inMap.members[v * k + k - 1]) * O
      for (let o = 0; o < O; o++) {
        kernel[last + o] -= sum[o]
        noiseEnergy += sum[o] * sum[o]
      }
    }
  }
  return {
    kernel, signalEnergy, noiseEnergy, snrDb: Noise.snrDb(signalEnergy, noiseEnergy),
    noise: { mean: tally.mean, std: tally.std, count: tally.n }
  }
}

/** What a noisy operator adds to its noise-free `base` kernel: zero-sum noise, required wherever the input axis tiles. */
export const zeroSumNoisy = (operator: string, base: (input: KernelInput) => Float32Array) => ({
  noise: "required" as const,
  drawsNoise: (l: { readonly inMap: { readonly copies: number } }) => l.inMap.copies > 1,
  kernel: (input: KernelInput, ctx: Context): KernelResult => {
    const kernel = base(input)
    return addZeroSumNoise(kernel, input, ctx, operator)
  }
})
