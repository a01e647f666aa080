/**
 * From a `Dataset` (uint8, channels-last, one contiguous buffer) to tfjs tensors for training.
 *
 * Pixel scaling: by default (`scale: 1`) x holds the raw 0..255 values as float32, and the model scales them with its
 * first layer (ModelSpec `{ _tag: "rescaling", scale: 1 / 255 }`, as in the original study). Pass `scale: 1 / 255`
 * for a model without a Rescaling layer. The artifacts themselves always store bytes.
 *
 * Ownership: every tensor returned here is new and belongs to the caller, who disposes it (`disposeTensors`).
 * Memory: `toTensors` makes one float32 copy of the images (4 bytes per pixel; CIFAR-10 train: 614 MB), which
 * TensorFlow uses in place when it is aligned (else copies once, on first use). For memory bounded by the batch
 * size, keep the `Dataset` (1 byte per pixel) and build each batch with `gatherBatch` (only the batch is converted);
 * `sliceBatch` cuts batches off full tensors without re-creating them.
 *
 * These helpers are synchronous (they run inside training loops and `tf.tidy`); bad batch bounds throw a
 * `BatchRangeError`, and a non-native backend throws core's `BackendError` (unless GROWLAB_ALLOW_JS_BACKEND=1).
 */
import * as Effect from "effect/Effect"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import { BatchRangeError } from "./Errors.js"

export interface Tensors {
  /** float32 [n, ...shape]. */
  readonly x: tf.Tensor
  /** int32 [n] class indices. */
  readonly y: tf.Tensor1D
}

export interface TensorOptions {
  /** Multiplies every pixel byte (default 1: values 0..255; 1 / 255 gives [0, 1]). */
  readonly scale?: number
}

/**
 * One pass over the bytes into float32 (into `out` when given). An array handed to `tf.tensor` must not be written
 * afterwards: tfjs-node may let TensorFlow use its memory in place.
 */
export const toFloat32 = (bytes: Uint8Array, scale: number = 1, out: Float32Array = new Float32Array(bytes.length)): Float32Array => {
  if (scale === 1) {
    out.set(bytes) // V8's built-in uint8 -> float32 conversion: ~2x the speed of a JS loop
  } else {
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] * scale
  }
  return out
}

const labelsInt32 = (labels: Uint8Array): Int32Array => new Int32Array(labels)

/**
 * The whole dataset as `{ x: float32 [n, ...shape], y: int32 [n] }` (two new tensors, owned by the caller): one
 * Float32Array filled in one pass over the contiguous bytes. tfjs-node hands that array to TensorFlow without
 * another copy when it is suitably aligned (TF_NewTensor over the JS memory), so nothing else may write to it: it
 * is never exposed.
 */
export const toTensors = (d: DatasetArtifact.Dataset, options: TensorOptions = {}): Tensors => {
  Backend.ensureNativeSync()
  const n = DatasetArtifact.count(d)
  const x = tf.tensor(toFloat32(d.images, options.scale ?? 1), [n, ...d.shape], "float32")
  const y = tf.tensor1d(labelsInt32(d.labels), "int32")
  return { x, y }
}

/** Reads a dataset artifact (Arrow) and converts it: `{ dataset, x, y }`. */
export const loadTensors = (file: string, options: TensorOptions = {}) =>
  Effect.zipRight(Backend.ensureNative, Effect.flatMap(DatasetArtifact.read(file), (dataset) =>
    Effect.sync(() => ({ dataset, ...toTensors(dataset, options) }))))

/**
 * Rows [start, start + size) of full tensors, clipped at the end (the last batch may be shorter).
 * Two new tensors (TensorFlow slices; the full tensors are not re-created).
 */
export const sliceBatch = (t: Tensors, start: number, size: number): Tensors => {
  const n = t.x.shape[0]
  if (!Number.isInteger(start) || start < 0 || start >= n) throw new BatchRangeError({ field: "start", expected: `an integer in [0, ${n})`, actual: String(start) })
  if (!Number.isInteger(size) || size < 1) throw new BatchRangeError({ field: "size", expected: "a positive integer", actual: String(size) })
  const len = Math.min(size, n - start)
  const rank = t.x.shape.length
  return {
    x: tf.slice(t.x, [start, ...new Array<number>(rank - 1).fill(0)], [len, ...new Array<number>(rank - 1).fill(-1)]),
    y: tf.slice(t.y, [start], [len])
  }
}

/**
 * The examples at `indices` (e.g. a shuffled slice of a permutation), converted straight from the uint8 buffer:
 * only the batch is ever float (memory bounded by the batch size). Two new tensors.
 */
export const gatherBatch = (d: DatasetArtifact.Dataset, indices: ArrayLike<number>, options: TensorOptions = {}): Tensors => {
  Backend.ensureNativeSync()
  const n = DatasetArtifact.count(d)
  const width = DatasetArtifact.exampleSize(d)
  const b = indices.length
  if (b < 1) throw new BatchRangeError({ field: "indices", expected: "at least one index", actual: "none" })
  const scale = options.scale ?? 1
  // a fresh array per batch: TensorFlow may keep using this memory for the tensor's lifetime
  const values = new Float32Array(b * width)
  const labels = new Int32Array(b)
  for (let i = 0; i < b; i++) {
    const p = indices[i]
    if (!Number.isInteger(p) || p < 0 || p >= n) throw new BatchRangeError({ field: `indices[${i}]`, expected: `an integer in [0, ${n})`, actual: String(p) })
    toFloat32(d.images.subarray(p * width, (p + 1) * width), scale, values.subarray(i * width, (i + 1) * width))
    labels[i] = d.labels[p]
  }
  return { x: tf.tensor(values, [b, ...d.shape], "float32"), y: tf.tensor1d(labels, "int32") }
}

/** Disposes both tensors. */
export const disposeTensors = (t: Tensors): void => {
  t.x.dispose()
  t.y.dispose()
}
