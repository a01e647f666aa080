/**
 * The operator contract: one function from a source kernel, viewed as [spatial, in, out] (Dense [in, out] has
 * spatial = 1; Conv2D [kh, kw, in, out] has spatial = kh·kw, row-major, so the view costs no copy), and the plan's
 * two axis maps, to the target kernel [spatial, inMap.size, outMap.size]; plus how the bias follows the output map.
 * Each operator lives in its own file under `operators/`.
 */
import type { Rng } from "@growlab/core/Random"
import type { AxisMap } from "./AxisMap.js"
import type * as Noise from "./Noise.js"
import type { Fill, OperatorName } from "./Plan.js"

export interface KernelInput {
  /** [spatial, inMap.sourceSize, outMap.sourceSize], row-major. */
  readonly source: Float32Array
  readonly spatial: number
  readonly inMap: AxisMap
  readonly outMap: AxisMap
}

export interface Context {
  /** This layer's own random stream (seed, layer index). */
  readonly rng: Rng
  readonly noise?: Noise.Scheme
  readonly fill: Fill
}

export interface KernelResult {
  /** [spatial, inMap.size, outMap.size], row-major (the target kernel's own layout). */
  readonly kernel: Float32Array
  /** Σ² of the kernel the operator builds without noise. */
  readonly signalEnergy: number
  /** Σ² of what noise added (0 when none). */
  readonly noiseEnergy: number
  readonly snrDb: number | null
  /** Mean and std of the independent noise values drawn (null when none). */
  readonly noise: { readonly mean: number; readonly std: number; readonly count: number } | null
}

export interface Operator {
  readonly name: OperatorName
  readonly kernel: (input: KernelInput, ctx: Context) => KernelResult
  /** The target bias (or any per-output-unit vector) from the source one. */
  readonly bias: (source: Float32Array, outMap: AxisMap) => Float32Array
}
