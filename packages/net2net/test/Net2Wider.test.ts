import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Backend from "@growlab/core/Backend"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import * as tf from "@tensorflow/tfjs"
import * as Forward from "@growlab/train/Forward"
import * as Net2Wider from "../src/Net2Wider.js"
import * as Preservation from "@growlab/train/Preservation"
import { cnnLarge1, cnnLarge2, cnnSmall, cnnWide96, randomModel, spec, studyCnn, weight } from "./fixtures.js"

Backend.ensureNativeSync()

/** A model with hand-written weights (shapes from the spec). */
const model = (s: ModelSpec, values: Record<string, ReadonlyArray<number>>): ModelArtifact.Model => {
  const shapes = inferShapes(s).flatMap((l) => l.weights)
  return {
    spec: s,
    weights: Object.entries(values).map(([name, v]) => {
      const w = shapes.find((x) => x.name === name)!
      return { name, layer: w.layer, param: w.param, shape: w.shape, values: Float32Array.from(v) }
    }),
    info: {}
  }
}

const logitsOf = (m: ModelArtifact.Model, x: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  const input = tf.tensor2d(x as Array<Array<number>>)
  const y = Forward.logits(m, input)
  const out = Array.from(y.dataSync())
  input.dispose(); y.dispose()
  return out
}

