/**
 * Function preservation, measured: the largest |logit difference| between a source model and its grown model on a
 * fixed batch of real examples and on seeded random inputs. The check is max |Δ| over every logit (never a signed
 * sum, where errors cancel; NaN counts as +Infinity), relative to max |logits| of the source where that exceeds 1.
 * Every growth method (packages/expand's operators, packages/net2net) measures with this one module.
 */
import * as tf from "@tensorflow/tfjs"
import type * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import type { ModelSpec } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import * as Forward from "./Forward.js"

/** fp32 tolerance for an exact (noise-free) transform, relative to max(1, max |logits|). */
export const TOLERANCE = 1e-5

/** One probe set's comparison. */
export interface Comparison {
  readonly count: number
  /** max |logits_grown − logits_source| over every example and class. */
  readonly maxAbsDiff: number
  /** max |logits_source|. */
  readonly maxAbsLogits: number
  /** maxAbsDiff / max(1, maxAbsLogits): absolute for small logits, relative where they exceed 1. */
  readonly relativeDiff: number
}

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

export interface Probe {
  /** Seeded random inputs [n, ...inputShape]. */
  readonly random: tf.Tensor
  /** Real examples [n, ...inputShape] (raw values, as the model is fed), when a probe dataset is given. */
  readonly real?: tf.Tensor
}

/**
 * Seeded random inputs for `spec`: when the model starts with a Rescaling of scale s > 0 and offset 0 (CNNs fed raw
 * 0..255 pixels) uniform in [0, 1/s]; otherwise standard normal. The caller owns the tensor.
 */
export const randomInputs = (spec: ModelSpec, n: number, seed: number): tf.Tensor => {
  const size = spec.inputShape.reduce((a, b) => a * b, 1)
  const rng = Random.make(seed, 0x5eed)
  const first = spec.layers[0]
  const values = new Float32Array(n * size)
  if (first._tag === "rescaling" && first.scale > 0 && first.offset === 0) {
    const top = 1 / first.scale
    for (let k = 0; k < values.length; k++) values[k] = rng.next() * top
  } else {
    for (let k = 0; k < values.length; k++) values[k] = rng.normal()
  }
  return tf.tensor(values, [n, ...spec.inputShape], "float32")
}

/** The first `n` examples of a dataset as float32 [n, ...shape] raw values. The caller owns the tensor. */
export const realInputs = (dataset: DatasetArtifact.Dataset, n: number): tf.Tensor => {
  const size = dataset.shape.reduce((a, b) => a * b, 1)
  const count = Math.min(n, dataset.labels.length)
  return tf.tensor(Float32Array.from(dataset.images.subarray(0, count * size)), [count, ...dataset.shape], "float32")
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

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]))
  return m
}

const logitValues = (model: ModelArtifact.Model, x: tf.Tensor): Float32Array => {
  const y = Forward.logits(model, x)
  try {
    return y.dataSync() as Float32Array
  } finally {
    y.dispose()
  }
}

/** Compares the logits of two models on `x`. Creates and disposes all its tensors. */
export const compare = (source: ModelArtifact.Model, grown: ModelArtifact.Model, x: tf.Tensor): Comparison => {
  const a = logitValues(source, x)
  const diff = maxAbsDiff(a, logitValues(grown, x))
  const maxAbsLogits = maxAbs(a)
  return { count: x.shape[0], maxAbsDiff: diff, maxAbsLogits, relativeDiff: diff / Math.max(1, maxAbsLogits) }
}

/** Measures preservation of `source` by `grown` on a probe. Creates and disposes all its tensors. */
export const measure = (source: ModelArtifact.Model, grown: ModelArtifact.Model, probe: Probe, tolerance = TOLERANCE): Preservation => {
  const random = compare(source, grown, probe.random)
  const real = probe.real ? compare(source, grown, probe.real) : null
  const relative = Math.max(random.relativeDiff, real?.relativeDiff ?? 0)
  return { random, real, tolerance, relative, preserved: relative <= tolerance }
}

/** Builds the probe (random inputs from `seed`; the first `size` examples of `dataset`), measures, disposes. */
export const measureOn = (
  source: ModelArtifact.Model, grown: ModelArtifact.Model,
  probe: { readonly size: number; readonly seed: number; readonly dataset?: DatasetArtifact.Dataset },
  tolerance = TOLERANCE
): Preservation => {
  const random = randomInputs(source.spec, probe.size, probe.seed)
  const real = probe.dataset ? realInputs(probe.dataset, probe.size) : undefined
  try {
    return measure(source, grown, real ? { random, real } : { random }, tolerance)
  } finally {
    random.dispose()
    real?.dispose()
  }
}
