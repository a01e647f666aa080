#!/usr/bin/env node
// Wall time of a pipeline's stages on this machine, from the manifests its stages wrote (no hashing, no training):
// per stage, how many instances are on disk out of those the pipeline file asks for, their total, mean and median
// seconds, and, for the instances not yet run, an estimate: the median wall time of the finished instances most like
// each one (the same kind of stage with the same `target` and `epochs`, else the same stage, else the same kind). The
// median keeps a few runs slowed by a shared machine from inflating the estimate.
//
//   node scripts/stage-time.mjs study            # artifacts/study vs pipelines/study.pipeline.json
//   node scripts/stage-time.mjs study --json     # the same as JSON
//
// A manifest whose params hash differs from the pipeline file's (the stage's params changed since) counts as not run.
import { pipelineFromArgs } from "./pipeline-instances.mjs"

const { name, flags, instances, currentManifest } = pipelineFromArgs("stage-time.mjs", " [--json]")

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

if (flags.includes("--json")) {
  console.log(JSON.stringify({ pipeline: name, stages: rows, total }, null, 2))
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
