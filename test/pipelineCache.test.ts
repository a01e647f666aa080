/**
 * End-to-end cache behaviour of the Nx pipeline engine on the real `smoke` pipeline (small real CIFAR-10 subset),
 * in a throwaway copy of the workspace with its own empty Nx cache.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeWorkspaceCopy, runNx, type WorkspaceCopy } from "./workspaceCopy.js"

let ws: WorkspaceCopy

/** Stages actually executed (not restored from cache) since the last call. */
const executed = (): Array<string> => {
  if (!existsSync(ws.runLog)) return []
  const lines = readFileSync(ws.runLog, "utf8").split("\n").filter(Boolean).sort()
  rmSync(ws.runLog)
  return lines
}

const nx = (...args: Array<string>) => ws.exec("npx", ["nx", ...args, "--output-style=static"])

const runSmoke = () => runNx(ws, "pipelines:smoke")

const editJson = (file: string, edit: (v: any) => void) => {
  const path = join(ws.dir, file)
  const v = JSON.parse(readFileSync(path, "utf8"))
  edit(v)
  writeFileSync(path, JSON.stringify(v, null, 2))
}

const ALL = ["smoke/data", "smoke/grow", "smoke/large", "smoke/report", "smoke/small"]

describe("pipeline cache (nx run pipelines:smoke)", () => {
  beforeAll(() => { ws = makeWorkspaceCopy() })
  afterAll(() => ws?.cleanup())

  it("runs every stage once, then an unchanged rerun executes none", () => {
    runSmoke()
    expect(executed()).toEqual(ALL)
    for (const s of ["data", "small", "grow", "large", "report"]) {
      expect(existsSync(join(ws.dir, "artifacts/smoke", s, "manifest.json")), s).toBe(true)
    }
    runSmoke()
    expect(executed()).toEqual([])
  })

  it("changing one stage's params reruns that stage and its downstream only", () => {
    editJson("pipelines/smoke.pipeline.json", (p) => { p.stages.large.params.learningRate = 0.0002 })
    runSmoke()
    expect(executed()).toEqual(["smoke/large", "smoke/report"])
    // adding an unrelated stage (and editing another stage) does not touch the others
    editJson("pipelines/smoke.pipeline.json", (p) => {
      p.stages.extra = { kind: "evaluate", inputs: { model: "small.model", dataset: "data.test" } }
    })
    runSmoke()
    expect(executed()).toEqual(["smoke/extra"])
  })

  it("changing a package's source reruns the stages that use it", () => {
    appendFileSync(join(ws.dir, "packages/report/src/stages.ts"), "\n// touched by the cache test\n")
    runSmoke()
    expect(executed()).toEqual(["smoke/report"])
    appendFileSync(join(ws.dir, "packages/expand/src/stages.ts"), "\n// touched by the cache test\n")
    runSmoke()
    // the expand stage reruns; its artifacts come out byte-identical, so nothing downstream of it reruns
    expect(executed()).toEqual(["smoke/grow"])
  })

  it("restores a deleted artifacts folder from the cache without executing anything", () => {
    const before = readFileSync(join(ws.dir, "artifacts/smoke/large/model.arrow"))
    rmSync(join(ws.dir, "artifacts"), { recursive: true, force: true })
    runSmoke()
    expect(executed()).toEqual([])
    expect(Buffer.compare(readFileSync(join(ws.dir, "artifacts/smoke/large/model.arrow")), before)).toBe(0)
  })

  it("a failing stage leaves no artifact and is not cached", () => {
    editJson("pipelines/smoke.pipeline.json", (p) => {
      p.stages.boom = { kind: "train", inputs: { train: "data.train", validation: "data.test", init: "small.model" }, params: { epochs: 1, learningRate: 1e30, seed: 1 } }
    })
    const first = nx("run", "smoke--boom:run")
    expect(first.code).not.toBe(0)
    expect(first.output).toMatch(/NaN|Inf/i)
    expect(existsSync(join(ws.dir, "artifacts/smoke/boom"))).toBe(false)
    expect(readdirSync(join(ws.dir, "artifacts/smoke")).filter((d) => d.startsWith(".tmp-") || d.startsWith(".old-"))).toEqual([])
    expect(executed()).toEqual(["smoke/boom"])
    const second = nx("run", "smoke--boom:run")
    expect(second.code).not.toBe(0)
    expect(executed()).toEqual(["smoke/boom"])
  })

  it("rejects a malformed pipeline, an unknown kind and a missing upstream, naming file and field", () => {
    writeFileSync(join(ws.dir, "pipelines/bad.pipeline.json"), JSON.stringify({ stages: { data: { kind: "shell", params: { command: "rm -rf /" } } } }))
    const unknownKind = nx("show", "projects")
    expect(unknownKind.code).not.toBe(0)
    expect(unknownKind.output).toContain("pipelines/bad.pipeline.json: stages.data.kind")
    writeFileSync(join(ws.dir, "pipelines/bad.pipeline.json"), "{ \"stages\": { \"data\": { \"kind\": \"dataset\", } } }")
    const malformed = nx("show", "projects")
    expect(malformed.code).not.toBe(0)
    expect(malformed.output).toContain("pipelines/bad.pipeline.json: (file): expected valid JSON")
    rmSync(join(ws.dir, "pipelines/bad.pipeline.json"))
    // a stage whose upstream artifact is absent: the runner names the input field and writes nothing
    rmSync(join(ws.dir, "artifacts/smoke/small"), { recursive: true, force: true })
    const missing = ws.exec("node", ["tools/pipeline/growlab.mjs", "run", "pipelines/smoke.pipeline.json", "grow"])
    expect(missing.code).not.toBe(0)
    expect(missing.output).toContain("pipelines/smoke.pipeline.json: stages.grow.inputs.model")
    expect(missing.output).toContain("missing")
  })
})
