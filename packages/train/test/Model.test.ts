import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { countParams, forwardFlops, inferShapes } from "@growlab/core/ModelSpec"
import * as Forward from "../src/Forward.js"
import * as Init from "../src/Init.js"
import * as Layers from "../src/Layers.js"
import * as Zoo from "../src/Zoo.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTrain } from "./support/cifar.js"
import { maxAbs, maxAbsDiff, sameBits } from "./support/compare.js"

Backend.ensureNativeSync()

describe("model specs", () => {
  it("infers the study's shapes and parameter counts", () => {
    assert.strictEqual(countParams(Zoo.cnnSmall), 122_570)
    assert.strictEqual(countParams(Zoo.cnnLarge2), 449_034)
    // large-1: conv 896 + 36,992 + 73,792, dense 1024·128 + 128, 128·10 + 10
    assert.strictEqual(countParams(Zoo.cnnLarge1), 896 + 36_992 + 73_792 + 131_200 + 1_290)
    assert.strictEqual(countParams(Zoo.mlpSmall), 1024 * 64 + 64 + 64 * 128 + 128 + 128 * 10 + 10)
    assert.strictEqual(countParams(Zoo.mlpLarge), 1024 * 128 + 128 + 128 * 256 + 256 + 256 * 10 + 10)
    assert.deepStrictEqual(inferShapes(Zoo.cnnSmall).map((l) => l.outputShape), [
      [32, 32, 3], [30, 30, 32], [15, 15, 32], [13, 13, 64], [6, 6, 64], [4, 4, 64], [1024], [64], [10]
    ])
    assert.deepStrictEqual(inferShapes(Zoo.cnnLarge2).map((l) => l.outputShape).slice(3, 7), [[13, 13, 128], [6, 6, 128], [4, 4, 128], [2048]])
    // ≈ 27.3 MFLOP per image to train (3 × forward), as in ENVIRONMENT.md
    assert.closeTo(3 * forwardFlops(Zoo.cnnSmall) / 1e6, 27.3, 0.05)
    assert.closeTo(3 * forwardFlops(Zoo.cnnLarge2) / 1e6, 57.8, 0.05)
  })

  it("a spec's tf.LayersModel has the same parameters, in the same order and shapes", () => {
    for (const spec of [Zoo.cnnSmall, Zoo.mlpSmall]) {
      const m = Layers.build(spec)
      assert.strictEqual(m.countParams(), countParams(spec))
      assert.deepStrictEqual(m.weights.map((w) => w.shape), inferShapes(spec).flatMap((l) => l.weights.map((w) => [...w.shape])))
      m.dispose()
    }
  })
})

describe("init", () => {
  it("is Glorot-uniform kernels and zero biases, deterministic for a seed", () => {
    const a = Init.initialize(Zoo.cnnSmall, 3)
    const b = Init.initialize(Zoo.cnnSmall, 3)
    const c = Init.initialize(Zoo.cnnSmall, 4)
    assert.isTrue(a.weights.every((w, i) => sameBits(w.values, b.weights[i].values)))
    assert.isFalse(sameBits(a.weights[0].values, c.weights[0].values))
    for (const w of a.weights) {
      if (w.param === "bias") {
        assert.isTrue(w.values.every((v) => v === 0), w.name)
        continue
      }
      const limit = Init.glorotLimit(w.shape)
      let sum = 0
      let sq = 0
      let max = 0
      for (const v of w.values) {
        max = Math.max(max, Math.abs(v))
        sum += v
        sq += v * v
      }
      const n = w.values.length
      assert.isAtMost(max, limit, w.name)
      assert.isAbove(max, 0.9 * limit, w.name)
      // U(-l, l): mean 0, variance l²/3
      assert.closeTo(sum / n, 0, 4 * limit / Math.sqrt(3 * n), w.name)
      assert.closeTo(sq / n, limit * limit / 3, 0.15 * limit * limit / 3, w.name)
    }
    // conv2d_1 kernel [3, 3, 32, 64]: l = sqrt(6 / (9·32 + 9·64))
    assert.closeTo(Init.glorotLimit([3, 3, 32, 64]), Math.sqrt(6 / (288 + 576)), 1e-12)
  })
})

describe("forward pass and artifacts", () => {
  it.scoped("a model artifact round-trips to a model with bit-identical logits", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-train-" })
      const model = Init.initialize(Zoo.cnnSmall, 11)
      yield* ModelArtifact.write(`${dir}/model.arrow`, model)
      const back = yield* ModelArtifact.read(`${dir}/model.arrow`)
      const { x, y } = toTensors(cifarTrain(64))
      for (const kernels of ["tfjs", "native"] as const) {
        const a = Forward.logits(model, x, 256, { kernels })
        const b = Forward.logits(back, x, 256, { kernels })
        assert.isTrue(sameBits(a.dataSync() as Float32Array, b.dataSync() as Float32Array), kernels)
        tf.dispose([a, b])
      }
      tf.dispose([x, y])
    }).pipe(Effect.provide(NodeContext.layer)))

  it("native kernels, tfjs kernels and the tf.LayersModel compute the same logits", () => {
    const model = Init.initialize(Zoo.cnnLarge2, 5)
    const { x, y } = toTensors(cifarTrain(64))
    const compare = () => {
      const tfjs = Forward.logits(model, x, 256, { kernels: "tfjs" })
      const native = Forward.logits(model, x, 256, { kernels: "native" })
      const layers = Layers.fromArtifact(model)
      const keras = layers.predict(x) as tf.Tensor
      const scale = maxAbs(tfjs)
      assert.isAbove(scale, 0)
      assert.isBelow(maxAbsDiff(native, tfjs), 1e-5 * scale)
      assert.isBelow(maxAbsDiff(keras, tfjs), 1e-5 * scale)
      tf.dispose([tfjs, native, keras])
      layers.dispose()
    }
    compare() // the first call creates tfjs-layers' cached constants
    const before = tf.memory().numTensors
    compare()
    assert.strictEqual(tf.memory().numTensors, before)
    tf.dispose([x, y])
  })
})
