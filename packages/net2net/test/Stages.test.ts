import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { tableFromIPC } from "apache-arrow"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { encodeModelSpec, ModelSpec } from "@growlab/core/ModelSpec"
import { decodeParams, runStage } from "@growlab/core/StageContext"
import { loadGraph } from "@growlab/pipeline/Runner"
import * as Schema from "effect/Schema"
import * as tf from "@tensorflow/tfjs"
import * as ExpansionArtifact from "@growlab/core/ExpansionArtifact"
import * as Net2Wider from "../src/Net2Wider.js"
import { net2deeperStage } from "../src/Net2DeeperStage.js"
import { net2widerStage } from "../src/Net2WiderStage.js"
import * as Preservation from "@growlab/train/Preservation"
import { stages } from "../src/stages.js"
import { cifarTest, cnnLarge1, cnnLarge2, cnnSmall, randomModel } from "./fixtures.js"

Backend.ensureNativeSync()

const here = path.dirname(fileURLToPath(import.meta.url))

/** A temp folder holding a random small CNN and 64 real CIFAR-10 test images as artifacts. */
const fixture = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-net2net-" })
  const model = randomModel(cnnSmall, 17)
  yield* ModelArtifact.write(`${dir}/small.arrow`, model)
  yield* DatasetArtifact.write(`${dir}/probe.arrow`, cifarTest(64))
  return { dir, model, inputs: { model: `${dir}/small.arrow`, probe: `${dir}/probe.arrow` } }
})

