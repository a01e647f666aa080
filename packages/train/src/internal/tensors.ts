/**
 * Dataset artifact → training tensors, via @growlab/data's `toTensors` (x float32 [n, ...shape] holding the raw
 * 0–255 pixel values, which the specs rescale; y int32 [n]), reshaped to a model's input shape when the dataset's
 * per-example shape differs but has the same size (e.g. [32, 32, 1] images for an MLP on [1024]).
 */
import * as tf from "@tensorflow/tfjs"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import * as DataTensors from "@growlab/data/Tensors"

export interface Tensors {
  readonly x: tf.Tensor
  readonly y: tf.Tensor1D
}

export const toTensors = (d: Dataset, shape: ReadonlyArray<number> = d.shape): Tensors => {
  const t = DataTensors.toTensors(d)
  if (shape.join(",") === d.shape.join(",")) return t
  const x = tf.reshape(t.x, [d.labels.length, ...shape])
  t.x.dispose()
  return { x, y: t.y }
}
