/**
 * Function preservation for the expand stage: its probes (seeded uniform inputs, the first examples of a dataset) as
 * flat arrays, measured with the shared rule of @growlab/train/Preservation. Inputs are raw pixel values (0..255, as
 * the dataset artifacts store them; the specs begin with their own Rescaling).
 */
import * as tf from "@tensorflow/tfjs"
import * as Random from "@growlab/core/Random"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import type { Model } from "@growlab/core/ModelArtifact"
import * as Shared from "@growlab/train/Preservation"
import type { Comparison } from "@growlab/train/Preservation"

export { TOLERANCE, type Comparison } from "@growlab/train/Preservation"

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
    return Shared.compare(source, grown, input)
  } finally {
    input.dispose()
  }
}
