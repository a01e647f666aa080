/**
 * The generic operator tests, derived from the registry: every registered method, with each of the params its
 * descriptor gives as examples, on the study's small CNN (trained-scale random weights) grown into large-1, large-2
 * and a third target of its layout (×3 for tiled methods, ×1.5 for centred ones), and on a net with BatchNormalization
 * and Dropout between grown layers:
 * - its examples decode with the stage's params Schema, and the method is in the stage's method list;
 * - shapes: the grown model has exactly the target spec's weights (names, shapes, sizes), one record per layer;
 * - preservation as claimed: where the plan claims the function is kept, max |Δlogits| ≤ 1e-5 (relative to
 *   max(1, max |logits|)) on 64 seeded random images and the first 64 CIFAR-10 test images; where it claims not, the
 *   difference is really there (> 1e-2);
 * - seed determinism: the same seed gives byte-identical weights and records; a layer whose record shows drawn values
 *   changes with the seed;
 * - no tensor leaks across growing and measuring;
 * - on a residual network (ResNet-8, BatchNormalization after every conv, identity and projection shortcuts): whole
 *   stages grow together (the convs of a stage, their BatchNorms and the shortcut feeding the same `add`), and the
 *   plan's claim holds there too, for all three stages grown and for one stage grown alone.
 * A new operator file is covered by these tests with no edit here.
 */
import { describe, it, assert, beforeAll } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { encodeModelSpec, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Preservation from "@growlab/train/Preservation"
import { expandStage, Params } from "../src/ExpandStage.js"
import * as Expander from "../src/Expander.js"
import * as Registry from "../src/Registry.js"
import { resnet } from "@growlab/core/ResNet"
import { cifarTest, cnn, randomModel, spec } from "./support/fixtures.js"

const small = randomModel(cnn(64, 64, 64), 21)
const targets = {
  tile: { "large-1": cnn(128, 64, 128), "large-2": cnn(128, 128, 128), "×3": cnn(192, 192, 192) },
  centre: { "large-1": cnn(128, 64, 128), "large-2": cnn(128, 128, 128), "×1.5": cnn(96, 96, 96) }
} as const

/** Conv → BatchNormalization → ReLU → Flatten → Dense → Dropout → Dense, with non-trivial BN statistics. */
const bnNet = (c: number, d: number): ModelSpec => spec({
  inputShape: [8, 8, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 255 }, { _tag: "conv2d", filters: c, kernelSize: 3 }, { _tag: "batchNormalization" },
    { _tag: "activation", activation: "relu" }, { _tag: "flatten" }, { _tag: "dense", units: d, activation: "relu" },
    { _tag: "dropout", rate: 0.5 }, { _tag: "dense", units: 4 }
  ]
})
const bnSource = (() => {
  const base = randomModel(bnNet(4, 6), 2)
  return {
    ...base,
    weights: base.weights.map((w) => w.param === "movingVariance" ? { ...w, values: w.values.map((v) => 0.5 + Math.abs(v)) } : w.param === "gamma" ? { ...w, values: w.values.map((v) => 1 + v) } : w)
  }
})()

/** ResNet-8 [8, 16, 32] with non-trivial BatchNorm statistics, and its targets per layout (all stages; stage 2 alone). */
const resnetSource = (() => {
  const base = randomModel(spec(resnet({ blocks: 1, widths: [8, 16, 32] })), 9)
  return {
    ...base,
    weights: base.weights.map((w) => w.param === "movingVariance" ? { ...w, values: w.values.map((v) => 0.5 + Math.abs(v)) } : w.param === "gamma" ? { ...w, values: w.values.map((v) => 1 + v) } : w)
  }
})()
const resnetTargets = {
  tile: { "all stages ×2": spec(resnet({ blocks: 1, widths: [16, 32, 64] })), "stage 2 ×2": spec(resnet({ blocks: 1, widths: [8, 32, 32] })) },
  centre: { "all stages ×1.5": spec(resnet({ blocks: 1, widths: [12, 24, 48] })), "stage 2 ×1.5": spec(resnet({ blocks: 1, widths: [8, 24, 32] })) }
} as const

const N = 64
let cifar: Dataset

beforeAll(() => {
  ensureNativeSync()
  cifar = cifarTest(N)
})

const bytes = (m: ModelArtifact.Model) => m.weights.map((w) => `${w.name} ${Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength).toString("base64")}`)

const label = (example: Readonly<Record<string, unknown>>) => JSON.stringify(example)

describe("operator registry", () => {
  it("lists every method in the stage's method literal and description, and every operator in the docs table", () => {
    assert.isAbove(Registry.methods.length, 0)
    for (const d of Registry.methods) {
      assert.include(Registry.methodNames, d.name)
      assert.include(expandStage.description, d.name)
      assert.isAbove(d.method.examples.length, 0, `${d.name} gives examples`)
    }
    const table = Registry.docsTable()
    for (const d of Registry.all) assert.include(table, `| ${d.method ? `**${d.name}**` : d.name} |`)
  })
})

