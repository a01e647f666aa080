/**
 * Function preservation on the study's CNNs (small → large-1, large-2, and a ×3 variant), with trained-like random
 * weights, on seeded random pixels and on real CIFAR-10 test images. Operators that preserve the function in exact
 * arithmetic must stay within 1e-5 (relative to max |logits| where it exceeds 1) in fp32; the others must be reported
 * as not preserving (and really not be). No tensors may leak.
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import * as Expander from "../src/Expander.js"
import type * as Noise from "../src/Noise.js"
import type { Fill, Method, OneAxis } from "../src/Plan.js"
import * as Preservation from "../src/Preservation.js"
import { cifarTest, cnn, randomModel, spec } from "./support/fixtures.js"

interface Variant { readonly method: Method; readonly oneAxis?: OneAxis; readonly fill?: Fill; readonly noise?: Noise.Scheme }
const preserving: ReadonlyArray<Variant> = [
  { method: "symmetric" },
  { method: "noisy-symmetric", noise: { scheme: "snr", snrDb: 10 } },
  { method: "noisy-symmetric", noise: { scheme: "scaled", distribution: "normal" } },
  { method: "noisy-symmetric", noise: { scheme: "scaled", distribution: "uniform" } },
  { method: "diagonal", oneAxis: "symmetric" },
  { method: "noisy-diagonal", oneAxis: "symmetric", noise: { scheme: "snr", snrDb: 10 } },
  { method: "noisy-diagonal", oneAxis: "symmetric", noise: { scheme: "scaled", distribution: "normal" } },
  { method: "envelope", fill: "zeros" }
]
const breaking: ReadonlyArray<Variant> = [
  { method: "diagonal", oneAxis: "random" },
  { method: "noisy-diagonal", oneAxis: "random", noise: { scheme: "snr", snrDb: 10 } },
  { method: "envelope", fill: "scaled-noise" }
]
const label = (v: Variant) => [v.method, v.oneAxis, v.fill, v.noise && (v.noise.scheme === "snr" ? `snr ${v.noise.snrDb} dB` : `scaled ${v.noise.distribution}`)].filter(Boolean).join(", ")

const small = randomModel(cnn(64, 64, 64), 21)
const targets = { "large-1": cnn(128, 64, 128), "large-2": cnn(128, 128, 128), "×3": cnn(192, 192, 192) } as const
const N = 64
let random: Float32Array
let real: { readonly x: Float32Array; readonly count: number }

beforeAll(() => {
  ensureNativeSync()
  random = Preservation.randomInputs([32, 32, 3], N, 1)
  real = Preservation.datasetInputs(cifarTest(N), N)
})

const check = (target: keyof typeof targets, v: Variant) =>
  Effect.gen(function*() {
    const before = tf.memory().numTensors
    const e = yield* Expander.grow(small, targets[target], { ...v, seed: 5 })
    const r = Preservation.compare(small, e.model, random, N)
    const c = Preservation.compare(small, e.model, real.x, real.count)
    assert.strictEqual(tf.memory().numTensors, before, "tensors leaked")
    assert.isAbove(c.maxAbsLogits, 1, "logits of the trained-like model should be large enough for a relative check")
    return { e, r, c }
  })

describe("function preservation on the study's CNNs", () => {
  for (const target of ["large-1", "large-2"] as const) {
    for (const v of preserving) {
      it.effect(`${target}: ${label(v)} preserves the logits (≤ 1e-5, random and real images)`, () =>
        Effect.gen(function*() {
          const { e, r, c } = yield* check(target, v)
          assert.isTrue(e.plan.preservesFunction)
          assert.isAtMost(r.relativeDiff, Preservation.TOLERANCE, `random: max |Δ| ${r.maxAbsDiff} of ${r.maxAbsLogits}`)
          assert.isAtMost(c.relativeDiff, Preservation.TOLERANCE, `real: max |Δ| ${c.maxAbsDiff} of ${c.maxAbsLogits}`)
        }))
    }
    for (const v of breaking) {
      it.effect(`${target}: ${label(v)} is reported as not preserving, and does not`, () =>
        Effect.gen(function*() {
          const { e, r, c } = yield* check(target, v)
          assert.isFalse(e.plan.preservesFunction)
          assert.isAbove(r.relativeDiff, 1e-2)
          assert.isAbove(c.relativeDiff, 1e-2)
        }))
    }
  }
  for (const v of preserving.slice(0, 7)) {
    it.effect(`×3 (64 → 192): ${label(v)} preserves the logits`, () =>
      Effect.gen(function*() {
        const { r, c } = yield* check("×3", v)
        assert.isAtMost(r.relativeDiff, Preservation.TOLERANCE)
        assert.isAtMost(c.relativeDiff, Preservation.TOLERANCE)
      }))
  }

  it.effect("BatchNormalization and Dropout between grown layers follow the channel map (copies, or identity BN for new units)", () =>
    Effect.gen(function*() {
      const bnNet = (c: number, d: number) => spec({
        inputShape: [8, 8, 3],
        layers: [
          { _tag: "rescaling", scale: 1 / 255 }, { _tag: "conv2d", filters: c, kernelSize: 3 }, { _tag: "batchNormalization" },
          { _tag: "activation", activation: "relu" }, { _tag: "flatten" }, { _tag: "dense", units: d, activation: "relu" },
          { _tag: "dropout", rate: 0.5 }, { _tag: "dense", units: 4 }
        ]
      })
      const base = randomModel(bnNet(4, 6), 2)
      const source = { ...base, weights: base.weights.map((w) => w.param === "movingVariance" ? { ...w, values: w.values.map((v) => 0.5 + Math.abs(v)) } : w.param === "gamma" ? { ...w, values: w.values.map((v) => 1 + v) } : w) }
      const x = Preservation.randomInputs([8, 8, 3], 32, 4)
      for (const v of [{ method: "symmetric" }, { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 0 } }, { method: "envelope" }] as const) {
        const e = yield* Expander.grow(source, bnNet(8, 12), { ...v, seed: 3 })
        assert.strictEqual(e.layers[2].operator, "replicate")
        const c = Preservation.compare(source, e.model, x, 32)
        assert.isAtMost(c.relativeDiff, Preservation.TOLERANCE, `${v.method}: ${c.maxAbsDiff}`)
        const gamma = Array.from(e.model.weights.find((w) => w.name === "batchNormalization_2/gamma")!.values)
        const src = Array.from(source.weights.find((w) => w.name === "batchNormalization_2/gamma")!.values)
        assert.deepStrictEqual(gamma, v.method === "envelope" ? [1, 1, ...src, 1, 1] : [...src, ...src])
      }
    }))

  it("the comparison itself sees a difference: a one-ulp-scale change to one logit bias is measured, not hidden", () => {
    const bumped = { ...small, weights: small.weights.map((w) => w.name === "dense_8/bias" ? { ...w, values: w.values.map((x, i) => i === 3 ? x + 1e-3 : x) } : w) }
    const c = Preservation.compare(small, bumped, real.x, real.count)
    assert.closeTo(c.maxAbsDiff, 1e-3, 1e-5)
  })
})
