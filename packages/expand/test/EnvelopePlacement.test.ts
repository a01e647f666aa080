/**
 * Where the envelope puts the source units on the channel axis does not matter: moving them from the middle of each
 * grown layer to its start (and the rows that read them with them) is a relabelling of hidden units. The relabelled
 * network computes the same logits and gets the same gradients, relabelled; Adam works elementwise, so it trains the
 * same. The "centre" of the envelope is a position among units, not in the image that Grad-CAM looks at.
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import type { Model } from "@growlab/core/ModelArtifact"
import * as Forward from "@growlab/train/Forward"
import * as Expander from "../src/Expander.js"
import type { AxisMap } from "../src/AxisMap.js"
import { maxAbs } from "../src/Heatmap.js"
import { cifarTest, cnn, gradients, randomModel } from "./support/fixtures.js"

beforeAll(() => { ensureNativeSync() })

/** new unit j ← old unit order[j]: the source units first (in source order), then the new ones. */
const sourcesFirst = (m: AxisMap): Int32Array => {
  const order = [...m.source.keys()]
  return Int32Array.from([...order.filter((j) => m.source[j] >= 0).sort((a, b) => m.source[a] - m.source[b]), ...order.filter((j) => m.source[j] < 0)])
}

/** The same axis order repeated per position of a channels-last flattened map of `size` features. */
const perPosition = (channels: Int32Array, size: number): Int32Array =>
  Int32Array.from({ length: size }, (_, k) => Math.floor(k / channels.length) * channels.length + channels[k % channels.length])

/** How one kernel layer's input and output units are relabelled (new index ← old index), and its taps. */
interface Relabelling { readonly inOrder: Int32Array; readonly outOrder: Int32Array; readonly spatial: number }

/** Every kernel layer's relabelling of a grown model's plan. */
const relabellings = (plan: Expander.Expansion["plan"]) => {
  const out = new Map<string, Relabelling>()
  let previous: Int32Array | undefined
  for (const layer of plan.layers.filter((l) => l.spatial > 0)) {
    const inOrder = previous === undefined
      ? Int32Array.from({ length: layer.inMap.size }, (_, i) => i)
      : previous.length === layer.inMap.size ? previous : perPosition(previous, layer.inMap.size)
    const outOrder = sourcesFirst(layer.outMap)
    out.set(layer.name, { inOrder, outOrder, spatial: layer.spatial })
    previous = outOrder
  }
  return out
}

/** A weight (or its gradient) of layer `name`, read through the relabelling: value at new index ← old index. */
const relabel = (param: string, values: Float32Array, r: Relabelling): Float32Array => {
  const I = r.inOrder.length, O = r.outOrder.length
  const out = new Float32Array(values.length)
  if (param === "bias") {
    for (let o = 0; o < O; o++) out[o] = values[r.outOrder[o]]
    return out
  }
  for (let s = 0; s < r.spatial; s++) for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) {
    out[(s * I + i) * O + o] = values[(s * I + r.inOrder[i]) * O + r.outOrder[o]]
  }
  return out
}

describe("envelope placement", () => {
  it.effect("source units in the middle or first: the same logits, and gradients equal up to the relabelling", () =>
    Effect.gen(function*() {
      const before = tf.memory().numTensors
      const e = yield* Expander.grow(randomModel(cnn(64, 64, 64), 8), cnn(128, 128, 128), { method: "envelope", fill: "scaled-noise", seed: 1 })
      const r = relabellings(e.plan)
      assert.isAbove([...r.values()].filter((x) => x.outOrder.some((o, j) => o !== j)).length, 2, "several layers are really relabelled")
      const moved: Model = { ...e.model, weights: e.model.weights.map((w) => (r.has(w.layer) ? { ...w, values: relabel(w.param, w.values, r.get(w.layer)!) } : w)) }
      // the envelope centres conv 2's 64 source channels among its 128 (offset 32); the relabelling puts them first
      const conv = e.plan.layers.filter((l) => l.spatial > 1)[1]
      assert.strictEqual(conv.outMap.source[0], -1)
      assert.strictEqual(conv.outMap.source[32], 0)
      assert.deepStrictEqual([...sourcesFirst(conv.outMap).slice(0, 3)], [32, 33, 34])

      const d = cifarTest(64)
      const [a, b] = tf.tidy(() => {
        const x = tf.tensor(Float32Array.from(d.images), [64, 32, 32, 3])
        return [Forward.logits(e.model, x).dataSync() as Float32Array, Forward.logits(moved, x).dataSync() as Float32Array]
      })
      const scale = Math.max(1, maxAbs(a))
      assert.isBelow(maxAbs(a.map((v, i) => v - b[i])) / scale, 1e-5, "same logits")

      const g = gradients(e.model)
      const gMoved = gradients(moved)
      for (const w of e.model.weights) {
        const expected = r.has(w.layer) ? relabel(w.param, g.get(w.name)!, r.get(w.layer)!) : g.get(w.name)!
        const got = gMoved.get(w.name)!
        const tol = 1e-5 * Math.max(1e-3, maxAbs(expected))
        assert.isBelow(maxAbs(got.map((v, i) => v - expected[i])), tol, `${w.name}: gradients equal up to the relabelling`)
      }
      assert.strictEqual(tf.memory().numTensors, before)
    }))
})
