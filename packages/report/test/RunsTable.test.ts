import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { execFileSync } from "node:child_process"
import * as RunsTable from "../src/RunsTable.js"
import { metricsOf, writeInstance } from "./support/fixtures.js"

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-runs-" }))

const spec = { inputShape: [32, 32, 3], layers: [{ _tag: "conv2d", filters: 32, kernelSize: 3 }] }

/** A pipeline's artifacts: a dataset stage (no metrics), a small model, and a method × seed matrix. */
const writePipeline = (artifacts: string) =>
  Effect.gen(function*() {
    yield* writeInstance(artifacts, "grow", "data", { dataset: "cifar10" }, {}, undefined, "dataset")
    yield* writeInstance(artifacts, "grow", "small", { spec, epochs: 4, optimizer: { learningRate: 0.001 }, seed: 0 }, {}, metricsOf({ plateau: 0.5, first: 0.4, seconds: 5 }, 4, 1))
    const plateau = { symmetric: 0.6, envelope: 0.7 }
    for (const method of ["symmetric", "envelope"] as const) {
      for (const seed of [1, 2, 10]) {
        yield* writeInstance(artifacts, "grow", `large--method=${method}--seed=${seed}`,
          { spec, epochs: 4, optimizer: { learningRate: 0.001 }, seed }, { method, seed },
          metricsOf({ plateau: plateau[method] + seed / 1000, first: 0.55, seconds: 6, finalValAccuracy: plateau[method] + seed / 1000 }, 4, seed))
      }
    }
  })

describe("runs table", () => {
  it("flattens params and keeps only the keys that differ", () => {
    assert.deepStrictEqual(RunsTable.flatten({ a: { b: 1, c: [1, 2] }, d: "x", e: null }), { "a.b": "1", "a.c": "[1,2]", d: "x", e: "null" })
    assert.deepStrictEqual(RunsTable.changedKeys([{ a: "1", b: "2", c: "3" }, { a: "1", b: "3", c: "3" }, { a: "1", c: "3" }]), ["b"])
    assert.deepStrictEqual(RunsTable.changedKeys([{ a: "1" }, { a: "1", d: "0" }]), ["d"], "a key missing from a run differs")
  })

  it.scoped("shows only the params and vars that differ, sorted best first or by any column", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* writePipeline(dir)
      const rows = yield* RunsTable.load(dir, "grow")
      assert.strictEqual(rows.length, 7, "the dataset stage has no metrics and is not a run")
      const cols = RunsTable.columns(rows)
      const keys = cols.map((c) => c.key)
      // seed differs (and the `seed` var repeats the param, so it is shown once); spec, epochs, learningRate do not
      assert.deepStrictEqual(keys.slice(0, 3), ["run", "method", "seed"])
      assert.notInclude(keys, "spec.layers")
      assert.notInclude(keys, "epochs.")
      assert.notInclude(keys, "optimizer.learningRate")

      const byAcc = RunsTable.sortRows(rows, cols, RunsTable.parseSort("val_accuracy", cols) as RunsTable.SortSpec)
      assert.deepStrictEqual(byAcc.slice(0, 3).map((r) => r.run), ["large--method=envelope--seed=10", "large--method=envelope--seed=2", "large--method=envelope--seed=1"])
      assert.strictEqual(byAcc[6].run, "small")
      const byLoss = RunsTable.parseSort("val_loss", cols) as RunsTable.SortSpec
      assert.isFalse(byLoss.descending, "losses sort lowest first")
      const bySeed = RunsTable.sortRows(rows, cols, RunsTable.parseSort("seed:desc", cols) as RunsTable.SortSpec)
      assert.deepStrictEqual(bySeed.map((r) => r.params.seed), ["10", "10", "2", "2", "1", "1", "0"], "natural order: 10 after 2")
      assert.include(RunsTable.parseSort("accuracy", cols) as string, "one of: run, method, seed")

      const text = RunsTable.render(byAcc, cols, RunsTable.parseSort("val_accuracy", cols) as RunsTable.SortSpec)
      const [header, , first] = text.split("\n")
      assert.match(header, /^run\s+method\s+seed\s+epochs/)
      assert.include(header, "val_acc ↓")
      assert.match(first, /^large--method=envelope--seed=10\s+envelope\s+10\s+4\s+/)
      assert.include(first, "71.00%")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("the `runs` command prints the table", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* writePipeline(dir)
      const out = execFileSync(process.execPath, ["--import", "tsx", "packages/report/src/bin.ts", "runs", "grow", "--sort", "val_loss", "--artifacts", dir], { encoding: "utf8" })
      const lines = out.trim().split("\n")
      assert.include(lines[0], "val_loss ↑")
      assert.match(lines[2], /^large--method=envelope--seed=10 /)
      assert.strictEqual(lines[lines.length - 1], "7 runs of grow")
    }).pipe(Effect.provide(NodeContext.layer)))
})
