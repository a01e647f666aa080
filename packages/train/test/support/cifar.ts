/**
 * A tiny reader of the CIFAR-10 binary batches (1 label byte + 3072 planar RGB bytes per record) into the core
 * Dataset shape (channels-last uint8), for tests and benchmarks of this package. The pipeline's dataset stage
 * (packages/data) is the real loader.
 */
import { readFileSync, statSync } from "node:fs"
import type { Dataset } from "@growlab/core/DatasetArtifact"

export const CIFAR_DIR = process.env.GROWLAB_CIFAR_DIR ?? "/work/shared/datasets/cifar-10-batches-bin"
const RECORD = 1 + 3072

export const classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

/** Reads the first `limit` records (default all) of the files, in order (planar RGB → channels-last HWC). */
export const readCifar = (files: ReadonlyArray<string>, options: { readonly limit?: number; readonly split?: string } = {}): Dataset => {
  const total = files.reduce((n, f) => n + statSync(`${CIFAR_DIR}/${f}`).size / RECORD, 0)
  const n = Math.min(options.limit ?? total, total)
  const images = new Uint8Array(n * 3072)
  const labels = new Uint8Array(n)
  const sourceIndex = new Int32Array(n)
  let i = 0
  for (const file of files) {
    if (i >= n) break
    const buf = readFileSync(`${CIFAR_DIR}/${file}`)
    for (let r = 0; r < buf.length / RECORD && i < n; r++, i++) {
      const base = r * RECORD
      labels[i] = buf[base]
      sourceIndex[i] = i
      const out = i * 3072
      for (let p = 0; p < 1024; p++) {
        images[out + p * 3] = buf[base + 1 + p]
        images[out + p * 3 + 1] = buf[base + 1 + 1024 + p]
        images[out + p * 3 + 2] = buf[base + 1 + 2048 + p]
      }
    }
  }
  return {
    dataset: "cifar10", split: options.split ?? "train", shape: [32, 32, 3], classNames, images, labels, sourceIndex,
    sourceChecksum: "test-reader", transforms: options.limit !== undefined ? [{ kind: "head", count: n }] : []
  }
}

export const cifarTrain = (limit?: number): Dataset =>
  readCifar(["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"], { limit, split: "train" })

export const cifarTest = (limit?: number): Dataset => readCifar(["test_batch.bin"], { limit, split: "test" })