describe("Net2WiderNet by hand", () => {
  const mlp = (hidden: number) => spec({
    inputShape: [2],
    layers: [{ _tag: "dense", name: "h", units: hidden, activation: "relu" }, { _tag: "dense", name: "out", units: 2 }]
  })
  const small = model(mlp(2), {
    "h/kernel": [1, 2, 3, 4], "h/bias": [0.5, -0.5],
    "out/kernel": [5, 6, 7, 8], "out/bias": [0.1, 0.2]
  })

  it.effect("widens a 2-unit Dense to 3 with g = [0, 1, 0]: copies unit 0, halves its outgoing rows", () =>
    Effect.gen(function*() {
      const w = yield* Net2Wider.widen(small, mlp(3), { seed: 0, mappings: { h: [0, 1, 0] } })
      // h kernel [in 2, out 3]: columns g(j) of [[1, 2], [3, 4]]
      assert.deepStrictEqual(Array.from(weight(w.model, "h/kernel")), [1, 2, 1, 3, 4, 3])
      assert.deepStrictEqual(Array.from(weight(w.model, "h/bias")), [0.5, -0.5, 0.5])
      // out kernel [in 3, out 2]: rows g(j) of [[5, 6], [7, 8]] divided by counts [2, 1]
      assert.deepStrictEqual(Array.from(weight(w.model, "out/kernel")), [2.5, 3, 7, 8, 2.5, 3])
      assert.deepStrictEqual(Array.from(weight(w.model, "out/bias")), Array.from(Float32Array.of(0.1, 0.2)))
      assert.deepStrictEqual(w.model.weights.map((x) => `${x.name}:${x.shape.join("x")}`), ["h/kernel:2x3", "h/bias:3", "out/kernel:3x2", "out/bias:2"])
      // x = [1, 1]: h = relu([4.5, 5.5]) → out = [4.5·5 + 5.5·7 + 0.1, 4.5·6 + 5.5·8 + 0.2] = [61.1, 71.2]
      const before = logitsOf(small, [[1, 1], [2, -0.25]])
      const after = logitsOf(w.model, [[1, 1], [2, -0.25]])
      assert.closeTo(before[0], 61.1, 1e-4)
      assert.closeTo(before[1], 71.2, 1e-4)
      for (let k = 0; k < 4; k++) assert.strictEqual(after[k], before[k])
      const [h, out] = w.layers
      assert.deepInclude(h, { layer: "h", operator: "net2wider", growth: "output", inUnits: [2, 2], outUnits: [2, 3], newUnits: 1, replicatedSources: 1, maxReplication: 2, snrDb: null, noiseEnergy: null })
      assert.deepInclude(out, { layer: "out", operator: "net2wider", growth: "input", inUnits: [2, 3], outUnits: [2, 2], newUnits: 0, maxReplication: 1 })
      // Σ w² of the built kernels
      assert.strictEqual(h.signalEnergy, 1 + 4 + 1 + 9 + 16 + 9)
      assert.strictEqual(out.signalEnergy, 2 * (2.5 ** 2 + 3 ** 2) + 49 + 64)
      assert.deepStrictEqual(Array.from(w.mappings.h), [0, 1, 0])
    }))

  it.effect("random mapping: g(j) = j below the old width, seeded draws above; counts divide the next layer", () =>
    Effect.gen(function*() {
      const g = Net2Wider.randomMapping(4, 10, Random.make(3, 0))
      assert.deepStrictEqual(Array.from(g.subarray(0, 4)), [0, 1, 2, 3])
      for (const v of g.subarray(4)) assert.isTrue(v >= 0 && v < 4)
      assert.deepStrictEqual(Array.from(Net2Wider.randomMapping(4, 10, Random.make(3, 0))), Array.from(g))
      const counts = Net2Wider.replicationCounts(g, 4)
      assert.strictEqual(counts.reduce((a, b) => a + b, 0), 10)
      // the seeded widening uses stream = layer index: same seed, same model
      const a = yield* Net2Wider.widen(small, mlp(7), { seed: 11 })
      const b = yield* Net2Wider.widen(small, mlp(7), { seed: 11 })
      const c = yield* Net2Wider.widen(small, mlp(7), { seed: 12 })
      assert.deepStrictEqual(Array.from(a.mappings.h), Array.from(b.mappings.h))
      assert.deepStrictEqual(Array.from(a.mappings.h), Array.from(Net2Wider.randomMapping(2, 7, Random.make(11, 0))))
      assert.notDeepEqual(Array.from(a.mappings.h), Array.from(c.mappings.h))
      const cnt = Net2Wider.replicationCounts(a.mappings.h, 2)
      const out = weight(a.model, "out/kernel")
      for (let j = 0; j < 7; j++) {
        for (let o = 0; o < 2; o++) assert.strictEqual(out[j * 2 + o], Math.fround(weight(small, "out/kernel")[a.mappings.h[j] * 2 + o] / cnt[a.mappings.h[j]]))
      }
    }))

  it.effect("Conv → Flatten → Dense: the Dense rows follow position·C + g(j), not a tiling of the flat vector", () =>
    Effect.gen(function*() {
      const net = (filters: number) => spec({
        inputShape: [2, 2, 1],
        layers: [{ _tag: "conv2d", name: "c", filters, kernelSize: 1, activation: "relu" }, { _tag: "flatten" }, { _tag: "dense", name: "o", units: 1 }]
      })
      const src = model(net(2), { "c/kernel": [1, -1], "c/bias": [0, 1], "o/kernel": [1, 2, 3, 4, 5, 6, 7, 8], "o/bias": [0.25] })
      const w = yield* Net2Wider.widen(src, net(3), { seed: 0, mappings: { c: [0, 1, 1] } })
      assert.deepStrictEqual(Array.from(weight(w.model, "c/kernel")), [1, -1, -1])
      assert.deepStrictEqual(Array.from(weight(w.model, "c/bias")), [0, 1, 1])
      // source row p·2 + c; new row p·3 + j ← p·2 + g(j), divided by count(g(j)) with counts [1, 2]
      assert.deepStrictEqual(Array.from(weight(w.model, "o/kernel")), [1, 1, 1, 3, 2, 2, 5, 3, 3, 7, 4, 4])
      const x = tf.tensor4d([3, -1, 0.5, 2], [1, 2, 2, 1])
      const [a, b] = [Forward.logits(src, x), Forward.logits(w.model, x)]
      assert.strictEqual(b.dataSync()[0], a.dataSync()[0])
      tf.dispose([x, a, b])
    }))

  it.effect("BatchNormalization after a widened Conv2D copies γ, β, moving mean and variance per g(j)", () =>
    Effect.gen(function*() {
      const net = (c1: number) => spec({
        inputShape: [6, 6, 2],
        layers: [
          { _tag: "conv2d", name: "c1", filters: c1, kernelSize: 3 },
          { _tag: "batchNormalization", name: "bn" },
          { _tag: "activation", activation: "relu" },
          { _tag: "maxPooling2d", poolSize: 2 },
          { _tag: "conv2d", name: "c2", filters: 3, kernelSize: 1, activation: "relu" },
          { _tag: "flatten" },
          { _tag: "dense", name: "out", units: 4 }
        ]
      })
      const src = randomModel(net(4), 5)
      const g = [0, 1, 2, 3, 2, 0, 2]
      const w = yield* Net2Wider.widen(src, net(7), { seed: 0, mappings: { c1: g } })
      for (const p of ["gamma", "beta", "movingMean", "movingVariance"]) {
        const before = weight(src, `bn/${p}`)
        assert.deepStrictEqual(Array.from(weight(w.model, `bn/${p}`)), g.map((j) => before[j]), p)
      }
      const rows = Object.fromEntries(w.layers.map((l) => [l.layer, l]))
      assert.deepInclude(rows.bn, { operator: "replicate", growth: "both", outUnits: [4, 7], maxReplication: 3 })
      // c2's input side divides by counts [2, 1, 3, 1]; c2 itself and the output layer are not widened
      assert.deepInclude(rows.c2, { operator: "net2wider", growth: "input", inUnits: [4, 7], outUnits: [3, 3] })
      assert.deepInclude(rows.out, { operator: "copy", growth: "none" })
      const c2 = weight(w.model, "c2/kernel"), c2src = weight(src, "c2/kernel"), counts = [2, 1, 3, 1]
      for (let j = 0; j < 7; j++) for (let o = 0; o < 3; o++) assert.strictEqual(c2[j * 3 + o], Math.fround(c2src[g[j] * 3 + o] / counts[g[j]]))
      const p = Preservation.measureOn(src, w.model, { size: 64, seed: 1 })
      assert.isBelow(p.relative, 1e-5)
      assert.isAbove(p.random.maxAbsLogits, 0.1)
    }))
})

