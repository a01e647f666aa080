/**
 * The cache is sound in both directions, end to end: Nx reruns exactly the stages whose key changed (kind + params,
 * wiring, code closure, package versions, numerics environment, dataset files, bound upstream artifacts) and nothing
 * else, and `growlab status` predicts it from the same key computation. In a throwaway copy of the workspace (own Nx
 * cache) on a small real CIFAR-10 pipeline with two growth branches:
 *
 *   data → small → grow[method=symmetric|diagonal] → large[...] ┐
 *                → wide (net2wider) ────────────→ wlarge ───────┴→ report
 *
 * Each case asserts the exact set of executed stages (the runner's run log), so a rerun too many fails as surely as a
 * stale result.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { appendFileSync, cpSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { editJson, hashTree, makeWorkspaceCopy, takeExecuted, repoRoot, runNx, type WorkspaceCopy } from "./workspaceCopy.js"

let ws: WorkspaceCopy
const DATA = process.env.GROWLAB_DATA_DIR ?? join(repoRoot, "../shared/datasets")

/** Stages actually executed (not restored from the cache) since the last call. */
const executed = (): Array<string> => takeExecuted(ws)

const nx = (args: Array<string>, env: Record<string, string> = {}) => ws.exec("npx", ["nx", ...args, "--output-style=static"], env)
const runCache = (env: Record<string, string> = {}) => {
  const r = Object.keys(env).length === 0 ? runNx(ws, "pipelines:cache") : nx(["run", "pipelines:cache"], env)
  if (r.code !== 0) throw new Error(`nx run pipelines:cache failed:\n${r.output.slice(-4000)}`)
  return r
}
const growlab = (...args: Array<string>) => ws.exec("node", ["tools/pipeline/growlab.mjs", ...args])

const file = "pipelines/cache.pipeline.json"
const editPipeline = (edit: (v: any) => void) => editJson(ws, file, edit)

/** `growlab status` of the test pipeline: instance → state. */
const status = (): Record<string, string> => {
  const r = growlab("status", file)
  expect(r.code, r.output).toBe(0)
  const out: Record<string, string> = {}
  for (const line of r.output.split("\n")) {
    const m = /^([✓↻⋯]) (\S+)/.exec(line)
    if (m) out[m[2]] = m[1] === "✓" ? "up-to-date" : m[1] === "↻" ? "will-run" : "upstream-reruns"
  }
  return out
}
const willRun = (s: Record<string, string>) => Object.keys(s).filter((k) => s[k] === "will-run").map((k) => `cache/${k}`).sort()

const SYM = "cache/grow--method=symmetric"
const DIAG = "cache/grow--method=diagonal"
const LSYM = "cache/large--method=symmetric"
const LDIAG = "cache/large--method=diagonal"
const ALL = ["cache/data", "cache/small", DIAG, SYM, "cache/wide", LDIAG, LSYM, "cache/wlarge", "cache/report"].sort()
const TF_STAGES = ALL.filter((s) => s !== "cache/data" && s !== "cache/report")

const pipeline = () => {
  const smoke = JSON.parse(readFileSync(join(repoRoot, "pipelines/smoke.pipeline.json"), "utf8"))
  return {
    description: "cache soundness test: two growth branches and Net2WiderNet on a CIFAR-10 subset",
    definitions: smoke.definitions,
    stages: {
      data: smoke.stages.data,
      small: smoke.stages.small,
      grow: { ...smoke.stages.grow, params: { ...smoke.stages.grow.params, method: "symmetric" }, matrix: { method: ["symmetric", "diagonal"] } },
      wide: { kind: "net2wider", inputs: { model: "small.model", probe: "data.test" }, params: { target: { $ref: "cnnLarge2" }, seed: 1, probeSize: 32 } },
      large: smoke.stages.large,
      wlarge: { kind: "train", inputs: { train: "data.train", validation: "data.test", init: "wide.model" }, params: { epochs: 1, batchSize: 32, learningRate: 0.0001, lrDecay: 0.5, seed: 1 } },
      report: { kind: "report", inputs: { runs: ["large[*].metrics", "wlarge.metrics"], expansions: "grow[*].expansion" }, params: { title: "cache test" } }
    }
  }
}

