import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { NodeContext } from "@effect/platform-node"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type { StageContext } from "@growlab/core/Stage"
import { datasetStage, DatasetParams } from "../src/DatasetStage.js"
import { stages } from "../src/stages.js"
import { DATA_DIR, listFiles, tempDir } from "./fixtures.js"

/** A hand-made stage context writing into `outDir`, collecting records and log lines. */
const makeContext = (outDir: string) => {
  const records: Record<string, unknown> = {}
  const logs: Array<string> = []
  const ctx: StageContext = {
    pipeline: "test",
    pipelineFile: "pipelines/test.json",
    stage: "data",
    vars: {},
    outDir,
    input: (name) => { throw new Error(`no input ${name}`) },
    optionalInput: () => undefined,
    inputs: () => [],
    output: (name) => path.join(outDir, datasetStage.outputs[name].file),
    record: (key, value) => { records[key] = value },
    measure: () => {},
    log: (line) => { logs.push(line) }
  }
  return { ctx, records, logs }
}

const decode = Schema.decodeUnknownSync(DatasetParams)

describe("dataset stage", () => {
  it("is exported as the `dataset` kind with train / test / optional validation outputs", () => {
    assert.deepStrictEqual(stages.map((s) => s.kind), ["dataset"])
    assert.deepStrictEqual(Object.keys(datasetStage.outputs), ["train", "test", "validation"])
    assert.deepStrictEqual(Object.values(datasetStage.outputs).map((o) => [o.file, o.kind, o.optional === true]), [
      ["train.arrow", "dataset", false], ["test.arrow", "dataset", false], ["validation.arrow", "dataset", true]
    ])
    assert.deepStrictEqual(datasetStage.inputs, {})
    assert.strictEqual(datasetStage.usesTf, false)
  })

  it("decodes params with defaults and rejects bad ones", () => {
    const p = decode({ dataset: "cifar10" })
    assert.deepStrictEqual([p.seed, p.flatten], [0, false])
    const bad = (v: unknown) => Either.isLeft(Schema.decodeUnknownEither(DatasetParams)(v))
    assert.isTrue(bad({ dataset: "mnist" }))
    assert.isTrue(bad({ dataset: "cifar10", validation: { fraction: 0.1, size: 10 } }))
    assert.isTrue(bad({ dataset: "cifar10", validation: {} }))
    assert.isTrue(bad({ dataset: "cifar10", validation: { fraction: 1 } }))
    assert.isTrue(bad({ dataset: "cifar10", noise: { sigma: 2 } }))
    assert.isTrue(bad({ dataset: "cifar10", subset: { train: 0 } }))
  })

  it.scoped("Fashion-MNIST: validation, subsets, pad, noise on test, flatten -> three artifacts; a rerun writes the same bytes", () =>
    Effect.gen(function*() {
      const params = decode({
        dataset: "fashion-mnist", dataDir: DATA_DIR, seed: 4,
        validation: { size: 1000 }, subset: { train: 2000, test: 500 },
        pad: 2, noise: { sigma: 0.05, seed: 9, splits: ["test"] }, flatten: true
      })
      const out1 = yield* tempDir
      const { ctx, records, logs } = makeContext(out1)
      yield* datasetStage.run(params, ctx)
      assert.deepStrictEqual(yield* listFiles(out1), ["test.arrow", "train.arrow", "validation.arrow"])
      const train = yield* DatasetArtifact.read(path.join(out1, "train.arrow"))
      const test = yield* DatasetArtifact.read(path.join(out1, "test.arrow"))
      const validation = yield* DatasetArtifact.read(path.join(out1, "validation.arrow"))
      assert.deepStrictEqual([train.labels.length, test.labels.length, validation.labels.length], [2000, 500, 1000])
      assert.deepStrictEqual([train.shape, test.shape, validation.shape], [[1024], [1024], [1024]])
      assert.deepStrictEqual([train.split, test.split, validation.split], ["train", "test", "validation"])
      assert.deepStrictEqual(train.transforms.map((t) => t.kind), ["validationSplit", "subset", "pad", "flatten"])
      assert.deepStrictEqual(test.transforms.map((t) => t.kind), ["subset", "pad", "noise", "flatten"])
      assert.deepStrictEqual(validation.transforms.map((t) => t.kind), ["validationSplit", "pad", "flatten"])
      const inTrain = new Set(train.sourceIndex)
      assert.isTrue(Array.from(validation.sourceIndex).every((s) => !inTrain.has(s)))
      // the pad border stays zero where no noise was added
      assert.strictEqual(train.images.subarray(0, 64).reduce((a, b) => a + b, 0), 0)
      assert.deepStrictEqual(records.counts, { train: 2000, test: 500, validation: 1000 })
      assert.strictEqual((records.sourceChecksums as { train: string }).train, train.sourceChecksum)
      assert.isTrue(logs.some((l) => l.includes("wrote train 2000, test 500, validation 1000")))

      const out2 = yield* tempDir
      yield* datasetStage.run(params, makeContext(out2).ctx)
      for (const f of ["train.arrow", "test.arrow", "validation.arrow"]) {
        assert.strictEqual(Buffer.compare(readFileSync(path.join(out1, f)), readFileSync(path.join(out2, f))), 0, f)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("CIFAR-10 without validation writes train and test only", () =>
    Effect.gen(function*() {
      const out = yield* tempDir
      yield* datasetStage.run(decode({ dataset: "cifar10", dataDir: DATA_DIR, subset: { train: 500, test: 100 } }), makeContext(out).ctx)
      assert.deepStrictEqual(yield* listFiles(out), ["test.arrow", "train.arrow"])
      const train = yield* DatasetArtifact.read(path.join(out, "train.arrow"))
      assert.deepStrictEqual(train.shape, [32, 32, 3])
      assert.strictEqual(train.labels.length, 500)
      assert.deepStrictEqual(train.classNames.slice(0, 2), ["airplane", "automobile"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("impossible params fail as ParamsError naming the pipeline file and field, and nothing is written", () =>
    Effect.gen(function*() {
      const out = yield* tempDir
      const e = yield* Effect.flip(datasetStage.run(decode({ dataset: "fashion-mnist", dataDir: DATA_DIR, validation: { size: 1000 }, subset: { train: 59_500 } }), makeContext(out).ctx))
      assert.strictEqual(e._tag, "ParamsError")
      assert.include(e.message, "pipelines/test.json: stage data: field subset.train: expected a size in [1, 59000] examples, got 59500")
      assert.deepStrictEqual(yield* listFiles(out), [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a data folder without the files fails and nothing is written", () =>
    Effect.gen(function*() {
      const out = yield* tempDir
      const empty = yield* tempDir
      const e = yield* Effect.flip(datasetStage.run(decode({ dataset: "fashion-mnist", dataDir: empty }), makeContext(out).ctx))
      assert.strictEqual(e._tag, "SourceNotFound")
      assert.deepStrictEqual(yield* listFiles(out), [])
    }).pipe(Effect.provide(NodeContext.layer)))
})
