/** Methods that trained the same network under two names are found and listed once, and nothing else is. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { existsSync, readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import type * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import { runStage } from "@growlab/core/StageContext"
import { reportStage } from "../src/ReportStage.js"
import { metricsOf, writeRun } from "./support/fixtures.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-twins-" }))

/** The same training with another wall time per epoch (what a repeat of a deterministic run looks like). */
const slower = (m: MetricsArtifact.Metrics, by: number): MetricsArtifact.Metrics =>
  ({ ...m, epochs: m.epochs.map((e) => ({ ...e, seconds: e.seconds * by })) })

describe("identical methods", () => {
  it.scoped("lists a method whose every seed repeats another's epoch by epoch, and not one that differs in a single value", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = []
      for (const seed of [1, 2, 3]) {
        for (const target of ["one-axis", "both-axes"]) {
          const symmetric = metricsOf({ plateau: target === "one-axis" ? 0.7 : 0.72, first: 0.6, seconds: 20 }, 4, seed)
          runs.push(yield* writeRun(dir, `symmetric--${target}--${seed}`, { method: "symmetric", target, seed }, symmetric))
          // where no layer grows on both axes, diagonal trains the very same network: same numbers, other seconds
          const diagonal = target === "one-axis" ? slower(symmetric, 1.3) : metricsOf({ plateau: 0.74, first: 0.6, seconds: 20 }, 4, seed + 10)
          runs.push(yield* writeRun(dir, `diagonal--${target}--${seed}`, { method: "diagonal", target, seed }, diagonal))
          // equal in every seed but one, where the last epoch's validation loss differs in the last bit
          const m = metricsOf({ plateau: target === "one-axis" ? 0.68 : 0.69, first: 0.55, seconds: 20 }, 4, seed + 20)
          runs.push(yield* writeRun(dir, `near--${target}--${seed}`, { method: "near", target, seed }, m))
          const last = m.epochs[3]
          const nudged = seed === 2 ? { ...m, epochs: [...m.epochs.slice(0, 3), { ...last, valLoss: last.valLoss * (1 + 4 * Number.EPSILON) }] } : m
          runs.push(yield* writeRun(dir, `near-copy--${target}--${seed}`, { method: "near-copy", target, seed }, nudged))
        }
      }
      // two methods that diverged: NaN losses at chance accuracy look alike without being the same network
      for (const method of ["collapsed-a", "collapsed-b"]) {
        const diverged: MetricsArtifact.Metrics = {
          info: {},
          epochs: [1, 2].map((epoch) => ({ epoch, trainLoss: NaN, trainAccuracy: 0.1, valLoss: NaN, valAccuracy: 0.1, seconds: 20, learningRate: 1e-3 }))
        }
        runs.push(yield* writeRun(dir, `${method}--1`, { method, target: "one-axis", seed: 1 }, diverged))
      }
      yield* runStage(reportStage, {}, { outDir: `${dir}/out`, inputs: { runs }, log: () => {} })
      const rows = tableFromIPC(readFileSync(`${dir}/out/tables/twins.arrow`)).toArray().map((r) => r.toJSON() as Record<string, unknown>)
      assert.deepStrictEqual(rows.map((r) => [r.methods, r.runs]), [["diagonal, target=one-axis = symmetric, target=one-axis", 3]])
      const md = readFileSync(`${dir}/out/summary.md`, "utf8")
      assert.include(md, "## Identical methods")
      assert.include(readFileSync(`${dir}/out/report.html`, "utf8"), "Identical methods")

      // no twins: no table
      const distinct = runs.filter((r) => !r.stage.startsWith("diagonal--one-axis"))
      yield* runStage(reportStage, {}, { outDir: `${dir}/out2`, inputs: { runs: distinct }, log: () => {} })
      assert.isFalse(existsSync(`${dir}/out2/tables/twins.arrow`))
      assert.notInclude(readFileSync(`${dir}/out2/summary.md`, "utf8"), "Identical methods")
    }).pipe(Effect.provide(NodeContext.layer)))
})