describe("stages", () => {
  it("registers net2wider, net2deeper and residual-deeper with the outputs the pipeline registry expects", () => {
    assert.deepStrictEqual(stages.map((s) => s.kind), ["net2wider", "net2deeper", "residual-deeper"])
    for (const s of stages) {
      assert.deepStrictEqual(Object.keys(s.outputs), ["model", "expansion"])
      assert.strictEqual(s.outputs.expansion.kind, "expansion")
      assert.isTrue(s.inputs.probe.optional)
    }
  })

  it.scoped("net2wider small → large-1: writes the grown model and an expansion table with measured preservation", () =>
    Effect.gen(function*() {
      const { dir, model, inputs } = yield* fixture
      const before = tf.memory().numTensors
      const info = yield* runStage(net2widerStage, { target: encodeModelSpec(cnnLarge1), seed: 3, probeSize: 64 }, { outDir: `${dir}/out`, inputs, log: () => {} })
      assert.strictEqual(tf.memory().numTensors, before, "the stage leaks no tensor")
      const grown = yield* ModelArtifact.read(`${dir}/out/model.arrow`)
      assert.deepStrictEqual(grown.spec, cnnLarge1)
      assert.strictEqual(grown.info.method, "net2wider")
      // the stage is deterministic for a seed: the same weights as the library call
      const direct = yield* Net2Wider.widen(model, cnnLarge1, { seed: 3 })
      for (const [i, w] of grown.weights.entries()) assert.deepStrictEqual(Array.from(w.values), Array.from(direct.model.weights[i].values), w.name)
      const e = yield* ExpansionArtifact.read(`${dir}/out/expansion.arrow`)
      const s = e.summary
      assert.strictEqual(s.method, "net2wider")
      assert.isTrue(s.preservesFunction)
      assert.isTrue(s.preserved)
      assert.strictEqual(s.random.count, 64)
      assert.strictEqual(s.real!.count, 64)
      assert.isAtMost(s.random.relativeDiff, 1e-5)
      assert.isAtMost(s.real!.relativeDiff, 1e-5)
      assert.isAbove(s.real!.maxAbsLogits, 0.5)
      assert.strictEqual(s.targetParams - s.sourceParams, (1 * 9 * 32 * 64 + 64) + 9 * 64 * 64 + 1024 * 64 + 64 + 64 * 10)
      const rows = Object.fromEntries(e.layers.map((l) => [l.layer, l]))
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["none", "copy", "none", "net2wider", "none", "net2wider", "none", "net2wider", "net2wider"])
      assert.deepInclude(rows.conv2d_5, { growth: "input", inMultiplier: 2, outMultiplier: 1 })
      assert.deepInclude(rows.dense_8, { growth: "input", inMultiplier: 2, outMultiplier: 1 })
      assert.deepStrictEqual(info.maxAbsDiff, { random: s.random.maxAbsDiff, real: s.real!.maxAbsDiff })
      assert.deepStrictEqual(info.inputSideRewritten, ["conv2d_5", "dense_8"])
      // the Arrow columns carry the measurement on every row, and are aligned with @growlab/expand's names
      const t = tableFromIPC(readFileSync(`${dir}/out/expansion.arrow`))
      for (const c of ["layer", "operator", "growth", "in_multiplier", "out_multiplier", "snr_db", "signal_energy", "noise_energy", "max_abs_diff_random", "max_abs_diff_real"]) {
        assert.isNotNull(t.getChild(c), c)
      }
      assert.strictEqual(t.getChild("max_abs_diff_real")!.get(8), s.real!.maxAbsDiff)
      assert.strictEqual(t.schema.metadata.get("growlab.kind"), "expansion")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("net2wider with noise: measured and reported, not claimed; SNR on the noised layers", () =>
    Effect.gen(function*() {
      const { dir, inputs } = yield* fixture
      yield* runStage(net2widerStage, { target: encodeModelSpec(cnnLarge2), seed: 3, noise: { ratio: 0.05 }, probeSize: 32 }, { outDir: `${dir}/noisy`, inputs, log: () => {} })
      const e = yield* ExpansionArtifact.read(`${dir}/noisy/expansion.arrow`)
      assert.strictEqual(e.summary.method, "net2wider-noise")
      assert.isFalse(e.summary.preservesFunction)
      assert.deepStrictEqual(e.summary.noise, { ratio: 0.05 })
      assert.isAbove(e.summary.random.maxAbsDiff, 0)
      assert.isTrue(Number.isFinite(e.summary.real!.maxAbsDiff))
      // noise sits on the input side of every layer after a widened one
      const noised = e.layers.filter((l) => l.snrDb !== null).map((l) => l.layer)
      assert.deepStrictEqual(noised, ["conv2d_5", "dense_7", "dense_8"])
      assert.deepStrictEqual(e.summary.breaks.length, 3)
      for (const l of e.layers.filter((x) => x.snrDb !== null)) assert.isAbove(l.snrDb!, 10)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("net2deeper inserts an identity Conv2D after conv2d_5 and checks preservation", () =>
    Effect.gen(function*() {
      const { dir, inputs } = yield* fixture
      const before = tf.memory().numTensors
      const info = yield* runStage(net2deeperStage, { after: "conv2d_5", kernelSize: 3, activation: "relu", seed: 1, probeSize: 32 }, { outDir: `${dir}/deeper`, inputs, log: () => {} })
      assert.strictEqual(tf.memory().numTensors, before)
      const deeper = yield* ModelArtifact.read(`${dir}/deeper/model.arrow`)
      assert.strictEqual(deeper.spec.layers.length, 10)
      assert.deepInclude(deeper.spec.layers[6], { _tag: "conv2d", name: "conv2d_5_deeper", filters: 64, padding: "same" })
      const e = yield* ExpansionArtifact.read(`${dir}/deeper/expansion.arrow`)
      assert.strictEqual(e.summary.method, "net2deeper")
      assert.isTrue(e.summary.preserved)
      assert.deepStrictEqual(e.layers.filter((l) => l.operator === "net2deeper").map((l) => l.layer), ["conv2d_5_deeper"])
      assert.deepInclude(info.inserted as object, { name: "conv2d_5_deeper", index: 6, kind: "conv2d" })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with typed errors: narrower target, tanh identity, a probe of another shape; writes nothing", () =>
    Effect.gen(function*() {
      const { dir, inputs } = yield* fixture
      const fs = yield* FileSystem.FileSystem
      const narrow = { ...encodeModelSpec(cnnSmall), layers: encodeModelSpec(cnnSmall).layers.map((l, i) => i === 7 ? { ...l, units: 32 } : l) }
      const e1 = yield* Effect.flip(runStage(net2widerStage, { target: narrow }, { outDir: `${dir}/e1`, inputs, log: () => {} }))
      assert.strictEqual(e1._tag, "Net2NetError")
      assert.include(e1.message, "dense_7")
      assert.isFalse(yield* fs.exists(`${dir}/e1/model.arrow`))
      const e2 = yield* Effect.flip(runStage(net2deeperStage, { after: "dense_7", activation: "tanh" }, { outDir: `${dir}/e2`, inputs, log: () => {} }))
      assert.strictEqual(e2._tag, "Net2NetError")
      const flat = { ...cifarTest(4), shape: [3072] }
      yield* DatasetArtifact.write(`${dir}/flat.arrow`, flat)
      const e3 = yield* Effect.flip(runStage(net2widerStage, { target: encodeModelSpec(cnnLarge2) }, { outDir: `${dir}/e3`, inputs: { model: inputs.model, probe: `${dir}/flat.arrow` }, log: () => {} }))
      assert.strictEqual(e3._tag, "StageFailure")
      assert.include(e3.message, "[32, 32, 3]")
      const e4 = yield* Effect.flip(runStage(net2widerStage, { target: encodeModelSpec(cnnLarge2), noise: { ratio: -1 } }, { outDir: `${dir}/e4`, inputs, log: () => {} }))
      assert.strictEqual(e4._tag, "ParamsError")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("pipelines/study.pipeline.json and its quick profile", () => {
  for (const [name, profile] of [["study", undefined], ["study-quick", "quick"]] as const) {
    it.effect(`${name}: every net2wider instance decodes and widens the small CNN, exactly preserving it`, () =>
      Effect.gen(function*() {
        const root = path.resolve(here, "../../..")
        const g = yield* loadGraph(root, "pipelines/study.pipeline.json", profile === undefined ? {} : { profile })
        const smallInstance = g.instances.find((i) => i.stage === "small")!
        const small = Schema.decodeUnknownSync(ModelSpec)(smallInstance.params.spec)
        assert.deepStrictEqual(small, cnnSmall)
        const source = randomModel(small, 8)
        const n2w = g.instances.filter((i) => i.kind === "net2wider")
        assert.isAbove(n2w.length, 0)
        const seen = new Set<string>()
        for (const inst of n2w) {
          assert.strictEqual(g.byId.get(inst.inputs.find((i) => i.name === "model")!.instances[0])!.stage, "small")
          const params = yield* decodeParams(net2widerStage, inst.params, { file: g.file, stage: inst.id })
          seen.add(`${params.target.name}${params.noise ? " noise" : ""}`)
          const w = yield* Net2Wider.widen(source, params.target, params.noise ? { seed: params.seed, noise: params.noise } : { seed: params.seed })
          if (!params.noise) assert.isTrue(Preservation.measureOn(source, w.model, { size: 8, seed: 1 }).preserved)
        }
        assert.deepStrictEqual([...seen].sort(), name === "study"
          ? ["cnn-large-1", "cnn-large-1 noise", "cnn-large-2", "cnn-large-2 noise", "cnn-wide-96", "cnn-wide-96 noise"]
          : ["cnn-large-2", "cnn-large-2 noise", "cnn-wide-96", "cnn-wide-96 noise"])
      }).pipe(Effect.provide(NodeContext.layer)))
  }
})
