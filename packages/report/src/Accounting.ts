/**
 * Compute accounting: what each method cost and how fast it reached a target accuracy, counting for a grown model the
 * training of the small model it reused.
 *
 * - Training FLOPs of a run = `flopsPerExample` (3 × forward FLOPs: forward + backward, as the train stage records)
 *   × training examples × epochs trained. Validation passes are not counted.
 * - A grown run (`info.init === "artifact"`) reuses the source run whose vars agree with its own (the small model of the
 *   same seed); its FLOPs and seconds are added to the grown run's. A distilled run (a distillation loss) reuses its
 *   teacher the same way, plus the teacher's one forward pass over the training set (its logits are computed once).
 *   A source with no vars (one teacher for every run) agrees with every run.
 * - Targets are the reference groups (e.g. scratch for 10 epochs, scratch for 50) matched to a method on the
 *   `matchOn` vars: target = the mean over the group's runs of their best validation accuracy. A run reaches the target
 *   at the first epoch whose validation accuracy is at least that; its epochs, seconds and FLOPs to target include the
 *   reused small model's.
 */
import * as Stats from "@growlab/core/Stats"
import type { Column, DataTable } from "./DataTable.js"
import * as Runs from "./Runs.js"

export interface RunCost {
  readonly run: Runs.Run
  readonly flopsPerEpoch: number
  readonly flops: number
  readonly seconds: number
  readonly reused: Runs.Run | undefined
  readonly reusedFlops: number
  readonly reusedSeconds: number
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : NaN)

/** Training FLOPs of one epoch of a run, from the facts the train stage records (NaN when they are missing). */
export const flopsPerEpoch = (m: Runs.Run["metrics"]): number => num(m.info.flopsPerExample) * num(m.info.trainExamples)

export const isGrown = (r: Runs.Run): boolean => r.metrics.info.init === "artifact"

export const isDistilled = (r: Runs.Run): boolean => {
  const loss = r.metrics.info.loss
  return typeof loss === "object" && loss !== null && (loss as { readonly kind?: unknown }).kind === "distillation"
}

/** Whether a run reused another model's training: grown from it or distilled from it. */
export const reusesModel = (r: Runs.Run): boolean => isGrown(r) || isDistilled(r)

const totalSeconds = (r: Runs.Run): number => r.metrics.epochs.reduce((s, e) => s + e.seconds, 0)

/**
 * The source run a grown or distilled run reused: the one source whose vars agree with the run's (a source with no vars
 * agrees with every run). `undefined` for runs that reuse nothing; an error text when such a run matches no source or
 * several.
 */
export const sourceOf = (r: Runs.Run, sources: ReadonlyArray<Runs.Run>): Runs.Run | undefined | { readonly error: string } => {
  if (!reusesModel(r) || sources.length === 0) return undefined
  const found = sources.filter((s) => Object.keys(s.vars).length === 0 || Runs.varsAgree(s.vars, r.vars))
  if (found.length === 1) return found[0]
  return { error: `${found.length} source runs agree with ${r.stage} (${found.map((s) => s.stage).join(", ") || "none"})` }
}

export const costOf = (r: Runs.Run, source: Runs.Run | undefined): RunCost => {
  const perEpoch = flopsPerEpoch(r.metrics)
  // a teacher's logits over the training set, computed once per distilled run
  const teacherPass = source && isDistilled(r) ? num(source.metrics.info.forwardFlopsPerExample) * num(r.metrics.info.trainExamples) : 0
  const reusedFlops = source ? flopsPerEpoch(source.metrics) * source.metrics.epochs.length + teacherPass : 0
  return {
    run: r, flopsPerEpoch: perEpoch, flops: perEpoch * r.metrics.epochs.length, seconds: totalSeconds(r),
    reused: source, reusedFlops, reusedSeconds: source ? totalSeconds(source) : 0
  }
}

export interface Target {
  /** The reference group's label. */
  readonly label: string
  readonly group: Runs.Group
  /** Mean best validation accuracy over the group's runs. */
  readonly accuracy: number
  /** Epochs the group trained. */
  readonly epochs: number
}

export const targetOf = (g: Runs.Group): Target => ({
  label: g.label, group: g,
  accuracy: Stats.mean(g.runs.map((r) => Runs.summarize(r.metrics).bestValAccuracy)),
  epochs: Runs.epochsOf(g)
})

/** Whether two var sets agree on every `keys` entry both have (a key one of them lacks matches anything). */
export const agreeOn = (a: Runs.Vars, b: Runs.Vars, keys: ReadonlyArray<string>): boolean =>
  keys.every((k) => !(k in a) || !(k in b) || String(a[k]) === String(b[k]))

export interface Reach {
  readonly epochs: number
  readonly seconds: number
  readonly flops: number
}

/** First epoch at which a run's validation accuracy reaches `accuracy`, with seconds and FLOPs including the reused run. */
export const reach = (c: RunCost, accuracy: number): Reach | undefined => {
  const epochs = [...c.run.metrics.epochs].sort((a, b) => a.epoch - b.epoch)
  let seconds = c.reusedSeconds
  for (const [i, e] of epochs.entries()) {
    seconds += e.seconds
    if (e.valAccuracy >= accuracy) return { epochs: i + 1, seconds, flops: c.reusedFlops + (i + 1) * c.flopsPerEpoch }
  }
  return undefined
}

/** A run's training FLOPs with the reused small model's or teacher's. */
export const totalFlops = (c: RunCost): number => c.flops + c.reusedFlops

