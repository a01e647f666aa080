/**
 * Envelope with zero fill preserves the function, and for that reason its new units are dead: every new parameter
 * gets an exactly zero gradient (ReLU network), so training never moves them. Tiled methods do not have this property.
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import * as Expander from "../src/Expander.js"
import { cnn, gradients, randomModel } from "./support/fixtures.js"

beforeAll(() => { ensureNativeSync() })

describe("envelope with zero fill", () => {
  it.effect("every new parameter of the grown large-2 gets a zero gradient; the source block does not", () =>
    Effect.gen(function*() {
      const before = tf.memory().numTensors
      const e = yield* Expander.grow(randomModel(cnn(64, 64, 64), 8), cnn(128, 128, 128), { method: "envelope", fill: "zeros", seed: 1 })
      const grads = gradients(e.model)
      let checkedNew = 0
      for (const layer of e.plan.layers.filter((l) => l.spatial > 0)) {
        const { inMap, outMap, spatial } = layer
        const gk = grads.get(`${layer.name}/kernel`)!
        let maxNew = 0, maxOld = 0
        for (let s = 0; s < spatial; s++) for (let i = 0; i < inMap.size; i++) for (let o = 0; o < outMap.size; o++) {
          const g = Math.abs(gk[(s * inMap.size + i) * outMap.size + o])
          if (inMap.source[i] < 0 || outMap.source[o] < 0) { maxNew = Math.max(maxNew, g); checkedNew++ } else maxOld = Math.max(maxOld, g)
        }
        const gb = grads.get(`${layer.name}/bias`)!
        for (let o = 0; o < outMap.size; o++) if (outMap.source[o] < 0) maxNew = Math.max(maxNew, Math.abs(gb[o]))
        assert.strictEqual(maxNew, 0, `${layer.name}: a new parameter has a non-zero gradient`)
        assert.isAbove(maxOld, 0, `${layer.name}: the source block should learn`)
      }
      assert.isAbove(checkedNew, 100_000)
      assert.strictEqual(tf.memory().numTensors, before)
    }))

  it.effect("by contrast, noisy diagonal's off-diagonal blocks do get gradients", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(randomModel(cnn(64, 64, 64), 8), cnn(128, 128, 128), { method: "noisy-diagonal", noise: { scheme: "scaled", distribution: "normal" }, seed: 1 })
      const g = gradients(e.model)
      const k = g.get("dense_7/kernel")!
      // rows of input copy 1, output copy 0 (an off-diagonal block) learn too
      let m = 0
      for (let p = 0; p < 16; p++) for (let ch = 0; ch < 64; ch++) for (let u = 0; u < 64; u++) m = Math.max(m, Math.abs(k[(p * 128 + 64 + ch) * 128 + u]))
      assert.isAbove(m, 0)
    }))
})
