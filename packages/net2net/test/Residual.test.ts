/** Growth of residual networks: residual-deeper (ResNet-8 → 14 → 20) and Net2WiderNet across add layers. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Backend from "@growlab/core/Backend"
import { resnet } from "@growlab/core/ResNet"
import * as tf from "@tensorflow/tfjs"
import * as Forward from "@growlab/train/Forward"
import * as Preservation from "@growlab/train/Preservation"
import * as Net2Wider from "../src/Net2Wider.js"
import * as ResidualDeeper from "../src/ResidualDeeper.js"
import { cifarTest, randomModel, spec, weight } from "./fixtures.js"

Backend.ensureNativeSync()

const widths = [8, 16, 32] as const
const resnetOf = (blocks: number, w: readonly [number, number, number] = widths) => spec(resnet({ blocks, widths: w }))

/** max |Δ| of the training-mode forward (batch statistics) of two models on `x`. */
const trainingModeDiff = (a: Parameters<typeof Forward.paramsOf>[0], b: Parameters<typeof Forward.paramsOf>[0], x: tf.Tensor): number => {
  const pa = Forward.paramsOf(a), pb = Forward.paramsOf(b)
  try {
    return tf.tidy(() => tf.max(tf.abs(tf.sub(Forward.apply(a.spec, pa, x, { training: true }), Forward.apply(b.spec, pb, x, { training: true })))).dataSync()[0])
  } finally {
    Forward.disposeParams(pa)
    Forward.disposeParams(pb)
  }
}

describe("residual Net2DeeperNet (ResNet-8 → 14 → 20)", () => {
  const small = randomModel(resnetOf(1), 5)
  const cifar = cifarTest(128)

  it.effect("adds zero-branch blocks: the logits stay the same on random and real images, in inference and training mode", () =>
    Effect.gen(function*() {
      const before = tf.memory().numTensors
      for (const [from, blocks] of [[small, 2], [small, 3]] as const) {
        for (const zero of ["gamma", "kernel"] as const) {
          const d = yield* ResidualDeeper.deepen(from, resnetOf(blocks), { zero, seed: 3 })
          assert.deepStrictEqual(d.breaks, [])
          assert.strictEqual(d.added.length, 3 * (blocks - 1) * 7)
          assert.strictEqual(d.zeroed.length, 3 * (blocks - 1))
          for (const name of d.zeroed) {
            const param = zero === "gamma" ? "gamma" : "kernel"
            assert.isTrue(weight(d.model, `${name}/${param}`).every((v) => v === 0), `${name}/${param} is zero`)
          }
          // source layers keep their weights under their names
          assert.deepStrictEqual(Array.from(weight(d.model, "s2b1_conv1/kernel")), Array.from(weight(small, "s2b1_conv1/kernel")))
          const p = Preservation.measureOn(small, d.model, { size: 64, seed: 2, dataset: cifar })
          const x = tf.randomUniform([32, 32, 32, 3], 0, 255, "float32", 7)
          const training = trainingModeDiff(small, d.model, x)
          x.dispose()
          console.log(`[residual-deeper ResNet-8 → ${6 * blocks + 2}, zero ${zero}] max|Δ| random ${p.random.maxAbsDiff.toExponential(2)}, real ${p.real!.maxAbsDiff.toExponential(2)}, training mode ${training.toExponential(2)}`)
          assert.isTrue(p.preserved)
          assert.isAtMost(p.random.maxAbsDiff, 1e-5)
          assert.isAtMost(p.real!.maxAbsDiff, 1e-5)
          assert.isAtMost(training, 1e-5)
        }
      }
      assert.strictEqual(tf.memory().numTensors, before)
    }))

  it.effect("the new branches are not stuck: gamma-zeroed blocks get a gamma gradient", () =>
    Effect.gen(function*() {
      const d = yield* ResidualDeeper.deepen(small, resnetOf(2), { seed: 1 })
      const params = Forward.paramsOf(d.model)
      const x = tf.randomUniform([16, 32, 32, 3], 0, 255, "float32", 1)
      const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), "int32")
      const gamma = params.get("s1b2_bn2/gamma")!
      const g = tf.grad((gm: tf.Tensor) => {
        const p = new Map(params)
        p.set("s1b2_bn2/gamma", gm)
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), Forward.apply(d.model.spec, p, x, { training: true }))
      })(gamma)
      assert.isAbove(tf.max(tf.abs(g)).dataSync()[0], 0)
      tf.dispose([g, x, y])
      Forward.disposeParams(params)
    }))

  it.effect("refuses targets that drop or widen source layers, and says why", () =>
    Effect.gen(function*() {
      const narrower = yield* Effect.flip(ResidualDeeper.deepen(randomModel(resnetOf(2), 1), resnetOf(1), { seed: 1 }))
      assert.include(narrower.message, "s1b2_conv1")
      assert.include(narrower.message, "keeps every source layer")
      const wider = yield* Effect.flip(ResidualDeeper.deepen(small, resnetOf(2, [16, 16, 32]), { seed: 1 }))
      assert.include(wider.message, "stem")
      assert.include(wider.message, "weight shapes differ")
    }))

  it.effect("a new layer outside a zero branch is a break, not a silent claim", () =>
    Effect.gen(function*() {
      const base = resnet({ blocks: 1, widths })
      const extra = spec({ ...base, layers: [...base.layers.slice(0, -1), { _tag: "dense", name: "extra", units: 32, activation: "relu" }, base.layers.at(-1)!] })
      const d = yield* ResidualDeeper.deepen(small, extra, { seed: 1 })
      assert.deepStrictEqual(d.breaks, ["extra: a new layer outside a zero-initialised residual branch"])
    }))
})

