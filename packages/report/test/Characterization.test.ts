/**
 * Characterization of the `report` stage: on fixed inputs (synthetic runs, a separate reference and source runs, real
 * expansion artifacts of the expand and net2wider stages in fixtures/expansions/, a Grad-CAM artifact, claims) the
 * stage must write byte-identical outputs (report.html, summary.md and every table as CSV and Arrow):
 * fixtures/report-characterization.json holds their sha256, first recorded before ReportStage was split into
 * load → analyse → render, recorded again only with a change meant to change the outputs (issue #22: adjusted p-values
 * and intervals, then the layout), in the same commit. GROWLAB_WRITE_CHARACTERIZATION=1 records it again (that run
 * fails on purpose).
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { sha256 } from "@growlab/core/Hash"
import type { InputArtifact } from "@growlab/core/Stage"
import { runStage } from "@growlab/core/StageContext"
import { reportStage } from "../src/ReportStage.js"
import { metricsOf, writeGradcam, writeRun } from "./support/fixtures.js"

const FIXTURE = fileURLToPath(new URL("./fixtures/report-characterization.json", import.meta.url))
const EXPANSIONS = fileURLToPath(new URL("./fixtures/expansions/", import.meta.url))
const recording = process.env.GROWLAB_WRITE_CHARACTERIZATION === "1"

const methods = [
  { method: "noisy-diagonal", plateau: 0.66, first: 0.55, seconds: 11 },
  { method: "envelope", plateau: 0.67, first: 0.56, seconds: 10 },
  { method: "net2wider", plateau: 0.65, first: 0.52, seconds: 9 },
  { method: "scratch", plateau: 0.63, first: 0.40, seconds: 12 }
]

const inputsIn = (dir: string) =>
  Effect.gen(function*() {
    const runs: Array<InputArtifact> = []
    for (const [k, m] of methods.entries()) {
      for (const seed of [1, 2, 3]) {
        runs.push(yield* writeRun(dir, `train--method=${m.method}--seed=${seed}`, { method: m.method, seed, target: "tiny" },
          metricsOf({ plateau: m.plateau, first: m.first, seconds: m.seconds }, 6, 10 * k + seed)))
      }
    }
    const reference = [1, 2].map((seed) => writeRun(dir, `scratch50--seed=${seed}`, { seed, target: "tiny" }, metricsOf({ plateau: 0.7, first: 0.4, seconds: 12 }, 12, 90 + seed)))
    const sources = [1, 2, 3].map((seed) => writeRun(dir, `small--seed=${seed}`, { seed }, metricsOf({ plateau: 0.6, first: 0.45, seconds: 6 }, 6, 80 + seed)))
    const expansions: Array<InputArtifact> = readdirSync(EXPANSIONS).sort().map((stage) => {
      const [, method, seed] = /^grow--method=(.+)--seed=(\d+)$/.exec(stage)!
      return { path: join(EXPANSIONS, stage, "expansion.arrow"), stage, vars: { method, seed: Number(seed) } }
    })
    const gradcam = [{ ...(yield* writeGradcam(dir)), vars: { method: "envelope", seed: 1 } }]
    return { runs, reference: yield* Effect.all(reference), sources: yield* Effect.all(sources), expansions, gradcam }
  })

const params = {
  default: {},
  study: {
    title: "characterization", reference: { var: "method", value: "scratch" }, matchOn: ["target"], curvesBy: ["target"],
    claims: [
      { claim: "envelope starts above scratch", metric: "first_val_accuracy", select: { method: "envelope" }, versus: { select: { method: "scratch" } } },
      { claim: "the small model", metric: "val_accuracy", select: {}, stage: "small", published: 0.6 }
    ]
  },
  after: { weightFigures: "after", weightFigureRepeats: "all", gradcamOverlays: 0 }
} as const

const digests = (dir: string, prefix = ""): Record<string, string> =>
  Object.fromEntries(readdirSync(join(dir, prefix)).sort().flatMap((n) => {
    const rel = prefix === "" ? n : `${prefix}/${n}`
    return statSync(join(dir, rel)).isDirectory() ? Object.entries(digests(dir, rel)) : [[rel, sha256(readFileSync(join(dir, rel)))]]
  }))

describe("report stage characterization (byte-identical outputs)", () => {
  const recorded: Record<string, Record<string, string>> = {}
  const want = recording ? undefined : JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, Record<string, string>>
  for (const [name, p] of Object.entries(params)) {
    it.scoped(name, () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-report-characterize-" })
        const inputs = yield* inputsIn(dir)
        yield* runStage(reportStage, p, { outDir: `${dir}/out`, stage: `report-${name}`, pipeline: "characterization", inputs, log: () => {} })
        const got = digests(`${dir}/out`)
        if (want === undefined) recorded[name] = got
        else assert.deepStrictEqual(got, want[name])
      }).pipe(Effect.provide(NodeContext.layer)))
  }
  if (recording) {
    it("writes the fixture (a recording run fails on purpose)", () => {
      writeFileSync(FIXTURE, JSON.stringify(recorded, null, 2) + "\n")
      assert.fail(`recorded ${Object.keys(recorded).length} reports into ${FIXTURE}; run again without GROWLAB_WRITE_CHARACTERIZATION`)
    })
  }
})
