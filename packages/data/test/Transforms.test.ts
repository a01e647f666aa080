import { describe, it, assert, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { NodeContext } from "@effect/platform-node"
import * as Backend from "@growlab/core/Backend"
import * as tf from "@tensorflow/tfjs"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import * as Loader from "../src/Loader.js"
import * as Transforms from "../src/Transforms.js"
import { DATA_DIR } from "./fixtures.js"

class Data extends Context.Tag("test/Data")<Data, { readonly fashionTrain: Dataset; readonly cifarTest: Dataset }>() {}

const DataLive = Layer.effect(
  Data,
  Effect.all({
    fashionTrain: Loader.loadSplit("fashion-mnist", "train", { dataDir: DATA_DIR }),
    cifarTest: Loader.loadSplit("cifar10", "test", { dataDir: DATA_DIR })
  }).pipe(Effect.orDie)
).pipe(Layer.provide(NodeContext.layer))

const perClass = (d: Dataset) => {
  const c = new Array<number>(d.classNames.length).fill(0)
  for (const l of d.labels) c[l]++
  return c
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0

/** Checks that every selected example is the source example at its sourceIndex. */
const assertRowsFromSource = (sub: Dataset, source: Dataset) => {
  const w = sub.images.length / sub.labels.length
  for (let i = 0; i < sub.labels.length; i++) {
    const s = sub.sourceIndex[i]
    if (sub.labels[i] !== source.labels[s] || !same(sub.images.subarray(i * w, (i + 1) * w), source.images.subarray(s * w, (s + 1) * w))) {
      assert.fail(`example ${i} is not source example ${s}`)
    }
  }
}

describe("quotas", () => {
  it("splits a size over classes in proportion, largest remainders first, ties to the lower class", () => {
    assert.deepStrictEqual(Transforms.quotas([5, 3, 2], 5), [3, 1, 1])
    assert.deepStrictEqual(Transforms.quotas([6000, 6000, 6000], 1000), [334, 333, 333])
    assert.deepStrictEqual(Transforms.quotas([10, 0, 10], 20), [10, 0, 10])
  })
})

layer(DataLive, { timeout: 60_000 })("selections and transforms on real data", (it) => {
  it.effect("a seeded subset is stratified, in source order, deterministic, and nested in a larger one", () =>
    Effect.gen(function*() {
      const { fashionTrain } = yield* Data
      const a = yield* Transforms.subset(fashionTrain, 1000, 7)
      const b = yield* Transforms.subset(fashionTrain, 1000, 7)
      const other = yield* Transforms.subset(fashionTrain, 1000, 8)
      const small = yield* Transforms.subset(fashionTrain, 100, 7)
      assert.deepStrictEqual(perClass(a), new Array(10).fill(100))
      assert.isTrue(same(a.images, b.images) && same(new Uint8Array(a.sourceIndex.buffer), new Uint8Array(b.sourceIndex.buffer)))
      assert.isFalse(same(new Uint8Array(a.sourceIndex.buffer), new Uint8Array(other.sourceIndex.buffer)))
      for (let i = 1; i < a.sourceIndex.length; i++) assert.isBelow(a.sourceIndex[i - 1], a.sourceIndex[i])
      const inA = new Set(a.sourceIndex)
      assert.isTrue(Array.from(small.sourceIndex).every((s) => inA.has(s)))
      assertRowsFromSource(a, fashionTrain)
      assert.deepInclude(a.transforms[0], { kind: "subset", size: 1000, of: 60_000, seed: 7, stratified: true })
    }))

  it.effect("a validation split is stratified, disjoint from train, and covers the split", () =>
    Effect.gen(function*() {
      const { fashionTrain } = yield* Data
      const { train, validation } = yield* Transforms.splitValidation(fashionTrain, { fraction: 0.1 }, 3)
      assert.strictEqual(validation.split, "validation")
      assert.deepStrictEqual(perClass(validation), new Array(10).fill(600))
      assert.deepStrictEqual(perClass(train), new Array(10).fill(5400))
      const all = new Set([...train.sourceIndex, ...validation.sourceIndex])
      assert.strictEqual(all.size, 60_000)
      assertRowsFromSource(validation, fashionTrain)
      const again = yield* Transforms.splitValidation(fashionTrain, { size: 6000 }, 3)
      assert.isTrue(same(new Uint8Array(again.validation.sourceIndex.buffer), new Uint8Array(validation.sourceIndex.buffer)))
      const tooBig = yield* Effect.flip(Transforms.subset(validation, 6001, 0))
      assert.deepStrictEqual([tooBig.field, tooBig.expected, tooBig.actual], ["subset.validation", "a size in [1, 6000] examples", "6001"])
    }))

  it.effect("noise: sigma 0 changes nothing; a seed fixes it; an example's noise does not depend on the subset; std is sigma", () =>
    Effect.gen(function*() {
      const { cifarTest } = yield* Data
      const big = yield* Transforms.subset(cifarTest, 1000, 1)
      const small = yield* Transforms.subset(cifarTest, 100, 1)
      assert.isTrue(same((yield* Transforms.addNoise(small, 0, 5)).images, small.images))
      const n1 = yield* Transforms.addNoise(big, 0.1, 5)
      const n2 = yield* Transforms.addNoise(big, 0.1, 5)
      const n3 = yield* Transforms.addNoise(big, 0.1, 6)
      assert.isTrue(same(n1.images, n2.images))
      assert.isFalse(same(n1.images, n3.images))
      const ns = yield* Transforms.addNoise(small, 0.1, 5)
      const row = new Map(Array.from(big.sourceIndex, (s, i) => [s, i]))
      for (let i = 0; i < small.labels.length; i++) {
        const j = row.get(small.sourceIndex[i])!
        assert.isTrue(same(ns.images.subarray(i * 3072, (i + 1) * 3072), n1.images.subarray(j * 3072, (j + 1) * 3072)))
      }
      // residuals on pixels far from the clip bounds: mean 0, std sigma (quantisation adds 1/255/sqrt(12))
      let s = 0, ss = 0, k = 0
      for (let i = 0; i < big.images.length; i++) {
        const p = big.images[i]
        if (p < 80 || p > 175) continue
        const r = (n1.images[i] - p) / 255
        s += r; ss += r * r; k++
      }
      const mean = s / k
      const std = Math.sqrt(ss / k - mean * mean)
      assert.isAbove(k, 500_000)
      assert.isBelow(Math.abs(mean), 1e-3)
      assert.isBelow(Math.abs(std - 0.1), 2e-3, `std ${std}`)
      assert.deepInclude(n1.transforms[n1.transforms.length - 1], { kind: "noise", sigma: 0.1, seed: 5 })
      const bad = yield* Effect.flip(Transforms.addNoise(big, 1.5, 0))
      assert.strictEqual(bad.field, "noise.sigma")
    }))

  it.effect("pad 2 turns 28x28 into 32x32 with a zero border and the image in the middle", () =>
    Effect.gen(function*() {
      const { fashionTrain } = yield* Data
      const d = yield* Transforms.subset(fashionTrain, 50, 0)
      const p = yield* Transforms.pad(d, 2)
      assert.deepStrictEqual(p.shape, [32, 32, 1])
      for (let i = 0; i < 50; i++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            const v = p.images[i * 1024 + y * 32 + x]
            const inside = y >= 2 && y < 30 && x >= 2 && x < 30
            const want = inside ? d.images[i * 784 + (y - 2) * 28 + (x - 2)] : 0
            if (v !== want) assert.fail(`image ${i} (${y}, ${x}): ${v} != ${want}`)
          }
        }
      }
      assert.deepInclude(p.transforms[p.transforms.length - 1], { kind: "pad", pixels: 2, from: [28, 28, 1], to: [32, 32, 1] })
      const flat = Transforms.flatten(p)
      assert.deepStrictEqual(flat.shape, [1024])
      assert.strictEqual(flat.images, p.images)
      const err = yield* Effect.flip(Transforms.pad(flat, 2))
      assert.strictEqual(err.field, "shape")
    }))

  it.effect("bilinear resize matches TensorFlow's resizeBilinear (half-pixel centres) to rounding", () =>
    Effect.gen(function*() {
      Backend.ensureNativeSync()
      const { cifarTest } = yield* Data
      const d = yield* Transforms.subset(cifarTest, 20, 0)
      for (const [h, w] of [[40, 40], [20, 24], [32, 32]] as const) {
        const ours = yield* Transforms.resize(d, h, w)
        const theirs = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(Float32Array.from(d.images), [20, 32, 32, 3]), [h, w], false, true).dataSync() as Float32Array)
        let worst = 0
        for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours.images[i] - theirs[i]))
        assert.isBelow(worst, 0.5 + 1e-3, `${h}x${w}`)
        assert.deepStrictEqual(ours.shape, [h, w, 3])
      }
      assert.isTrue(same((yield* Transforms.resize(d, 32, 32)).images, d.images))
    }))
})
