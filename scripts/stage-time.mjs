#!/usr/bin/env node
// Wall time of a pipeline's stages on this machine, from the manifests its stages wrote (no hashing, no training):
// per stage, how many instances are on disk out of those the pipeline file asks for, their total and mean seconds,
// and, for the instances not yet run, an estimate from the mean of the same stage's finished ones.
//
//   node scripts/stage-time.mjs study            # artifacts/study vs pipelines/study.pipeline.json
//   node scripts/stage-time.mjs study --json     # the same as JSON
//
// A manifest whose params hash differs from the pipeline file's (the stage's params changed since) counts as not run.
import { pipelineFromArgs } from "./pipeline-instances.mjs"

const { name, flags, instances, currentManifest } = pipelineFromArgs("stage-time.mjs", " [--json]")

const stages = new Map()
for (const inst of instances) {
  const s = stages.get(inst.stage) ?? { stage: inst.stage, kind: inst.kind, planned: 0, done: 0, seconds: 0 }
  s.planned += 1
  const m = currentManifest(inst)
  if (m && typeof m.wallSeconds === "number") {
    s.done += 1
    s.seconds += m.wallSeconds
  }
  stages.set(inst.stage, s)
}

const rows = [...stages.values()].map((s) => ({
  ...s,
  mean: s.done > 0 ? s.seconds / s.done : null,
  remainingEstimate: s.done > 0 ? (s.planned - s.done) * (s.seconds / s.done) : s.planned === 0 ? 0 : null
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
  const table = [["stage", "kind", "done", "total", "mean", "left (est.)"], ...rows.map((r) => [r.stage, r.kind, `${r.done}/${r.planned}`, hms(r.seconds), hms(r.mean), r.done === r.planned ? "" : hms(r.remainingEstimate)])]
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  "))
  console.log(`\n${total.done}/${total.planned} instances done, ${hms(total.seconds)} of stage time` +
    (total.done === total.planned ? "" : total.remainingEstimate === null
      ? `; no estimate for the rest (nothing has run yet of: ${total.unestimated.join(", ")})`
      : `; ≈ ${hms(total.remainingEstimate)} left (each stage's mean so far)`))
}