for (const d of Registry.methods) {
  describe(`method ${d.name}`, () => {
    for (const example of d.method.examples) {
      it.effect(`${label(example)}: its params decode with the stage's Schema`, () =>
        Effect.gen(function*() {
          const p = yield* Schema.decodeUnknown(Params)({ target: encodeModelSpec(targets[d.method.layout]["large-2"]), method: d.name, ...example })
          assert.strictEqual(p.method, d.name)
        }))

      for (const [name, target] of Object.entries(targets[d.method.layout])) {
        it.effect(`${name} ${label(example)}: shapes, preservation as claimed, seed determinism, no tensor leak`, () =>
          Effect.gen(function*() {
            const before = tf.memory().numTensors
            const e = yield* Expander.grow(small, target, { method: d.name, ...example, seed: 5 })
            yield* ModelArtifact.validate("<grown>", e.model)
            assert.deepStrictEqual(e.model.spec, target)
            assert.strictEqual(e.layers.length, target.layers.length)
            const p = Preservation.measureOn(small, e.model, { size: N, seed: 1, dataset: cifar })
            assert.isAbove(p.real!.maxAbsLogits, 1, "logits large enough for a relative check")
            if (e.plan.preservesFunction) {
              assert.isAtMost(p.random.relativeDiff, Preservation.TOLERANCE, `random: max |Δ| ${p.random.maxAbsDiff} of ${p.random.maxAbsLogits}`)
              assert.isAtMost(p.real!.relativeDiff, Preservation.TOLERANCE, `real: max |Δ| ${p.real!.maxAbsDiff} of ${p.real!.maxAbsLogits}`)
            } else {
              assert.isAbove(e.plan.breaks.length, 0)
              assert.isAbove(p.random.relativeDiff, 1e-2, "claimed not preserving: the difference is there")
              assert.isAbove(p.real!.relativeDiff, 1e-2, "claimed not preserving: the difference is there")
            }
            const again = yield* Expander.grow(small, target, { method: d.name, ...example, seed: 5 })
            assert.deepStrictEqual(bytes(again.model), bytes(e.model), "same seed, same weights")
            assert.deepStrictEqual(again.layers, e.layers, "same seed, same records")
            const other = yield* Expander.grow(small, target, { method: d.name, ...example, seed: 6 })
            for (const l of e.layers.filter((r) => r.noiseStd !== null)) {
              const w = (m: ModelArtifact.Model) => bytes(m).find((b) => b.startsWith(`${l.layer}/kernel `))
              assert.notStrictEqual(w(other.model), w(e.model), `${l.layer} draws values: another seed, other weights`)
            }
            assert.strictEqual(tf.memory().numTensors, before, "tensors leaked")
          }))
      }

      for (const [name, target] of Object.entries(resnetTargets[d.method.layout])) {
        it.effect(`ResNet-8, ${name} ${label(example)}: residual stages grow together, preservation as claimed`, () =>
          Effect.gen(function*() {
            const before = tf.memory().numTensors
            const e = yield* Expander.grow(resnetSource, target, { method: d.name, ...example, seed: 5 })
            yield* ModelArtifact.validate("<grown>", e.model)
            const p = Preservation.measureOn(resnetSource, e.model, { size: 32, seed: 1, dataset: cifar })
            if (e.plan.preservesFunction) {
              assert.isAtMost(p.random.relativeDiff, Preservation.TOLERANCE, `random: max |Δ| ${p.random.maxAbsDiff} of ${p.random.maxAbsLogits}`)
              assert.isAtMost(p.real!.relativeDiff, Preservation.TOLERANCE, `real: max |Δ| ${p.real!.maxAbsDiff} of ${p.real!.maxAbsLogits}`)
            } else {
              assert.isAbove(p.random.relativeDiff, 1e-2, "claimed not preserving: the difference is there")
            }
            assert.strictEqual(tf.memory().numTensors, before, "tensors leaked")
          }))
      }

      it.effect(`${label(example)}: BatchNormalization and Dropout between grown layers keep what the plan claims`, () =>
        Effect.gen(function*() {
          const target = bnNet(8, 12)
          const e = yield* Expander.grow(bnSource, target, { method: d.name, ...example, seed: 3 })
          yield* ModelArtifact.validate("<grown>", e.model)
          assert.strictEqual(e.layers[2].operator, "replicate")
          if (!e.plan.preservesFunction) return
          const p = Preservation.measureOn(bnSource, e.model, { size: 32, seed: 4 })
          assert.isAtMost(p.random.relativeDiff, Preservation.TOLERANCE, `max |Δ| ${p.random.maxAbsDiff}`)
        }))
    }
  })
}
