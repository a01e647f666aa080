/**
 * Training runs as the report sees them: metrics artifacts labelled by their pipeline matrix values (`vars`), grouped
 * into methods. Runs whose vars differ only in the repeat variable (default `seed`) are repeats of one method.
 */
import * as Effect from "effect/Effect"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as Stats from "@growlab/core/Stats"
import type { InputArtifact } from "@growlab/core/Stage"

export type Vars = Readonly<Record<string, string | number | boolean>>

export interface Run {
  readonly path: string
  readonly stage: string
  readonly vars: Vars
  readonly metrics: MetricsArtifact.Metrics
}

export interface Group {
  /** Canonical key of the vars without the repeat variable. */
  readonly key: string
  /** Display name: the values of the vars that tell groups apart. */
  readonly label: string
  /** The shared vars (without the repeat variable). */
  readonly vars: Vars
  readonly runs: ReadonlyArray<Run>
}

export const load = (inputs: ReadonlyArray<InputArtifact>) =>
  Effect.forEach(inputs, (a) =>
    Effect.map(MetricsArtifact.read(a.path, a.measurements), (metrics): Run => ({ path: a.path, stage: a.stage, vars: a.vars, metrics })))

/** Orders var values: numbers numerically, anything else by its string. */
export const compare = (a: string | number | boolean, b: string | number | boolean): number =>
  typeof a === "number" && typeof b === "number" ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0

/** Canonical key of a set of vars (sorted `k=v` pairs). */
export const keyOf = (vars: Vars): string =>
  Object.keys(vars).sort().map((k) => `${k}=${String(vars[k])}`).join(",")

/** The vars that name a method: all but the repeat variable. */
export const methodVars = (vars: Vars, repeatVar: string): Vars =>
  Object.fromEntries(Object.entries(vars).filter(([k]) => k !== repeatVar))

/** The stage name without its matrix suffix (`large--method=x--seed=1` → `large`). */
export const baseStage = (stage: string): string => stage.split("--")[0]

/**
 * Groups runs by their vars without `repeatVar`. Labels name only the vars whose values differ between groups, the
 * one that names methods first and as its bare value (named vars before numeric ones, then the one with the most
 * values: `net2wider, target=large2, learningRate=0.001`); runs with no telling vars fall back to the
 * `method` recorded in the metrics info, then to the stage name. Groups and their runs come out in a stable order.
 */
export const group = (runs: ReadonlyArray<Run>, repeatVar = "seed"): ReadonlyArray<Group> => {
  const byKey = new Map<string, { vars: Record<string, string | number | boolean>; runs: Array<Run> }>()
  for (const r of runs) {
    const vars = methodVars(r.vars, repeatVar)
    const key = keyOf(vars) || `stage=${baseStage(r.stage)}|${String(r.metrics.info.method ?? "")}`
    const g = byKey.get(key) ?? { vars, runs: [] }
    g.runs.push(r)
    byKey.set(key, g)
  }
  const entries = [...byKey.entries()].sort(([a], [b]) => compare(a, b))
  const allKeys = [...new Set(entries.flatMap(([, g]) => Object.keys(g.vars)))].sort()
  const values = new Map(allKeys.map((k) => [k, new Set(entries.map(([, g]) => (k in g.vars ? String(g.vars[k]) : "\u0000"))).size]))
  const named = new Set(allKeys.filter((k) => entries.some(([, g]) => k in g.vars && typeof g.vars[k] === "string")))
  // the var that names methods leads: named (string) vars before numeric ones, then the one with the most values
  const telling = allKeys.filter((k) => values.get(k)! > 1)
    .sort((a, b) => Number(named.has(b)) - Number(named.has(a)) || values.get(b)! - values.get(a)! || compare(a, b))
  const bare = telling.length > 0 && (telling.length === 1 || named.has(telling[0])) ? telling[0] : undefined
  return entries.map(([key, g]) => {
    const parts = telling.filter((k) => k in g.vars).map((k) => (k === bare ? String(g.vars[k]) : `${k}=${String(g.vars[k])}`))
    const first = g.runs[0]
    const fallback = typeof first.metrics.info.method === "string" ? first.metrics.info.method : baseStage(first.stage) || "run"
    const own = Object.keys(g.vars).sort().map((k) => String(g.vars[k])).join(", ")
    const label = parts.length > 0 ? parts.join(", ") : own || fallback
    const sorted = [...g.runs].sort((a, b) => compare(a.vars[repeatVar] ?? a.stage, b.vars[repeatVar] ?? b.stage))
    return { key, label, vars: g.vars, runs: sorted }
  })
}

