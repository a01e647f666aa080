/**
 * The study-bookkeeping scripts, run on the smoke pipeline with a throwaway artifacts folder holding hand-written
 * manifests: scripts/stage-time.mjs (per-stage wall time against what the pipeline file asks for) and
 * scripts/publish-results.mjs (copies finished reports' summaries into docs/results).
 */
import { afterAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const script = join(root, "scripts/stage-time.mjs")
const artifacts = mkdtempSync(join(tmpdir(), "growlab-scripts-"))
afterAll(() => rmSync(artifacts, { recursive: true, force: true }))

interface Instance { readonly id: string; readonly stage: string; readonly paramsHash: string }
const instances: ReadonlyArray<Instance> = JSON.parse(execFileSync(process.execPath,
  [join(root, "tools/pipeline/growlab.mjs"), "graph", join(root, "pipelines/smoke.pipeline.json"), "--format", "json"], { encoding: "utf8" }))

const writeManifest = (inst: Instance, wallSeconds: number, paramsHash = inst.paramsHash) => {
  mkdirSync(join(artifacts, "smoke", inst.id), { recursive: true })
  writeFileSync(join(artifacts, "smoke", inst.id, "manifest.json"), JSON.stringify({ stage: inst.id, paramsHash, wallSeconds }))
}
const results = join(artifacts, "results")
const runScript = (file: string, ...args: Array<string>) =>
  execFileSync(process.execPath, [join(root, "scripts", file), ...args],
    { encoding: "utf8", env: { ...process.env, GROWLAB_ARTIFACTS_DIR: artifacts, GROWLAB_RESULTS_DIR: results } })
const run = (...args: Array<string>) => runScript("stage-time.mjs", ...args)

describe("scripts/stage-time.mjs", () => {
  it("sums the finished instances per stage and estimates the rest from their mean; a stale params hash is not done", () => {
    const [first, second, third] = instances
    writeManifest(first, 10)
    writeManifest(second, 4)
    writeManifest(third, 99, "0".repeat(64))
    const out = JSON.parse(run("smoke", "--json"))
    expect(out.total.planned).toBe(instances.length)
    expect(out.total.done).toBe(2)
    expect(out.total.seconds).toBeCloseTo(14, 9)
    const row = (stage: string) => out.stages.find((s: { stage: string }) => s.stage === stage)
    expect(row(first.stage).done).toBe(first.stage === second.stage ? 2 : 1)
    expect(row(third.stage).done).toBe([first, second].filter((i) => i.stage === third.stage).length)
    expect(out.total.unestimated.length).toBeGreaterThan(0)
    expect(run("smoke")).toMatch(/2\/\d+ instances done, 14\.0 s of stage time; no estimate for the rest/)
  })

  it("names a pipeline file that does not exist", () => {
    expect(() => execFileSync(process.execPath, [script, "no-such-pipeline"], { encoding: "utf8", stdio: "pipe" }))
      .toThrow(/no pipeline file .*no-such-pipeline\.pipeline\.json/)
  })

  it("publish-results copies a finished report's summary, and removes the copy once the report is stale", () => {
    const report = instances.find((i) => i.stage === "report")!
    writeManifest(report, 1)
    writeFileSync(join(artifacts, "smoke", report.id, "summary.md"), "# Smoke report\n\n| a | b |\n")
    expect(runScript("publish-results.mjs", "smoke")).toMatch(/published 1: /)
    const copy = join(results, `${report.id}.md`)
    const text = readFileSync(copy, "utf8")
    expect(text).toContain("# Smoke report")
    expect(text).toMatch(/upstream not on disk now: .*large/)
    writeManifest(report, 1, "f".repeat(64))
    expect(runScript("publish-results.mjs", "smoke")).toMatch(/published 0: none\nnot finished \(nothing published\): report/)
    expect(existsSync(copy)).toBe(false)
  })
})
