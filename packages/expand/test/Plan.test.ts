/** Plans of the study's CNNs, and impossible plans as typed errors naming layer, field, expected and actual. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Expander from "../src/Expander.js"
import * as Plan from "../src/Plan.js"
import { cnn, mlp, randomModel, spec } from "./support/fixtures.js"

const small = cnn(64, 64, 64)
const large1 = cnn(128, 64, 128)
const large2 = cnn(128, 128, 128)

const summary = (p: Plan.Plan) => Plan.weightLayers(p).map((l) => `${l.name} ×${l.inMultiplier}/×${l.outMultiplier} ${l.growth} ${l.operator}`)

describe("plans of the study's CNNs", () => {
  it.effect("large-1: conv2 and dense grow their outputs, conv3 and the last Dense their inputs; nothing grows on both axes", () =>
    Effect.gen(function*() {
      const p = yield* Plan.make(small, large1, { method: "diagonal", oneAxis: "symmetric" })
      assert.deepStrictEqual(summary(p), [
        "conv2d_1 ×1/×1 none copy",
        "conv2d_3 ×1/×2 output symmetric",
        "conv2d_5 ×2/×1 input symmetric",
        "dense_7 ×1/×2 output symmetric",
        "dense_8 ×2/×1 input symmetric"
      ])
      assert.isTrue(p.preservesFunction)
    }))

  it.effect("large-1: so every diagonal variant with the symmetric fallback grows the very weights of its symmetric twin, noise included", () =>
    Effect.gen(function*() {
      const source = randomModel(small, 3)
      const twins: ReadonlyArray<readonly [Plan.Method, Plan.Method, Expander.Options["noise"]]> = [
        ["diagonal", "symmetric", undefined],
        ["noisy-diagonal", "noisy-symmetric", { scheme: "snr", snrDb: 10 }],
        ["noisy-diagonal", "noisy-symmetric", { scheme: "scaled", distribution: "normal" }]
      ]
      for (const [diagonal, symmetric, noise] of twins) {
        const a = yield* Expander.grow(source, large1, { method: diagonal, oneAxis: "symmetric", noise, seed: 7 })
        const b = yield* Expander.grow(source, large1, { method: symmetric, noise, seed: 7 })
        assert.deepStrictEqual(a.model.weights.map((w) => w.name), b.model.weights.map((w) => w.name))
        a.model.weights.forEach((w, i) => assert.deepStrictEqual(w.values, b.model.weights[i].values, `${diagonal} vs ${symmetric}: ${w.name}`))
        // on large-2 the two differ (conv3 and the Dense after the Flatten are diagonal there)
        const c = yield* Expander.grow(source, large2, { method: diagonal, oneAxis: "symmetric", noise, seed: 7 })
        const d = yield* Expander.grow(source, large2, { method: symmetric, noise, seed: 7 })
        assert.notDeepEqual(c.model.weights.map((w) => Array.from(w.values)), d.model.weights.map((w) => Array.from(w.values)))
      }
    }))

  it.effect("large-2: conv3 and the Dense after the Flatten grow on both axes (×2 channels per position)", () =>
    Effect.gen(function*() {
      const p = yield* Plan.make(small, large2, { method: "diagonal", oneAxis: "random" })
      assert.deepStrictEqual(summary(p), [
        "conv2d_1 ×1/×1 none copy",
        "conv2d_3 ×1/×2 output random",
        "conv2d_5 ×2/×2 both diagonal",
        "dense_7 ×2/×2 both diagonal",
        "dense_8 ×2/×1 input random"
      ])
      const flatten = p.layers[6]
      assert.deepStrictEqual([flatten.outMap.sourceSize, flatten.outMap.size, flatten.outMap.copies], [1024, 2048, 2])
      // flat index position·C + channel: position 1, channel 0 of copy 1 is flat 128 + 64 → source 64 + 0
      assert.deepStrictEqual([flatten.outMap.source[128 + 64], flatten.outMap.replica[128 + 64]], [64, 1])
      assert.isFalse(p.preservesFunction)
      assert.deepStrictEqual(p.breaks, ["conv2d_3: randomly initialised", "dense_8: randomly initialised"])
    }))

  it.effect("envelope lays grown units out in the centre", () =>
    Effect.gen(function*() {
      const p = yield* Plan.make(small, large2, { method: "envelope" })
      const conv3 = p.layers[5]
      assert.strictEqual(conv3.outMap.layout, "centre")
      assert.deepStrictEqual([conv3.outMap.source[31], conv3.outMap.source[32], conv3.outMap.source[95], conv3.outMap.source[96]], [-1, 0, 63, -1])
    }))
})

describe("impossible plans", () => {
  const fails = (source: Parameters<typeof Plan.make>[0], target: Parameters<typeof Plan.make>[1], method: Plan.Method) =>
    Effect.flip(Plan.make(source, target, { method }))

  it.effect("layer kinds differ", () =>
    Effect.gen(function*() {
      const target = spec({ inputShape: [8], layers: [{ _tag: "dense", units: 4 }, { _tag: "dropout", rate: 0.1 }, { _tag: "dense", units: 2 }] })
      const source = spec({ inputShape: [8], layers: [{ _tag: "dense", units: 4 }, { _tag: "activation", activation: "relu" }, { _tag: "dense", units: 2 }] })
      const e = yield* fails(source, target, "symmetric")
      assert.strictEqual(e._tag, "PlanError")
      assert.deepStrictEqual([e.layer, e.field], ["dropout_1", "_tag"])
      assert.include(e.expected, "activation")
      assert.strictEqual(e.actual, "dropout")
    }))

  it.effect("a non-width field differs (kernel size)", () =>
    Effect.gen(function*() {
      const bad = spec({
        inputShape: [8, 8, 3],
        layers: [{ _tag: "conv2d", filters: 8, kernelSize: 5 }, { _tag: "flatten" }, { _tag: "dense", units: 2 }]
      })
      const ok = spec({
        inputShape: [8, 8, 3],
        layers: [{ _tag: "conv2d", filters: 4, kernelSize: 3 }, { _tag: "flatten" }, { _tag: "dense", units: 2 }]
      })
      const e = yield* fails(ok, bad, "symmetric")
      assert.deepStrictEqual([e.layer, e.field, e.actual], ["conv2d_0", "kernelSize", "5"])
      assert.include(e.expected, "3")
    }))

  it.effect("a layer shrinks", () =>
    Effect.gen(function*() {
      const e = yield* fails(small, cnn(32, 64, 64), "symmetric")
      assert.deepStrictEqual([e.layer, e.field, e.actual], ["conv2d_3", "filters", "32"])
      assert.include(e.expected, "at least 64")
    }))

  it.effect("a non-integer multiplier for tiled methods (64 → 96), accepted by envelope", () =>
    Effect.gen(function*() {
      for (const method of ["symmetric", "noisy-symmetric", "diagonal", "noisy-diagonal"] as const) {
        const e = yield* fails(small, cnn(96, 64, 64), method)
        assert.deepStrictEqual([e.layer, e.field, e.actual], ["conv2d_3", "filters", "96 (×1.500)"])
        assert.include(e.expected, "integer multiple of 64")
      }
      const p = yield* Plan.make(small, cnn(96, 64, 64), { method: "envelope" })
      assert.strictEqual(p.layers[3].outMultiplier, 1.5)
    }))

  it.effect("diagonal with different input and output multipliers on one layer", () =>
    Effect.gen(function*() {
      const e = yield* fails(mlp(4, [2, 2, 1]), mlp(4, [4, 6, 1]), "diagonal")
      assert.deepStrictEqual([e.layer, e.field, e.actual], ["dense_1", "units", "×3"])
      assert.include(e.expected, "×2")
      yield* Plan.make(mlp(4, [2, 2, 1]), mlp(4, [4, 6, 1]), { method: "symmetric" })
    }))

  it.effect("the model's output grows", () =>
    Effect.gen(function*() {
      const e = yield* fails(mlp(4, [2, 3]), mlp(4, [4, 6]), "symmetric")
      assert.deepStrictEqual([e.layer, e.field, e.actual], ["dense_1", "outputShape", "[6]"])
    }))

  it.effect("different depth or input shape", () =>
    Effect.gen(function*() {
      const a = yield* fails(mlp(4, [2, 3]), mlp(4, [4, 4, 3]), "symmetric")
      assert.deepStrictEqual([a.layer, a.field, a.expected, a.actual], ["<model>", "layers", "2 layers (expansion widens layers, it does not add them)", "3"])
      const b = yield* fails(mlp(4, [2, 3]), mlp(5, [4, 3]), "symmetric")
      assert.deepStrictEqual([b.field, b.expected, b.actual], ["inputShape", "[4]", "[5]"])
    }))

  it.effect("a noisy method without a noise scheme; a model that does not match its spec", () =>
    Effect.gen(function*() {
      const model = randomModel(mlp(4, [2, 2, 1]), 1)
      const e = yield* Effect.flip(Expander.grow(model, mlp(4, [4, 4, 1]), { method: "noisy-diagonal", seed: 1 }))
      assert.deepStrictEqual([e._tag, e.field, e.actual], ["PlanError", "noise", "absent"])
      const broken = { ...model, weights: model.weights.map((w) => w.name === "dense_1/kernel" ? { ...w, shape: [4, 1], values: new Float32Array(4) } : w) }
      const f = yield* Effect.flip(Expander.grow(broken, mlp(4, [4, 4, 1]), { method: "symmetric", seed: 1 }))
      assert.deepStrictEqual([f.layer, f.field, f.expected], ["dense_1", "dense_1/kernel", "[2, 2]"])
    }))
})
