import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import type * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import { runStage } from "@growlab/core/StageContext"
import { reportStage } from "../src/ReportStage.js"
import { writeRun } from "./support/fixtures.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-accounting-" }))

/** A report table from its Arrow file (labels hold commas), values as text ("" for missing) like a CSV reader. */
const csv = (file: string): Array<Record<string, string>> =>
  tableFromIPC(readFileSync(file.replace(/\.csv$/, ".arrow"))).toArray().map((row) =>
    Object.fromEntries(Object.entries(row.toJSON() as Record<string, unknown>).map(([k, v]) => [k, v === null || (typeof v === "number" && Number.isNaN(v)) ? "" : String(v)])))

/** A run with given validation accuracies per epoch, seconds per epoch and the compute facts the train stage records. */
const curve = (vals: ReadonlyArray<number>, seconds: number, info: Record<string, unknown>): MetricsArtifact.Metrics => ({
  epochs: vals.map((v, i) => ({ epoch: i + 1, trainLoss: 1 - v, trainAccuracy: v, valLoss: 1 - v, valAccuracy: v, seconds, learningRate: 0.001 })),
  info
})
const small = { flopsPerExample: 10, trainExamples: 100, paramCount: 7 }
const large = { flopsPerExample: 30, trainExamples: 100, paramCount: 20 }
const grown = { ...large, init: "artifact" }

/**
 * Two architectures (a, b) × two LRs from scratch, a 6-epoch scratch reference per architecture, two seeds, and a
 * method grown from the small model of its seed.
 */
const writeStudy = (dir: string) =>
  Effect.gen(function*() {
    const runs = []
    const reference = []
    const sources = []
    for (const seed of [1, 2]) {
      const d = seed === 1 ? 0 : 0.02
      sources.push(yield* writeRun(dir, `small--seed=${seed}`, { seed }, curve([0.3, 0.4 + d], 5, small)))
      for (const target of ["a", "b"]) {
        for (const lr of [0.001, 0.0001]) {
          const base = target === "a" ? 0.5 : 0.6
          // the lower LR ends a little lower (identical curves would be twins, counted as one method)
          const low = lr === 0.0001 ? 0.005 : 0
          runs.push(yield* writeRun(dir, `scratch--${target}--${lr}--${seed}`, { method: "scratch", target, lr, seed },
            curve([base - 0.2, base - 0.1 + d, base + d - low], 10, large)))
        }
        reference.push(yield* writeRun(dir, `long--${target}--${seed}`, { method: "long", target, seed },
          curve([0.3, 0.4, 0.5, 0.6, 0.7, 0.8 + d], 10, large)))
      }
      runs.push(yield* writeRun(dir, `grown--b--${seed}`, { method: "grown", target: "b", lr: 0.0001, seed },
        curve([0.55 + d, 0.62 + d, 0.75 + d], 8, grown)))
    }
    return { runs, reference, sources }
  })

