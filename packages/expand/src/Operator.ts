/**
 * The operator descriptor: everything growlab knows about one way of filling a grown layer's weights, in one value.
 * Each operator is one file under `operators/` exporting `operator = Operator.make({...})`; the Registry finds them
 * there, and the method literal, the stage's params and description, the README table, the planning and the generic
 * tests (shapes, preservation where claimed, seed determinism, no tensor leak) all come from these descriptors.
 *
 * The kernel contract: one function from a source kernel, viewed as [spatial, in, out] (Dense [in, out] has
 * spatial = 1; Conv2D [kh, kw, in, out] has spatial = kh·kw, row-major, so the view costs no copy), and the plan's
 * two axis maps, to the target kernel [spatial, inMap.size, outMap.size]; plus how the bias follows the output map.
 * A kernel function is pure: it throws a PlanError (caught at the Expander's boundary) only for a plan it cannot
 * fill, which the planning rule should have refused.
 */
import type { Rng } from "@growlab/core/Random"
import type * as Schema from "effect/Schema"
import type { AxisMap } from "./AxisMap.js"
import type * as Noise from "./Noise.js"

export interface KernelInput {
  /** [spatial, inMap.sourceSize, outMap.sourceSize], row-major. */
  readonly source: Float32Array
  readonly spatial: number
  readonly inMap: AxisMap
  readonly outMap: AxisMap
  /** The target layer (for error messages). */
  readonly layer: string
}

/** The method's options as decoded from the stage params (every method param, defaults applied). */
export interface Options {
  readonly method: string
  readonly oneAxis: string
  readonly fill: string
  readonly noise?: Noise.Scheme
  readonly [param: string]: unknown
}

export interface Context {
  /** This layer's own random stream (seed, layer index). */
  readonly rng: Rng
  /** The method's options; `options.noise` is the noise scheme, when given. */
  readonly options: Options
}

export interface KernelResult {
  /** [spatial, inMap.size, outMap.size], row-major (the target kernel's own layout). */
  readonly kernel: Float32Array
  /** Σ² of the kernel the operator builds without noise. */
  readonly signalEnergy: number
  /** Σ² of what noise (or any random draw) added (0 when none). */
  readonly noiseEnergy: number
  readonly snrDb: number | null
  /** Mean and std of the independent values drawn (null when none). */
  readonly noise: { readonly mean: number; readonly std: number; readonly count: number } | null
}

export type Growth = "input" | "output" | "both"

/** What a method's planning rule sees of one Dense / Conv2D layer that grows. */
export interface LayerFacts {
  /** Target layer name. */
  readonly name: string
  readonly kind: "dense" | "conv2d"
  readonly growth: Growth
  readonly inMap: AxisMap
  readonly outMap: AxisMap
  readonly options: Options
}

/** The operator a method puts on a growing layer, and why when it is not simply the method's own. */
export interface Choice {
  readonly operator: string
  readonly note?: string
}

export interface Method {
  /** How grown units are laid out: `tile` (k whole copies; integer multipliers only) or `centre` (envelope). */
  readonly layout: "tile" | "centre"
  /** The params the method reads besides target, method, seed and probeSize (shared fields: OperatorParams). */
  readonly params: Schema.Struct.Fields
  /**
   * The planning rule: which operator fills a layer that grows (a layer that does not grow is always `copy`). May
   * throw a PlanError for a layer the method cannot grow.
   */
  readonly plan: (layer: LayerFacts) => Choice
  /** Params to run it with in the generic tests, the benchmark and the docs (each a complete set of its params). */
  readonly examples: ReadonlyArray<Readonly<Record<string, unknown>>>
}

export interface Descriptor {
  /** The `operator` column of expansion.arrow; for a method, the name a pipeline file gives as `method`. */
  readonly name: string
  /** One line for the stage description and the docs. */
  readonly summary: string
  /** The README row: grown kernel `W'[s, r·i+v, q·o+u]` (or its layout), bias, and whether it preserves the function. */
  readonly docs: { readonly kernel: string; readonly bias: string; readonly preserves: string }
  /** Present when a pipeline can name the operator as its growth method. */
  readonly method?: Method
  /**
   * Noise: "none"; "optional" (used when given); "required" wherever `drawsNoise(layer)` holds (the stage then fails
   * without a scheme, naming the param).
   */
  readonly noise: "none" | "optional" | "required"
  readonly drawsNoise?: (layer: { readonly inMap: AxisMap; readonly outMap: AxisMap }) => boolean
  /** Why a layer it fills does not keep the source's function in exact arithmetic; undefined when it does. */
  readonly breaks?: (layer: string, options: Options) => string | undefined
  readonly kernel: (input: KernelInput, ctx: Context) => KernelResult
  /** The target bias (or any per-output-unit vector) from the source one. */
  readonly bias: (source: Float32Array, outMap: AxisMap) => Float32Array
}

/** Declares an operator (identity, for inference and one place to document the contract). */
export const make = (d: Descriptor): Descriptor => d
