/**
 * The growth contract's shared parts: the expansion artifact (both layouts round-trip; a diverged measurement is
 * written as "Infinity" and read back; the partial reader keeps what is there) and the GrowthStage with a test
 * Measurer layer (a preserving growth that misses the tolerance fails or warns as its stage says; Net2Net's layout
 * records the measurement in the model; figures are written where declared; the probe must fit the model).
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { Float64, Schema as ArrowSchema, Table, Utf8, vectorFromArray } from "apache-arrow"
import { writeTable } from "../src/ArtifactStore.js"
import * as DatasetArtifact from "../src/DatasetArtifact.js"
import * as ExpansionArtifact from "../src/ExpansionArtifact.js"
import type { Growth } from "../src/Growth.js"
import * as GrowthStage from "../src/GrowthStage.js"
import * as ModelArtifact from "../src/ModelArtifact.js"
import * as ModelSpec from "../src/ModelSpec.js"
import * as Preservation from "../src/Preservation.js"
import { runStage } from "../src/StageContext.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-growth-" }))

const spec = Schema.decodeUnknownSync(ModelSpec.ModelSpec)({ name: "tiny", inputShape: [3], layers: [{ _tag: "dense", units: 2 }] })
const model: ModelArtifact.Model = {
  spec, info: { method: "none", seed: 1 },
  weights: [
    { name: "dense_0/kernel", layer: "dense_0", param: "kernel", shape: [3, 2], values: Float32Array.of(1, 2, 3, 4, 5, 6) },
    { name: "dense_0/bias", layer: "dense_0", param: "bias", shape: [2], values: Float32Array.of(0.5, -0.5) }
  ]
}

const record = (extra: Partial<ExpansionArtifact.LayerRecord> = {}): ExpansionArtifact.LayerRecord => ({
  layer: "dense_0", sourceLayer: "dense_0", kind: "dense", growth: "none", operator: "copy", note: "", inUnits: [3, 3], outUnits: [2, 2],
  inMultiplier: 1, outMultiplier: 1, snrDb: null, signalEnergy: 91, noiseEnergy: null, noiseMean: null, noiseStd: null, quarterMaxAbsDiff: null, ...extra
})

const comparison = (maxAbsDiff: number): Preservation.Comparison => ({ count: 4, maxAbsDiff, maxAbsLogits: 2, relativeDiff: maxAbsDiff / 2 })

const summary = (extra: Partial<ExpansionArtifact.Summary> = {}): ExpansionArtifact.Summary => ({
  method: "copy", oneAxis: "symmetric", fill: "zeros", noise: null, seed: 1, sourceSpec: "tiny", targetSpec: "tiny", sourceParams: 8, targetParams: 8,
  preservesFunction: true, breaks: [], tolerance: 1e-5, random: comparison(0), real: null, preserved: true, ...extra
})

describe("expansion artifact", () => {
  it.scoped("round-trips the plain and the mapping layout; the mapping layout adds its columns after the base ones", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const plain = { layers: [record({ quarterMaxAbsDiff: 0.25, snrDb: 3, noiseEnergy: 0.1 })], summary: summary() }
      yield* ExpansionArtifact.write(`${dir}/a.arrow`, plain)
      assert.deepStrictEqual(yield* ExpansionArtifact.read(`${dir}/a.arrow`), plain)
      const mapped = {
        layers: [record({ newUnits: 2, replicatedSources: 1, maxReplication: 3 })],
        summary: summary({ oneAxis: null, fill: null, noise: { ratio: 0.05 }, relative: 0, details: { after: 1 }, real: comparison(1e-7) })
      }
      yield* ExpansionArtifact.write(`${dir}/b.arrow`, mapped)
      assert.deepStrictEqual(yield* ExpansionArtifact.read(`${dir}/b.arrow`), mapped)
      assert.deepStrictEqual(ExpansionArtifact.toTable(plain).schema.fields.map((f) => f.name), ExpansionArtifact.COLUMNS.slice(0, 18))
      const t = ExpansionArtifact.toTable(mapped)
      assert.deepStrictEqual(t.schema.fields.map((f) => f.name), [...ExpansionArtifact.COLUMNS])
      assert.deepStrictEqual([t.getChild("max_abs_diff_random")!.get(0), t.getChild("max_abs_diff_real")!.get(0)], [0, 1e-7])
      // the summary's key order is the Schema's: `relative` between `real` and `preserved`, `details` last
      assert.deepStrictEqual(Object.keys(JSON.parse(t.schema.metadata.get("growlab.summary")!)).slice(-4), ["real", "relative", "preserved", "details"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a diverged measurement is written as \"Infinity\" and read back as a number", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const e = { layers: [record()], summary: summary({ random: comparison(Number.POSITIVE_INFINITY), preserved: false }) }
      yield* ExpansionArtifact.write(`${dir}/inf.arrow`, e)
      assert.include(ExpansionArtifact.toTable(e).schema.metadata.get("growlab.summary")!, "\"maxAbsDiff\":\"Infinity\"")
      assert.strictEqual((yield* ExpansionArtifact.read(`${dir}/inf.arrow`)).summary.random.maxAbsDiff, Number.POSITIVE_INFINITY)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("the partial reader keeps the columns and summary fields that are there; the strict one names what is missing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const t = new Table({ layer: vectorFromArray(["conv2"], new Utf8()), operator: vectorFromArray(["symmetric"], new Utf8()), snr_db: vectorFromArray([7.5], new Float64()) })
      const meta = new Map([["growlab.kind", "expansion"], ["growlab.method", "symmetric"], ["growlab.summary", JSON.stringify({ method: "symmetric", preserved: "yes", real: null })]])
      yield* writeTable(`${dir}/p.arrow`, new Table(new ArrowSchema(t.schema.fields, meta), t.batches))
      const p = yield* ExpansionArtifact.readPartial(`${dir}/p.arrow`)
      assert.deepStrictEqual(p.layers, [{ layer: "conv2", operator: "symmetric", snrDb: 7.5 }])
      assert.deepStrictEqual(p.summary, { method: "symmetric", real: null })
      assert.strictEqual(p.method, "symmetric")
      const strict = yield* Effect.flip(ExpansionArtifact.read(`${dir}/p.arrow`))
      assert.deepStrictEqual([strict._tag, strict.field], ["ArtifactError", "source_layer"])
    }).pipe(Effect.provide(NodeContext.layer)))
})

/** A growth that copies the model (so it preserves the function), and a Measurer that reports `maxAbsDiff`. */
const copyGrowth: Growth<{ readonly seed: number; readonly probeSize: number }, never> = {
  params: Schema.Struct({ seed: Schema.optionalWith(Schema.Int, { default: () => 0 }), probeSize: Schema.optionalWith(Schema.Int, { default: () => 4 }) }),
  grow: (source, params) => Effect.succeed({
    model: source, layers: [record()], method: "copy", oneAxis: null, fill: null, noise: null, seed: params.seed, breaks: [],
    figures: () => ({ files: [{ file: "a.png", bytes: Uint8Array.of(1, 2, 3) }], index: [{ file: "a.png" }] }), facts: { copied: true }
  })
}
const measuring = (maxAbsDiff: number) => Layer.succeed(Preservation.Measurer, {
  measure: (_s, _g, probe) => Effect.succeed(Preservation.judge(comparison(maxAbsDiff), probe.dataset ? comparison(maxAbsDiff) : null))
})
const stage = (onMiss: "fail" | "warn", measuredInModel: boolean, maxAbsDiff: number, figures = false) => GrowthStage.make({
  kind: "copy", description: "copies", growth: copyGrowth, onMiss, measuredInModel, measurer: measuring(maxAbsDiff),
  inputs: { model: "the model", probe: "real examples" },
  outputs: { model: "the copy", expansion: "the table", ...(figures ? { figures: "pictures" } : {}) }
})

