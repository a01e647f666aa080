/**
 * The random-in-zero-out operator: literal layout on a tiny MLP (source centred, new columns random within Glorot's
 * limit, new rows into original outputs zero), and what sets it apart from envelope with zeros: it keeps the function
 * and its new units are alive — the zero fan-out weights get non-zero gradients on real images at the first step.
 * (Shapes, preservation on random and real images, seed determinism and leaks: the generic OperatorContract tests.)
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureNativeSync } from "@growlab/core/Backend"
import * as Preservation from "@growlab/train/Preservation"
import * as Expander from "../src/Expander.js"
import { cifarTest, cnn, f32, gradients, mlp, modelOf, randomModel, weight } from "./support/fixtures.js"

beforeAll(() => { ensureNativeSync() })

const tinyMlp = modelOf(mlp(2, [2, 2, 1]), {
  "dense_0/kernel": [1, 2, 3, 4], "dense_0/bias": [0.5, -0.5],
  "dense_1/kernel": [5, 6, 7, 8], "dense_1/bias": [1, -1],
  "dense_2/kernel": [9, 10], "dense_2/bias": [0.25]
})

describe("random-in-zero-out", () => {
  it.effect("Dense 2 → 4: source centred, new columns drawn within Glorot's limit, new rows into original outputs 0", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "random-in-zero-out", seed: 11 })
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["random-in-zero-out", "random-in-zero-out", "random-in-zero-out"])
      const k0 = weight(e.model, "dense_0/kernel") // [2, 4]: columns 1, 2 original
      assert.deepStrictEqual([k0[1], k0[2], k0[5], k0[6]], f32([1, 2, 3, 4]))
      const new0 = [k0[0], k0[3], k0[4], k0[7]]
      assert.isTrue(new0.every((v) => v !== 0 && Math.abs(v) <= Math.sqrt(6 / (2 + 4))), `new columns ${new0}`)
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/bias")), f32([0, 0.5, -0.5, 0]))
      const k1 = weight(e.model, "dense_1/kernel") // [4, 4]: rows / columns 1, 2 original
      const at = (r: number, c: number) => k1[r * 4 + c]
      assert.deepStrictEqual([at(1, 1), at(1, 2), at(2, 1), at(2, 2)], f32([5, 6, 7, 8]))
      assert.deepStrictEqual([at(0, 1), at(0, 2), at(3, 1), at(3, 2)], [0, 0, 0, 0], "new inputs do not reach original outputs")
      for (const r of [0, 1, 2, 3]) for (const c of [0, 3]) assert.isTrue(at(r, c) !== 0 && Math.abs(at(r, c)) <= Math.sqrt(6 / 8), `new column ${r},${c}`)
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), f32([0, 9, 10, 0]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/bias")), f32([0.25]))
      assert.isTrue(e.plan.preservesFunction)
      assert.deepStrictEqual(e.layers.map((l) => l.noiseStd !== null), [true, true, false], "drawn values are recorded (not for the last layer, whose outputs do not grow)")
    }))

  it.effect("large-2: keeps the logits, and the zero fan-out weights get gradients on real images (envelope-zeros' new units get none)", () =>
    Effect.gen(function*() {
      const small = randomModel(cnn(64, 64, 64), 8)
      const e = yield* Expander.grow(small, cnn(128, 128, 128), { method: "random-in-zero-out", seed: 1 })
      const p = Preservation.measureOn(small, e.model, { size: 256, seed: 1, dataset: cifarTest(256) })
      console.log(`[random-in-zero-out large-2] max|Δ| random ${p.random.maxAbsDiff.toExponential(2)} (max|logits| ${p.random.maxAbsLogits.toFixed(2)}), ` +
        `real ${p.real!.maxAbsDiff.toExponential(2)} (max|logits| ${p.real!.maxAbsLogits.toFixed(2)}), relative ${p.relative.toExponential(2)}`)
      assert.isTrue(p.preserved)
      const grads = gradients(e.model)
      for (const layer of e.plan.layers.filter((l) => l.spatial > 0 && l.inMap.size !== l.inMap.sourceSize)) {
        const { inMap, outMap, spatial } = layer
        const gk = grads.get(`${layer.name}/kernel`)!
        let fanOut = 0
        for (let s = 0; s < spatial; s++) for (let i = 0; i < inMap.size; i++) for (let o = 0; o < outMap.size; o++) {
          if (inMap.source[i] < 0 && outMap.source[o] >= 0) fanOut = Math.max(fanOut, Math.abs(gk[(s * inMap.size + i) * outMap.size + o]))
        }
        assert.isAbove(fanOut, 0, `${layer.name}: the zero weights reading new units learn`)
      }
    }))
})
