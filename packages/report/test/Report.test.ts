import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { tableFromIPC } from "apache-arrow"
import { readFileSync } from "node:fs"
import type * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as Png from "@growlab/core/Png"
import * as Stats from "@growlab/core/Stats"
import { runStage } from "@growlab/core/StageContext"
import { reportStage } from "../src/ReportStage.js"
import * as Runs from "../src/Runs.js"
import * as DataTable from "../src/DataTable.js"
import { metricsOf, writeExpansion, writeGradcam, writeRun } from "./support/fixtures.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-report-" }))

/** Parses the report's CSV (no quoted commas in these tables) into records keyed by header. */
const csv = (file: string): Array<Record<string, string>> => {
  const [head, ...lines] = readFileSync(file, "utf8").trim().split("\n")
  const keys = head.split(",")
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i], v])))
}

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.isBelow(Math.abs(actual - expected), tol, `${what}: expected ${expected}, got ${actual}`)

// final validation accuracies with scipy-checked statistics (see packages/core/test/Stats.test.ts)
const A = [0.612, 0.634, 0.641, 0.628]
const B = [0.655, 0.671, 0.649]

/** Runs of two methods with forced final accuracies, plus a one-run method. */
const writeStudy = (dir: string) =>
  Effect.gen(function*() {
    const runs = []
    for (const [i, v] of A.entries()) runs.push(yield* writeRun(dir, `large--method=diagonal--seed=${i + 1}`, { method: "diagonal", seed: i + 1 }, metricsOf({ plateau: 0.62, first: 0.45, seconds: 10, finalValAccuracy: v }, 6, i + 1)))
    for (const [i, v] of B.entries()) runs.push(yield* writeRun(dir, `large--method=scratch--seed=${i + 1}`, { method: "scratch", seed: i + 1 }, metricsOf({ plateau: 0.66, first: 0.48, seconds: 12, finalValAccuracy: v }, 6, 10 + i)))
    runs.push(yield* writeRun(dir, "large--method=envelope--seed=1", { method: "envelope", seed: 1 }, metricsOf({ plateau: 0.70, first: 0.6, seconds: 9, finalValAccuracy: 0.7 }, 6, 20)))
    return runs
  })

describe("runs", () => {
  it("groups runs that differ only in the seed and labels groups by the vars that tell them apart", () => {
    const m = metricsOf({ plateau: 0.6, first: 0.5, seconds: 1 }, 2, 1)
    const run = (vars: Runs.Vars, stage = "large"): Runs.Run => ({ path: "", stage, vars, metrics: m })
    const groups = Runs.group([
      run({ method: "symmetric", lr: 0.001, seed: 2 }), run({ method: "symmetric", lr: 0.001, seed: 1 }),
      run({ method: "envelope", lr: 0.001, seed: 1 }), run({ method: "symmetric", lr: 0.0001, seed: 1 })
    ])
    assert.deepStrictEqual(groups.map((g) => [g.label, g.runs.length]), [
      ["symmetric, lr=0.0001", 1], ["envelope, lr=0.001", 1], ["symmetric, lr=0.001", 2]
    ])
    // the var that names methods leads, as its bare value: named vars first, then the one with the most values
    const three = Runs.group([
      run({ target: "a", method: "x", lr: 1, seed: 1 }), run({ target: "b", method: "y", lr: 2, seed: 1 }), run({ target: "a", method: "z", lr: 1, seed: 1 })
    ])
    assert.deepStrictEqual(three.map((g) => g.label), ["x, target=a, lr=1", "z, target=a, lr=1", "y, target=b, lr=2"])
    const numeric = Runs.group([run({ lr: 1, batch: 8, seed: 1 }), run({ lr: 2, batch: 16, seed: 1 })])
    assert.deepStrictEqual(numeric.map((g) => g.label), ["batch=16, lr=2", "batch=8, lr=1"], "no named var: every var keeps its name")
    assert.deepStrictEqual(groups[2].runs.map((r) => r.vars.seed), [1, 2], "repeats in seed order")
    const one = Runs.group([run({ method: "a", seed: 1 }), run({ method: "b", seed: 1 })])
    assert.deepStrictEqual(one.map((g) => g.label), ["a", "b"], "a single telling var labels by value alone")
    assert.deepStrictEqual(Runs.group([run({}, "scratch"), run({}, "scratch")]).map((g) => [g.label, g.runs.length]), [["scratch", 2]])
  })

  it("summarises a run: final, first and best epochs, epoch-matched when asked", () => {
    const epochs = [0.3, 0.5, 0.45, 0.6].map((v, i) => ({ epoch: i + 1, trainLoss: 1, trainAccuracy: v, valLoss: 2 - v, valAccuracy: v, seconds: i + 1, learningRate: 0.1 }))
    const s = Runs.summarize({ epochs, info: {} })
    assert.deepStrictEqual([s.firstValAccuracy, s.bestValAccuracy, s.bestEpoch, s.finalValAccuracy, s.secondsToBest, s.totalSeconds], [0.3, 0.6, 4, 0.6, 10, 10])
    const s3 = Runs.summarize({ epochs, info: {} }, 3)
    assert.deepStrictEqual([s3.epochs, s3.bestValAccuracy, s3.bestEpoch, s3.finalValAccuracy, s3.secondsToBest], [3, 0.5, 2, 0.45, 3])
  })
})

