/**
 * Test fixtures: the study's small CNN, a CNN grown from it by growlab's own operator, an MLP, a CNN using every
 * layer kind; weights of a trained network's scale; real CIFAR-10 test images; the Python venv that loads exports.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Loader from "@growlab/data/Loader"
import type { Model } from "@growlab/core/ModelArtifact"
import { ModelSpec, inferShapes, type ModelSpecEncoded } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import * as Expander from "@growlab/expand/Expander"

export const spec = (encoded: ModelSpecEncoded): ModelSpec => Schema.decodeUnknownSync(ModelSpec)(encoded)

const conv = (filters: number) => ({ _tag: "conv2d", filters, kernelSize: 3, activation: "relu" }) as const
const pool = { _tag: "maxPooling2d", poolSize: 2 } as const

/** The study's CNN with conv2 / conv3 / dense widths (small = 64, 64, 64; large-2 = 128, 128, 128). */
export const cnn = (c2: number, c3: number, d: number): ModelSpec =>
  spec({
    name: `cnn-${c2}-${c3}-${d}`,
    inputShape: [32, 32, 3],
    layers: [
      { _tag: "rescaling", scale: 1 / 255 }, conv(32), pool, conv(c2), pool, conv(c3), { _tag: "flatten" },
      { _tag: "dense", units: d, activation: "relu" }, { _tag: "dense", units: 10 }
    ]
  })

/** An MLP on CIFAR-10 images: rescale, flatten [32, 32, 3], 64 → 128 → 10. */
export const mlp = spec({
  name: "mlp",
  inputShape: [32, 32, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 255 }, { _tag: "flatten" },
    { _tag: "dense", units: 64, activation: "relu" }, { _tag: "dense", units: 128, activation: "relu" }, { _tag: "dense", units: 10 }
  ]
})

/** Every layer kind and option the exports map: offsets, strided and even-kernel `same` padding, BN on maps and features. */
export const everyLayer = spec({
  name: "every-layer",
  inputShape: [32, 32, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 127.5, offset: -1 },
    { _tag: "conv2d", filters: 16, kernelSize: 3, strides: 2, padding: "same", activation: "tanh" },
    { _tag: "batchNormalization", epsilon: 1e-3 },
    { _tag: "activation", activation: "relu" },
    { _tag: "maxPooling2d", poolSize: 3, strides: 2 },
    { _tag: "dropout", rate: 0.25 },
    { _tag: "conv2d", name: "even", filters: 8, kernelSize: 2, padding: "same", activation: "sigmoid", useBias: false },
    { _tag: "flatten" },
    { _tag: "batchNormalization", epsilon: 1e-2 },
    { _tag: "dense", units: 32, activation: "relu" },
    { _tag: "dense", units: 10, activation: "softmax" }
  ]
})

/**
 * Weights of a trained network's scale: He-uniform kernels, biases ~ U(-0.1, 0.1), BatchNormalization gamma ~
 * U(0.5, 1.5), beta ~ U(-0.2, 0.2), moving mean ~ U(-0.3, 0.3), moving variance ~ U(0.5, 1.5).
 */
export const randomModel = (s: ModelSpec, seed: number): Model => {
  const rng = Random.make(seed)
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.next()
  const weights = inferShapes(s).flatMap((l) => l.weights).map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1)
    const limit = Math.sqrt(6 / w.shape.slice(0, -1).reduce((a, b) => a * b, 1))
    const draw: Record<typeof w.param, () => number> = {
      kernel: () => u(-limit, limit), bias: () => u(-0.1, 0.1), gamma: () => u(0.5, 1.5), beta: () => u(-0.2, 0.2),
      movingMean: () => u(-0.3, 0.3), movingVariance: () => u(0.5, 1.5)
    }
    return { ...w, values: Float32Array.from({ length: n }, draw[w.param]) }
  })
  return { spec: s, weights, info: { fixture: "randomModel", seed } }
}

/** The small CNN grown into large-2 by growlab's noisy-diagonal operator (noise at 20 dB SNR breaks the symmetry). */
export const grownModel = (small: Model) =>
  Effect.map(
    Expander.grow(small, cnn(128, 128, 128), { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 20 }, seed: 7 }),
    (e) => e.model
  )

/**
 * The first `n` CIFAR-10 test images as float32 [n, 32, 32, 3] pixel values 0..255 (the models rescale), from
 * GROWLAB_DATA_DIR, else the repository's `../shared/datasets` (as the other packages' tests).
 */
export const cifarImages = (n: number) =>
  Effect.map(Loader.loadSplit("cifar10", "test", { dataDir: process.env.GROWLAB_DATA_DIR ?? "../shared/datasets", download: false, quiet: true }), (d) => ({
    shape: [n, ...d.shape] as const,
    values: Float32Array.from(d.images.subarray(0, n * d.shape.reduce((a, b) => a * b, 1)))
  }))

/** The venv's python (GROWLAB_VENV, else <repo>/.growlab/venv), when it exists. */
export const venvPython = (): string | undefined => {
  const venv = process.env.GROWLAB_VENV ?? resolve(import.meta.dirname, "../../../../.growlab/venv")
  const py = resolve(venv, "bin/python")
  return existsSync(py) ? py : undefined
}

export const inCi = process.env.CI === "true"
