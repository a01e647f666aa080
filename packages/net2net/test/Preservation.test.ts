import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Backend from "@growlab/core/Backend"
import * as tf from "@tensorflow/tfjs"
import * as Net2Wider from "../src/Net2Wider.js"
import * as Preservation from "@growlab/train/Preservation"
import { cifarTest, cnnLarge1, cnnLarge2, cnnSmall, cnnWide96, randomModel } from "./fixtures.js"

Backend.ensureNativeSync()

const PROBE = 256

describe("function preservation of exact Net2WiderNet on the study's CNNs", () => {
  const small = randomModel(cnnSmall, 99)
  const cifar = cifarTest(PROBE)

  for (const [label, target] of [["small → large-1", cnnLarge1], ["small → large-2", cnnLarge2], ["small → 96 (×1.5)", cnnWide96]] as const) {
    it.effect(`${label}: max |Δlogits| ≤ 1e-5 (relative) on ${PROBE} random inputs and ${PROBE} real CIFAR-10 images`, () =>
      Effect.gen(function*() {
        const before = tf.memory().numTensors
        const w = yield* Net2Wider.widen(small, target, { seed: 5 })
        const p = Preservation.measureOn(small, w.model, { size: PROBE, seed: 1, dataset: cifar })
        assert.strictEqual(tf.memory().numTensors, before, "no tensor leaked")
        console.log(`[net2wider ${label}] max|Δ| random ${p.random.maxAbsDiff.toExponential(2)} (max|logits| ${p.random.maxAbsLogits.toFixed(2)}), ` +
          `real ${p.real!.maxAbsDiff.toExponential(2)} (max|logits| ${p.real!.maxAbsLogits.toFixed(2)}), relative ${p.relative.toExponential(2)}`)
        assert.strictEqual(p.random.count, PROBE)
        assert.strictEqual(p.real!.count, PROBE)
        assert.isTrue(p.preserved)
        assert.isAtMost(p.relative, 1e-5)
        // the comparison is meaningful: logits are not tiny, and the grown model really is larger
        assert.isAbove(p.random.maxAbsLogits, 0.5)
        assert.isAbove(p.real!.maxAbsLogits, 0.5)
        const conv2 = w.model.weights.find((x) => x.name === "conv2d_3/kernel")!
        assert.isAbove(conv2.shape[3], 64)
        assert.deepStrictEqual(w.model.spec, target)
      }))
  }

  it("a wrong widening is caught: dividing by the wrong count breaks preservation far beyond the tolerance", () => {
    const w = Effect.runSync(Net2Wider.widen(small, cnnLarge2, { seed: 5 }))
    const broken = { ...w.model, weights: w.model.weights.map((x) => x.name === "dense_8/kernel" ? { ...x, values: x.values.map((v) => v * 1.01) } : x) }
    const p = Preservation.measureOn(small, broken, { size: 32, seed: 1, dataset: cifar })
    assert.isFalse(p.preserved)
    assert.isAbove(p.relative, 1e-4)
  })

  it("maxAbsDiff is a max of absolute differences (no cancellation) and treats NaN as +Infinity", () => {
    assert.strictEqual(Preservation.maxAbsDiff([1, 2, 3], [1.5, 1.5, 3]), 0.5)
    assert.strictEqual(Preservation.maxAbsDiff([0, 0], [1, -1]), 1)
    assert.strictEqual(Preservation.maxAbsDiff([0, NaN, 0], [0, 0, 0]), Number.POSITIVE_INFINITY)
    assert.strictEqual(Preservation.maxAbsDiff([0], [0, 0]), Number.POSITIVE_INFINITY)
  })

  it("random probe inputs cover the raw pixel range for a Rescaling(1/255) model and are seeded", () => {
    const a = Preservation.randomInputs(cnnSmall, 4, 3), b = Preservation.randomInputs(cnnSmall, 4, 3)
    const va = a.dataSync(), vb = b.dataSync()
    assert.deepStrictEqual(a.shape, [4, 32, 32, 3])
    assert.deepStrictEqual(Array.from(va), Array.from(vb))
    assert.isAbove(Math.max(...va), 250)
    assert.isAtLeast(Math.min(...va), 0)
    tf.dispose([a, b])
  })
})
