/**
 * Noise for the noisy operators, and the signal-to-noise ratio they record.
 *
 * Schemes (a param of every noisy operator):
 * - `snr`: zero-mean Gaussian whose variance is set so that the expected noise energy is the target SNR below the
 *   signal energy (HyperCloning's scheme).
 * - `scaled`: experiment 3's noise, drawn with the mean and standard deviation of the source layer's kernel,
 *   either normal (default) or uniform on [mean − √3·std, mean + √3·std] (the same mean and std).
 *
 * SNR, precisely: for one layer's kernel, signal = the operator's output without noise (e.g. the tiled W/k),
 * noise = what the noise added to it, both summed over every kernel entry (biases excluded), in float64:
 *   SNR dB = 10 · log10( Σ signal² / Σ noise² ),   null when no noise was added.
 */
import * as Schema from "effect/Schema"
import type { Rng } from "@growlab/core/Random"

export const Distribution = Schema.Literal("normal", "uniform")
export type Distribution = typeof Distribution.Type

export const Snr = Schema.Struct({ scheme: Schema.Literal("snr"), snrDb: Schema.Number.pipe(Schema.finite()) })
export const Scaled = Schema.Struct({
  scheme: Schema.Literal("scaled"),
  distribution: Schema.optionalWith(Distribution, { default: () => "normal" as const })
})
export const Scheme = Schema.Union(Snr, Scaled)
export type Scheme = typeof Scheme.Type

/** Σ x² in float64. */
export const energy = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i] * xs[i]
  return s
}

/** 10·log10(signal / noise) in dB; null when there is no noise. */
export const snrDb = (signalEnergy: number, noiseEnergy: number): number | null =>
  noiseEnergy > 0 ? 10 * Math.log10(signalEnergy / noiseEnergy) : null

export interface Moments {
  readonly mean: number
  readonly std: number
}

/** Mean and population standard deviation, in float64. */
export const moments = (xs: ArrayLike<number>): Moments => {
  let m = 0
  for (let i = 0; i < xs.length; i++) m += xs[i]
  m /= xs.length
  let v = 0
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) * (xs[i] - m)
  return { mean: m, std: Math.sqrt(v / xs.length) }
}

/** A source of independent noise values with a known mean and std. */
export interface Sampler {
  readonly draw: () => number
  readonly mean: number
  readonly std: number
}

export const gaussian = (rng: Rng, mean: number, std: number): Sampler => ({ draw: () => mean + std * rng.normal(), mean, std })

export const uniform = (rng: Rng, mean: number, std: number): Sampler => {
  const half = Math.sqrt(3) * std
  return { draw: () => mean - half + 2 * half * rng.next(), mean, std }
}

/** Experiment 3's scaled noise for a source kernel. */
export const scaled = (rng: Rng, source: ArrayLike<number>, distribution: Distribution): Sampler => {
  const { mean, std } = moments(source)
  return distribution === "uniform" ? uniform(rng, mean, std) : gaussian(rng, mean, std)
}

/**
 * The std of zero-mean noise that reaches `snrDb` on average, when the noise energy is `unitEnergy` times its
 * variance (e.g. the number of noise entries).
 */
export const stdForSnr = (signalEnergy: number, snrDb: number, unitEnergy: number): number =>
  Math.sqrt(signalEnergy / Math.pow(10, snrDb / 10) / unitEnergy)

/** A running mean / std of the values drawn (what a report shows about the noise actually used). */
export class Tally {
  n = 0
  private sum = 0
  private sumSq = 0
  add(x: number): void { this.n++; this.sum += x; this.sumSq += x * x }
  get mean(): number { return this.n === 0 ? NaN : this.sum / this.n }
  get std(): number { return this.n === 0 ? NaN : Math.sqrt(Math.max(0, this.sumSq / this.n - this.mean * this.mean)) }
}
