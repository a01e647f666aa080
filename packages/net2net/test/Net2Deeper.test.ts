import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Backend from "@growlab/core/Backend"
import { inferShapes } from "@growlab/core/ModelSpec"
import * as tf from "@tensorflow/tfjs"
import * as Net2Deeper from "../src/Net2Deeper.js"
import * as Preservation from "@growlab/train/Preservation"
import { cifarTest, cnnSmall, randomModel, spec, weight } from "./fixtures.js"

Backend.ensureNativeSync()

describe("Net2DeeperNet", () => {
  const small = randomModel(cnnSmall, 31)
  const cifar = cifarTest(128)
  const mlp = spec({
    inputShape: [12],
    layers: [
      { _tag: "dense", name: "h1", units: 16, activation: "relu" },
      { _tag: "dense", name: "h2", units: 8, activation: "tanh" },
      { _tag: "dense", name: "out", units: 3 }
    ]
  })
  const mlpModel = randomModel(mlp, 4)

  it("identity kernels: Dense eye(n); Conv2D centre tap (c, c) maps channel i to channel i", () => {
    assert.deepStrictEqual(Array.from(Net2Deeper.identityKernel("dense", 2)), [1, 0, 0, 1])
    const k = Net2Deeper.identityKernel("conv2d", 2, 3) // [3, 3, 2, 2]
    const ones = Array.from(k.entries()).filter(([, v]) => v !== 0).map(([i]) => i)
    // centre tap p = 1·3 + 1 = 4: entries (4·2 + i)·2 + i for i = 0, 1
    assert.deepStrictEqual(ones, [(4 * 2 + 0) * 2 + 0, (4 * 2 + 1) * 2 + 1])
  })

  it.effect("Conv2D identity after a ReLU conv (3×3 and 5×5, 'same') preserves the logits on random and real images", () =>
    Effect.gen(function*() {
      const before = tf.memory().numTensors
      for (const kernelSize of [3, 5]) {
        const d = yield* Net2Deeper.deepen(small, { after: "conv2d_3", kernelSize })
        assert.deepStrictEqual(d.inserted, { name: "conv2d_3_deeper", index: 4, kind: "conv2d", width: 64, kernelSize, activation: "relu" })
        const layer = d.model.spec.layers[4]
        assert.deepInclude(layer, { _tag: "conv2d", filters: 64, kernelSize, padding: "same", strides: 1, activation: "relu" })
        assert.deepStrictEqual(inferShapes(d.model.spec)[4].outputShape, [13, 13, 64])
        // old weights keep their names (layer names are frozen across the index shift)
        assert.deepStrictEqual(Array.from(weight(d.model, "dense_8/kernel")), Array.from(weight(small, "dense_8/kernel")))
        const p = Preservation.measureOn(small, d.model, { size: 128, seed: 2, dataset: cifar })
        console.log(`[net2deeper conv ${kernelSize}×${kernelSize} after conv2d_3] max|Δ| random ${p.random.maxAbsDiff.toExponential(2)}, real ${p.real!.maxAbsDiff.toExponential(2)}`)
        assert.isTrue(p.preserved)
        assert.isAtMost(p.relative, 1e-5)
      }
      assert.strictEqual(tf.memory().numTensors, before)
    }))

  it.effect("Dense identity after a ReLU Dense, and after max pooling of a ReLU (by index), preserve the logits", () =>
    Effect.gen(function*() {
      const dense = yield* Net2Deeper.deepen(small, { after: "dense_7" })
      assert.deepInclude(dense.inserted, { kind: "dense", width: 64, kernelSize: null, index: 8 })
      const p1 = Preservation.measureOn(small, dense.model, { size: 128, seed: 2, dataset: cifar })
      assert.isTrue(p1.preserved)
      const pooled = yield* Net2Deeper.deepen(small, { after: 4, kernelSize: 1 })
      assert.strictEqual(pooled.inserted.name, "maxPooling2d_4_deeper")
      const p2 = Preservation.measureOn(small, pooled.model, { size: 128, seed: 2, dataset: cifar })
      assert.isTrue(p2.preserved)
      console.log(`[net2deeper dense after dense_7] max|Δ| random ${p1.random.maxAbsDiff.toExponential(2)}, real ${p1.real!.maxAbsDiff.toExponential(2)}; [conv 1×1 after pool] ${p2.random.maxAbsDiff.toExponential(2)}, ${p2.real!.maxAbsDiff.toExponential(2)}`)
    }))

  it.effect("a linear identity preserves after any layer: after tanh, and after the linear output layer", () =>
    Effect.gen(function*() {
      for (const after of ["h2", "out"]) {
        const d = yield* Net2Deeper.deepen(mlpModel, { after, activation: "linear" })
        const p = Preservation.measureOn(mlpModel, d.model, { size: 64, seed: 9 })
        assert.isTrue(p.preserved, after)
        assert.isAbove(p.random.maxAbsLogits, 0.1)
      }
    }))

  it.effect("refuses the combinations identity cannot preserve, with the layer and the reason", () =>
    Effect.gen(function*() {
      const tanh = yield* Effect.flip(Net2Deeper.deepen(mlpModel, { after: "h1", activation: "tanh" }))
      assert.strictEqual(tanh._tag, "Net2NetError")
      assert.strictEqual(tanh.operation, "net2deeper")
      assert.include(tanh.reason, "tanh(x) ≠ x")
      for (const activation of ["sigmoid", "softmax"] as const) {
        const e = yield* Effect.flip(Net2Deeper.deepen(small, { after: "dense_7", activation }))
        assert.include(e.reason, `${activation}(x)`)
      }
      // ReLU after a tanh output or after the linear logits: x can be negative
      const afterTanh = yield* Effect.flip(Net2Deeper.deepen(mlpModel, { after: "h2", activation: "relu" }))
      assert.include(afterTanh.reason, "activation tanh")
      const afterLogits = yield* Effect.flip(Net2Deeper.deepen(small, { after: "dense_8" }))
      assert.strictEqual(afterLogits.layer, "dense_8")
      assert.include(afterLogits.reason, "activation linear")
      const even = yield* Effect.flip(Net2Deeper.deepen(small, { after: "conv2d_3", kernelSize: 4 }))
      assert.include(even.reason, "odd kernel size")
      const unknown = yield* Effect.flip(Net2Deeper.deepen(small, { after: "conv9" }))
      assert.include(unknown.reason, "unknown layer")
      assert.include(unknown.expected, "conv2d_5")
      const index = yield* Effect.flip(Net2Deeper.deepen(small, { after: 42 }))
      assert.include(index.reason, "unknown layer index")
      const flat = yield* Effect.flip(Net2Deeper.deepen(small, { after: "rescaling_0", activation: "relu" }))
      assert.include(flat.reason, "x can be negative")
    }))

  it("the non-negativity analysis: what ReLU(identity) may follow", () => {
    const names = (i: number) => Net2Deeper.nonNegativeAfter(cnnSmall, i)
    // rescaling(raw input), conv relu, pool, conv relu, pool, conv relu, flatten, dense relu, dense linear
    assert.deepStrictEqual(cnnSmall.layers.map((_, i) => names(i)), [false, true, true, true, true, true, true, true, false])
    const bn = spec({ inputShape: [4], layers: [{ _tag: "dense", units: 4, activation: "relu" }, { _tag: "batchNormalization" }, { _tag: "activation", activation: "sigmoid" }] })
    assert.deepStrictEqual([0, 1, 2].map((i) => Net2Deeper.nonNegativeAfter(bn, i)), [true, false, true])
  })

  it("a forced ReLU identity after the linear logits would indeed change them (the refusal is not over-cautious)", () => {
    const d = Effect.runSync(Net2Deeper.deepen(small, { after: "dense_8", activation: "linear" }))
    const forced = { ...d.model, spec: { ...d.model.spec, layers: d.model.spec.layers.map((l, i) => i === 9 ? { ...l, activation: "relu" as const } : l) } }
    const p = Preservation.measureOn(small, forced, { size: 64, seed: 2, dataset: cifar })
    assert.isFalse(p.preserved)
  })
})
