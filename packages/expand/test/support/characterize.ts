/**
 * Characterization of growth stages: runs a stage on a fixed seeded source model and real CIFAR-10 probe images and
 * digests every output, so a refactor can prove it changed no byte of a grown model, expansion table or figure.
 *
 * Two digests per Arrow output:
 * - `raw`: sha256 of the file. Measured preservation (max |Δlogits| from TensorFlow forward passes) is written into
 *   the expansion summary (and Net2Net's model info), so these bytes are those of one numerics environment (the
 *   `numerics` recorded with the fixture, tools/pipeline/src/Numerics.ts); they are compared only there.
 * - `content`: sha256 of the table's columns, field types and metadata with the measured values taken out, which
 *   depends on the growth code alone and is compared everywhere.
 * Figures (`figures/`, pure JavaScript) are compared as a digest of every file's name and sha256.
 *
 * The fixture is written by running the test with GROWLAB_WRITE_CHARACTERIZATION=1; the test then fails on purpose
 * (a recording run never passes), and a plain run compares.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, it, assert } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { tableFromIPC } from "apache-arrow"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import { ensureNativeSync } from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import { canonicalJson, sha256 } from "@growlab/core/Hash"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec } from "@growlab/core/ModelSpec"
import type { Stage } from "@growlab/core/Stage"
import { runStage } from "@growlab/core/StageContext"
import { numerics } from "@growlab/pipeline/Numerics"
import { cifarTest, randomModel } from "./fixtures.js"

const root = fileURLToPath(new URL("../../../../", import.meta.url))

const conv = (filters: number) => ({ _tag: "conv2d", filters, kernelSize: 3, activation: "relu" }) as const
const pool = { _tag: "maxPooling2d", poolSize: 2 } as const
const studyCnn = (name: string, c2: number, c3: number, d: number): ModelSpec =>
  Schema.decodeUnknownSync(ModelSpec)({
    name, inputShape: [32, 32, 3],
    layers: [
      { _tag: "rescaling", scale: 0.00392156862745098 }, conv(32), pool, conv(c2), pool, conv(c3), { _tag: "flatten" },
      { _tag: "dense", units: d, activation: "relu" }, { _tag: "dense", units: 10 }
    ]
  })

/** The study's specs (pipelines/study.pipeline.json `definitions`), copied so that the fixture does not follow edits there. */
export const specs = {
  small: studyCnn("cnn-small", 64, 64, 64),
  large1: studyCnn("cnn-large-1", 128, 64, 128),
  large2: studyCnn("cnn-large-2", 128, 128, 128),
  wide96: studyCnn("cnn-wide-96", 96, 96, 96)
} as const

export interface Case {
  readonly id: string
  readonly stage: Stage
  /** Params as a pipeline file gives them (encoded). */
  readonly params: Record<string, unknown>
  /** Seed of the source model's weights. */
  readonly sourceSeed: number
}

export interface Digests {
  readonly source: string
  readonly files: Readonly<Record<string, { readonly raw: string; readonly content?: string }>>
}

export interface Fixture {
  readonly numerics: string
  readonly probe: { readonly images: number }
  readonly cases: Readonly<Record<string, Digests>>
}

/** Summary keys and columns that hold measured (TensorFlow-computed) values, and model info keys that copy them. */
const MEASURED_SUMMARY = ["random", "real", "relative", "preserved"]
const MEASURED_COLUMNS = new Set(["max_abs_diff_random", "max_abs_diff_real"])
const MEASURED_INFO = ["maxAbsDiff"]

const withoutKeys = (json: string | undefined, keys: ReadonlyArray<string>): unknown => {
  if (json === undefined) return null
  const value = JSON.parse(json) as Record<string, unknown>
  for (const k of keys) delete value[k]
  return value
}

