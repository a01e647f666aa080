/**
 * The CI-sized study (pipelines/study-quick.pipeline.json, derived from the full study by scripts/derive-quick.mjs)
 * runs end to end through Nx on real data subsets (CIFAR-10, Fashion-MNIST): every experiment's report, the headline
 * and the combined report cover each of their runs, account for compute and check the study's claims. Then the
 * per-experiment targets (`pipelines:exp4-quick`) and an unchanged rerun are fully cached. The ResNet pipeline's quick
 * profile (pipelines/resnet-growth.pipeline.json) runs end to end too: width and depth growth of a residual network
 * keep the function where they claim to, and its report accounts for the small model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { makeWorkspaceCopy, runNx, type WorkspaceCopy } from "./workspaceCopy.js"

let ws: WorkspaceCopy

describe("quick pipelines end to end", () => {
  beforeAll(() => { ws = makeWorkspaceCopy() })
  afterAll(() => ws?.cleanup())

  for (const pipeline of ["study-quick"]) {
    it(`nx run pipelines:${pipeline}`, () => {
      runNx(ws, `pipelines:${pipeline}`)
      const dir = join(ws.dir, "artifacts", pipeline)
      const stages = readdirSync(dir).filter((d) => !d.startsWith("."))
      // every stage instance left a manifest; the report stage(s) wrote HTML, Markdown and tables
      for (const s of stages) expect(existsSync(join(dir, s, "manifest.json")), `${pipeline}/${s}`).toBe(true)
      const reports = stages.filter((s) => JSON.parse(readFileSync(join(dir, s, "manifest.json"), "utf8")).kind === "report")
      expect(reports.length).toBeGreaterThan(0)
      for (const report of reports) {
        const manifest = JSON.parse(readFileSync(join(dir, report, "manifest.json"), "utf8"))
        const runs: Array<{ stage: string }> = manifest.inputs.runs
        expect(runs.length).toBeGreaterThan(0)
        const summary = readFileSync(join(dir, report, "summary.md"), "utf8")
        expect(readFileSync(join(dir, report, "report.html"), "utf8")).toContain("<svg")
        expect(readdirSync(join(dir, report, "tables")).length).toBeGreaterThan(0)
        // each gathered run's matrix values appear in the summary's tables
        // each gathered run's telling matrix values (those that differ between the report's runs) appear in its tables
        const varsOf = runs.map((run) => JSON.parse(readFileSync(join(dir, run.stage, "manifest.json"), "utf8")).vars as Record<string, unknown>)
        const keys = [...new Set(varsOf.flatMap((v) => Object.keys(v)))].filter((k) => k !== "seed")
        const telling = keys.filter((k) => new Set(varsOf.map((v) => String(v[k]))).size > 1)
        for (const [i, vars] of varsOf.entries()) {
          for (const k of telling) if (k in vars) expect(summary, `${report}: ${runs[i].stage} ${k}`).toContain(String(vars[k]))
        }
        // compute accounting: every grown method counts its small model's training, every distilled one its teacher's
        const compute = readFileSync(join(dir, report, "tables", "compute.csv"), "utf8").trim().split("\n")
        const column = compute[0].split(",").indexOf("reused_flops")
        expect(column, `${report}: compute.csv has reused_flops`).toBeGreaterThan(0)
        if (report === "report-exp1") {
          // distillation setups reuse the teacher (its training plus one forward pass); scratch and the teacher reuse nothing
          const reused = (method: string) => Number(compute.find((l) => l.startsWith(`${method},`))!.split(",")[column])
          expect(reused("1-1")).toBeGreaterThan(0)
          expect(reused("5-1")).toBe(reused("1-1"))
          expect(reused("reference")).toBe(0)
        } else {
          expect(existsSync(join(dir, report, "tables", "time_to_target.csv")), report).toBe(true)
        }
        const claims = (JSON.parse(readFileSync(join(dir, report, "manifest.json"), "utf8")).params.claims ?? []) as Array<{ claim: string }>
        for (const c of claims) expect(summary, `${report}: claim ${c.claim}`).toContain(c.claim)
      }
      expect(reports.sort()).toEqual(["headline", "report", "report-exp1", "report-exp2", "report-exp3", "report-exp4", "report-exp5"])

      // every stage ran once; each experiment's target is its report and what it needs: all cached now, as is an
      // unchanged rerun of the whole study
      const ran = readFileSync(ws.runLog, "utf8").split("\n").filter(Boolean)
      expect(ran.length).toBe(stages.length)
      rmSync(ws.runLog)
      for (const target of ["pipelines:exp4-quick", "pipelines:study-quick"]) {
        runNx(ws, target)
        expect(existsSync(ws.runLog) ? readFileSync(ws.runLog, "utf8").trim() : "", `${target} executed stages`).toBe("")
      }
    }, 30 * 60_000)
  }

  it("nx run pipelines:resnet-growth-quick: ResNets grown in width and depth, trained and reported", () => {
    runNx(ws, "pipelines:resnet-growth-quick")
    const dir = join(ws.dir, "artifacts", "resnet-growth-quick")
    const manifest = (stage: string) => JSON.parse(readFileSync(join(dir, stage, "manifest.json"), "utf8"))
    const stages = readdirSync(dir).filter((d) => !d.startsWith("."))
    expect(stages.length).toBe(18)
    // growths that claim to keep the function do, measured on random and real images (exactly 0 for the zero-gamma blocks)
    for (const s of stages.filter((s) => s.startsWith("widen--") || s.startsWith("deepen--"))) {
      const info = manifest(s).info
      if (info.preservesFunction) {
        expect(info.preserved, s).toBe(true)
        expect(info.maxAbsDiff.real, s).toBeLessThanOrEqual(1e-5)
      }
    }
    const deepened = (method: string) => manifest(stages.find((s) => s.startsWith("deepen--") && s.endsWith(`method=${method}`))!).info
    expect(deepened("residual-zero-gamma").maxAbsDiff).toEqual({ random: 0, real: 0 })
    expect(deepened("residual-zero-gamma").zeroed).toEqual(["s1b2_bn2", "s2b2_bn2", "s3b2_bn2"])
    expect(deepened("residual-zero-kernel").zeroed).toEqual(["s1b2_conv2", "s2b2_conv2", "s3b2_conv2"])
    expect(manifest(stages.find((s) => s.startsWith("widen-n2n--"))!).info.preserved).toBe(true)
    // the report covers every run and counts the small model's training for the grown ones
    const report = manifest("report")
    expect(report.inputs.runs.length).toBe(9)
    const compute = readFileSync(join(dir, "report", "tables", "compute.csv"), "utf8").trim().split("\n")
    const column = compute[0].split(",").indexOf("reused_flops")
    const reused = (method: string) => Number(compute.find((l) => l.startsWith(`"${method}`))!.split(",").at(column - compute[0].split(",").length))
    expect(reused("symmetric, target=resnet8")).toBeGreaterThan(0)
    expect(reused("residual-zero-gamma, target=resnet14n")).toBeGreaterThan(0)
    expect(reused("scratch, target=resnet8")).toBe(0)
    expect(readFileSync(join(dir, "report", "summary.md"), "utf8")).toContain("residual-zero-gamma, target=resnet14n")
  }, 20 * 60_000)
})
