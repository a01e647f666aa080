/**
 * Function preservation, measured: run the source and the grown model on the same inputs and take the largest
 * absolute logit difference (never a signed sum, where errors cancel). Inputs are raw pixel values (0..255, as the
 * dataset artifacts store them; the specs begin with their own Rescaling).
 */
import * as tf from "@tensorflow/tfjs"
import * as Random from "@growlab/core/Random"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import type { Model } from "@growlab/core/ModelArtifact"
import * as Forward from "@growlab/train/Forward"

/** fp32 bound for operators that preserve the function in exact arithmetic (on the relative difference). */
export const TOLERANCE = 1e-5

export interface Comparison {
  readonly count: number
  /** max |logits_grown − logits_source| over every example and class. */
  readonly maxAbsDiff: number
  /** max |logits_source|. */
  readonly maxAbsLogits: number
  /** maxAbsDiff / max(1, maxAbsLogits): absolute for small logits, relative where they exceed 1. */
  readonly relativeDiff: number
}

/** `count` examples of `shape`, uniform in [low, high), from a seeded stream. */
export const randomInputs = (shape: ReadonlyArray<number>, count: number, seed: number, low = 0, high = 255): Float32Array => {
  const rng = Random.make(seed, 0x5eed)
  const size = shape.reduce((a, b) => a * b, 1)
  const x = new Float32Array(count * size)
  for (let j = 0; j < x.length; j++) x[j] = low + (high - low) * rng.next()
  return x
}

/** The first `count` examples of a dataset as float32 raw pixel values. */
export const datasetInputs = (d: Dataset, count: number): { readonly x: Float32Array; readonly count: number } => {
  const size = d.shape.reduce((a, b) => a * b, 1)
  const n = Math.min(count, d.labels.length)
  return { x: Float32Array.from(d.images.subarray(0, n * size)), count: n }
}

/** Compares the logits of two models on `x` (float32 [count, ...inputShape]). Leaves no tensors behind. */
export const compare = (source: Model, grown: Model, x: Float32Array, count: number): Comparison => {
  const input = tf.tensor(x, [count, ...source.spec.inputShape], "float32")
  try {
    const a = Forward.logits(source, input)
    try {
      const b = Forward.logits(grown, input)
      try {
        const [maxAbsDiff, maxAbsLogits] = tf.tidy(() => [tf.max(tf.abs(tf.sub(b, a))), tf.max(tf.abs(a))].map((t) => t.dataSync()[0]))
        return { count, maxAbsDiff, maxAbsLogits, relativeDiff: maxAbsDiff / Math.max(1, maxAbsLogits) }
      } finally {
        b.dispose()
      }
    } finally {
      a.dispose()
    }
  } finally {
    input.dispose()
  }
}