/** The Arrow table's fields, metadata and values, less the measured ones. */
export const contentDigest = (bytes: Uint8Array): string => {
  const t = tableFromIPC(bytes)
  const metadata = Object.fromEntries([...t.schema.metadata].map(([k, v]) =>
    [k, k === "growlab.summary" ? withoutKeys(v, MEASURED_SUMMARY) : k === "growlab.info" ? withoutKeys(v, MEASURED_INFO) : v]))
  const columns = t.schema.fields.map((f) => {
    const v = t.getChild(f.name)!
    const values = MEASURED_COLUMNS.has(f.name)
      ? null
      : Array.from({ length: v.length }, (_, i) => {
        const x = v.get(i) as unknown
        return x !== null && typeof x === "object" && "length" in (x as object) ? Array.from(x as ArrayLike<number>) : x
      })
    return { name: f.name, type: String(f.type), nullable: f.nullable, values }
  })
  return sha256(canonicalJson({ metadata, columns }))
}

const filesUnder = (dir: string, prefix = ""): Array<string> =>
  readdirSync(join(dir, prefix)).sort().flatMap((n) => {
    const rel = prefix === "" ? n : `${prefix}/${n}`
    return statSync(join(dir, rel)).isDirectory() ? filesUnder(dir, rel) : [rel]
  })

export const PROBE_IMAGES = 64

/** Runs one case in a scoped temp folder and digests its outputs. */
export const run = (c: Case) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-characterize-" })
    const source = `${dir}/source.arrow`
    const probe = `${dir}/probe.arrow`
    yield* ModelArtifact.write(source, randomModel(specs.small, c.sourceSeed))
    yield* DatasetArtifact.write(probe, cifarTest(PROBE_IMAGES))
    const outDir = `${dir}/out`
    yield* runStage(c.stage, c.params, { outDir, stage: c.id, inputs: { model: source, probe }, log: () => {} })
    const files: Record<string, { raw: string; content?: string }> = {}
    const figures: Array<string> = []
    for (const rel of filesUnder(outDir)) {
      const bytes = readFileSync(join(outDir, rel))
      if (rel.startsWith("figures/")) figures.push(`${rel} ${sha256(bytes)}`)
      else files[rel] = { raw: sha256(bytes), content: contentDigest(bytes) }
    }
    if (figures.length > 0) files.figures = { raw: sha256(figures.join("\n")) }
    return { source: sha256(readFileSync(source)), files } satisfies Digests
  })

export const numericsId = (): string => canonicalJson(numerics(root, process.env))

const recording = process.env.GROWLAB_WRITE_CHARACTERIZATION === "1"

/**
 * Registers one test per case comparing its digests with the fixture at `fixture` (a file URL), or, when recording,
 * runs every case and writes the fixture.
 */
export const describeCharacterization = (title: string, fixture: URL, cases: ReadonlyArray<Case>): void => {
  describe(title, () => {
    const recorded: Record<string, Digests> = {}
    const file = fileURLToPath(fixture)
    const want: Fixture | undefined = recording ? undefined : JSON.parse(readFileSync(file, "utf8")) as Fixture
    const sameNumerics = want !== undefined && want.numerics === numericsId()
    for (const c of cases) {
      it.scoped(c.id, () =>
        Effect.gen(function*() {
          ensureNativeSync()
          const got = yield* run(c)
          if (want === undefined) {
            recorded[c.id] = got
            return
          }
          const w = want.cases[c.id]
          assert.isDefined(w, `${c.id} is in the fixture`)
          assert.strictEqual(got.source, w.source, "the source model (fixture generator changed?)")
          assert.deepStrictEqual(Object.keys(got.files).sort(), Object.keys(w.files).sort(), "output files")
          for (const [name, d] of Object.entries(w.files)) {
            assert.strictEqual(got.files[name].content, d.content, `${name}: content`)
            if (sameNumerics || d.content === undefined) assert.strictEqual(got.files[name].raw, d.raw, `${name}: bytes`)
          }
        }).pipe(Effect.provide(NodeContext.layer)))
    }
    if (recording) {
      it("writes the fixture (a recording run fails on purpose)", () => {
        assert.strictEqual(Object.keys(recorded).length, cases.length)
        writeFileSync(file, JSON.stringify({ numerics: numericsId(), probe: { images: PROBE_IMAGES }, cases: recorded } satisfies Fixture, null, 2) + "\n")
        assert.fail(`recorded ${cases.length} cases into ${file}; run again without GROWLAB_WRITE_CHARACTERIZATION`)
      })
    }
  })
}
