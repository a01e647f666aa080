/** The `expand` stage end to end: artifacts written and readable, summary recorded, figures drawn, no tensor leaks. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import { runStage } from "@growlab/core/StageContext"
import { tableFromIPC } from "apache-arrow"
import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { Params, expandStage } from "../src/ExpandStage.js"
import * as ExpansionArtifact from "@growlab/core/ExpansionArtifact"
import { stages } from "../src/stages.js"
import { cifarTest, cnn, randomModel } from "./support/fixtures.js"

const setup = Effect.gen(function*() {
  ensureNativeSync()
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-expand-" })
  const model = `${dir}/small.arrow`
  const probe = `${dir}/probe.arrow`
  yield* ModelArtifact.write(model, randomModel(cnn(64, 64, 64), 3))
  yield* DatasetArtifact.write(probe, cifarTest(40))
  return { fs, dir, model, probe }
})

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10]

describe("expand stage", () => {
  it("is the package's only stage kind", () => {
    assert.deepStrictEqual(stages.map((s) => s.kind), ["expand"])
    assert.deepStrictEqual(Object.keys(expandStage.outputs), ["model", "expansion", "figures"])
  })

  it.scoped("noisy diagonal into large-2: grown model, per-layer table, measured preservation, figures", () =>
    Effect.gen(function*() {
      const { fs, dir, model, probe } = yield* setup
      const before = tf.memory().numTensors
      const outDir = `${dir}/out`
      const info = yield* runStage(expandStage, {
        target: encodeModelSpec(cnn(128, 128, 128)), method: "noisy-diagonal", noise: { scheme: "scaled", distribution: "normal" },
        seed: 3, probeSize: 32
      }, { outDir, inputs: { model, probe }, log: () => {} })
      assert.strictEqual(tf.memory().numTensors, before)

      const grown = yield* ModelArtifact.read(`${outDir}/model.arrow`)
      assert.strictEqual(grown.weights.find((w) => w.name === "dense_7/kernel")!.shape.join("x"), "2048x128")
      assert.deepStrictEqual((grown.info.expansion as Record<string, unknown>).method, "noisy-diagonal")

      const e = yield* ExpansionArtifact.read(`${outDir}/expansion.arrow`)
      assert.strictEqual(e.layers.length, 9)
      assert.deepStrictEqual(e.layers.map((l) => l.operator), ["none", "copy", "none", "noisy-symmetric", "none", "noisy-diagonal", "none", "noisy-diagonal", "noisy-symmetric"])
      const conv3 = e.layers[5]
      assert.deepStrictEqual([conv3.inMultiplier, conv3.outMultiplier, conv3.growth], [2, 2, "both"])
      assert.isNumber(conv3.snrDb)
      assert.isAbove(conv3.quarterMaxAbsDiff!, 0)
      assert.isNull(e.layers[3].snrDb) // conv2: input not grown, no noise possible
      assert.isNull(e.layers[0].snrDb)
      const s = e.summary
      assert.deepStrictEqual([s.method, s.oneAxis, s.preservesFunction, s.preserved, s.sourceParams, s.targetParams], ["noisy-diagonal", "symmetric", true, true, 122_570, 449_034])
      assert.strictEqual(s.random.count, 32)
      assert.strictEqual(s.real!.count, 32)
      assert.isAtMost(s.real!.relativeDiff, 1e-5)
      // the file is a plain Arrow table with the declared kind
      const table = tableFromIPC(readFileSync(`${outDir}/expansion.arrow`))
      assert.strictEqual(table.schema.metadata.get("growlab.kind"), "expansion")

      assert.deepStrictEqual(info.preserved, true)
      assert.deepStrictEqual(info.method, "noisy-diagonal")
      assert.deepStrictEqual((info.maxAbsDiff as { real: number }).real, s.real!.maxAbsDiff)

      const files = (yield* fs.readDirectory(`${outDir}/figures`)).sort()
      for (const layer of ["conv2d_1", "conv2d_3", "conv2d_5", "dense_7", "dense_8"]) {
        assert.include(files, `${layer}.before.png`)
        assert.include(files, `${layer}.after.png`)
      }
      assert.include(files, "conv2d_5.quarter-diff.png")
      assert.notInclude(files, "conv2d_1.quarter-diff.png") // copied layer: nothing to compare
      const png = yield* fs.readFile(`${outDir}/figures/dense_7.after.png`)
      assert.deepStrictEqual(Array.from(png.subarray(0, 8)), PNG_SIGNATURE)
      const index = JSON.parse(yield* fs.readFileString(`${outDir}/figures/index.json`)) as Array<{ file: string; shape: Array<number> }>
      assert.deepStrictEqual(index.find((f) => f.file === "conv2d_5.after.png")!.shape, [3, 3, 128, 128])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("envelope with scaled-noise fill: reported as not preserved, with the measured difference", () =>
    Effect.gen(function*() {
      const { dir, model, probe } = yield* setup
      const outDir = `${dir}/env`
      const info = yield* runStage(expandStage, {
        target: encodeModelSpec(cnn(128, 64, 128)), method: "envelope", fill: "scaled-noise", seed: 1, probeSize: 16
      }, { outDir, inputs: { model, probe }, log: () => {} })
      const e = yield* ExpansionArtifact.read(`${outDir}/expansion.arrow`)
      assert.isFalse(e.summary.preservesFunction)
      assert.isFalse(e.summary.preserved)
      assert.isAbove(e.summary.real!.relativeDiff, 1e-2)
      assert.isAbove(e.summary.breaks.length, 0)
      assert.strictEqual(info.preserved, false)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("without a probe it measures random inputs only; bad params and impossible plans are typed failures", () =>
    Effect.gen(function*() {
      const { dir, model } = yield* setup
      const defaults = yield* Schema.decodeUnknown(Params)({ target: encodeModelSpec(cnn(128, 64, 128)), method: "symmetric" })
      assert.deepStrictEqual([defaults.probeSize, defaults.seed, defaults.oneAxis, defaults.fill, defaults.noise], [256, 0, "symmetric", "zeros", undefined])
      const info = yield* runStage(expandStage, { target: encodeModelSpec(cnn(128, 64, 128)), method: "symmetric", probeSize: 24 }, { outDir: `${dir}/a`, inputs: { model }, log: () => {} })
      assert.deepStrictEqual((info.maxAbsDiff as { real: null }).real, null)
      const e = yield* ExpansionArtifact.read(`${dir}/a/expansion.arrow`)
      assert.strictEqual(e.summary.random.count, 24)
      assert.isNull(e.summary.real)

      const noNoise = yield* Effect.flip(runStage(expandStage, { target: encodeModelSpec(cnn(128, 64, 128)), method: "noisy-symmetric" }, { outDir: `${dir}/b`, inputs: { model }, log: () => {} }))
      assert.strictEqual(noNoise._tag, "PlanError")
      const badTarget = yield* Effect.flip(runStage(expandStage, { target: encodeModelSpec(cnn(96, 64, 64)), method: "diagonal" }, { outDir: `${dir}/c`, inputs: { model }, log: () => {} }))
      assert.include(badTarget.message, "conv2d_3")
      const badParam = yield* Effect.flip(runStage(expandStage, { target: encodeModelSpec(cnn(128, 64, 128)), method: "sideways" }, { outDir: `${dir}/d`, inputs: { model }, log: () => {} }))
      assert.strictEqual(badParam._tag, "ParamsError")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a probe whose images do not fit the model input fails with the shapes", () =>
    Effect.gen(function*() {
      const { dir, model } = yield* setup
      const probe = `${dir}/grey.arrow`
      yield* DatasetArtifact.write(probe, { ...cifarTest(2), shape: [32, 32, 1], images: new Uint8Array(2 * 1024) })
      const e = yield* Effect.flip(runStage(expandStage, { target: encodeModelSpec(cnn(128, 64, 128)), method: "symmetric" }, { outDir: `${dir}/p`, inputs: { model, probe }, log: () => {} }))
      assert.strictEqual(e._tag, "StageFailure")
      assert.include(e.message, "[32, 32, 1]")
    }).pipe(Effect.provide(NodeContext.layer)))
})