describe("Net2WiderNet on a residual network", () => {
  const small = randomModel(resnetOf(1), 8)
  const cifar = cifarTest(64)

  it.effect("layers meeting in an add share one mapping; ResNet-8 ×2 and one stage ×2 keep the logits (inference and training mode)", () =>
    Effect.gen(function*() {
      for (const target of [resnetOf(1, [16, 32, 64]), resnetOf(1, [8, 24, 32])]) {
        const w = yield* Net2Wider.widen(small, target, { seed: 4 })
        // the stem and stage 1's block output meet in s1b1_add: one mapping; stage 2's conv2 and projection too
        assert.deepStrictEqual(Array.from(w.mappings["s2b1_conv2"]), Array.from(w.mappings["s2b1_proj"]))
        if (w.mappings["stem"]) assert.deepStrictEqual(Array.from(w.mappings["stem"]), Array.from(w.mappings["s1b1_conv2"]))
        const p = Preservation.measureOn(small, w.model, { size: 64, seed: 2, dataset: cifar })
        const x = tf.randomUniform([32, 32, 32, 3], 0, 255, "float32", 7)
        const training = trainingModeDiff(small, w.model, x)
        x.dispose()
        console.log(`[net2wider ResNet-8 → ${target.name}] max|Δ| random ${p.random.maxAbsDiff.toExponential(2)}, real ${p.real!.maxAbsDiff.toExponential(2)}, training mode ${training.toExponential(2)}`)
        assert.isTrue(p.preserved)
        assert.isAtMost(p.random.relativeDiff, 1e-5)
        assert.isAtMost(p.real!.relativeDiff, 1e-5)
        assert.isAtMost(training, 1e-4)
      }
    }))

  it.effect("fixed mappings that disagree across an add are refused", () =>
    Effect.gen(function*() {
      const target = resnetOf(1, [8, 32, 32])
      const g = Array.from({ length: 32 }, (_, j) => j % 16)
      const h = Array.from({ length: 32 }, (_, j) => (j < 16 ? j : 15 - (j - 16)))
      const e = yield* Effect.flip(Net2Wider.widen(small, target, { seed: 1, mappings: { s2b1_conv1: g, s2b1_conv2: g, s2b1_proj: h } }))
      assert.include(e.message, "s2b1_proj")
      assert.include(e.message, "need one mapping")
    }))
})