describe("Net2WiderNet on the original study's CNNs (no noise)", () => {
  const small = randomModel(cnnSmall, 2024)

  it.effect("small → large-1 rewrites the input side of conv3 and of the output Dense (what the study could not)", () =>
    Effect.gen(function*() {
      const w = yield* Net2Wider.widen(small, cnnLarge1, { seed: 7 })
      const g = w.mappings.conv2d_3
      assert.strictEqual(g.length, 128)
      assert.deepStrictEqual(Object.keys(w.mappings).sort(), ["conv2d_3", "dense_7"])
      // the seeding contract: layer i draws its mapping from stream i of the seed
      assert.deepStrictEqual(Array.from(g), Array.from(Net2Wider.randomMapping(64, 128, Random.make(7, 3))))
      assert.deepStrictEqual(Array.from(w.mappings.dense_7), Array.from(Net2Wider.randomMapping(64, 128, Random.make(7, 7))))
      const counts = Net2Wider.replicationCounts(g, 64)
      // conv3 kernel [3, 3, 128, 64]: channel j's rows are source channel g(j)'s rows / count; replicas sum back
      const k0 = weight(small, "conv2d_5/kernel"), k1 = weight(w.model, "conv2d_5/kernel")
      assert.strictEqual(k1.length, 3 * 3 * 128 * 64)
      let worstSum = 0
      for (let p = 0; p < 9; p++) {
        for (let j = 0; j < 128; j++) {
          for (let o = 0; o < 64; o++) {
            assert.strictEqual(k1[(p * 128 + j) * 64 + o], Math.fround(k0[(p * 64 + g[j]) * 64 + o] / counts[g[j]]))
          }
        }
        for (let i = 0; i < 64; i++) {
          for (let o = 0; o < 64; o++) {
            let sum = 0
            for (let j = 0; j < 128; j++) if (g[j] === i) sum += k1[(p * 128 + j) * 64 + o]
            worstSum = Math.max(worstSum, Math.abs(sum - k0[(p * 64 + i) * 64 + o]))
          }
        }
      }
      assert.isBelow(worstSum, 1e-6)
      // output Dense [128, 10]: rows follow dense_7's mapping
      const gd = w.mappings.dense_7, cd = Net2Wider.replicationCounts(gd, 64)
      const o0 = weight(small, "dense_8/kernel"), o1 = weight(w.model, "dense_8/kernel")
      for (let j = 0; j < 128; j++) for (let o = 0; o < 10; o++) assert.strictEqual(o1[j * 10 + o], Math.fround(o0[gd[j] * 10 + o] / cd[gd[j]]))
      const rows = Object.fromEntries(w.layers.map((l) => [l.layer, l]))
      assert.strictEqual(w.layers.length, 9)
      assert.deepInclude(rows.conv2d_3, { operator: "net2wider", growth: "output", inUnits: [32, 32], outUnits: [64, 128], outMultiplier: 2 })
      assert.deepInclude(rows.maxPooling2d_4, { operator: "none", growth: "both", inUnits: [64, 128] })
      assert.deepInclude(rows.conv2d_5, { operator: "net2wider", growth: "input", inUnits: [64, 128], outUnits: [64, 64], inMultiplier: 2, outMultiplier: 1 })
      assert.deepInclude(rows.flatten_6, { operator: "none", growth: "none", outUnits: [1024, 1024] })
      assert.deepInclude(rows.dense_7, { operator: "net2wider", growth: "output", inUnits: [1024, 1024], outUnits: [64, 128] })
      assert.deepInclude(rows.dense_8, { operator: "net2wider", growth: "input", inUnits: [64, 128], outUnits: [10, 10] })
      assert.include(rows.dense_8.note, "follows dense_7")
      assert.deepInclude(rows.conv2d_1, { operator: "copy", growth: "none" })
    }))

  it.effect("noise: only the new units' next-layer weights move, by ratio × their std, seeded", () =>
    Effect.gen(function*() {
      const exact = yield* Net2Wider.widen(small, cnnLarge2, { seed: 7 })
      const noisy = yield* Net2Wider.widen(small, cnnLarge2, { seed: 7, noise: { ratio: 0.05 } })
      const again = yield* Net2Wider.widen(small, cnnLarge2, { seed: 7, noise: { ratio: 0.05 } })
      const other = yield* Net2Wider.widen(small, cnnLarge2, { seed: 8, noise: { ratio: 0.05 } })
      assert.deepStrictEqual(Array.from(noisy.mappings.dense_7), Array.from(exact.mappings.dense_7))
      const e = weight(exact.model, "dense_8/kernel"), n = weight(noisy.model, "dense_8/kernel")
      // rows 0..63 (original units) untouched; rows 64..127 (copies) noised
      for (let k = 0; k < 64 * 10; k++) assert.strictEqual(n[k], e[k])
      let sum = 0, sumSq = 0, dSq = 0
      for (let k = 64 * 10; k < 128 * 10; k++) { sum += e[k]; sumSq += e[k] * e[k]; dSq += (n[k] - e[k]) ** 2 }
      const std = Math.sqrt(sumSq / 640 - (sum / 640) ** 2)
      const measured = Math.sqrt(dSq / 640)
      const row = noisy.layers.find((l) => l.layer === "dense_8")!
      // the draws' std is ratio × std of the replicated rows (640 draws: within 10%), and is what moved the weights
      assert.closeTo(row.noiseStd! / (0.05 * std), 1, 0.1)
      assert.closeTo(measured / Math.hypot(row.noiseStd!, row.noiseMean!), 1, 0.01)
      assert.include(row.note, "0.05 × std")
      assert.isNotNull(row.snrDb)
      assert.closeTo(row.snrDb!, 10 * Math.log10(Array.from(e).reduce((a, v) => a + v * v, 0) / dSq), 0.05)
      assert.isNull(exact.layers.find((l) => l.layer === "dense_8")!.snrDb)
      assert.deepStrictEqual(Array.from(weight(again.model, "dense_8/kernel")), Array.from(n))
      assert.notDeepEqual(Array.from(weight(other.model, "dense_8/kernel")), Array.from(n))
      // Flatten → Dense: the noised rows are exactly the new channels (j ≥ 64) at every position
      const de = weight(exact.model, "dense_7/kernel"), dn = weight(noisy.model, "dense_7/kernel")
      let touchedOld = 0, touchedNew = 0
      for (let p = 0; p < 16; p++) {
        for (let j = 0; j < 128; j++) {
          const at = (p * 128 + j) * 128
          const moved = de.subarray(at, at + 128).some((v, o) => v !== dn[at + o])
          if (j < 64) touchedOld += moved ? 1 : 0
          else touchedNew += moved ? 1 : 0
        }
      }
      assert.strictEqual(touchedOld, 0)
      assert.strictEqual(touchedNew, 16 * 64)
      const p = Preservation.measureOn(small, noisy.model, { size: 64, seed: 3 })
      assert.isAbove(p.random.maxAbsDiff, 1e-5)
      assert.isFalse(p.preserved)
    }))

  it.effect("refuses a narrower target, another kernel size, a widened output and a mapping that drops a unit", () =>
    Effect.gen(function*() {
      const narrower = yield* Effect.flip(Net2Wider.widen(small, studyCnn("n", 32, 64, 64), { seed: 0 }))
      assert.strictEqual(narrower._tag, "Net2NetError")
      assert.strictEqual(narrower.layer, "conv2d_3")
      assert.include(narrower.message, "narrower")
      assert.include(narrower.expected, "64")
      assert.strictEqual(narrower.actual, "32")
      const k5 = spec({ inputShape: [32, 32, 3], layers: cnnLarge2.layers.map((l, i) => i === 5 ? { ...l, kernelSize: 5 } : l) })
      const kernel = yield* Effect.flip(Net2Wider.widen(small, k5, { seed: 0 }))
      assert.strictEqual(kernel.layer, "conv2d_5")
      assert.include(kernel.reason, "kernelSize")
      const wideOut = spec({ inputShape: [32, 32, 3], layers: cnnLarge2.layers.map((l, i) => i === 8 ? { ...l, units: 12 } : l) })
      const output = yield* Effect.flip(Net2Wider.widen(small, wideOut, { seed: 0 }))
      assert.include(output.reason, "output shape")
      const dropped = yield* Effect.flip(Net2Wider.widen(small, cnnLarge2, { seed: 0, mappings: { dense_7: [...Array(127).fill(0), 1] } }))
      assert.strictEqual(dropped.layer, "dense_7")
      assert.include(dropped.reason, "drops a source unit")
      const soft = spec({ inputShape: [4], layers: [{ _tag: "dense", units: 3, activation: "softmax" }, { _tag: "dense", units: 2 }] })
      const softW = yield* Effect.flip(Net2Wider.widen(randomModel(soft, 1), spec({ inputShape: [4], layers: [{ _tag: "dense", units: 5, activation: "softmax" }, { _tag: "dense", units: 2 }] }), { seed: 0 }))
      assert.include(softW.reason, "softmax")
    }))
})