describe("report stage", () => {
  it.scoped("tables: means, Student-t CIs and Welch p-values match scipy; rows sorted by validation accuracy", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = yield* writeStudy(dir)
      yield* runStage(reportStage, { reference: { var: "method", value: "scratch" } }, { outDir: `${dir}/out`, inputs: { runs }, log: () => {} })
      const perf = csv(`${dir}/out/tables/performance.csv`)
      assert.deepStrictEqual(perf.map((r) => r.method), ["envelope", "scratch (reference)", "diagonal"])
      const diag = perf[2]
      close(Number(diag.val_accuracy), 0.62875, 1e-12, "mean")
      close(Number(diag.val_accuracy_ci), (0.6484269825514459 - 0.6090730174485541) / 2, 1e-12, "95% CI half-width")
      assert.strictEqual(perf[0].val_accuracy_ci, "", "one run: no interval")
      const sig = csv(`${dir}/out/tables/significance.csv`)
      const row = sig.find((r) => r.method === "diagonal" && r.metric === "val accuracy")!
      close(Number(row.p), 0.024263439051193075, 1e-10, "Welch p")
      close(Number(row.t), -3.280154358937713, 1e-10, "Welch t")
      // scipy's ttest_ind(..., equal_var=False).confidence_interval(0.95)
      close(Number(row.difference_lower), -0.053266925902041615, 1e-12, "Welch interval, lower")
      close(Number(row.difference_upper), -0.0058997407646249785, 1e-12, "Welch interval, upper")
      assert.deepStrictEqual([row.n, row.reference_n], ["4", "3"])
      // the table's four tests are one family: Holm-adjusted, and significance is read from the adjusted p
      assert.strictEqual(sig.length, 4)
      // (from the Arrow file: the metric "val accuracy, epoch 1" holds a comma this test's CSV reader does not parse)
      const tests = tableFromIPC(readFileSync(`${dir}/out/tables/significance.arrow`)).toArray().map((r) => r.toJSON() as Record<string, number | string>)
      const adjusted = Stats.holm(tests.map((r) => Number(r.p)))
      tests.forEach((r, i) => {
        close(Number(r.p_adjusted), adjusted[i], 1e-15, `adjusted p of ${r.metric}`)
        assert.strictEqual(r.significant, String(adjusted[i] < 0.05))
      })
      assert.isAbove(Number(row.p_adjusted), 0.05, "0.0243 alone, not among four tests")
      assert.isUndefined(sig.find((r) => r.method === "envelope"), "a single run is not tested")
      // time per epoch: mean, variance, min, max over every epoch of every run
      // (a run's seconds are its manifest's measurements, bound beside its metrics)
      const seconds = runs.slice(0, 4).flatMap((r) => r.measurements!.epochSeconds as ReadonlyArray<number>)
      const time = csv(`${dir}/out/tables/time.csv`).find((r) => r.method === "diagonal")!
      close(Number(time.mean), Stats.mean(seconds), 1e-12, "mean seconds")
      close(Number(time.variance), Stats.variance(seconds), 1e-12, "variance")
      assert.strictEqual(Number(time.min), Math.min(...seconds))
      assert.strictEqual(Number(time.max), Math.max(...seconds))
      const md = readFileSync(`${dir}/out/summary.md`, "utf8")
      assert.include(md, "| diagonal | 4 | 6 | 62.88% ± 1.97 |")
      // the Arrow table holds the same numbers
      const arrow = tableFromIPC(readFileSync(`${dir}/out/tables/performance.arrow`))
      assert.strictEqual(arrow.schema.metadata.get("growlab.kind"), "table")
      close(arrow.getChild("val_accuracy")!.get(2) as number, 0.62875, 1e-12, "arrow mean")

      // sorting by another key
      yield* runStage(reportStage, { sortBy: "first_val_accuracy" }, { outDir: `${dir}/out2`, inputs: { runs }, log: () => {} })
      const first = csv(`${dir}/out2/tables/performance.csv`).map((r) => Number(r.first_val_accuracy))
      assert.deepStrictEqual(first, [...first].sort((a, b) => b - a))
      yield* runStage(reportStage, { sortBy: "val_loss" }, { outDir: `${dir}/out3`, inputs: { runs }, log: () => {} })
      const loss = csv(`${dir}/out3/tables/performance.csv`).map((r) => Number(r.val_loss))
      assert.deepStrictEqual(loss, [...loss].sort((a, b) => a - b))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("counts the reference epochs it takes to match each method's best accuracy", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const curve = (vals: ReadonlyArray<number>, seconds: number): MetricsArtifact.Metrics => ({
        epochs: vals.map((v, i) => ({ epoch: i + 1, trainLoss: 1, trainAccuracy: v, valLoss: 1, valAccuracy: v, seconds, learningRate: 0.001 })),
        info: {}
      })
      const runs = [
        yield* writeRun(dir, "grown--seed=1", { method: "envelope", seed: 1 }, curve([0.40, 0.44, 0.43], 2)),
        yield* writeRun(dir, "grown--seed=2", { method: "envelope", seed: 2 }, curve([0.42, 0.46, 0.45], 2)),
        yield* writeRun(dir, "sym", { method: "symmetric", seed: 1 }, curve([0.5, 0.9, 0.95], 2))
      ]
      const reference = [
        yield* writeRun(dir, "scratch--seed=1", { seed: 1 }, curve([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3)),
        yield* writeRun(dir, "scratch--seed=2", { seed: 2 }, curve([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3))
      ]
      yield* runStage(reportStage, {}, { outDir: `${dir}/out`, inputs: { runs, reference }, log: () => {} })
      const rows = csv(`${dir}/out/tables/scratch_match.csv`)
      const env = rows.find((r) => r.method === "envelope")!
      close(Number(env.best), 0.45, 1e-12, "best (mean over runs)")
      assert.strictEqual(Number(env.reference_epochs), 5, "0.5 at epoch 5 is the first ≥ 0.45")
      assert.strictEqual(Number(env.reference_seconds), 15)
      assert.strictEqual(Number(env.seconds_to_best), 4)
      assert.strictEqual(rows.find((r) => r.method === "symmetric")!.reference_epochs, "", "never reached")
      // epoch-matched Welch test: the 6-epoch reference is compared at epoch 3 with the 3-epoch runs
      const sig = csv(`${dir}/out/tables/significance.csv`).find((r) => r.method === "envelope" && r.metric === "val accuracy")!
      close(Number(sig.reference), 0.3, 1e-12, "reference mean at epoch 3")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with the values it saw when the reference matches no run", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = yield* writeStudy(dir)
      const error = yield* runStage(reportStage, { reference: { var: "method", value: "from-scratch" } }, { outDir: `${dir}/out`, inputs: { runs }, log: () => {} }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StageFailure")
      assert.include(error.message, "diagonal | scratch | envelope")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("embeds expansion heatmaps and Grad-CAM figures, and reports SNR and max |Δlogits|", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = yield* writeStudy(dir)
      const expansions = [yield* writeExpansion(dir, "diagonal", 7.5, 0.25)]
      const gradcam = [{ ...(yield* writeGradcam(dir)), vars: { seed: 1, target: "large2", method: "scratch", learningRate: 0.001 } }]
      yield* runStage(reportStage, {}, { outDir: `${dir}/out`, inputs: { runs, expansions, gradcam }, log: () => {} })
      const perf = csv(`${dir}/out/tables/performance.csv`)
      const diag = perf.find((r) => r.method === "diagonal")!
      close(Number(diag.snr_db), 7.5, 1e-9, "SNR from the energies")
      assert.strictEqual(Number(diag.max_abs_dlogits), 0.25)
      assert.strictEqual(perf.find((r) => r.method === "scratch")!.snr_db, "")
      const html = readFileSync(`${dir}/out/report.html`, "utf8")
      for (const id of ["val-accuracy", "val-loss", "first-epoch", "time-per-epoch", "expansion-0-conv2-kernel", "gradcam-0", "gradcam-0-placement-conv2"]) {
        assert.include(html, `data-figure="${id}"`)
      }
      assert.notMatch(html, /(src|href)="(?!data:|#)/, "nothing outside the file is referenced")
      // a Grad-CAM artifact is named by its vars, the method first
      assert.include(html, "Grad-CAM: scratch, target=large2, learningRate=0.001, seed=1")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("weight heatmaps", () => {
  /** An 8×8 PNG of one colour: equal bytes for equal `v`. */
  const png = (v: number) => Png.encode(8, 8, new Uint8Array(8 * 8 * 3).fill(v), 3)
  /** Two seeds of diagonal and one of symmetric, all grown from one small model (the same "before" heatmap). */
  const writeThree = (dir: string) =>
    Effect.gen(function*() {
      const before = png(7)
      return [
        yield* writeExpansion(dir, "diagonal", 7.5, 0.25, { seed: 2, figures: { "a.before.png": before, "b.after.png": png(20) } }),
        yield* writeExpansion(dir, "diagonal", 7.5, 0.25, { seed: 1, figures: { "a.before.png": before, "b.after.png": png(10) } }),
        yield* writeExpansion(dir, "symmetric", null, 1e-6, { seed: 1, figures: { "a.before.png": before, "b.after.png": png(30) } })
      ]
    })
  const embedded = (html: string) => [...html.matchAll(/data-figure="(expansion-[^"]+)"/g)].map((m) => m[1])

  it.scoped("embed each method's first seed and a heatmap shared by several expansions once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const runs = yield* writeStudy(dir)
      const expansions = yield* writeThree(dir)
      yield* runStage(reportStage, {}, { outDir: `${dir}/first`, inputs: { runs, expansions }, log: () => {} })
      const html = readFileSync(`${dir}/first/report.html`, "utf8")
      // expansion 1 is diagonal seed 1 (seed 2 comes first in the inputs), expansion 2 symmetric
      assert.deepStrictEqual(embedded(html), ["expansion-1-a-before", "expansion-1-b-after", "expansion-2-b-after"])
      assert.include(html, "first seed (2 of 3 expansions)")
      assert.include(html, "Weights after expansion: symmetric, seed=1. Identical to the heatmaps of diagonal, seed=1 above: a before.")
      yield* runStage(reportStage, { weightFigureRepeats: "all" }, { outDir: `${dir}/all`, inputs: { runs, expansions }, log: () => {} })
      assert.deepStrictEqual(embedded(readFileSync(`${dir}/all/report.html`, "utf8")),
        ["expansion-0-a-before", "expansion-0-b-after", "expansion-1-b-after", "expansion-2-b-after"])
      yield* runStage(reportStage, { weightFigures: "after" }, { outDir: `${dir}/after`, inputs: { runs, expansions }, log: () => {} })
      assert.deepStrictEqual(embedded(readFileSync(`${dir}/after/report.html`, "utf8")), ["expansion-1-b-after", "expansion-2-b-after"])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("data tables", () => {
  it("CSV escapes text, keeps raw numbers and writes ± companions as their own column", () => {
    const t: DataTable.DataTable = {
      name: "t", title: "T", caption: "",
      columns: [{ key: "method", title: "Method", format: "text" }, { key: "acc", title: "Acc", format: "percent", plusMinus: "acc_ci" }],
      rows: [{ method: "a, \"b\"", acc: 0.5, acc_ci: 0.01 }, { method: "c", acc: NaN, acc_ci: null }]
    }
    assert.strictEqual(DataTable.toCsv(t), "method,acc,acc_ci\n\"a, \"\"b\"\"\",0.5,0.01\nc,,\n")
    assert.include(DataTable.toMarkdown(t), "| a, \"b\" | 50.00% ± 1.00 |")
    assert.include(DataTable.toHtml(t), "<td class=\"n\">–</td>")
  })
})

