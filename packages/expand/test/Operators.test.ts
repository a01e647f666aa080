/**
 * Every operator on tiny hand-written Dense and Conv2D kernels, k = 2 and k = 3, through the plan (so the axis maps
 * are the ones a real expansion uses), including the Conv → Flatten → Dense transition. Expected blocks are literal.
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Expander from "../src/Expander.js"
import type { Method, OneAxis, Fill } from "../src/Plan.js"
import type * as Noise from "../src/Noise.js"
import { f32, mlp, modelOf, spec, weight } from "./support/fixtures.js"

const tinyMlp = modelOf(mlp(2, [2, 2, 1]), {
  "dense_0/kernel": [1, 2, 3, 4], "dense_0/bias": [0.5, -0.5],
  "dense_1/kernel": [5, 6, 7, 8], "dense_1/bias": [1, -1],
  "dense_2/kernel": [9, 10], "dense_2/bias": [0.25]
})

interface Opts { readonly method: Method; readonly oneAxis?: OneAxis; readonly fill?: Fill; readonly noise?: Noise.Scheme }
const grow = (model: typeof tinyMlp, target: ReturnType<typeof mlp>, o: Opts) => Expander.grow(model, target, { ...o, seed: 11 })

const rows = (m: ReadonlyArray<ReadonlyArray<number>>) => f32(m.flat())

describe("symmetric", () => {
  it.effect("Dense k=2: [W, W] on output-only, [[W/2, W/2], [W/2, W/2]] on both, [[W/2], [W/2]] on input-only; biases repeated", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "symmetric" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/kernel")), rows([[1, 2, 1, 2], [3, 4, 3, 4]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/bias")), f32([0.5, -0.5, 0.5, -0.5]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([[2.5, 3, 2.5, 3], [3.5, 4, 3.5, 4], [2.5, 3, 2.5, 3], [3.5, 4, 3.5, 4]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/bias")), f32([1, -1, 1, -1]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), f32([4.5, 5, 4.5, 5]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/bias")), f32([0.25]))
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["symmetric", "symmetric", "symmetric"])
      assert.deepStrictEqual(e.layers.map((l) => l.quarterMaxAbsDiff), [0, 0, 0])
    }))

  it.effect("Dense k=3 divides by 3 on the input side only", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [6, 6, 1]), { method: "symmetric" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/kernel")), rows([[1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4]]))
      const r0 = [5 / 3, 2, 5 / 3, 2, 5 / 3, 2]
      const r1 = [7 / 3, 8 / 3, 7 / 3, 8 / 3, 7 / 3, 8 / 3]
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([r0, r1, r0, r1, r0, r1]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), f32([3, 10 / 3, 3, 10 / 3, 3, 10 / 3]))
      assert.deepStrictEqual(e.layers.map((l) => [l.inMultiplier, l.outMultiplier]), [[1, 3], [3, 3], [3, 1]])
    }))
})

describe("diagonal", () => {
  it.effect("Dense k=2: [[W, 0], [0, W]] where both axes grow, symmetric fallback elsewhere (oneAxis: symmetric)", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "diagonal", oneAxis: "symmetric" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/kernel")), rows([[1, 2, 1, 2], [3, 4, 3, 4]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([[5, 6, 0, 0], [7, 8, 0, 0], [0, 0, 5, 6], [0, 0, 7, 8]]))
      // the last Dense (10 outputs fixed, inputs doubled) needs the 1/k: stacking [W; W] would double the logits
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), f32([4.5, 5, 4.5, 5]))
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["symmetric", "diagonal", "symmetric"])
      assert.include(e.layers[0].note, "one axis")
      assert.isTrue(e.plan.preservesFunction)
    }))

  it.effect("Dense k=3: block diagonal with three copies", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [6, 6, 1]), { method: "diagonal" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([
        [5, 6, 0, 0, 0, 0], [7, 8, 0, 0, 0, 0], [0, 0, 5, 6, 0, 0], [0, 0, 7, 8, 0, 0], [0, 0, 0, 0, 5, 6], [0, 0, 0, 0, 7, 8]
      ]))
    }))

  it.effect("oneAxis: random re-initialises one-axis layers (Glorot uniform, zero bias) and says it breaks the function", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "diagonal", oneAxis: "random" })
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["random", "diagonal", "random"])
      const k0 = Array.from(weight(e.model, "dense_0/kernel"))
      const limit = Math.sqrt(6 / (2 + 4))
      assert.isTrue(k0.every((v) => Math.abs(v) <= limit))
      assert.isAbove(new Set(k0).size, 6)
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/bias")), [0, 0, 0, 0])
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([[5, 6, 0, 0], [7, 8, 0, 0], [0, 0, 5, 6], [0, 0, 7, 8]]))
      assert.isFalse(e.plan.preservesFunction)
      assert.deepStrictEqual(e.plan.breaks, ["dense_0: randomly initialised", "dense_2: randomly initialised"])
    }))
})

describe("noisy operators", () => {
  const sumOverInputCopies = (kernel: Float32Array, I: number, O: number, i: number, k: number) => {
    const out: Array<number> = []
    for (let v = 0; v < i; v++) for (let o = 0; o < O; o++) {
      let s = 0
      for (let r = 0; r < k; r++) s += kernel[(r * i + v) * O + o]
      out.push(s)
    }
    return out
  }

  for (const k of [2, 3]) {
    it.effect(`noisy symmetric k=${k}: the noise sums to zero over the input copies; the first layer (input not grown) stays exact`, () =>
      Effect.gen(function*() {
        const e = yield* grow(tinyMlp, mlp(2, [2 * k, 2 * k, 1]), { method: "noisy-symmetric", noise: { scheme: "snr", snrDb: 10 } })
        assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/kernel")), rows([[1, 2], [3, 4]].map((r) => Array.from({ length: k }, () => r).flat())))
        assert.isNull(e.layers[0].snrDb)
        assert.include(e.layers[0].note, "no noise")
        const k1 = weight(e.model, "dense_1/kernel")
        const sums = sumOverInputCopies(k1, 2 * k, 2 * k, 2, k)
        const expected = [[5, 6], [7, 8]].flatMap((r) => Array.from({ length: k }, () => r).flat())
        sums.forEach((s, j) => assert.closeTo(s, expected[j], 2e-6))
        // the noise is really there: no entry equals W/k
        const base = [[5, 6], [7, 8]].map((r) => r.map((w) => w / k))
        for (let r = 0; r < k; r++) for (let v = 0; v < 2; v++) for (let o = 0; o < 2 * k; o++) {
          assert.isAbove(Math.abs(k1[(r * 2 + v) * 2 * k + o] - base[v][o % 2]), 1e-4)
        }
        assert.isNotNull(e.layers[1].snrDb)
        assert.isAbove(e.layers[1].quarterMaxAbsDiff!, 0)
        assert.isTrue(e.plan.preservesFunction)
      }))

    it.effect(`noisy diagonal k=${k}: W on the diagonal blocks plus noise that cancels over the input copies`, () =>
      Effect.gen(function*() {
        const e = yield* grow(tinyMlp, mlp(2, [2 * k, 2 * k, 1]), { method: "noisy-diagonal", noise: { scheme: "scaled", distribution: "normal" } })
        const k1 = weight(e.model, "dense_1/kernel")
        const sums = sumOverInputCopies(k1, 2 * k, 2 * k, 2, k)
        const expected = [[5, 6], [7, 8]].flatMap((r) => Array.from({ length: k }, () => r).flat())
        sums.forEach((s, j) => assert.closeTo(s, expected[j], 2e-5))
        // off-diagonal blocks hold pure noise (non-zero), diagonal blocks differ from W
        assert.isAbove(Math.abs(k1[0 * 2 * k + 2]), 1e-4)
        assert.isAbove(Math.abs(k1[0] - 5), 1e-4)
        // the study's quarter difference: the diagonal blocks are not equal
        assert.isAbove(e.layers[1].quarterMaxAbsDiff!, 1e-3)
        assert.deepStrictEqual(e.layers.map((l) => l.operator), ["noisy-symmetric", "noisy-diagonal", "noisy-symmetric"])
      }))
  }

  it.effect("the same seed gives the same noise; another seed other noise", () =>
    Effect.gen(function*() {
      const opts = { method: "noisy-symmetric" as const, noise: { scheme: "snr" as const, snrDb: 10 } }
      const a = yield* Expander.grow(tinyMlp, mlp(2, [4, 4, 1]), { ...opts, seed: 1 })
      const b = yield* Expander.grow(tinyMlp, mlp(2, [4, 4, 1]), { ...opts, seed: 1 })
      const c = yield* Expander.grow(tinyMlp, mlp(2, [4, 4, 1]), { ...opts, seed: 2 })
      assert.deepStrictEqual(Array.from(weight(a.model, "dense_1/kernel")), Array.from(weight(b.model, "dense_1/kernel")))
      assert.notDeepEqual(Array.from(weight(a.model, "dense_1/kernel")), Array.from(weight(c.model, "dense_1/kernel")))
    }))
})

describe("envelope", () => {
  it.effect("Dense 2→4 and 2→6: the source block in the centre, zeros around; biases centred", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "envelope", fill: "zeros" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/kernel")), rows([[0, 1, 2, 0], [0, 3, 4, 0]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_0/bias")), f32([0, 0.5, -0.5, 0]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([[0, 0, 0, 0], [0, 5, 6, 0], [0, 7, 8, 0], [0, 0, 0, 0]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), f32([0, 9, 10, 0]))
      assert.isTrue(e.plan.preservesFunction)
      const e3 = yield* grow(tinyMlp, mlp(2, [6, 6, 1]), { method: "envelope" })
      const z = [0, 0, 0, 0, 0, 0]
      assert.deepStrictEqual(Array.from(weight(e3.model, "dense_1/kernel")), rows([z, z, [0, 0, 5, 6, 0, 0], [0, 0, 7, 8, 0, 0], z, z]))
    }))

  it.effect("takes non-integer multipliers (2→3: offset 0) that tiled methods refuse", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [3, 3, 1]), { method: "envelope" })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_1/kernel")), rows([[5, 6, 0], [7, 8, 0], [0, 0, 0]]))
      assert.strictEqual(e.layers[1].outMultiplier, 1.5)
    }))

  it.effect("scaled-noise fill: the centre is exact, every other entry is noise, and the plan says it breaks the function", () =>
    Effect.gen(function*() {
      const e = yield* grow(tinyMlp, mlp(2, [4, 4, 1]), { method: "envelope", fill: "scaled-noise" })
      const k1 = Array.from(weight(e.model, "dense_1/kernel"))
      assert.deepStrictEqual([k1[5], k1[6], k1[9], k1[10]], [5, 6, 7, 8])
      for (const j of [0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 14, 15]) assert.notStrictEqual(k1[j], 0)
      assert.isFalse(e.plan.preservesFunction)
      assert.isNotNull(e.layers[1].snrDb)
      assert.isNull(e.layers[1].quarterMaxAbsDiff)
    }))
})

// Conv2D kernels [kh, kw, in, out]: a 2×2 conv between two convs, so its input and output channels both grow.
const convNet = (f1: number, f2: number) => spec({
  inputShape: [3, 3, 1],
  layers: [
    { _tag: "conv2d", filters: f1, kernelSize: 2 }, { _tag: "conv2d", filters: f2, kernelSize: 2 },
    { _tag: "flatten" }, { _tag: "dense", units: 1 }
  ]
})
const mid = Array.from({ length: 16 }, (_, j) => j + 1) // tap t = [[4t+1, 4t+2], [4t+3, 4t+4]]
const tinyConv = modelOf(convNet(2, 2), {
  "conv2d_0/kernel": [1, -1, 2, -2, 3, -3, 4, -4], "conv2d_0/bias": [0.1, 0.2],
  "conv2d_1/kernel": mid, "conv2d_1/bias": [0.3, 0.4],
  "dense_3/kernel": [1, 2], "dense_3/bias": [0]
})
const tap = (kernel: Float32Array, t: number, size: number) => Array.from(kernel.subarray(t * size, (t + 1) * size))

describe("Conv2D", () => {
  it.effect("symmetric k=2 and k=3 on every kernel tap", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyConv, convNet(4, 4), { method: "symmetric", seed: 1 })
      const k = weight(e.model, "conv2d_1/kernel")
      assert.strictEqual(k.length, 4 * 16)
      assert.deepStrictEqual(tap(k, 0, 16), rows([[0.5, 1, 0.5, 1], [1.5, 2, 1.5, 2], [0.5, 1, 0.5, 1], [1.5, 2, 1.5, 2]]))
      assert.deepStrictEqual(tap(k, 3, 16), rows([[6.5, 7, 6.5, 7], [7.5, 8, 7.5, 8], [6.5, 7, 6.5, 7], [7.5, 8, 7.5, 8]]))
      assert.deepStrictEqual(Array.from(weight(e.model, "conv2d_0/kernel")), f32([1, -1, 1, -1, 2, -2, 2, -2, 3, -3, 3, -3, 4, -4, 4, -4]))
      const e3 = yield* Expander.grow(tinyConv, convNet(6, 6), { method: "symmetric", seed: 1 })
      const k3 = weight(e3.model, "conv2d_1/kernel")
      const a = [1 / 3, 2 / 3, 1 / 3, 2 / 3, 1 / 3, 2 / 3]
      const b = [1, 4 / 3, 1, 4 / 3, 1, 4 / 3]
      assert.deepStrictEqual(tap(k3, 0, 36), rows([a, b, a, b, a, b]))
    }))

  it.effect("diagonal k=2 and envelope 2→4 on every kernel tap", () =>
    Effect.gen(function*() {
      const d = yield* Expander.grow(tinyConv, convNet(4, 4), { method: "diagonal", seed: 1 })
      const k = weight(d.model, "conv2d_1/kernel")
      assert.deepStrictEqual(tap(k, 0, 16), rows([[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]]))
      assert.deepStrictEqual(tap(k, 2, 16), rows([[9, 10, 0, 0], [11, 12, 0, 0], [0, 0, 9, 10], [0, 0, 11, 12]]))
      const env = yield* Expander.grow(tinyConv, convNet(4, 4), { method: "envelope", seed: 1 })
      const ke = weight(env.model, "conv2d_1/kernel")
      assert.deepStrictEqual(tap(ke, 1, 16), rows([[0, 0, 0, 0], [0, 5, 6, 0], [0, 7, 8, 0], [0, 0, 0, 0]]))
      assert.deepStrictEqual(Array.from(weight(env.model, "conv2d_1/bias")), f32([0, 0.3, 0.4, 0]))
    }))
})

// Conv → Flatten → Dense: input [2, 1, 1] (2 positions), conv 1×1 with 2 filters, flatten (4 = 2 positions × 2
// channels, index position·C + channel), Dense 2, Dense 1.
const flatNet = (filters: number, units: number) => spec({
  inputShape: [2, 1, 1],
  layers: [
    { _tag: "conv2d", filters, kernelSize: 1, activation: "relu" }, { _tag: "flatten" },
    { _tag: "dense", units, activation: "relu" }, { _tag: "dense", units: 1 }
  ]
})
const tinyFlat = modelOf(flatNet(2, 2), {
  "conv2d_0/kernel": [1, -1], "conv2d_0/bias": [0, 0],
  "dense_2/kernel": [1, 2, 3, 4, 5, 6, 7, 8], "dense_2/bias": [0.1, 0.2],
  "dense_3/kernel": [1, 1], "dense_3/bias": [0]
})

describe("Conv → Flatten → Dense", () => {
  it.effect("symmetric replicates the Dense rows per spatial position (not by tiling the flat vector)", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyFlat, flatNet(4, 4), { method: "symmetric", seed: 1 })
      // rows: (position, copy, channel); source row = position·2 + channel
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), rows([
        [0.5, 1, 0.5, 1], [1.5, 2, 1.5, 2], [0.5, 1, 0.5, 1], [1.5, 2, 1.5, 2],
        [2.5, 3, 2.5, 3], [3.5, 4, 3.5, 4], [2.5, 3, 2.5, 3], [3.5, 4, 3.5, 4]
      ]))
      assert.strictEqual(e.layers[2].inMultiplier, 2)
      const e3 = yield* Expander.grow(tinyFlat, flatNet(6, 2), { method: "symmetric", seed: 1 })
      const r = (a: number, b: number) => [a / 3, b / 3]
      assert.deepStrictEqual(Array.from(weight(e3.model, "dense_2/kernel")), rows([
        r(1, 2), r(3, 4), r(1, 2), r(3, 4), r(1, 2), r(3, 4), r(5, 6), r(7, 8), r(5, 6), r(7, 8), r(5, 6), r(7, 8)
      ]))
    }))

  it.effect("diagonal pairs input copy r of each position with output copy r", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyFlat, flatNet(4, 4), { method: "diagonal", seed: 1 })
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), rows([
        [1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4],
        [5, 6, 0, 0], [7, 8, 0, 0], [0, 0, 5, 6], [0, 0, 7, 8]
      ]))
      assert.strictEqual(e.layers[2].operator, "diagonal")
    }))

  it.effect("envelope centres the channels of every position", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyFlat, flatNet(4, 4), { method: "envelope", seed: 1 })
      const z = [0, 0, 0, 0]
      assert.deepStrictEqual(Array.from(weight(e.model, "dense_2/kernel")), rows([
        z, [0, 1, 2, 0], [0, 3, 4, 0], z,
        z, [0, 5, 6, 0], [0, 7, 8, 0], z
      ]))
    }))

  it.effect("noisy diagonal: the noise cancels over the copies of each (position, channel)", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(tinyFlat, flatNet(4, 4), { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 0 }, seed: 3 })
      const k = weight(e.model, "dense_2/kernel")
      const W = [[1, 2], [3, 4], [5, 6], [7, 8]]
      for (let p = 0; p < 2; p++) for (let ch = 0; ch < 2; ch++) for (let o = 0; o < 4; o++) {
        const sum = k[(p * 4 + ch) * 4 + o] + k[(p * 4 + 2 + ch) * 4 + o]
        assert.closeTo(sum, W[p * 2 + ch][o % 2], 1e-5)
      }
    }))
})
