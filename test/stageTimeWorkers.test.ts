/**
 * Planning past one machine: list scheduling over a pipeline's DAG (scripts/schedule.mjs) on small synthetic graphs
 * whose optimal makespan is known, and `node scripts/stage-time.mjs <pipeline> --workers N` on the study with the
 * committed times file (what a fresh clone without artifacts sees) and on the smoke pipeline with its manifests.
 */
import { afterAll, describe, expect, it } from "vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { criticalPath, readTimesFile, simulate } from "../scripts/schedule.mjs"

const root = join(import.meta.dirname, "..")
const script = join(root, "scripts/stage-time.mjs")
const scratch = mkdtempSync(join(tmpdir(), "growlab-workers-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** A DAG from `{ id: [seconds, ...upstream] }`. */
const dag = (spec: Record<string, [number, ...Array<string>]>) => ({
  nodes: Object.entries(spec).map(([id, [, ...upstream]]) => ({ id, upstream })),
  seconds: (id: string) => spec[id][0]
})

describe("list scheduling (scripts/schedule.mjs)", () => {
  it("a chain beside an independent task: the sum on 1 worker, the critical path on 2 or more", () => {
    const { nodes, seconds } = dag({ a: [3], b: [4, "a"], c: [5, "b"], d: [6] })
    expect(simulate(nodes, seconds, 1).makespan).toBe(18)
    expect(simulate(nodes, seconds, 2).makespan).toBe(12)
    expect(simulate(nodes, seconds, 8).makespan).toBe(12)
    expect(criticalPath(nodes, seconds)).toEqual({ seconds: 12, path: [{ id: "a", seconds: 3 }, { id: "b", seconds: 4 }, { id: "c", seconds: 5 }] })
  })

  it("starts the head of the longest remaining path first, not the longest ready task (optimal 12, not 18)", () => {
    // x (2) → y (10), and z, w (6 each): longest-task-first would run z and w first and finish at 18
    const { nodes, seconds } = dag({ x: [2], y: [10, "x"], z: [6], w: [6] })
    const sim = simulate(nodes, seconds, 2)
    expect(sim.makespan).toBe(12)
    expect(sim.schedule.find((s) => s.id === "x")).toMatchObject({ start: 0, end: 2 })
    expect(sim.schedule.find((s) => s.id === "y")).toMatchObject({ start: 2, end: 12 })
    expect(sim.utilization).toBeCloseTo(24 / 24, 12)
  })

  it("independent equal tasks: ceil(n / workers) rounds; never more than N at once", () => {
    const { nodes, seconds } = dag({ t1: [5], t2: [5], t3: [5], t4: [5] })
    expect([1, 2, 3, 4, 100].map((w) => simulate(nodes, seconds, w).makespan)).toEqual([20, 10, 10, 5, 5])
    expect(simulate(nodes, seconds, 3).maxParallel).toBe(3)
    expect(simulate(nodes, seconds, 100).maxParallel).toBe(4)
  })

  it("a diamond waits for both branches; every instance starts after all its upstream end", () => {
    const { nodes, seconds } = dag({ src: [1], left: [4, "src"], right: [7, "src"], join: [2, "left", "right"] })
    const sim = simulate(nodes, seconds, 2)
    expect(sim.makespan).toBe(10)
    const at = new Map(sim.schedule.map((s) => [s.id, s]))
    for (const n of nodes) for (const u of n.upstream) expect(at.get(n.id)!.start).toBeGreaterThanOrEqual(at.get(u)!.end)
    expect(criticalPath(nodes, seconds).path.map((p) => p.id)).toEqual(["src", "right", "join"])
  })

  it("refuses a cycle, an unknown upstream and a worker count that is not a positive integer", () => {
    expect(() => simulate(dag({ a: [1, "b"], b: [1, "a"] }).nodes, () => 1, 1)).toThrow(/cycle/)
    expect(() => simulate(dag({ a: [1, "ghost"] }).nodes, () => 1, 1)).toThrow(/a: upstream ghost is not an instance/)
    expect(() => simulate(dag({ a: [1] }).nodes, () => 1, 0)).toThrow(/positive integer/)
  })

  it("a times file: an exact id wins over patterns, the first matching pattern wins, bad values are named", () => {
    const file = join(scratch, "times.json")
    writeFileSync(file, JSON.stringify({ about: "test", times: { "train--*--target=big--*": 100, "train--*": { seconds: 10, source: "x" }, "train--seed=1--target=big--lr=1": 7 } }))
    const t = readTimesFile(file)
    expect(t.lookup("train--seed=1--target=big--lr=1")).toBe(7)
    expect(t.lookup("train--seed=2--target=big--lr=1")).toBe(100)
    expect(t.lookup("train--seed=2--target=small--lr=1")).toBe(10)
    expect(t.lookup("report")).toBeUndefined()
    writeFileSync(file, JSON.stringify({ times: { a: "slow" } }))
    expect(() => readTimesFile(file)).toThrow(/"a" needs a number of seconds/)
  })
})

describe("scripts/stage-time.mjs --workers", () => {
  const run = (args: Array<string>, artifacts: string) =>
    spawnSync(process.execPath, [script, ...args], { encoding: "utf8", env: { ...process.env, GROWLAB_ARTIFACTS: artifacts } })
  const empty = join(scratch, "no-artifacts")
  mkdirSync(empty, { recursive: true })

  it("the study on a fresh clone: every instance timed by the committed times file, makespans within their bounds", () => {
    const r = run(["study", "--workers", "1,2,8,32,128", "--json"], empty)
    expect(r.status, r.stderr).toBe(0)
    const { plan } = JSON.parse(r.stdout)
    expect(plan.sources).toMatchObject({ manifest: 0, timesFile: 301, estimate: 0 })
    expect(plan.sources.file).toMatch(/scripts\/stage-times\/study\.json$/)
    const [one, ...more] = plan.runs
    expect(one.makespan).toBeCloseTo(plan.total, 6) // one worker: everything in sequence
    for (const r of plan.runs) {
      expect(r.makespan).toBeGreaterThanOrEqual(r.lowerBound - 1e-9)
      expect(r.maxParallel).toBeLessThanOrEqual(r.workers)
    }
    more.reduce((prev: number, r: { makespan: number }) => { expect(r.makespan).toBeLessThanOrEqual(prev); return r.makespan }, one.makespan)
    // the critical path is a real chain of the study: each instance is upstream of the next
    const graph: Array<{ id: string; upstream: Array<string> }> = JSON.parse(execFileSync(process.execPath,
      [join(root, "tools/pipeline/growlab.mjs"), "graph", join(root, "pipelines/study.pipeline.json"), "--format", "json"],
      { encoding: "utf8", maxBuffer: 1 << 26 }))
    const byId = new Map(graph.map((g) => [g.id, g]))
    const path: Array<{ id: string; seconds: number }> = plan.criticalPath.path
    expect(byId.get(path[0].id)!.upstream).toEqual([])
    for (let i = 1; i < path.length; i++) expect(byId.get(path[i].id)!.upstream).toContain(path[i - 1].id)
    expect(path.reduce((a, p) => a + p.seconds, 0)).toBeCloseTo(plan.criticalPath.seconds, 6)
    expect(plan.runs.at(-1).makespan).toBeCloseTo(plan.criticalPath.seconds, 6) // 128 workers: nothing waits for one
  })

  it("prints the table and the critical path with what dominates it", () => {
    const r = run(["study", "--workers=1,128"], empty)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^study: 301 instances, .* \(seconds: 0 from manifests, 301 from .*scripts\/stage-times\/study\.json\)/)
    expect(r.stdout).toMatch(/\n1 +\d+ h \d+ min +[\d,]+ +1\.0x +100% +1 /)
    expect(r.stdout).toMatch(/critical path: .*, \d+ instances: cifar \(10 s\) → scratch50\[method=scratch-50, target=large2, seed=\d\] \(1,693 s\) → /)
    expect(r.stdout).toMatch(/dominated by scratch50\[.*\]: 1,693 s, \d+% of it/)
  })

  it("names the instances it cannot time, and accepts a times file that covers them", () => {
    const noTimes = run(["smoke", "--workers", "2"], empty)
    expect(noTimes.status).toBe(2)
    expect(noTimes.stderr).toMatch(/no seconds for 5 of 5 instances \(stages: .*\).*--times FILE/)
    const file = join(scratch, "smoke-times.json")
    writeFileSync(file, JSON.stringify({ times: { data: 4, small: 10, grow: 1, large: 20, report: 2 } }))
    const r = run(["smoke", "--workers", "1,2", "--times", file, "--json"], empty)
    expect(r.status, r.stderr).toBe(0)
    const { plan } = JSON.parse(r.stdout)
    // smoke is one chain: data → small → grow → large → report
    expect(plan.runs.map((x: { makespan: number }) => x.makespan)).toEqual([37, 37])
    expect(plan.criticalPath.path.map((p: { id: string }) => p.id)).toEqual(["data", "small", "grow", "large", "report"])
  })

  it("refuses a bad worker list and an unknown option", () => {
    expect(run(["smoke", "--workers", "0,2"], empty).stderr).toMatch(/--workers takes positive integers/)
    expect(run(["smoke", "--worker", "2"], empty).stderr).toMatch(/unknown option --worker/)
  })
})
