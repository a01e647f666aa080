/**
 * Every experiment's quick variant runs end to end through Nx on real data subsets (CIFAR-10, Fashion-MNIST) and
 * ends in a report that covers each of its runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { makeWorkspaceCopy, type WorkspaceCopy } from "./workspaceCopy.js"

let ws: WorkspaceCopy

describe("quick pipelines end to end", () => {
  beforeAll(() => { ws = makeWorkspaceCopy() })
  afterAll(() => ws?.cleanup())

  for (const pipeline of ["exp1-quick", "exp2-quick", "exp3-quick", "exp4-quick", "exp5-quick"]) {
    it(`nx run pipelines:${pipeline}`, () => {
      const r = ws.exec("npx", ["nx", "run", `pipelines:${pipeline}`, "--output-style=static"])
      if (r.code !== 0) throw new Error(`nx run pipelines:${pipeline} failed:\n${r.output.slice(-6000)}`)
      const dir = join(ws.dir, "artifacts", pipeline)
      const stages = readdirSync(dir).filter((d) => !d.startsWith("."))
      // every stage instance left a manifest; the report stage(s) wrote HTML, Markdown and tables
      for (const s of stages) expect(existsSync(join(dir, s, "manifest.json")), `${pipeline}/${s}`).toBe(true)
      const reports = stages.filter((s) => s === "report" || s.startsWith("report--") || s.startsWith("report-"))
      expect(reports.length).toBeGreaterThan(0)
      for (const report of reports) {
        const manifest = JSON.parse(readFileSync(join(dir, report, "manifest.json"), "utf8"))
        const runs: Array<{ stage: string }> = manifest.inputs.runs
        expect(runs.length).toBeGreaterThan(0)
        const summary = readFileSync(join(dir, report, "summary.md"), "utf8")
        expect(readFileSync(join(dir, report, "report.html"), "utf8")).toContain("<svg")
        expect(readdirSync(join(dir, report, "tables")).length).toBeGreaterThan(0)
        // each gathered run's matrix values appear in the summary's tables
        for (const run of runs) {
          const vars = JSON.parse(readFileSync(join(dir, run.stage, "manifest.json"), "utf8")).vars as Record<string, unknown>
          for (const [k, v] of Object.entries(vars)) if (k !== "seed") expect(summary, `${report}: ${run.stage} ${k}`).toContain(String(v))
        }
      }
    }, 20 * 60_000)
  }
})