/** Per method: parameters, FLOPs and seconds of its own training, of the reused small model, and in all. */
export const computeTable = (groups: ReadonlyArray<Runs.Group>, costs: ReadonlyMap<Runs.Run, RunCost>): DataTable => ({
  name: "compute",
  title: "Compute",
  caption: "Mean per run. Training FLOPs = 3 × forward FLOPs per example × training examples × epochs (validation not " +
    "counted); a grown model also counts the training of the small model it was grown from (same seed), a distilled " +
    "model its teacher's training and one teacher forward pass over the training set. Seconds are " +
    "wall-clock training time on the machine that ran it.",
  columns: [
    { key: "method", title: "Method", format: "text" },
    { key: "runs", title: "Runs", format: "int" },
    { key: "params", title: "Parameters", format: "int" },
    { key: "epochs", title: "Epochs", format: "int" },
    { key: "train_flops", title: "Training FLOPs", format: "sci" },
    { key: "reused_flops", title: "Reused FLOPs (small / teacher)", format: "sci" },
    { key: "total_flops", title: "Total FLOPs", format: "sci" },
    { key: "train_seconds", title: "Training s", format: "seconds" },
    { key: "reused_seconds", title: "Reused s (small / teacher)", format: "seconds" },
    { key: "total_seconds", title: "Total s", format: "seconds" }
  ],
  rows: groups.map((g) => {
    const cs = g.runs.map((r) => costs.get(r)!)
    const m = (f: (c: RunCost) => number) => Stats.mean(cs.map(f))
    return {
      method: g.label, runs: g.runs.length, params: num(g.runs[0].metrics.info.paramCount),
      epochs: Runs.epochsOf(g),
      train_flops: m((c) => c.flops), reused_flops: m((c) => c.reusedFlops), total_flops: m(totalFlops),
      train_seconds: m((c) => c.seconds), reused_seconds: m((c) => c.reusedSeconds), total_seconds: m((c) => c.seconds + c.reusedSeconds)
    }
  })
})

/** Per method and matched target: how many runs reach it, and mean epochs, seconds and FLOPs to it (reused included). */
export const timeToTargetTable = (
  groups: ReadonlyArray<Runs.Group>,
  costs: ReadonlyMap<Runs.Run, RunCost>,
  targetsFor: (g: Runs.Group) => ReadonlyArray<Target>
): DataTable => {
  const rows: Array<Record<string, string | number | null>> = []
  for (const g of groups) {
    for (const t of targetsFor(g)) {
      const reached = g.runs.map((r) => reach(costs.get(r)!, t.accuracy)).filter((x): x is Reach => x !== undefined)
      rows.push({
        method: g.label, target: `${t.label} best (${t.epochs} epoch${t.epochs === 1 ? "" : "s"})`, target_accuracy: t.accuracy,
        reached: `${reached.length}/${g.runs.length}`,
        epochs: Stats.mean(reached.map((x) => x.epochs)), seconds: Stats.mean(reached.map((x) => x.seconds)), flops: Stats.mean(reached.map((x) => x.flops))
      })
    }
  }
  const columns: Array<Column> = [
    { key: "method", title: "Method", format: "text" },
    { key: "target", title: "Target", format: "text" },
    { key: "target_accuracy", title: "Target val acc", format: "percent" },
    { key: "reached", title: "Runs reaching it", format: "text" },
    { key: "epochs", title: "Epochs to target", format: "fixed2" },
    { key: "seconds", title: "Seconds to target (incl. small)", format: "seconds" },
    { key: "flops", title: "FLOPs to target (incl. small)", format: "sci" }
  ]
  return {
    name: "time_to_target",
    title: "Time to target accuracy",
    caption: "Target: a reference group's mean best validation accuracy. Per method, the runs whose validation accuracy " +
      "reaches it within the epochs they trained, and their mean epochs, seconds and training FLOPs to get there, " +
      "counting the small model's training for grown models; \"–\" when no run reaches it.",
    columns,
    rows
  }
}

/** A method's mean training FLOPs (the reused small model's or teacher's included) and final validation accuracy. */
export const costPoint = (g: Runs.Group, costs: ReadonlyMap<Runs.Run, RunCost>, level: number) => {
  const ci = Stats.confidenceInterval(g.runs.map((r) => Runs.summarize(r.metrics).finalValAccuracy), level)
  return {
    method: g.label,
    flops: Stats.mean(g.runs.map((r) => totalFlops(costs.get(r)!))),
    mean: ci.mean, lo: ci.lower, hi: ci.upper, runs: g.runs.length
  }
}

/**
 * A reference's accuracy against compute, epoch by epoch: the mean validation accuracy after e epochs (epochs every run
 * reached) against the mean training FLOPs of e epochs (reused training included).
 */
export const costCurve = (g: Runs.Group, costs: ReadonlyMap<Runs.Run, RunCost>) => {
  const cs = g.runs.map((r) => costs.get(r)!)
  const perEpoch = Stats.mean(cs.map((c) => c.flopsPerEpoch))
  const reused = Stats.mean(cs.map((c) => c.reusedFlops))
  const points = Runs.byEpoch(g.runs, (e) => e.valAccuracy)
    .filter((e) => e.values.length === g.runs.length)
    .map((e, i) => ({ epoch: e.epoch, flops: reused + (i + 1) * perEpoch, mean: Stats.mean(e.values) }))
  return { method: g.label, points }
}
