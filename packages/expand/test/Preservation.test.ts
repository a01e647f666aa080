/**
 * Function preservation, beyond the generic operator tests (OperatorContract.test.ts): BatchNormalization follows the
 * channel map exactly as each layout says (copies, or identity BN for new units), and the comparison really sees a
 * difference.
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureNativeSync } from "@growlab/core/Backend"
import * as Preservation from "@growlab/train/Preservation"
import * as Expander from "../src/Expander.js"
import { cifarTest, cnn, randomModel, spec } from "./support/fixtures.js"

const small = randomModel(cnn(64, 64, 64), 21)

beforeAll(() => {
  ensureNativeSync()
})

describe("function preservation", () => {
  it.effect("BatchNormalization statistics: copies of the source's (tiled methods), identity for new units (envelope)", () =>
    Effect.gen(function*() {
      const bnNet = (c: number) => spec({
        inputShape: [8, 8, 3],
        layers: [{ _tag: "rescaling", scale: 1 / 255 }, { _tag: "conv2d", filters: c, kernelSize: 3 }, { _tag: "batchNormalization" }, { _tag: "flatten" }, { _tag: "dense", units: 4 }]
      })
      const base = randomModel(bnNet(4), 2)
      const source = { ...base, weights: base.weights.map((w) => w.param === "gamma" ? { ...w, values: w.values.map((v) => 1 + v) } : w) }
      const src = Array.from(source.weights.find((w) => w.name === "batchNormalization_2/gamma")!.values)
      for (const v of [{ method: "symmetric" }, { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 0 } }, { method: "envelope" }] as const) {
        const e = yield* Expander.grow(source, bnNet(8), { ...v, seed: 3 })
        const gamma = Array.from(e.model.weights.find((w) => w.name === "batchNormalization_2/gamma")!.values)
        assert.deepStrictEqual(gamma, v.method === "envelope" ? [1, 1, ...src, 1, 1] : [...src, ...src])
      }
    }))

  it("the comparison itself sees a difference: a one-ulp-scale change to one logit bias is measured, not hidden", () => {
    const bumped = { ...small, weights: small.weights.map((w) => w.name === "dense_8/bias" ? { ...w, values: w.values.map((x, i) => i === 3 ? x + 1e-3 : x) } : w) }
    const p = Preservation.measureOn(small, bumped, { size: 16, seed: 1, dataset: cifarTest(16) })
    assert.closeTo(p.real!.maxAbsDiff, 1e-3, 1e-5)
    assert.closeTo(p.random.maxAbsDiff, 1e-3, 1e-5)
    assert.isFalse(p.preserved)
  })
})