/** Whether every var the two share has the same value, and they share at least one. */
export const varsAgree = (a: Vars, b: Vars): boolean => {
  const shared = Object.keys(a).filter((k) => k in b)
  return shared.length > 0 && shared.every((k) => String(a[k]) === String(b[k]))
}

export interface RunSummary {
  readonly epochs: number
  readonly finalTrainAccuracy: number
  readonly finalTrainLoss: number
  readonly finalValAccuracy: number
  readonly finalValLoss: number
  readonly firstValAccuracy: number
  readonly bestValAccuracy: number
  /** 1-based epoch number at which the best validation accuracy was first reached. */
  readonly bestEpoch: number
  readonly secondsPerEpoch: ReadonlyArray<number>
  /** Seconds from the start of training to the end of the best epoch. */
  readonly secondsToBest: number
  readonly totalSeconds: number
}

/** Summary of a run's metrics, over its first `upTo` epochs when given (an epoch-matched reference). */
export const summarize = (m: MetricsArtifact.Metrics, upTo?: number): RunSummary => {
  const epochs = [...m.epochs].sort((a, b) => a.epoch - b.epoch).slice(0, upTo ?? m.epochs.length)
  const last = epochs[epochs.length - 1]
  let best = 0
  epochs.forEach((e, i) => { if (e.valAccuracy > epochs[best].valAccuracy) best = i })
  const seconds = epochs.map((e) => e.seconds)
  return {
    epochs: epochs.length,
    finalTrainAccuracy: last?.trainAccuracy ?? NaN,
    finalTrainLoss: last?.trainLoss ?? NaN,
    finalValAccuracy: last?.valAccuracy ?? NaN,
    finalValLoss: last?.valLoss ?? NaN,
    firstValAccuracy: epochs[0]?.valAccuracy ?? NaN,
    bestValAccuracy: epochs[best]?.valAccuracy ?? NaN,
    bestEpoch: epochs.length > 0 ? best + 1 : NaN,
    secondsPerEpoch: seconds,
    secondsToBest: seconds.slice(0, best + 1).reduce((a, b) => a + b, 0),
    totalSeconds: seconds.reduce((a, b) => a + b, 0)
  }
}

/** Epochs the group trained (its longest run). */
export const epochsOf = (g: Group): number => Math.max(...g.runs.map((r) => r.metrics.epochs.length))

/** The per-run scalar metrics that reports test for significance and claims cite, by key. */
export const SummaryMetric = ["val_accuracy", "best_val_accuracy", "first_val_accuracy", "val_loss", "seconds_per_epoch"] as const
export type SummaryMetric = (typeof SummaryMetric)[number]

export const summaryMetrics: Readonly<Record<SummaryMetric, { readonly title: string; readonly pick: (s: RunSummary) => number }>> = {
  val_accuracy: { title: "val accuracy", pick: (s) => s.finalValAccuracy },
  best_val_accuracy: { title: "best val accuracy", pick: (s) => s.bestValAccuracy },
  first_val_accuracy: { title: "val accuracy, epoch 1", pick: (s) => s.firstValAccuracy },
  val_loss: { title: "val loss", pick: (s) => s.finalValLoss },
  seconds_per_epoch: { title: "seconds per epoch", pick: (s) => Stats.mean(s.secondsPerEpoch) }
}

/** Per-epoch values of a metric across the runs of a group: epoch → values (runs that reached that epoch). */
export const byEpoch = (runs: ReadonlyArray<Run>, pick: (e: MetricsArtifact.EpochMetrics) => number): ReadonlyArray<{ readonly epoch: number; readonly values: ReadonlyArray<number> }> => {
  const map = new Map<number, Array<number>>()
  for (const r of runs) for (const e of r.metrics.epochs) map.set(e.epoch, [...(map.get(e.epoch) ?? []), pick(e)])
  return [...map.entries()].sort(([a], [b]) => a - b).map(([epoch, values]) => ({ epoch, values }))
}

/** "n = 3" when every selection has the same number of runs, else "n = 2–3" (for captions). */
export const nRange = (ns: ReadonlyArray<number>): string => {
  const lo = Math.min(...ns), hi = Math.max(...ns)
  return ns.length === 0 ? "n = 0" : lo === hi ? `n = ${lo}` : `n = ${lo}–${hi}`
}
