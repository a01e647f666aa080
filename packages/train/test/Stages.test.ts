import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { countParams, encodeModelSpec, forwardFlops } from "@growlab/core/ModelSpec"
import { runStage, runStageRecorded } from "@growlab/core/StageContext"
import * as Evaluation from "../src/Evaluation.js"
import { evaluateStage } from "../src/EvaluateStage.js"
import * as Summary from "../src/Summary.js"
import { trainStage } from "../src/TrainStage.js"
import * as Zoo from "../src/Zoo.js"
import { stages } from "../src/stages.js"
import { cifarTest, cifarTrain } from "./support/cifar.js"

Backend.ensureNativeSync()

const quiet = { log: () => {} }

const fixture = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-train-stage-" })
  yield* DatasetArtifact.write(`${dir}/train.arrow`, cifarTrain(256))
  yield* DatasetArtifact.write(`${dir}/test.arrow`, cifarTest(128))
  return { fs, dir, train: `${dir}/train.arrow`, test: `${dir}/test.arrow` }
})

describe("stages", () => {
  it("exports the train and evaluate kinds", () => {
    assert.deepStrictEqual(stages.map((s) => s.kind), ["train", "evaluate"])
    assert.deepStrictEqual(Object.keys(trainStage.inputs), ["train", "validation", "init", "teacher"])
    assert.deepStrictEqual(Object.keys(trainStage.outputs), ["model", "metrics"])
  })

  it.scoped("train writes a model and per-epoch metrics; evaluate reproduces the last validation numbers", () =>
    Effect.gen(function*() {
      const { fs, dir, train, test } = yield* fixture
      const { info, measurements } = yield* runStageRecorded(trainStage, { spec: Zoo.cnnSmallEncoded, epochs: 2, seed: 1 }, { outDir: `${dir}/small`, inputs: { train, validation: test }, ...quiet })
      // each epoch's seconds are a measurement (the manifest's), joined back when the metrics are read with them
      const metrics = yield* MetricsArtifact.read(`${dir}/small/metrics.arrow`, measurements)
      assert.strictEqual((measurements.epochSeconds as Array<number>).length, 2)
      assert.isTrue(Number.isNaN((yield* MetricsArtifact.read(`${dir}/small/metrics.arrow`)).epochs[0].seconds), "the file holds no timings")
      assert.deepStrictEqual(metrics.epochs.map((e) => e.epoch), [1, 2])
      assert.deepStrictEqual(metrics.epochs.map((e) => e.learningRate), [1e-3, 5e-4])
      for (const e of metrics.epochs) {
        assert.isTrue(e.trainLoss > 0 && e.valLoss > 0 && e.seconds > 0)
        assert.isTrue(e.trainAccuracy >= 0 && e.trainAccuracy <= 1 && e.valAccuracy >= 0 && e.valAccuracy <= 1)
      }
      assert.strictEqual(metrics.info.seed, 1)
      assert.strictEqual(metrics.info.paramCount, 122_570)
      assert.strictEqual(metrics.info.flopsPerExample, 3 * forwardFlops(Zoo.cnnSmall))
      assert.strictEqual(metrics.info.trainExamples, 256)
      assert.strictEqual(info.finalValAccuracy, metrics.epochs[1].valAccuracy)
      const model = yield* ModelArtifact.read(`${dir}/small/model.arrow`)
      assert.deepStrictEqual(encodeModelSpec(model.spec), encodeModelSpec(Zoo.cnnSmall))

      yield* runStage(evaluateStage, {}, { outDir: `${dir}/eval`, inputs: { model: `${dir}/small/model.arrow`, dataset: test }, ...quiet })
      const evaluation = yield* Evaluation.read(`${dir}/eval/evaluation.arrow`)
      assert.strictEqual(evaluation.rows.length, 11)
      const all = Evaluation.overall(evaluation)
      assert.strictEqual(all.count, 128)
      assert.strictEqual(evaluation.rows.slice(0, 10).reduce((n, r) => n + r.count, 0), 128)
      assert.strictEqual(evaluation.rows.slice(0, 10).reduce((n, r) => n + r.correct, 0), all.correct)
      // the same model on the same data: the evaluation equals the training stage's last validation pass
      assert.strictEqual(all.accuracy, metrics.epochs[1].valAccuracy)
      assert.closeTo(all.loss, metrics.epochs[1].valLoss, 1e-9)
      const table = tableFromIPC(readFileSync(`${dir}/eval/evaluation.arrow`))
      assert.strictEqual(table.schema.metadata.get("growlab.kind"), "evaluation")
      assert.deepStrictEqual(table.schema.fields.map((f) => f.name), ["class", "class_name", "count", "correct", "accuracy", "loss"])
      assert.deepStrictEqual(Array.from(table.getChild("class_name")!.toArray() as Array<string>).slice(0, 3), ["airplane", "automobile", "bird"])
      assert.isFalse(yield* fs.exists(`${dir}/small/model.arrow.tmp`))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("trains a grown model from its artifact (spec from init) and distils from a teacher", () =>
    Effect.gen(function*() {
      const { dir, train, test } = yield* fixture
      yield* runStage(trainStage, { spec: Zoo.cnnSmallEncoded, epochs: 1, seed: 2 }, { outDir: `${dir}/teacher`, inputs: { train, validation: test }, ...quiet })
      const teacher = `${dir}/teacher/model.arrow`
      // continue from the artifact: no spec in the params
      yield* runStage(trainStage, { epochs: 1, seed: 2, learningRate: 5e-4 }, { outDir: `${dir}/more`, inputs: { train, validation: test, init: teacher }, ...quiet })
      const more = yield* ModelArtifact.read(`${dir}/more/model.arrow`)
      assert.strictEqual(countParams(more.spec), 122_570)
      assert.strictEqual((more.info.init as Record<string, unknown>).trainedBy, "train")
      const metrics = yield* MetricsArtifact.read(`${dir}/more/metrics.arrow`)
      assert.strictEqual(metrics.info.init, "artifact")
      // distillation 1:3 into the large-1 CNN
      yield* runStage(trainStage, { spec: Zoo.cnnLarge1Encoded, epochs: 1, seed: 3, distill: { teacherWeight: 1, labelWeight: 3 } }, {
        outDir: `${dir}/student`, inputs: { train, validation: test, teacher }, ...quiet
      })
      const student = yield* MetricsArtifact.read(`${dir}/student/metrics.arrow`)
      assert.deepStrictEqual(student.info.loss, { kind: "distillation", teacherWeight: 1, labelWeight: 3, temperature: 1 })
      assert.strictEqual(student.info.paramCount, countParams(Zoo.cnnLarge1))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a diverging run fails with a StageFailure and writes nothing", () =>
    Effect.gen(function*() {
      const { fs, dir, train, test } = yield* fixture
      const error = yield* runStage(trainStage, { spec: Zoo.cnnSmallEncoded, epochs: 2, learningRate: 1e30, checkEvery: 2 }, {
        outDir: `${dir}/nan`, inputs: { train, validation: test }, ...quiet
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StageFailure")
      assert.include(error.message, "training loss is NaN")
      const written = (yield* fs.exists(`${dir}/nan`)) ? yield* fs.readDirectory(`${dir}/nan`) : []
      assert.deepStrictEqual(written, [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("rejects inconsistent inputs with errors that name the field", () =>
    Effect.gen(function*() {
      const { dir, train, test } = yield* fixture
      const noSpec = yield* runStage(trainStage, { epochs: 1 }, { outDir: `${dir}/a`, inputs: { train, validation: test }, ...quiet }).pipe(Effect.flip)
      assert.strictEqual(noSpec._tag, "StageFailure")
      assert.include(noSpec.message, "params.spec")
      const noTeacher = yield* runStage(trainStage, { spec: Zoo.cnnSmallEncoded, distill: { teacherWeight: 1, labelWeight: 1 } }, { outDir: `${dir}/b`, inputs: { train, validation: test }, ...quiet }).pipe(Effect.flip)
      assert.include(noTeacher.message, "teacher")
      const wrongShape = yield* runStage(trainStage, { spec: Zoo.mlpSmallEncoded, epochs: 1 }, { outDir: `${dir}/c`, inputs: { train, validation: test }, ...quiet }).pipe(Effect.flip)
      assert.include(wrongShape.message, "[1024]")
      const badParam = yield* runStage(trainStage, { spec: Zoo.cnnSmallEncoded, batchSize: 0 }, { outDir: `${dir}/d`, inputs: { train, validation: test }, ...quiet }).pipe(Effect.flip)
      assert.strictEqual(badParam._tag, "ParamsError")
      assert.include(badParam.message, "params.batchSize")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("summaries", () => {
  const curve = (accs: ReadonlyArray<number>): MetricsArtifact.Metrics => ({
    epochs: accs.map((a, i) => ({ epoch: i + 1, trainLoss: 2 - a, trainAccuracy: a + 0.05, valLoss: 2.5 - 2 * a + (i >= 2 ? 0.3 : 0), valAccuracy: a, seconds: 10 + i, learningRate: 1e-3 / 2 ** i })),
    info: {}
  })

  it("first, best and final epochs of a run", () => {
    const s = Option.getOrThrow(Summary.summarize(curve([0.4, 0.55, 0.6, 0.58])))
    assert.strictEqual(s.first.epoch, 1)
    assert.strictEqual(s.best.epoch, 3)
    assert.strictEqual(s.bestLoss.epoch, 2)
    assert.strictEqual(s.final.epoch, 4)
    assert.strictEqual(s.totalSeconds, 46)
    assert.isTrue(Option.isNone(Summary.summarize({ epochs: [], info: {} })))
  })

  it("spread over seeds", () => {
    const r = Summary.acrossRuns([curve([0.4, 0.6]), curve([0.5, 0.62]), curve([0.45, 0.64])])
    assert.strictEqual(r.runs, 3)
    assert.closeTo(r.finalValAccuracy.mean, 0.62, 1e-12)
    assert.closeTo(r.finalValAccuracy.std, 0.02, 1e-12)
    assert.closeTo(r.firstValAccuracy.min, 0.4, 1e-12)
    assert.closeTo(r.firstValAccuracy.max, 0.5, 1e-12)
    assert.isTrue(Number.isNaN(Summary.spread([1]).std))
  })
})
