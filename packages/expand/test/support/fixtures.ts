/** Test fixtures: specs, models with trained-like random weights, and real CIFAR-10 test images. */
import { openSync, readSync, closeSync } from "node:fs"
import * as Schema from "effect/Schema"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import type { Model } from "@growlab/core/ModelArtifact"
import { ModelSpec, inferShapes, type ModelSpecEncoded } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import { tf } from "@growlab/core/Backend"
import * as Forward from "@growlab/train/Forward"

export const spec = (encoded: ModelSpecEncoded): ModelSpec => Schema.decodeUnknownSync(ModelSpec)(encoded)

/** Dense MLP on a [features] input; the last layer is linear. */
export const mlp = (inputs: number, units: ReadonlyArray<number>): ModelSpec =>
  spec({ inputShape: [inputs], layers: units.map((u, i) => ({ _tag: "dense" as const, units: u, activation: i === units.length - 1 ? "linear" as const : "relu" as const })) })

/** The study's CNN with conv2 / conv3 / dense widths (small = 64, 64, 64). */
export const cnn = (c2: number, c3: number, d: number): ModelSpec =>
  spec({
    inputShape: [32, 32, 3],
    layers: [
      { _tag: "rescaling", scale: 1 / 255 },
      { _tag: "conv2d", filters: 32, kernelSize: 3, activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 },
      { _tag: "conv2d", filters: c2, kernelSize: 3, activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 },
      { _tag: "conv2d", filters: c3, kernelSize: 3, activation: "relu" }, { _tag: "flatten" },
      { _tag: "dense", units: d, activation: "relu" }, { _tag: "dense", units: 10 }
    ]
  })

/**
 * Weights of a trained network's scale: He-uniform kernels (activations keep their scale through the ReLUs) and
 * biases ~ U(-0.1, 0.1) so that they matter. `kernelShift` adds shift·limit to every kernel entry (a non-centred
 * kernel, for noise statistics; it compounds through ReLUs, so keep it 0 for deep models).
 */
export const randomModel = (s: ModelSpec, seed: number, kernelShift = 0): Model => {
  const rng = Random.make(seed)
  const weights = inferShapes(s).flatMap((l) => l.weights).map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1)
    const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1)
    const limit = w.param === "kernel" ? Math.sqrt(6 / fanIn) : 0.1
    const shift = w.param === "kernel" ? kernelShift * limit : 0
    return { ...w, values: Float32Array.from({ length: n }, () => shift + (2 * rng.next() - 1) * limit) }
  })
  return { spec: s, weights, info: { fixture: "randomModel", seed } }
}

/** A model whose weights are given by name (each `<layer>/<param>` of the spec). */
export const modelOf = (s: ModelSpec, values: Readonly<Record<string, ReadonlyArray<number>>>): Model => ({
  spec: s,
  info: {},
  weights: inferShapes(s).flatMap((l) => l.weights).map((w) => {
    const v = values[w.name]
    if (!v) throw new Error(`fixture: no values for ${w.name}`)
    if (v.length !== w.shape.reduce((a, b) => a * b, 1)) throw new Error(`fixture: ${w.name} needs ${w.shape.join("x")} values`)
    return { ...w, values: Float32Array.from(v) }
  })
})

export const weight = (m: Model, name: string): Float32Array => {
  const w = m.weights.find((x) => x.name === name)
  if (!w) throw new Error(`no weight ${name} (have ${m.weights.map((x) => x.name).join(", ")})`)
  return w.values
}

export const CIFAR_DIR = process.env.GROWLAB_CIFAR10_DIR ?? "/work/shared/datasets/cifar-10-batches-bin"

/** The first `n` CIFAR-10 test images as a dataset (records: label byte, R, G, B planes; transposed to HWC). */
export const cifarTest = (n: number): Dataset => {
  const record = 1 + 3072
  const bytes = Buffer.alloc(n * record)
  const fd = openSync(`${CIFAR_DIR}/test_batch.bin`, "r")
  try {
    readSync(fd, bytes, 0, bytes.length, 0)
  } finally {
    closeSync(fd)
  }
  const images = new Uint8Array(n * 3072)
  const labels = new Uint8Array(n)
  for (let e = 0; e < n; e++) {
    labels[e] = bytes[e * record]
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) images[e * 3072 + p * 3 + c] = bytes[e * record + 1 + c * 1024 + p]
    }
  }
  return {
    dataset: "cifar10", split: "test", shape: [32, 32, 3],
    classNames: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    images, labels, sourceIndex: Int32Array.from({ length: n }, (_, i) => i), sourceChecksum: "test_batch.bin", transforms: []
  }
}

/** Rounds like a Float32Array store. */
export const f32 = (xs: ReadonlyArray<number>): Array<number> => Array.from(Float32Array.from(xs))

/** Gradients of the mean softmax cross-entropy on `n` real CIFAR-10 test images, by weight name. */
export const gradients = (model: Model, n = 16): Map<string, Float32Array> => {
  const d = cifarTest(n)
  const params = Forward.paramsOf(model)
  const names = [...params.keys()]
  try {
    const values = tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(d.images), [n, 32, 32, 3])
      const y = tf.oneHot(tf.tensor1d(Array.from(d.labels), "int32"), 10)
      const loss = (...ts: Array<tf.Tensor>) => tf.losses.softmaxCrossEntropy(y, Forward.apply(model.spec, new Map(names.map((k, i) => [k, ts[i]])), x)) as tf.Scalar
      return tf.grads(loss)(names.map((k) => params.get(k)!)).map((g) => g.dataSync() as Float32Array)
    })
    return new Map(names.map((k, i) => [k, values[i]]))
  } finally {
    Forward.disposeParams(params)
  }
}
