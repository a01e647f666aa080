/**
 * Function preservation, the one definition every growth method measures with: the probe (seeded random inputs and
 * the first examples of a dataset), the comparison (max |Δlogits| over every logit, never a signed sum; NaN counts as
 * +Infinity; relative to max |logits| of the source where that exceeds 1), the tolerance, and the `Measurer` service
 * that runs the two models (its TensorFlow implementation is @growlab/train/Preservation's `layer`; a test can
 * provide another).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as DatasetArtifact from "./DatasetArtifact.js"
import type { Model } from "./ModelArtifact.js"
import { inputSize, type ModelSpec } from "./ModelSpec.js"
import * as Random from "./Random.js"

/** fp32 tolerance for a function-preserving transform, relative to max(1, max |logits|). */
export const TOLERANCE = 1e-5

/** One probe set's comparison. */
export const Comparison = Schema.Struct({
  count: Schema.Number,
  /** max |logits_grown − logits_source| over every example and class. */
  maxAbsDiff: Schema.Number,
  /** max |logits_source|. */
  maxAbsLogits: Schema.Number,
  /** maxAbsDiff / max(1, maxAbsLogits): absolute for small logits, relative where they exceed 1. */
  relativeDiff: Schema.Number
})
export type Comparison = typeof Comparison.Type

export interface Preservation {
  readonly random: Comparison
  /** null when no real probe was given. */
  readonly real: Comparison | null
  readonly tolerance: number
  /** The larger relativeDiff of the two probes. */
  readonly relative: number
  /** Every relativeDiff ≤ tolerance. */
  readonly preserved: boolean
}

/** What to measure on: `size` seeded random inputs (stream `seed`), and the first `size` examples of `dataset`. */
export interface Probe {
  readonly size: number
  readonly seed: number
  readonly dataset?: DatasetArtifact.Dataset
}

/**
 * Seeded random inputs for `spec`, flat [n, ...inputShape]: when the model starts with a Rescaling of scale s > 0 and
 * offset 0 (CNNs fed raw 0..255 pixels) uniform in [0, 1/s); otherwise standard normal.
 */
export const randomInputs = (spec: ModelSpec, n: number, seed: number): Float32Array => {
  const size = inputSize(spec)
  const rng = Random.make(seed, 0x5eed)
  const first = spec.layers[0]
  const values = new Float32Array(n * size)
  if (first._tag === "rescaling" && first.scale > 0 && first.offset === 0) {
    const top = 1 / first.scale
    for (let k = 0; k < values.length; k++) values[k] = rng.next() * top
  } else {
    for (let k = 0; k < values.length; k++) values[k] = rng.normal()
  }
  return values
}

/** The first `n` examples of a dataset as float32 raw values (as the models are fed), and how many there were. */
export const realInputs = (dataset: DatasetArtifact.Dataset, n: number): { readonly values: Float32Array; readonly count: number } => {
  const size = DatasetArtifact.exampleSize(dataset)
  const count = Math.min(n, DatasetArtifact.count(dataset))
  return { values: Float32Array.from(dataset.images.subarray(0, count * size)), count }
}

/** max |a_k - b_k| in float64; NaN anywhere (or a length mismatch) counts as +Infinity. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let m = 0
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k] - b[k])
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d
  }
  return m
}

/** The comparison of two logit arrays over `count` examples. */
export const compareLogits = (source: ArrayLike<number>, grown: ArrayLike<number>, count: number): Comparison => {
  const diff = maxAbsDiff(source, grown)
  let maxAbsLogits = 0
  for (let k = 0; k < source.length; k++) maxAbsLogits = Math.max(maxAbsLogits, Math.abs(source[k]))
  return { count, maxAbsDiff: diff, maxAbsLogits, relativeDiff: diff / Math.max(1, maxAbsLogits) }
}

/** Both probes' comparisons against a tolerance. */
export const judge = (random: Comparison, real: Comparison | null, tolerance = TOLERANCE): Preservation => {
  const relative = Math.max(random.relativeDiff, real?.relativeDiff ?? 0)
  return { random, real, tolerance, relative, preserved: relative <= tolerance }
}

/** Runs source and grown model on a probe and compares their logits. */
export interface Measurer {
  readonly measure: (source: Model, grown: Model, probe: Probe) => Effect.Effect<Preservation>
}
export const Measurer = Context.GenericTag<Measurer>("@growlab/core/Preservation/Measurer")
