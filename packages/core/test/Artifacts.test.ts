import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { tableFromIPC } from "apache-arrow"
import { readFileSync } from "node:fs"
import * as DatasetArtifact from "../src/DatasetArtifact.js"
import * as ModelArtifact from "../src/ModelArtifact.js"
import * as MetricsArtifact from "../src/MetricsArtifact.js"
import * as ModelSpec from "../src/ModelSpec.js"
import * as Schema from "effect/Schema"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-core-" }))

describe("artifacts", () => {
  it.scoped("dataset round-trips through Arrow IPC without changing a byte", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const n = 5
      const images = Uint8Array.from({ length: n * 12 }, (_, i) => (i * 37) % 256)
      const d: DatasetArtifact.Dataset = {
        dataset: "toy", split: "train", shape: [2, 2, 3], classNames: ["a", "b"], images,
        labels: Uint8Array.of(0, 1, 1, 0, 1), sourceIndex: Int32Array.of(4, 3, 2, 1, 0),
        sourceChecksum: "abc", transforms: [{ kind: "subset", size: 5 }]
      }
      const file = `${dir}/dataset.arrow`
      yield* DatasetArtifact.write(file, d)
      const back = yield* DatasetArtifact.read(file)
      assert.deepStrictEqual(Array.from(back.images), Array.from(images))
      assert.deepStrictEqual(Array.from(back.labels), [0, 1, 1, 0, 1])
      assert.deepStrictEqual(back.shape, [2, 2, 3])
      assert.deepStrictEqual(back.transforms, [{ kind: "subset", size: 5 }])
      const fs = yield* FileSystem.FileSystem
      const leftovers = (yield* fs.readDirectory(dir)).filter((f) => f.includes(".tmp-"))
      assert.strictEqual(leftovers.length, 0)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("model round-trips every weight bit for bit and is rejected when a weight is missing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const spec = Schema.decodeUnknownSync(ModelSpec.ModelSpec)({
        inputShape: [4, 4, 1],
        layers: [{ _tag: "conv2d", filters: 2, kernelSize: 3, activation: "relu" }, { _tag: "flatten" }, { _tag: "dense", units: 3 }]
      })
      const weights = ModelSpec.inferShapes(spec).flatMap((l) => l.weights).map((w) => ({
        name: w.name, layer: w.layer, param: w.param, shape: w.shape,
        values: Float32Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1) / 3)
      }))
      const file = `${dir}/model.arrow`
      yield* ModelArtifact.write(file, { spec, weights, info: { method: "test" } })
      const back = yield* ModelArtifact.read(file)
      assert.strictEqual(back.weights.length, 4)
      for (const [i, w] of back.weights.entries()) {
        assert.strictEqual(Buffer.compare(Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength), Buffer.from(weights[i].values.buffer)), 0)
      }
      assert.deepStrictEqual(back.info, { method: "test" })
      // the file opens as a plain Arrow table (what pyarrow / DuckDB see)
      const table = tableFromIPC(readFileSync(file))
      assert.deepStrictEqual(table.schema.fields.map((f) => f.name), ["name", "layer", "param", "shape", "values"])
      const broken = yield* ModelArtifact.write(`${dir}/broken.arrow`, { spec, weights: weights.slice(1), info: {} }).pipe(
        Effect.zipRight(ModelArtifact.read(`${dir}/broken.arrow`)), Effect.flip)
      assert.strictEqual(broken._tag, "ArtifactError")
      assert.include(broken.message, "conv2d_0/kernel")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("metrics round-trip", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const epochs = [1, 2].map((epoch) => ({ epoch, trainLoss: 1 / epoch, trainAccuracy: 0.5, valLoss: 0.9, valAccuracy: 0.4 + epoch / 10, seconds: 2.5, learningRate: 1e-3 / epoch }))
      yield* MetricsArtifact.write(`${dir}/m.arrow`, { epochs, info: { seed: 1 } })
      // the file holds results only: the seconds come back from the run's measurements
      const back = yield* MetricsArtifact.read(`${dir}/m.arrow`, MetricsArtifact.measurementsOf({ epochs, info: {} }))
      assert.deepStrictEqual(back.epochs, epochs)
      assert.deepStrictEqual(back.info, { seed: 1 })
      const alone = yield* MetricsArtifact.read(`${dir}/m.arrow`)
      assert.isTrue(alone.epochs.every((e) => Number.isNaN(e.seconds)))
      // an identical training with other timings writes the same bytes
      const fs = yield* FileSystem.FileSystem
      yield* MetricsArtifact.write(`${dir}/m2.arrow`, { epochs: epochs.map((e) => ({ ...e, seconds: 99 })), info: { seed: 1 } })
      assert.deepStrictEqual(yield* fs.readFile(`${dir}/m2.arrow`), yield* fs.readFile(`${dir}/m.arrow`))
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("model spec", () => {
  it("counts the original study's small CNN at 122,570 parameters", () => {
    const spec = Schema.decodeUnknownSync(ModelSpec.ModelSpec)({
      inputShape: [32, 32, 3],
      layers: [
        { _tag: "rescaling", scale: 1 / 255 },
        { _tag: "conv2d", filters: 32, kernelSize: 3, activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 },
        { _tag: "conv2d", filters: 64, kernelSize: 3, activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 },
        { _tag: "conv2d", filters: 64, kernelSize: 3, activation: "relu" }, { _tag: "flatten" },
        { _tag: "dense", units: 64, activation: "relu" }, { _tag: "dense", units: 10 }
      ]
    })
    assert.strictEqual(ModelSpec.countParams(spec), 122_570)
    const shapes = ModelSpec.inferShapes(spec)
    assert.deepStrictEqual(shapes[6].outputShape, [1024])
  })
})
