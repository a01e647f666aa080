import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import * as Random from "@growlab/core/Random"
import { runStage } from "@growlab/core/StageContext"
import { ModelSpec, inferShapes, type ModelSpecEncoded } from "@growlab/core/ModelSpec"
import { gradcamStage } from "../src/GradcamStage.js"
import * as GradcamArtifact from "../src/GradcamArtifact.js"
import * as Placement from "../src/Placement.js"

const { tf } = Backend
Backend.ensureNativeSync()

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-gradcam-" }))

const cnn = (c1: number, c2: number): ModelSpecEncoded => ({
  inputShape: [10, 10, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 255 },
    { _tag: "conv2d", name: "conv1", filters: c1, kernelSize: 3, activation: "relu" },
    { _tag: "conv2d", name: "conv2", filters: c2, kernelSize: 3, activation: "relu" },
    { _tag: "flatten" }, { _tag: "dense", name: "out", units: 3 }
  ]
})

const modelOf = (encoded: ModelSpecEncoded, seed: number, method?: string): ModelArtifact.Model => {
  const spec = Schema.decodeUnknownSync(ModelSpec)(encoded)
  const rng = Random.make(seed)
  const weights = inferShapes(spec).flatMap((l) => l.weights).map((w) => ({
    name: w.name, layer: w.layer, param: w.param, shape: w.shape,
    values: Float32Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, () => 0.3 * rng.normal())
  }))
  return { spec, weights, info: method ? { method } : {} }
}

/** Grows `small`'s conv kernels into `big`'s shapes with a layout (a layer grown along one axis: symmetric, as in the study). */
const grow = (small: ModelArtifact.Model, big: ModelArtifact.Model, layout: "symmetric" | "diagonal" | "envelope" | "noisy-symmetric"): ModelArtifact.Model => {
  const rng = Random.make(99)
  const grown = (name: string): Float32Array => {
    const ks = ModelArtifact.weightMap(small).get(name)!
    const kl = ModelArtifact.weightMap(big).get(name)!
    const [, , r, c] = ks.shape
    const [, , R, C] = kl.shape
    const values = new Float32Array(kl.values.length)
    const diagonal = layout === "diagonal" && R !== r && C !== c
    for (let s = 0; s < 9; s++) {
      for (let i = 0; i < R; i++) {
        for (let o = 0; o < C; o++) {
          const src = (si: number, so: number) => ks.values[s * r * c + si * c + so]
          let v = 0
          if (layout === "symmetric" || (layout === "diagonal" && !diagonal)) v = src(i % r, o % c) * (r / R) // function-preserving split
          if (layout === "noisy-symmetric") v = src(i % r, o % c) * (r / R) + 0.01 * rng.normal()
          if (diagonal && Math.floor(i / r) === Math.floor(o / c)) v = src(i % r, o % c)
          const i0 = (R - r) / 2, o0 = (C - c) / 2
          if (layout === "envelope" && i >= i0 && i < i0 + r && o >= o0 && o < o0 + c) v = src(i - i0, o - o0)
          values[s * R * C + i * C + o] = v
        }
      }
    }
    return values
  }
  const kernels = new Map(["conv1/kernel", "conv2/kernel"].map((n) => [n, grown(n)] as const))
  return { ...big, weights: big.weights.map((w) => (kernels.has(w.name) ? { ...w, values: kernels.get(w.name)! } : w)), info: { method: layout } }
}

