/** Test fixtures: the original study's CNN specs, seeded random models, and real CIFAR-10 test images. */
import { openSync, readSync, closeSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Schema from "effect/Schema"
import type * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec, inferShapes } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"

export const spec = (encoded: unknown): ModelSpec => Schema.decodeUnknownSync(ModelSpec)(encoded)

/** The study's CNN family: conv 32 → conv `c2` → conv `c3` → dense `d` → dense 10 (experiment 2 tables). */
export const studyCnn = (name: string, c2: number, c3: number, d: number): ModelSpec =>
  spec({
    name,
    inputShape: [32, 32, 3],
    layers: [
      { _tag: "rescaling", scale: 1 / 255 },
      { _tag: "conv2d", filters: 32, kernelSize: 3, activation: "relu" },
      { _tag: "maxPooling2d", poolSize: 2 },
      { _tag: "conv2d", filters: c2, kernelSize: 3, activation: "relu" },
      { _tag: "maxPooling2d", poolSize: 2 },
      { _tag: "conv2d", filters: c3, kernelSize: 3, activation: "relu" },
      { _tag: "flatten" },
      { _tag: "dense", units: d, activation: "relu" },
      { _tag: "dense", units: 10 }
    ]
  })

export const cnnSmall = studyCnn("cnn-small", 64, 64, 64)
export const cnnLarge1 = studyCnn("cnn-large-1", 128, 64, 128)
export const cnnLarge2 = studyCnn("cnn-large-2", 128, 128, 128)
export const cnnWide96 = studyCnn("cnn-wide-96", 96, 96, 96)

/**
 * A model with seeded weights: He-normal kernels, biases N(0, 0.1²), BatchNormalization γ ∈ [0.5, 1.5),
 * β and moving mean N(0, 0.3²), moving variance ∈ [0.5, 1.5).
 */
export const randomModel = (s: ModelSpec, seed: number): ModelArtifact.Model => {
  const rng = Random.make(seed, 77)
  const weights = inferShapes(s).flatMap((l) => l.weights).map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1)
    const values = new Float32Array(n)
    const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1)
    for (let k = 0; k < n; k++) {
      switch (w.param) {
        case "kernel": values[k] = rng.normal() * Math.sqrt(2 / fanIn); break
        case "bias": values[k] = rng.normal() * 0.1; break
        case "gamma": case "movingVariance": values[k] = 0.5 + rng.next(); break
        case "beta": case "movingMean": values[k] = rng.normal() * 0.3; break
      }
    }
    return { name: w.name, layer: w.layer, param: w.param, shape: w.shape, values }
  })
  return { spec: s, weights, info: { init: "random", seed } }
}

export const weight = (m: ModelArtifact.Model, name: string): Float32Array => {
  const w = m.weights.find((x) => x.name === name)
  if (!w) throw new Error(`no weight ${name}`)
  return w.values
}

const here = path.dirname(fileURLToPath(import.meta.url))
export const dataDir = (): string => process.env.GROWLAB_DATA_DIR ?? path.resolve(here, "../../../../shared/datasets")

/** The first `n` records of a CIFAR-10 batch file, channels-last (the R, G, B planes transposed to HWC). */
export const cifarRecords = (batch: string, n: number): DatasetArtifact.Dataset => {
  const file = path.join(dataDir(), "cifar-10-batches-bin", batch)
  const record = 3073
  const bytes = Buffer.alloc(n * record)
  const fd = openSync(file, "r")
  try {
    const got = readSync(fd, bytes, 0, bytes.length, 0)
    if (got !== bytes.length) throw new Error(`${file}: read ${got} of ${bytes.length} bytes`)
  } finally {
    closeSync(fd)
  }
  const images = new Uint8Array(n * 3072)
  const labels = new Uint8Array(n)
  for (let r = 0; r < n; r++) {
    const at = r * record
    labels[r] = bytes[at]
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) images[r * 3072 + p * 3 + c] = bytes[at + 1 + c * 1024 + p]
    }
  }
  const classNames = readFileSync(path.join(dataDir(), "cifar-10-batches-bin", "batches.meta.txt"), "utf8").split("\n").filter((l) => l.trim() !== "")
  return {
    dataset: "cifar10", split: batch === "test_batch.bin" ? "test" : "train", shape: [32, 32, 3], classNames, images, labels,
    sourceIndex: Int32Array.from({ length: n }, (_, i) => i), sourceChecksum: `${batch} (first ${n} records)`,
    transforms: [{ kind: "head", size: n }]
  }
}

/** The first `n` CIFAR-10 test images. */
export const cifarTest = (n: number): DatasetArtifact.Dataset => cifarRecords("test_batch.bin", n)