const probeOf = (shape: ReadonlyArray<number>): DatasetArtifact.Dataset => ({
  dataset: "toy", split: "test", shape, classNames: ["a", "b"], images: new Uint8Array(2 * shape.reduce((a, b) => a * b, 1)), labels: Uint8Array.of(0, 1),
  sourceIndex: Int32Array.of(0, 1), sourceChecksum: "x", transforms: []
})

describe("growth stage", () => {
  it.scoped("a preserving growth that misses the tolerance fails under onMiss fail, and is recorded as not preserved under warn", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* ModelArtifact.write(`${dir}/m.arrow`, model)
      const failed = yield* Effect.flip(runStage(stage("fail", true, 1e-3), {}, { outDir: `${dir}/f`, inputs: { model: `${dir}/m.arrow` }, log: () => {} }))
      assert.deepStrictEqual([failed._tag, (failed as { field?: string }).field], ["StageFailure", "relative max |Δlogits|"])
      const lines: Array<string> = []
      const info = yield* runStage(stage("warn", false, 1e-3, true), {}, { outDir: `${dir}/w`, inputs: { model: `${dir}/m.arrow` }, log: (l) => lines.push(l) })
      assert.deepStrictEqual([info.preserved, info.preservesFunction, info.copied], [false, true, true])
      assert.isTrue(lines.some((l) => l.startsWith("WARNING")))
      const e = yield* ExpansionArtifact.read(`${dir}/w/expansion.arrow`)
      assert.deepStrictEqual([e.summary.preserved, e.summary.real, e.summary.relative, e.summary.random.maxAbsDiff], [false, null, undefined, 1e-3])
      assert.deepStrictEqual((yield* ModelArtifact.read(`${dir}/w/model.arrow`)).info, model.info, "written as grown")
      const fs = yield* FileSystem.FileSystem
      assert.deepStrictEqual((yield* fs.readDirectory(`${dir}/w/figures`)).sort(), ["a.png", "index.json"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("Net2Net's layout: the measurement in the model's info and the summary's relative; a probe is measured when it fits", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* ModelArtifact.write(`${dir}/m.arrow`, model)
      yield* DatasetArtifact.write(`${dir}/probe.arrow`, probeOf([3]))
      yield* runStage(stage("fail", true, 1e-7), {}, { outDir: `${dir}/n`, inputs: { model: `${dir}/m.arrow`, probe: `${dir}/probe.arrow` }, log: () => {} })
      const grown = yield* ModelArtifact.read(`${dir}/n/model.arrow`)
      assert.deepStrictEqual(grown.info, { method: "copy", seed: 1, maxAbsDiff: { random: 1e-7, real: 1e-7 } })
      const e = yield* ExpansionArtifact.read(`${dir}/n/expansion.arrow`)
      assert.deepStrictEqual([e.summary.relative, e.summary.real?.maxAbsDiff, e.summary.preserved], [5e-8, 1e-7, true])
      yield* DatasetArtifact.write(`${dir}/bad.arrow`, probeOf([4]))
      const misfit = yield* Effect.flip(runStage(stage("fail", true, 0), {}, { outDir: `${dir}/b`, inputs: { model: `${dir}/m.arrow`, probe: `${dir}/bad.arrow` }, log: () => {} }))
      assert.deepStrictEqual([misfit._tag, (misfit as { field?: string }).field], ["StageFailure", "inputs.probe.shape"])
    }).pipe(Effect.provide(NodeContext.layer)))
})