describe("references matched by vars, compute accounting and claims", () => {
  it.scoped("compares each method with its own configuration from scratch and the references of its target", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inputs = yield* writeStudy(dir)
      yield* runStage(reportStage, { reference: { var: "method", value: "scratch" }, matchOn: ["target"] }, { outDir: `${dir}/out`, inputs, log: () => {} })
      const sig = csv(`${dir}/out/tables/significance.csv`).filter((r) => r.method.includes("grown"))
      assert.deepStrictEqual([...new Set(sig.map((r) => r.against))], ["scratch, target=b, lr=0.0001"], "same target and LR")
      const match = csv(`${dir}/out/tables/scratch_match.csv`).filter((r) => r.method.includes("grown"))
      assert.deepStrictEqual(match.map((r) => r.reference), ["b (6 epochs)"], "only the reference of its target")
      // best of grown = mean(0.75, 0.77) = 0.76 → the long-b curve (mean 0.3 … 0.81) reaches it at epoch 6
      assert.strictEqual(Number(match[0].reference_epochs), 6)
      // each reference's chart names (in its legend) only the methods it is the reference of
      const html = readFileSync(`${dir}/out/report.html`, "utf8")
      const charts = [...html.matchAll(/<figure id="fig-scratch-match[^"]*"[\s\S]*?<\/figure>/g)].map((m) => m[0])
      const ofB = charts.filter((c) => c.includes("grown, target=b"))
      assert.strictEqual(ofB.length, 1)
      const drawn = [...ofB[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])
      assert.include(drawn, "grown, target=b, lr=0.0001")
      assert.isFalse(drawn.some((t) => t.includes("target=a")), `no method of target a in the legend of b's reference: ${drawn.join(" | ")}`)
      // without matchOn every reference applies
      yield* runStage(reportStage, { reference: { var: "method", value: "scratch" } }, { outDir: `${dir}/out2`, inputs, log: () => {} })
      assert.strictEqual(csv(`${dir}/out2/tables/scratch_match.csv`).filter((r) => r.method.includes("grown")).length, 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("draws the learning curves apart by the vars in curvesBy, each set with its own methods", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inputs = yield* writeStudy(dir)
      yield* runStage(reportStage, { curvesBy: ["target", "absent"] }, { outDir: `${dir}/out`, inputs, log: () => {} })
      const html = readFileSync(`${dir}/out/report.html`, "utf8")
      const figureOf = (id: string) => html.match(new RegExp(`<figure id="fig-${id}"[\\s\\S]*?</figure>`))?.[0] ?? ""
      assert.notInclude(html, 'id="fig-val-accuracy"', "no chart of every method")
      for (const [mine, other] of [["a", "b"], ["b", "a"]]) {
        for (const chart of ["val-accuracy", "val-loss", "train-accuracy"]) {
          const fig = figureOf(`${chart}--target-${mine}`)
          assert.include(fig, `target=${mine}`, `${chart} of target ${mine}`)
          assert.notInclude(fig, `target=${other}`, `${chart} of target ${mine} draws only its own methods`)
        }
      }
      // named without the target its panel's title names
      assert.include(figureOf("val-accuracy--target-b"), ">grown, lr=0.0001<")
      // without curvesBy, or when no method has every var it names: one chart of every method
      yield* runStage(reportStage, {}, { outDir: `${dir}/one`, inputs, log: () => {} })
      assert.include(readFileSync(`${dir}/one/report.html`, "utf8"), 'id="fig-val-accuracy"')
      const split = { ...inputs, runs: inputs.runs.map((r) => (r.vars.method === "grown" ? { ...r, vars: { method: "grown", depth: 2, seed: r.vars.seed } } : r)) }
      yield* runStage(reportStage, { curvesBy: ["target", "depth"] }, { outDir: `${dir}/partial`, inputs: split, log: () => {} })
      assert.include(readFileSync(`${dir}/partial/report.html`, "utf8"), 'id="fig-val-accuracy"')
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("counts the small model's training in a grown model's FLOPs, seconds and time to target", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inputs = yield* writeStudy(dir)
      yield* runStage(reportStage, { reference: { var: "method", value: "scratch" }, matchOn: ["target"] }, { outDir: `${dir}/out`, inputs, log: () => {} })
      const compute = csv(`${dir}/out/tables/compute.csv`)
      const g = compute.find((r) => r.method.includes("grown"))!
      assert.strictEqual(Number(g.params), 20)
      assert.strictEqual(Number(g.train_flops), 30 * 100 * 3)
      assert.strictEqual(Number(g.reused_flops), 10 * 100 * 2)
      assert.strictEqual(Number(g.total_flops), 9000 + 2000)
      assert.strictEqual(Number(g.train_seconds), 24)
      assert.strictEqual(Number(g.reused_seconds), 10)
      assert.strictEqual(Number(g.total_seconds), 34)
      const s = compute.find((r) => r.method === "scratch, target=a, lr=0.001")!
      assert.strictEqual(Number(s.reused_flops), 0, "scratch reuses nothing")
      assert.ok(compute.some((r) => r.method === "b" && Number(r.epochs) === 6), "the separate reference is accounted")
      assert.ok(compute.some((r) => Number(r.params) === 7), "the small models are accounted")

      const ttt = csv(`${dir}/out/tables/time_to_target.csv`)
      const row = ttt.find((r) => r.method.includes("grown"))!
      // target: the long-b runs' mean best = (0.8 + 0.82) / 2 = 0.81; grown runs peak at 0.75 and 0.77: never reached
      assert.strictEqual(row.reached, "0/2")
      assert.strictEqual(row.epochs, "")
      // the scratch-b runs at LR 1e-3 (best 0.6 and 0.62) against the same target: not reached either; the long
      // reference itself reaches its own mean best only in the seed-2 run (0.82 ≥ 0.81) at epoch 6
      const long = ttt.find((r) => r.method === "b")!
      assert.strictEqual(long.reached, "1/2")
      assert.strictEqual(Number(long.epochs), 6)
      assert.strictEqual(Number(long.seconds), 60)
      assert.strictEqual(Number(long.flops), 6 * 3000)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("charges a distilled run for its teacher's training and one teacher pass over the training set", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // one teacher for every run (no vars), 2 epochs of 4 s; students distil for 3 epochs or train from scratch
      const teacher = yield* writeRun(dir, "teacher", {}, curve([0.5, 0.6], 4, { ...small, forwardFlopsPerExample: 4 }))
      const distill = { ...large, loss: { kind: "distillation", teacherWeight: 1, labelWeight: 1, temperature: 1 } }
      const runs = []
      for (const seed of [1, 2]) {
        runs.push(yield* writeRun(dir, `kd--${seed}`, { setup: "kd", seed }, curve([0.6, 0.7, 0.8], 6, distill)))
        runs.push(yield* writeRun(dir, `scratch--${seed}`, { setup: "scratch", seed }, curve([0.5, 0.7, 0.75], 6, large)))
      }
      yield* runStage(reportStage, { reference: { var: "setup", value: "scratch" } }, { outDir: `${dir}/out`, inputs: { runs, sources: [teacher] }, log: () => {} })
      const compute = csv(`${dir}/out/tables/compute.csv`)
      const kd = compute.find((r) => r.method === "kd")!
      assert.strictEqual(Number(kd.train_flops), 30 * 100 * 3)
      assert.strictEqual(Number(kd.reused_flops), 10 * 100 * 2 + 4 * 100, "teacher training + its logits over 100 examples")
      assert.strictEqual(Number(kd.reused_seconds), 8)
      assert.strictEqual(Number(compute.find((r) => r.method === "scratch")!.reused_flops), 0)
      // two teachers without vars: ambiguous, named
      const twice = yield* runStage(reportStage, {}, { outDir: `${dir}/bad`, inputs: { runs, sources: [teacher, teacher] }, log: () => {} }).pipe(Effect.flip)
      assert.strictEqual((twice as { field?: string }).field, "inputs.sources")
      assert.include((twice as { actual?: string }).actual ?? "", "2 source runs agree with kd--1")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("reaching a target counts epochs, seconds and FLOPs from the start of the small model", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inputs = yield* writeStudy(dir)
      // a 3-epoch reference whose best (0.6 / 0.62) the grown runs reach at epoch 2 (0.62 / 0.64)
      const reference = inputs.runs.filter((r) => r.stage.startsWith("scratch--b--0.001"))
      yield* runStage(reportStage, { matchOn: ["target"] }, { outDir: `${dir}/out`, inputs: { ...inputs, reference }, log: () => {} })
      const row = csv(`${dir}/out/tables/time_to_target.csv`).find((r) => r.method.includes("grown"))!
      assert.strictEqual(row.reached, "2/2")
      assert.strictEqual(Number(row.epochs), 2)
      assert.strictEqual(Number(row.seconds), 10 + 2 * 8)
      assert.strictEqual(Number(row.flops), 2000 + 2 * 3000)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("checks published figures and comparisons, and names a claim that selects nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inputs = yield* writeStudy(dir)
      const claims = [
        { claim: "grown first epoch", metric: "first_val_accuracy", select: { method: "grown" }, published: 0.56 },
        { claim: "grown first epoch vs a lower study figure", metric: "first_val_accuracy", select: { method: "grown" }, published: 0.4 },
        { claim: "grown beats scratch b at 1e-4", metric: "val_accuracy", select: { method: "grown" }, versus: { select: { method: "scratch", target: "b", lr: 0.0001 } } },
        { claim: "scratch a beats grown", metric: "val_accuracy", select: { method: "scratch", target: "a", lr: 0.001 }, versus: { select: { method: "grown" } } },
        { claim: "small model", metric: "val_accuracy", select: { seed: 1 }, published: 0.4 }
      ]
      const speed = [
        { claim: "grown is faster per epoch than scratch b", metric: "seconds_per_epoch", select: { method: "grown" }, versus: { select: { method: "scratch", target: "b", lr: 0.0001 } }, direction: "lower" },
        { claim: "small is faster per epoch than grown", metric: "seconds_per_epoch", select: {}, stage: "small", versus: { select: { method: "grown" } }, direction: "lower" }
      ]
      const bad = yield* runStage(reportStage, { claims: [{ claim: "x", metric: "val_accuracy", select: { method: "scratch" } }] }, { outDir: `${dir}/bad`, inputs, log: () => {} }).pipe(Effect.flip)
      assert.strictEqual((bad as { field?: string }).field, "params.claims.0.select")
      assert.include((bad as { actual?: string }).actual ?? "", "methods")
      const none = yield* runStage(reportStage, { claims: [{ claim: "x", metric: "val_accuracy", select: { method: "nope" } }] }, { outDir: `${dir}/none`, inputs, log: () => {} }).pipe(Effect.flip)
      assert.strictEqual((none as { actual?: string }).actual, "none")

      yield* runStage(reportStage, { claims: claims.slice(0, 4) }, { outDir: `${dir}/out`, inputs: { ...inputs, sources: [] }, log: () => {} })
      const rows = csv(`${dir}/out/tables/claims.csv`)
      assert.strictEqual(rows[0].verdict, "published figure inside our interval")
      assert.strictEqual(rows[1].verdict, "ours higher than published")
      // the two comparisons are the family: Holm multiplies the smaller p by 2, the larger keeps at least that
      assert.strictEqual(rows[2].verdict, "holds")
      assert.strictEqual(rows[3].verdict, "reversed")
      const [p2, p3] = [Number(rows[2].p), Number(rows[3].p)]
      assert.closeTo(Number(rows[2].p_adjusted), p2 <= p3 ? 2 * p2 : Math.max(2 * p3, p2), 1e-15)
      assert.closeTo(Number(rows[3].p_adjusted), p3 < p2 ? 2 * p3 : Math.max(2 * p2, p3), 1e-15)
      assert.strictEqual(rows[0].p_adjusted, "", "a published figure is not tested")
      assert.strictEqual(Number(rows[0].ours_mean), 0.56)
      // the source runs have no var but the seed: `stage` selects them
      const e = yield* runStage(reportStage, { claims: claims.slice(4) }, { outDir: `${dir}/out3`, inputs, log: () => {} }).pipe(Effect.flip)
      assert.include((e as { actual?: string }).actual ?? "", "methods", "seed=1 selects several methods")
      yield* runStage(reportStage, { claims: [{ claim: "small model", metric: "val_accuracy", select: {}, stage: "small", published: 0.4 }] }, { outDir: `${dir}/out4`, inputs, log: () => {} })
      const smallRow = csv(`${dir}/out4/tables/claims.csv`)[0]
      assert.closeTo(Number(smallRow.ours_mean), 0.41, 1e-12)
      assert.strictEqual(smallRow.verdict, "published figure inside our interval")
      // a seconds-per-epoch claim says whether both sides do the same work per epoch (then time is the machine's load)
      yield* runStage(reportStage, { claims: speed }, { outDir: `${dir}/out5`, inputs, log: () => {} })
      const speedRows = csv(`${dir}/out5/tables/claims.csv`)
      assert.include(speedRows[0].verdict, "both do 3.00e+3 training FLOPs per epoch, so the difference is the machine's load")
      assert.include(speedRows[1].verdict, "training FLOPs per epoch 1.00e+3 vs 3.00e+3")
      assert.notInclude(rows[2].verdict, "FLOPs", "accuracy claims carry no work note")
      const html = readFileSync(`${dir}/out/report.html`, "utf8")
      assert.include(html, "The study's claims")
      assert.include(html, "grown beats scratch b at 1e-4")
    }).pipe(Effect.provide(NodeContext.layer)))
})