describe("the stage cache key (nx run pipelines:cache)", () => {
  beforeAll(() => {
    ws = makeWorkspaceCopy()
    writeFileSync(join(ws.dir, file), JSON.stringify(pipeline(), null, 2))
  })
  afterAll(() => ws?.cleanup())

  it("runs every stage once; an unchanged rerun executes none and status agrees", () => {
    runCache()
    expect(executed()).toEqual(ALL)
    expect(willRun(status())).toEqual([])
    runCache()
    expect(executed()).toEqual([])
  }, 600_000)

  it("reruns nothing for edits that cannot change a result: a CLI comment, lockfile/tsconfig formatting, a comment in an expander", () => {
    appendFileSync(join(ws.dir, "tools/pipeline/src/bin.ts"), "\n// a comment in the CLI\n")
    for (const f of ["package-lock.json", "tsconfig.base.json"]) appendFileSync(join(ws.dir, f), "\n")
    // the bundled code closure drops comments and formatting: the stage's code did not change
    const diagonal = join(ws.dir, "packages/expand/src/operators/Diagonal.ts")
    writeFileSync(diagonal, readFileSync(diagonal, "utf8").replace("export const diagonal: Operator = {", "// a comment in an expander\nexport const diagonal: Operator = {\n\n"))
    expect(willRun(status())).toEqual([])
    const r = runCache()
    expect(r.output).toMatch(new RegExp(`Cache:\\s+${ALL.length}/${ALL.length + 1} hit`))
    expect(executed()).toEqual([])
  })

  it("nx.json and .gitignore (which Nx itself adds to every task's hash): Nx asks again, every stage keeps its artifacts", () => {
    for (const f of ["nx.json", ".gitignore"]) appendFileSync(join(ws.dir, f), "\n")
    const r = runCache()
    // the runner recomputes the key, finds the artifact on disk made with it and intact, and keeps it: no training
    expect(r.output.match(/: up to date \(key \w+, outputs intact\): kept/g)?.length).toBe(ALL.length)
    expect(executed()).toEqual([])
  }, 600_000)

  it("a real change to one expander reruns the expand stages, then only the branch whose artifacts changed", () => {
    const diagonal = join(ws.dir, "packages/expand/src/operators/Diagonal.ts")
    writeFileSync(diagonal, readFileSync(diagonal, "utf8").replace("const kernel = base(input)\n", "const kernel = base(input)\n    kernel[0] += 1e-3\n"))
    const before = status()
    expect(willRun(before)).toEqual([DIAG, SYM])
    expect(before["large--method=diagonal"]).toBe("upstream-reruns")
    runCache()
    // symmetric's grown model comes out byte-identical, so its training and nothing else of its branch reruns
    expect(executed()).toEqual([DIAG, SYM, LDIAG, "cache/report"].sort())
  })

  it("a bit-identical retrain reruns nothing downstream (timings live in the manifest, not in metrics.arrow)", () => {
    const metrics = readFileSync(join(ws.dir, "artifacts/cache/small/metrics.arrow"))
    const r = nx(["run", "cache--small:run", "--skip-nx-cache", "--exclude-task-dependencies"], { GROWLAB_RERUN: "1" })
    expect(r.code, r.output).toBe(0)
    expect(executed()).toEqual(["cache/small"])
    expect(Buffer.compare(readFileSync(join(ws.dir, "artifacts/cache/small/metrics.arrow")), metrics)).toBe(0)
    runCache()
    expect(executed()).toEqual([])
  })

  it("a params change reruns that stage and exactly its downstream; a report label only the report", () => {
    editPipeline((p) => { p.stages.wide.params.seed = 2 })
    const s = status()
    expect(willRun(s)).toEqual(["cache/wide"])
    expect(s.wlarge).toBe("upstream-reruns")
    runCache()
    expect(executed()).toEqual(["cache/report", "cache/wide", "cache/wlarge"])
    editPipeline((p) => { p.stages.report.params.title = "cache test, relabelled" })
    expect(willRun(status())).toEqual(["cache/report"])
    runCache()
    expect(executed()).toEqual(["cache/report"])
  })

  it("wiring is in the key: a new input bound to runs already upstream, or runs moved between inputs, reruns the report", () => {
    editPipeline((p) => { p.stages.report.inputs.reference = ["wlarge.metrics"] })
    expect(willRun(status())).toEqual(["cache/report"])
    runCache()
    expect(executed()).toEqual(["cache/report"])
    editPipeline((p) => { p.stages.report.inputs.runs = "large[*].metrics" })
    expect(willRun(status())).toEqual(["cache/report"])
    runCache()
    expect(executed()).toEqual(["cache/report"])
  })

  it("a new matrix value runs only the new instances (and the report that gathers them)", () => {
    editPipeline((p) => { p.stages.large.matrix = { seed: [1, 2] }; delete p.stages.large.params.seed })
    runCache()
    expect(executed()).toEqual(["cache/large--method=diagonal--seed=1", "cache/large--method=diagonal--seed=2", "cache/large--method=symmetric--seed=1",
      "cache/large--method=symmetric--seed=2", "cache/report"].sort())
    // another value of the same matrix: only its instances (the renamed seed=1 instances above are new tasks: an
    // instance's name is part of its task, so its artifacts land in its own folder)
    editPipeline((p) => { p.stages.large.matrix = { seed: [1, 2, 3] } })
    runCache()
    expect(executed()).toEqual(["cache/large--method=diagonal--seed=3", "cache/large--method=symmetric--seed=3", "cache/report"])
  }, 600_000)

  it("the numerics environment is in the key as its effective value", () => {
    // a stage's threads are its cpus (1 by default): written out, and with a setting measured not to change results
    // (inter-op threads), nothing reruns
    runCache({ TF_NUM_INTRAOP_THREADS: "1", TF_NUM_INTEROP_THREADS: "2" })
    expect(executed()).toEqual([])
    // other intra-op threads give other weights: every stage but the dataset (no TensorFlow) reruns
    const graph = growlab("graph", file, "--format", "json")
    const everyButData = (JSON.parse(graph.output) as Array<{ id: string }>).map((i) => `cache/${i.id}`).filter((s) => s !== "cache/data").sort()
    expect(everyButData.length).toBe(TF_STAGES.length + 4 + 1) // large: 2 methods × 3 seeds, 4 more than at first; the report
    runCache({ TF_NUM_INTRAOP_THREADS: "2" })
    expect(executed()).toEqual(everyButData)
    // oneDNN off: the TensorFlow stage reruns (its dataset upstream, no TensorFlow, does not)
    const onednn = nx(["run", "cache--small:run"], { TF_ENABLE_ONEDNN_OPTS: "0" })
    expect(onednn.code, onednn.output).toBe(0)
    expect(executed()).toEqual(["cache/small"])
    // a stage's cpus in the pipeline file are its threads: the same key as the environment setting above
    editPipeline((p) => { p.stages.small.resources = { cpus: 2 } })
    const cpus = nx(["run", "cache--small:run"])
    expect(cpus.code, cpus.output).toBe(0)
    expect(executed()).toEqual([])
    editPipeline((p) => { delete p.stages.small.resources })
    // back to the defaults: everything comes from the cache
    runCache()
    expect(executed()).toEqual([])
  }, 900_000)

  it("the dataset files are in the key: a corrupted copy reruns the dataset stage, which fails; a faithful copy elsewhere reruns nothing", () => {
    const copy = join(ws.dir, "data-copy")
    cpSync(join(DATA, "cifar-10-batches-bin"), join(copy, "cifar-10-batches-bin"), { recursive: true })
    const faithful = runCache({ GROWLAB_DATA_DIR: copy })
    expect(faithful.code).toBe(0)
    expect(executed()).toEqual([])
    const batch = join(copy, "cifar-10-batches-bin/test_batch.bin")
    const bytes = readFileSync(batch)
    bytes[0] = (bytes[0] + 1) % 10 // one label byte
    writeFileSync(batch, bytes)
    const bad = nx(["run", "pipelines:cache"], { GROWLAB_DATA_DIR: copy })
    expect(bad.code).not.toBe(0)
    expect(bad.output).toContain("ChecksumMismatch")
    expect(executed()).toEqual(["cache/data"])
    rmSync(copy, { recursive: true, force: true })
  })

  it("restores a deleted artifacts folder from the cache, byte-identical, executing nothing", () => {
    runCache()
    executed()
    const graph = growlab("graph", file, "--format", "json")
    const ids = (JSON.parse(graph.output) as Array<{ id: string }>).map((i) => i.id)
    const tree = () => Object.fromEntries(ids.map((id) => [id, hashTree(join(ws.dir, "artifacts/cache", id))]))
    const before = tree()
    rmSync(join(ws.dir, "artifacts"), { recursive: true, force: true })
    runCache()
    expect(executed()).toEqual([])
    expect(tree()).toEqual(before)
  }, 600_000)

  it("status reports a deleted or corrupt output, and Nx restores it from the cache", () => {
    rmSync(join(ws.dir, "artifacts/cache/wlarge/metrics.arrow"))
    const model = join(ws.dir, "artifacts/cache/wide/model.arrow")
    const good = readFileSync(model)
    const bad = Buffer.from(good)
    bad.fill(7, 4096, 8192)
    writeFileSync(model, bad)
    const r = growlab("status", file)
    expect(r.output).toMatch(/↻ wide\s+corrupt: cache\/wide\/model.arrow: sha256/)
    expect(r.output).toMatch(/↻ wlarge\s+corrupt: cache\/wlarge\/metrics.arrow: no such file/)
    runCache()
    expect(executed()).toEqual([])
    expect(Buffer.compare(readFileSync(model), good)).toBe(0)
    expect(willRun(status())).toEqual([])
  })
})
