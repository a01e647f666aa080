/**
 * Function preservation on the native backend: the TensorFlow implementation of @growlab/core/Preservation's
 * `Measurer` (forward passes of the source and the grown model on the core's probe; every tensor created here is
 * disposed here). The probe, the comparison rule and the tolerance are the core's: one definition for every growth
 * method.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as tf from "@tensorflow/tfjs"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import type { ModelSpec } from "@growlab/core/ModelSpec"
import * as Core from "@growlab/core/Preservation"
import * as Forward from "./Forward.js"

export { TOLERANCE, maxAbsDiff, type Comparison, type Preservation, type Probe } from "@growlab/core/Preservation"

/** The core's seeded random inputs for `spec` as a tensor [n, ...inputShape]. The caller owns it. */
export const randomInputs = (spec: ModelSpec, n: number, seed: number): tf.Tensor =>
  tf.tensor(Core.randomInputs(spec, n, seed), [n, ...spec.inputShape], "float32")

/** The first `n` examples of a dataset as float32 [n, ...shape] raw values. The caller owns the tensor. */
export const realInputs = (dataset: DatasetArtifact.Dataset, n: number): tf.Tensor => {
  const { values, count } = Core.realInputs(dataset, n)
  return tf.tensor(values, [count, ...dataset.shape], "float32")
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
export const compare = (source: ModelArtifact.Model, grown: ModelArtifact.Model, x: tf.Tensor): Core.Comparison =>
  Core.compareLogits(logitValues(source, x), logitValues(grown, x), x.shape[0])

/** Builds the probe, measures, disposes. An empty dataset counts as none (no real comparison). */
export const measureOn = (source: ModelArtifact.Model, grown: ModelArtifact.Model, probe: Core.Probe, tolerance = Core.TOLERANCE): Core.Preservation => {
  const random = randomInputs(source.spec, probe.size, probe.seed)
  const real = probe.dataset && DatasetArtifact.count(probe.dataset) > 0 ? realInputs(probe.dataset, probe.size) : undefined
  try {
    return Core.judge(compare(source, grown, random), real ? compare(source, grown, real) : null, tolerance)
  } finally {
    random.dispose()
    real?.dispose()
  }
}

/** The `Measurer` on TensorFlow. */
export const layer: Layer.Layer<Core.Measurer> = Layer.succeed(Core.Measurer, {
  measure: (source, grown, probe) => Effect.sync(() => measureOn(source, grown, probe))
})