const dataset = (n: number): DatasetArtifact.Dataset => {
  const rng = Random.make(5)
  return {
    dataset: "toy", split: "test", shape: [10, 10, 3], classNames: ["a", "b", "c"],
    images: Uint8Array.from({ length: n * 300 }, () => rng.int(256)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
    sourceIndex: Int32Array.from({ length: n }, (_, i) => i),
    sourceChecksum: "toy", transforms: []
  }
}

describe("gradcam stage", () => {
  it.scoped("writes deterministic maps per layer and class, overlays, placement figures and an index; leaks no tensor", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const small = modelOf(cnn(4, 4), 1)
      const big = modelOf(cnn(8, 8), 2)
      yield* ModelArtifact.write(`${dir}/model.arrow`, big)
      yield* ModelArtifact.write(`${dir}/small.arrow`, small)
      yield* DatasetArtifact.write(`${dir}/data.arrow`, dataset(40))
      const layouts = ["symmetric", "diagonal", "envelope", "noisy-symmetric"] as const
      for (const l of layouts) yield* ModelArtifact.write(`${dir}/${l}.arrow`, grow(small, big, l))
      const inputs = {
        model: `${dir}/model.arrow`, dataset: `${dir}/data.arrow`, source: `${dir}/small.arrow`,
        expanded: layouts.map((l) => ({ path: `${dir}/${l}.arrow`, stage: `grow--method=${l}`, vars: { method: l } }))
      }
      const params = { images: 30, classes: "per-class", seed: 4, overlays: 2, batchSize: 8 }
      const before = tf.memory().numTensors
      const info = yield* runStage(gradcamStage, params, { outDir: `${dir}/a`, inputs, log: () => {} })
      assert.strictEqual(tf.memory().numTensors, before, "the stage leaks no tensor")
      yield* runStage(gradcamStage, params, { outDir: `${dir}/b`, inputs, log: () => {} })

      const a = yield* fs.readFile(`${dir}/a/gradcam.arrow`)
      const b = yield* fs.readFile(`${dir}/b/gradcam.arrow`)
      assert.strictEqual(Buffer.compare(Buffer.from(a), Buffer.from(b)), 0, "same seed, same bytes")

      const g = yield* GradcamArtifact.read(`${dir}/a/gradcam.arrow`)
      const all = g.rows.filter((r) => r.classIndex < 0)
      assert.deepStrictEqual(all.map((r) => [r.layer, r.h, r.w, r.images]), [["conv1", 8, 8, 30], ["conv2", 6, 6, 30]])
      for (const layer of ["conv1", "conv2"]) {
        const perClass = g.rows.filter((r) => r.layer === layer && r.classIndex >= 0)
        assert.strictEqual(perClass.reduce((n, r) => n + r.images, 0), 30, "every image counts in one class")
      }
      // averaged maps are rescaled to a maximum of 1 (a class whose every map is zero stays all zero)
      for (const r of g.rows) assert.include(r.classIndex < 0 ? [1] : [0, 1], Math.max(...r.map), `${r.layer} ${r.className}`)

      const index = Schema.decodeUnknownSync(GradcamArtifact.FigureIndex)(JSON.parse(yield* fs.readFileString(`${dir}/a/figures/index.json`)))
      assert.strictEqual(index.figures.filter((f) => f.kind === "overlay").length, 4)
      assert.strictEqual(index.figures.filter((f) => f.kind === "average").length, g.rows.length)
      const placement = index.figures.filter((f) => f.kind === "placement")
      const methods = ["diagonal", "envelope", "noisy-symmetric", "symmetric"]
      assert.deepStrictEqual(placement.map((f) => [f.layer, f.methods]), [["conv1", methods], ["conv2", methods]])
      for (const f of index.figures) {
        const png = yield* fs.readFile(`${dir}/a/figures/${f.file}`)
        assert.deepStrictEqual(Array.from(png.subarray(0, 4)), [137, 80, 78, 71], f.file)
        const same = yield* fs.readFile(`${dir}/b/figures/${f.file}`)
        assert.strictEqual(Buffer.compare(Buffer.from(png), Buffer.from(same)), 0, `${f.file} is deterministic`)
      }
      // detected masks agree with the layout rules; noise hides the copies, so the rule stands in and says so
      const summaries = (info.placement as Record<string, Record<string, { origin: string; copied: number; centreCopied: number }>>).conv2
      assert.deepStrictEqual(summaries.symmetric, { ...Placement.summarize(Placement.ruleMask("symmetric", { rows: 8, cols: 8 }, { rows: 4, cols: 4 })!), origin: "detected" })
      assert.strictEqual(summaries.diagonal.copied, 0.5)
      assert.strictEqual(summaries.envelope.copied, 0.25)
      assert.strictEqual(summaries.envelope.centreCopied, 1)
      assert.strictEqual(summaries.diagonal.centreCopied, 0.5)
      assert.strictEqual(summaries["noisy-symmetric"].origin, "rule")
      // conv1 grows along its output channels only: diagonal falls back to symmetric, envelope is the middle columns
      const conv1 = (info.placement as Record<string, Record<string, { copied: number }>>).conv1
      assert.deepStrictEqual([conv1.symmetric.copied, conv1.diagonal.copied, conv1.envelope.copied], [1, 1, 0.5])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("rejects a layer that is not a Conv2D layer, naming the ones that are", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* ModelArtifact.write(`${dir}/model.arrow`, modelOf(cnn(4, 4), 1))
      yield* DatasetArtifact.write(`${dir}/data.arrow`, dataset(4))
      const error = yield* runStage(gradcamStage, { layers: ["out"] }, {
        outDir: `${dir}/o`, inputs: { model: `${dir}/model.arrow`, dataset: `${dir}/data.arrow` }, log: () => {}
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StageFailure")
      assert.include(error.message, "conv1 | conv2")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("placement", () => {
  it("detects exact and scaled copies and matches the layout rules", () => {
    const rng = Random.make(11)
    const small = Float32Array.from({ length: 4 * 2 * 2 }, () => rng.normal()) // [2, 2, 2, 2]: kh, kw, in, out
    const r = 2, c = 2, R = 4, C = 4
    const build = (f: (i: number, o: number) => readonly [number, number, number] | undefined) => {
      const out = new Float32Array(4 * R * C)
      for (let s = 0; s < 4; s++) for (let i = 0; i < R; i++) for (let o = 0; o < C; o++) {
        const m = f(i, o)
        out[s * R * C + i * C + o] = m ? small[s * r * c + m[0] * c + m[1]] * m[2] : 0
      }
      return out
    }
    const cases: Array<[string, (i: number, o: number) => readonly [number, number, number] | undefined]> = [
      ["symmetric", (i, o) => [i % r, o % c, 0.5]],
      ["diagonal", (i, o) => (Math.floor(i / r) === Math.floor(o / c) ? [i % r, o % c, 1] : undefined)],
      ["envelope", (i, o) => (i >= 1 && i < 3 && o >= 1 && o < 3 ? [i - 1, o - 1, 1] : undefined)]
    ]
    for (const [method, f] of cases) {
      const detected = Placement.detectMask(small, [2, 2, 2, 2], build(f), [2, 2, 4, 4])
      const rule = Placement.ruleMask(method, { rows: R, cols: C }, { rows: r, cols: c })!
      assert.deepStrictEqual(Array.from(detected.cells), Array.from(rule.cells), method)
    }
    // envelope puts the source's centre in the grid's centre; symmetric does not fill the centre box with it
    const env = Placement.summarize(Placement.ruleMask("noisy-envelope", { rows: 128, cols: 128 }, { rows: 64, cols: 64 })!)
    const sym = Placement.summarize(Placement.ruleMask("symmetric", { rows: 128, cols: 128 }, { rows: 64, cols: 64 })!)
    const diag = Placement.summarize(Placement.ruleMask("diagonal", { rows: 128, cols: 128 }, { rows: 64, cols: 64 })!)
    assert.deepStrictEqual([env.copied, env.centreCopied], [0.25, 1])
    assert.deepStrictEqual([sym.copied, sym.centreCopied], [1, 1])
    assert.deepStrictEqual([diag.copied, diag.centreCopied], [0.5, 0.5])
    assert.strictEqual(Placement.layoutOf("scratch"), "none")
    assert.isUndefined(Placement.ruleMask("mystery", { rows: 4, cols: 4 }, { rows: 2, cols: 2 }))
  })
})
