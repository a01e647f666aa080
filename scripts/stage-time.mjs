#!/usr/bin/env node
// Wall time of a pipeline's stages on this machine, from the manifests its stages wrote (no hashing, no training):
// per stage, how many instances are on disk out of those the pipeline file asks for, their total, mean and median
// seconds, and, for the instances not yet run, an estimate: the median wall time of the finished instances most like
// each one (the same kind of stage with the same `target` and `epochs`, else the same stage, else the same kind). The
// median keeps a few runs slowed by a shared machine from inflating the estimate.
//
//   node scripts/stage-time.mjs study            # artifacts/study vs pipelines/study.pipeline.json
//   node scripts/stage-time.mjs study --json     # the same as JSON
//   node scripts/stage-time.mjs study --workers 1,2,8,32,128 [--times FILE]
//
// A manifest whose params hash differs from the pipeline file's (the stage's params changed since) counts as not run.
//
// --workers N[,N...]: the pipeline's wall time on N workers that each run one instance at a time (a bigger machine
// running N stages at once, or a Slurm cluster with N job slots), by list scheduling over the real DAG, critical path
// first (scripts/schedule.mjs); also the critical path, which no number of workers beats. Nx's own ≈ 2 s per task and
// queueing on a shared cluster are not modelled. Each instance's seconds: its manifest's wallSeconds when finished, else
// the times file (--times FILE, default scripts/stage-times/<pipeline>.json when it exists: published numbers, see its
// "about"), else the estimate above; with none of the three the simulation names the instances it cannot time.
import { existsSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { pipelineFromArgs, root } from "./pipeline-instances.mjs"
import { criticalPath, duration, readTimesFile, simulate } from "./schedule.mjs"

const usage = " [--json] [--workers N[,N...]] [--times FILE]"
// the options are checked before the pipeline's graph is resolved (seconds), so a typo fails at once
const flags = process.argv.slice(3)

/** The value of `--name V` or `--name=V`; undefined when absent; exits 2 when the value is missing. */
const flagValue = (flag) => {
  const eq = flags.find((f) => f.startsWith(`${flag}=`))
  if (eq) return eq.slice(flag.length + 1)
  const i = flags.indexOf(flag)
  if (i < 0) return undefined
  const v = flags[i + 1]
  if (v === undefined || v.startsWith("--")) {
    console.error(`stage-time.mjs: ${flag} needs a value`)
    process.exit(2)
  }
  return v
}
for (const [i, f] of flags.entries()) {
  const known = ["--json", "--workers", "--times"].some((k) => f === k || f.startsWith(`${k}=`)) ||
    (i > 0 && ["--workers", "--times"].includes(flags[i - 1]))
  if (!known) {
    console.error(`stage-time.mjs: unknown option ${f}; usage: node scripts/stage-time.mjs <pipeline>${usage}`)
    process.exit(2)
  }
}
const workersFlag = flagValue("--workers")
const workerCounts = workersFlag === undefined ? undefined : workersFlag.split(",").map((w) => {
  const n = Number(w.trim())
  if (!Number.isInteger(n) || n < 1) {
    console.error(`stage-time.mjs: --workers takes positive integers separated by commas, got ${workersFlag}`)
    process.exit(2)
  }
  return n
})
const { name, instances, currentManifest } = pipelineFromArgs("stage-time.mjs", usage)

const median = (xs) => {
  if (xs.length === 0) return null
  const v = [...xs].sort((a, b) => a - b)
  return v.length % 2 === 1 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
}

const finished = []
const pending = []
for (const inst of instances) {
  const m = currentManifest(inst)
  if (m && typeof m.wallSeconds === "number") finished.push({ inst, seconds: m.wallSeconds })
  else pending.push(inst)
}

/**
 * The finished instances an unfinished one is most like, in order: the same kind of stage with the same `target` var
 * and the same `epochs` param (for training, what sets its cost, whatever the stage), the same stage, the same kind.
 */
const likeness = (inst) => [
  (f) => f.inst.kind === inst.kind && inst.vars?.target !== undefined && f.inst.vars?.target === inst.vars.target &&
    f.inst.params?.epochs === inst.params?.epochs,
  (f) => f.inst.stage === inst.stage,
  (f) => f.inst.kind === inst.kind
]

/** The estimate for an instance not yet run: the median of the first tier of look-alikes that has any (else null). */
const estimate = (inst) => {
  for (const like of likeness(inst)) {
    const seconds = median(finished.filter(like).map((f) => f.seconds))
    if (seconds !== null) return seconds
  }
  return null
}

const stages = new Map()
const rowOf = (inst) => {
  const s = stages.get(inst.stage) ?? { stage: inst.stage, kind: inst.kind, planned: 0, done: 0, seconds: 0, finished: [], remainingEstimate: 0 }
  stages.set(inst.stage, s)
  s.planned += 1
  return s
}
for (const f of finished) {
  const s = rowOf(f.inst)
  s.done += 1
  s.seconds += f.seconds
  s.finished.push(f.seconds)
}
for (const inst of pending) {
  const s = rowOf(inst)
  const e = estimate(inst)
  s.remainingEstimate = s.remainingEstimate === null || e === null ? null : s.remainingEstimate + e
}

const rows = [...stages.values()].map(({ finished: secs, ...s }) => ({
  ...s,
  mean: s.done > 0 ? s.seconds / s.done : null,
  median: median(secs)
}))
const total = {
  planned: rows.reduce((a, r) => a + r.planned, 0),
  done: rows.reduce((a, r) => a + r.done, 0),
  seconds: rows.reduce((a, r) => a + r.seconds, 0),
  remainingEstimate: rows.every((r) => r.remainingEstimate !== null) ? rows.reduce((a, r) => a + r.remainingEstimate, 0) : null,
  unestimated: rows.filter((r) => r.remainingEstimate === null).map((r) => r.stage)
}

/** The simulation for --workers, or undefined without it. */
const plan = (() => {
  if (workerCounts === undefined) return undefined
  const timesPath = flagValue("--times")
  const defaultTimes = join(root, "scripts/stage-times", `${name}.json`)
  const times = timesPath !== undefined ? readTimesFile(resolve(timesPath)) : existsSync(defaultTimes) ? readTimesFile(defaultTimes) : undefined
  const measured = new Map(finished.map((f) => [f.inst.id, f.seconds]))
  const from = { manifest: 0, timesFile: 0, estimate: 0 }
  /** @type {Map<string, number>} */
  const seconds = new Map()
  const untimed = []
  for (const inst of instances) {
    const m = measured.get(inst.id)
    const t = m === undefined ? times?.lookup(inst.id) : undefined
    const e = m === undefined && t === undefined ? estimate(inst) : null
    if (m !== undefined) from.manifest += 1
    else if (t !== undefined) from.timesFile += 1
    else if (e !== null) from.estimate += 1
    else untimed.push(inst)
    seconds.set(inst.id, m ?? t ?? e ?? 0)
  }
  if (untimed.length > 0) {
    const stagesWithout = [...new Set(untimed.map((i) => i.stage))]
    console.error(`stage-time.mjs: no seconds for ${untimed.length} of ${instances.length} instances (stages: ${stagesWithout.join(", ")}): ` +
      `nothing like them has run here${times ? ` and ${times.file} has no key matching them` : ""}; give a times file ` +
      `(--times FILE: { "times": { "<instance id or pattern with *>": seconds } }, e.g. scripts/stage-times/study.json)`)
    process.exit(2)
  }
  const secondsOf = (id) => /** @type {number} */ (seconds.get(id))
  const byId = new Map(instances.map((i) => [i.id, i]))
  const cp = criticalPath(instances, secondsOf)
  const total = instances.reduce((a, i) => a + secondsOf(i.id), 0)
  const label = (id) => {
    const inst = byId.get(id)
    const vars = Object.entries(inst.vars ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")
    return vars ? `${inst.stage}[${vars}]` : inst.stage
  }
  const dominant = cp.path.reduce((a, b) => (b.seconds > a.seconds ? b : a), cp.path[0])
  const runs = workerCounts.map((w) => {
    const sim = simulate(instances, secondsOf, w)
    return { workers: w, makespan: sim.makespan, speedup: total / sim.makespan, utilization: sim.utilization,
      maxParallel: sim.maxParallel, lowerBound: Math.max(cp.seconds, total / w) }
  })
  return {
    sources: { ...from, file: times?.file ?? null },
    total,
    criticalPath: { seconds: cp.seconds, path: cp.path.map((p) => ({ ...p, label: label(p.id) })),
      dominant: { id: dominant.id, label: label(dominant.id), seconds: dominant.seconds, share: dominant.seconds / cp.seconds } },
    runs
  }
})()

if (flags.includes("--json")) {
  console.log(JSON.stringify({ pipeline: name, stages: rows, total, ...(plan ? { plan } : {}) }, null, 2))
} else if (plan) {
  const n = (x) => Math.round(x).toLocaleString("en-US")
  const src = plan.sources
  const fromWhere = [`${src.manifest} from manifests`, src.file ? `${src.timesFile} from ${relative(process.cwd(), src.file)}` : "",
    src.estimate > 0 ? `${src.estimate} estimated from finished look-alikes` : ""].filter((x) => x !== "").join(", ")
  console.log(`${name}: ${instances.length} instances, ${duration(plan.total)} of stage time in all (seconds: ${fromWhere})`)
  console.log("simulated on N workers (each one stage at a time, as fast as one stage ran here), critical path first:\n")
  const table = [["workers", "makespan", "seconds", "speedup", "utilization", "most at once", "lower bound"],
    ...plan.runs.map((r) => [String(r.workers), duration(r.makespan), n(r.makespan), `${r.speedup.toFixed(1)}x`,
      `${Math.round(r.utilization * 100)}%`, String(r.maxParallel), duration(r.lowerBound)])]
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd())
  const cp = plan.criticalPath
  console.log(`\ncritical path: ${duration(cp.seconds)}${cp.seconds >= 60 ? ` (${n(cp.seconds)} s)` : ""}, ${cp.path.length} instances: ` +
    cp.path.map((p) => `${p.label} (${n(p.seconds)} s)`).join(" → "))
  console.log(`dominated by ${cp.dominant.label}: ${n(cp.dominant.seconds)} s, ${Math.round(cp.dominant.share * 100)}% of it; ` +
    "no number of workers finishes sooner than the critical path (lower bound: the larger of it and stage time / N)")
} else {
  const hms = (s) => (s === null ? "?" : s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`)
  const table = [["stage", "kind", "done", "total", "mean", "median", "left (est.)"],
    ...rows.map((r) => [r.stage, r.kind, `${r.done}/${r.planned}`, hms(r.seconds), hms(r.mean), hms(r.median), r.done === r.planned ? "" : hms(r.remainingEstimate)])]
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  "))
  console.log(`\n${total.done}/${total.planned} instances done, ${hms(total.seconds)} of stage time` +
    (total.done === total.planned ? "" : total.remainingEstimate === null
      ? `; no estimate for the rest (nothing has run yet of: ${total.unestimated.join(", ")})`
      : `; ≈ ${hms(total.remainingEstimate)} left (medians of the finished instances most like each)`))
}
