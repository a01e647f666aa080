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

interface Instance {
  readonly id: string
  readonly stage: string
  readonly kind: string
  readonly paramsHash: string
  readonly vars: Readonly<Record<string, unknown>>
  readonly params: Readonly<Record<string, unknown>>
}
const graphOf = (pipeline: string): ReadonlyArray<Instance> => JSON.parse(execFileSync(process.execPath,
  [join(root, "tools/pipeline/growlab.mjs"), "graph", pipeline, "--format", "json"],
  { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 }))
const instances = graphOf("smoke")

const writeManifest = (inst: Instance, wallSeconds: number, paramsHash = inst.paramsHash, pipeline = "smoke") => {
  mkdirSync(join(artifacts, pipeline, inst.id), { recursive: true })
  writeFileSync(join(artifacts, pipeline, inst.id, "manifest.json"), JSON.stringify({ stage: inst.id, paramsHash, wallSeconds }))
}
const results = join(artifacts, "results")
const runScript = (file: string, ...args: Array<string>) =>
  execFileSync(process.execPath, [join(root, "scripts", file), ...args],
    { encoding: "utf8", env: { ...process.env, GROWLAB_ARTIFACTS: artifacts, GROWLAB_RESULTS_DIR: results } })
const run = (...args: Array<string>) => runScript("stage-time.mjs", ...args)

describe("scripts/stage-time.mjs", () => {
  it("sums the finished instances per stage; a stale params hash is not done; nothing like an unfinished one, no estimate", () => {
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

  it("estimates an unfinished training from the median of finished ones of the same target and epochs, whatever their stage", () => {
    const quick = graphOf("study-quick")
    const pick = (stage: string, target: string) => quick.filter((i) => i.stage === stage && i.vars.target === target)
    const long = pick("scratch50", "large2")
    const large2 = pick("e5-train", "large2")
    const wide = pick("e5-train", "wide96")
    expect(long[0].params.epochs).not.toBe(large2[0].params.epochs)
    writeManifest(long[0], 1000, undefined, "study-quick")
    large2.slice(0, 3).forEach((inst, i) => writeManifest(inst, [10, 20, 90][i], undefined, "study-quick"))
    writeManifest(wide[0], 7, undefined, "study-quick")
    const out = JSON.parse(run("study-quick", "--json"))
    const row = (stage: string) => out.stages.find((s: { stage: string }) => s.stage === stage)
    expect(row("e5-train").median).toBe(15)
    // e5-train: the rest of large-2 at the median of the three (20 s; not the 2-epoch run), the rest of x1.5 at 7 s
    expect(row("e5-train").remainingEstimate).toBeCloseTo((large2.length - 3) * 20 + (wide.length - 1) * 7, 9)
    // e2-train has run nothing: its large-2 runs are estimated from e5-train's (same kind, target and epochs)
    expect(row("e2-train").remainingEstimate).toBeCloseTo(pick("e2-train", "large2").length * 20, 9)
    expect(row("scratch50").remainingEstimate).toBeCloseTo((pick("scratch50", "large2").length - 1) * 1000, 9)
  })

  it("names a pipeline file that does not exist", () => {
    expect(() => execFileSync(process.execPath, [script, "no-such-pipeline"], { encoding: "utf8", stdio: "pipe" }))
      .toThrow(/no pipeline no-such-pipeline \(.*no-such-pipeline/)
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
    const htmlCopy = join(results, `${report.id}.html`)
    expect(existsSync(htmlCopy), "HTML only with --html").toBe(false)
    writeFileSync(join(artifacts, "smoke", report.id, "report.html"), "<!DOCTYPE html><title>smoke</title>")
    expect(runScript("publish-results.mjs", "smoke", "--html")).toMatch(/published 2: .*\.md, .*\.html/)
    expect(readFileSync(htmlCopy, "utf8")).toBe("<!DOCTYPE html><title>smoke</title>")
    expect(() => runScript("publish-results.mjs", "smoke", "--htm")).toThrow(/unknown option --htm/)
    writeManifest(report, 1, "f".repeat(64))
    expect(runScript("publish-results.mjs", "smoke")).toMatch(/published 0: none\nnot finished \(nothing published\): report/)
    expect(existsSync(copy)).toBe(false)
    expect(existsSync(htmlCopy), "a stale report's HTML copy is removed too").toBe(false)
  })
})
