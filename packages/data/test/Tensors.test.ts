import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeContext } from "@effect/platform-node"
import * as path from "node:path"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as tf from "@tensorflow/tfjs"
import * as Loader from "../src/Loader.js"
import * as Tensors from "../src/Tensors.js"
import * as Transforms from "../src/Transforms.js"
import { DATA_DIR, tempDir } from "./fixtures.js"

Backend.ensureNativeSync()

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.strictEqual(a.length, b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
  return worst
}

describe("tensors", () => {
  it.effect("runs on the native TensorFlow backend", () =>
    Effect.sync(() => assert.strictEqual(tf.getBackend(), "tensorflow")))

  it.effect("toTensors: float32 [n, h, w, c] with the raw bytes (or scaled), int32 labels; two tensors, owned by the caller", () =>
    Effect.gen(function*() {
      const d = yield* Effect.flatMap(Loader.loadSplit("cifar10", "test", { dataDir: DATA_DIR }), (t) => Transforms.subset(t, 200, 0))
      const before = tf.memory().numTensors
      const raw = Tensors.toTensors(d)
      const scaled = Tensors.toTensors(d, { scale: 1 / 255 })
      assert.strictEqual(tf.memory().numTensors, before + 4)
      assert.deepStrictEqual(raw.x.shape, [200, 32, 32, 3])
      assert.deepStrictEqual([raw.x.dtype, raw.y.dtype], ["float32", "int32"])
      assert.strictEqual(maxAbsDiff(raw.x.dataSync(), d.images), 0)
      assert.isBelow(maxAbsDiff(scaled.x.dataSync(), Array.from(d.images, (v) => v / 255)), 1e-7)
      assert.deepStrictEqual(Array.from(raw.y.dataSync()), Array.from(d.labels))
      Tensors.disposeTensors(raw)
      Tensors.disposeTensors(scaled)
      assert.strictEqual(tf.memory().numTensors, before)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("full CIFAR-10 train from the Arrow artifact into one float tensor; batches sliced or gathered without leaks", () =>
    Effect.gen(function*() {
      const train = yield* Loader.loadSplit("cifar10", "train", { dataDir: DATA_DIR })
      const file = path.join(yield* tempDir, "train.arrow")
      yield* DatasetArtifact.write(file, train)
      const before = tf.memory().numTensors
      // (its time is measured by bench/decode.ts, not asserted here: a shared 2-core machine makes timings noisy)
      const { dataset, x, y } = yield* Tensors.loadTensors(file)
      const mean = tf.tidy(() => tf.mean(x).dataSync()[0]) // first use hands the values to TensorFlow
      assert.deepStrictEqual(x.shape, [50_000, 32, 32, 3])
      assert.strictEqual(y.shape[0], 50_000)
      let sum = 0
      for (let i = 0; i < dataset.images.length; i++) sum += dataset.images[i]
      assert.isBelow(Math.abs(mean - sum / dataset.images.length), 1e-3)
      // every image in its place: per-image sums are exact integers in float32
      const sums = tf.tidy(() => tf.sum(x, [1, 2, 3]).dataSync())
      let wrong = 0
      for (let i = 0; i < 50_000; i++) {
        let s = 0
        for (let j = i * 3072; j < (i + 1) * 3072; j++) s += dataset.images[j]
        if (sums[i] !== s) wrong++
      }
      assert.strictEqual(wrong, 0)

      const full = { x, y }
      const batch = Tensors.sliceBatch(full, 49_950, 128)
      assert.deepStrictEqual(batch.x.shape, [50, 32, 32, 3])
      assert.strictEqual(maxAbsDiff(batch.x.dataSync(), dataset.images.subarray(49_950 * 3072)), 0)
      assert.deepStrictEqual(Array.from(batch.y.dataSync()), Array.from(dataset.labels.subarray(49_950)))
      Tensors.disposeTensors(batch)
      assert.throws(() => Tensors.sliceBatch(full, 50_000, 10), /batch start/)

      const indices = [7, 49_999, 0, 12_345]
      const gathered = Tensors.gatherBatch(dataset, indices, { scale: 1 / 255 })
      assert.deepStrictEqual(gathered.x.shape, [4, 32, 32, 3])
      const want = indices.flatMap((p) => Array.from(dataset.images.subarray(p * 3072, (p + 1) * 3072), (v) => v / 255))
      assert.isBelow(maxAbsDiff(gathered.x.dataSync(), want), 1e-7)
      assert.deepStrictEqual(Array.from(gathered.y.dataSync()), indices.map((p) => dataset.labels[p]))
      Tensors.disposeTensors(gathered)
      assert.throws(() => Tensors.gatherBatch(dataset, [50_000]), /indices\[0\]/)

      Tensors.disposeTensors(full)
      assert.strictEqual(tf.memory().numTensors, before)
    }).pipe(Effect.provide(NodeContext.layer)))
})
