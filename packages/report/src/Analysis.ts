/**
 * The numbers of the report: per-method statistics over repeated runs (means with Student-t confidence intervals),
 * Welch tests against the reference, time per epoch, and how many reference (scratch) epochs match a grown model.
 * Every table is a DataTable, so the HTML, the Markdown, the CSV and the Arrow files show the same numbers.
 */
import * as Stats from "@growlab/core/Stats"
import type { Column, DataTable } from "./DataTable.js"
import type { Expansion } from "./Expansions.js"
import * as Runs from "./Runs.js"

export const SortKey = ["val_accuracy", "best_val_accuracy", "first_val_accuracy", "val_loss"] as const
export type SortKey = (typeof SortKey)[number]

export interface MethodStats {
  readonly group: Runs.Group
  readonly summaries: ReadonlyArray<Runs.RunSummary>
  readonly isReference: boolean
  readonly finalTrainAccuracy: Stats.ConfidenceInterval
  readonly finalTrainLoss: Stats.ConfidenceInterval
  readonly finalValAccuracy: Stats.ConfidenceInterval
  readonly finalValLoss: Stats.ConfidenceInterval
  readonly firstValAccuracy: Stats.ConfidenceInterval
  readonly bestValAccuracy: Stats.ConfidenceInterval
  readonly bestEpoch: number
  readonly epochs: number
  /** Over every epoch of every run of the method. */
  readonly time: Stats.Summary
  readonly expansion: Expansion | undefined
}

const ci = (xs: ReadonlyArray<number>, level: number) => Stats.confidenceInterval(xs, level)

export const analyze = (
  groups: ReadonlyArray<Runs.Group>,
  options: { readonly level: number; readonly isReference: (g: Runs.Group) => boolean; readonly expansions: ReadonlyArray<Expansion> }
): ReadonlyArray<MethodStats> =>
  groups.map((group) => {
    const s = group.runs.map((r) => Runs.summarize(r.metrics))
    const pick = (f: (x: Runs.RunSummary) => number) => ci(s.map(f), options.level)
    return {
      group,
      summaries: s,
      isReference: options.isReference(group),
      finalTrainAccuracy: pick((x) => x.finalTrainAccuracy),
      finalTrainLoss: pick((x) => x.finalTrainLoss),
      finalValAccuracy: pick((x) => x.finalValAccuracy),
      finalValLoss: pick((x) => x.finalValLoss),
      firstValAccuracy: pick((x) => x.firstValAccuracy),
      bestValAccuracy: pick((x) => x.bestValAccuracy),
      bestEpoch: Stats.mean(s.map((x) => x.bestEpoch)),
      epochs: Math.max(...s.map((x) => x.epochs)),
      time: Stats.summary(s.flatMap((x) => x.secondsPerEpoch)),
      expansion: options.expansions.find((e) => Runs.varsAgree(e.vars, group.vars))
    }
  })

const sortValue = (m: MethodStats, key: SortKey): number => {
  switch (key) {
    case "val_accuracy": return -m.finalValAccuracy.mean
    case "best_val_accuracy": return -m.bestValAccuracy.mean
    case "first_val_accuracy": return -m.firstValAccuracy.mean
    case "val_loss": return m.finalValLoss.mean
  }
}

/** Best first (highest accuracy, or lowest loss); ties and NaN keep a stable order by label. */
export const sortMethods = (ms: ReadonlyArray<MethodStats>, key: SortKey): ReadonlyArray<MethodStats> =>
  [...ms].sort((a, b) => {
    const va = sortValue(a, key)
    const vb = sortValue(b, key)
    if (Number.isNaN(va) !== Number.isNaN(vb)) return Number.isNaN(va) ? 1 : -1
    return va !== vb && !Number.isNaN(va) ? va - vb : a.group.label < b.group.label ? -1 : a.group.label > b.group.label ? 1 : 0
  })

const label = (m: MethodStats) => (m.isReference ? `${m.group.label} (reference)` : m.group.label)

const withCi = (key: string, title: string, format: Column["format"], description?: string): Column =>
  ({ key, title, format, plusMinus: `${key}_ci`, ...(description ? { description } : {}) })

/** The main table: final train/validation accuracy and loss, first-epoch and best validation accuracy, SNR, Δlogits. */
export const performanceTable = (ms: ReadonlyArray<MethodStats>, level: number, sortedBy: SortKey): DataTable => {
  const anyExpansion = ms.some((m) => m.expansion)
  const pct = `${Math.round(level * 100)}%`
  const columns: Array<Column> = [
    { key: "method", title: "Method", format: "text" },
    { key: "runs", title: "Runs", format: "int" },
    { key: "epochs", title: "Epochs", format: "int" },
    withCi("val_accuracy", "Val acc", "percent", `final-epoch validation accuracy, mean ± ${pct} CI half-width over runs`),
    withCi("val_loss", "Val loss", "fixed4"),
    { ...withCi("train_accuracy", "Train acc", "percent"), detail: true },
    { ...withCi("train_loss", "Train loss", "fixed4"), detail: true },
    withCi("first_val_accuracy", "Val acc, epoch 1", "percent"),
    withCi("best_val_accuracy", "Best val acc", "percent"),
    { key: "best_epoch", title: "Best at epoch", format: "fixed2" },
    ...(anyExpansion
      ? [
        { key: "snr_db", title: "SNR", format: "db", description: "signal-to-noise ratio of the expansion noise" } as Column,
        { key: "max_abs_dlogits", title: "max |Δlogits|", format: "sci", description: "largest logit change of the expansion (random inputs; real inputs when measured)" } as Column
      ]
      : [])
  ]
  const rows = ms.map((m) => {
    const c = (k: string, v: Stats.ConfidenceInterval) => ({ [k]: v.mean, [`${k}_ci`]: v.halfWidth })
    const e = m.expansion
    return {
      method: label(m), runs: m.group.runs.length, epochs: m.epochs,
      ...c("val_accuracy", m.finalValAccuracy), ...c("val_loss", m.finalValLoss),
      ...c("train_accuracy", m.finalTrainAccuracy), ...c("train_loss", m.finalTrainLoss),
      ...c("first_val_accuracy", m.firstValAccuracy), ...c("best_val_accuracy", m.bestValAccuracy),
      best_epoch: m.bestEpoch,
      snr_db: e?.snrDb ?? null,
      max_abs_dlogits: e ? (e.maxAbsDeltaLogitsReal ?? e.maxAbsDeltaLogitsRandom) : null
    }
  })
  const anyRepeat = ms.some((m) => m.group.runs.length >= 2)
  return {
    name: "performance",
    title: "Performance",
    caption: `Final-epoch metrics per method, sorted by ${sortedBy.replace(/_/g, " ")}` +
      (anyRepeat ? `; with two or more runs, mean ± ${pct} confidence half-width (Student t over the n runs of the Runs column)` : "") +
      ". Training accuracy and loss are in performance.csv.",
    columns,
    rows
  }
}

/** Every run's own numbers (the repeats behind each mean): final, best and first-epoch validation accuracy, loss, seconds. */
export const runsTable = (ms: ReadonlyArray<MethodStats>, repeatVar: string): DataTable => ({
  name: "runs",
  title: "Every run",
  caption: `Each run of each method (its '${repeatVar}' tells the repeats apart): the numbers the means and tests of this report are made of.`,
  columns: [
    { key: "method", title: "Method", format: "text" },
    { key: "repeat", title: repeatVar, format: "text" },
    { key: "epochs", title: "Epochs", format: "int" },
    { key: "val_accuracy", title: "Val acc", format: "percent" },
    { key: "best_val_accuracy", title: "Best val acc", format: "percent" },
    { key: "first_val_accuracy", title: "Val acc, epoch 1", format: "percent" },
    { key: "val_loss", title: "Val loss", format: "fixed4" },
    { key: "seconds", title: "Training s", format: "seconds" }
  ],
  rows: ms.flatMap((m) => m.group.runs.map((r, i) => {
    const s = m.summaries[i]
    return {
      method: label(m), repeat: String(r.vars[repeatVar] ?? Runs.baseStage(r.stage)), epochs: s.epochs,
      val_accuracy: s.finalValAccuracy, best_val_accuracy: s.bestValAccuracy, first_val_accuracy: s.firstValAccuracy,
      val_loss: s.finalValLoss, seconds: s.totalSeconds
    }
  }))
})

/** Time per epoch (seconds): mean, variance, min and max over every epoch of every run, as the study tabulated. */
export const timeTable = (ms: ReadonlyArray<MethodStats>, referenceOf: (m: MethodStats) => MethodStats | undefined = () => ms.find((m) => m.isReference)): DataTable => {
  const ref = ms.find((m) => m.isReference)
  return {
    name: "time",
    title: "Time per epoch",
    caption: "Wall-clock seconds per training epoch over all epochs of all runs of each method" +
      (ref ? "; ratio = mean / mean of the method's reference." : "."),
    columns: [
      { key: "method", title: "Method", format: "text" },
      { key: "epochs", title: "Epochs measured", format: "int" },
      { key: "mean", title: "Mean", format: "seconds" },
      { key: "variance", title: "Variance", format: "sci" },
      { key: "min", title: "Min", format: "seconds" },
      { key: "max", title: "Max", format: "seconds" },
      ...(ref ? [{ key: "ratio", title: "Ratio", format: "fixed2" } as Column] : [])
    ],
    rows: ms.map((m) => ({
      method: label(m), epochs: m.time.n, mean: m.time.mean, variance: m.time.variance, min: m.time.min, max: m.time.max,
      ratio: ((r) => (r ? m.time.mean / r.time.mean : null))(referenceOf(m))
    }))
  }
}

/** The metrics each method is tested on (seconds per epoch depend on machine load: not tested). */
const TESTED: ReadonlyArray<Runs.SummaryMetric> = ["val_accuracy", "best_val_accuracy", "first_val_accuracy", "val_loss"]

/** A reference a method is compared with: a label and its runs. */
export interface ReferenceRuns {
  readonly label: string
  readonly runs: ReadonlyArray<Runs.Run>
}

export interface TestOptions {
  readonly level: number
  readonly alpha: number
  readonly correction: Stats.Correction
  readonly bootstrap: { readonly resamples: number; readonly seed: number }
}

/**
 * Welch's t-test of each method against its references, for final, best and first-epoch validation accuracy
 * and final validation loss, with Welch's and a bootstrap interval of the difference; the table's tests are one family,
 * their p-values adjusted together (`correction`). A reference is summarised over as many epochs as the method trained
 * (epoch-matched), so a 50-epoch scratch reference is compared at epoch 10 with a 10-epoch grown model. Needs ≥ 2 runs
 * on each side.
 */
export const significanceTable = (ms: ReadonlyArray<MethodStats>, referencesOf: (m: MethodStats) => ReadonlyArray<ReferenceRuns>, options: TestOptions): DataTable => {
  const rows: Array<Record<string, string | number | boolean | null>> = []
  for (const m of ms) {
    if (m.isReference || m.group.runs.length < 2) continue
    for (const reference of referencesOf(m)) {
      if (reference.runs.length < 2) continue
      const ref = reference.runs.map((r) => Runs.summarize(r.metrics, m.epochs))
      for (const metric of TESTED.map((k) => Runs.summaryMetrics[k])) {
        const a = m.summaries.map(metric.pick)
        const b = ref.map(metric.pick)
        const w = Stats.welchTest(a, b)
        const interval = Stats.welchInterval(w, options.level)
        const boot = Stats.bootstrapDifference(a, b, { level: options.level, ...options.bootstrap, stream: rows.length })
        rows.push({
          method: m.group.label, against: reference.label, metric: metric.title, n: a.length, reference_n: b.length,
          mean: Stats.mean(a), reference: Stats.mean(b),
          difference: w.difference, difference_lower: interval.lower, difference_upper: interval.upper,
          bootstrap_lower: boot.lower, bootstrap_upper: boot.upper,
          t: w.t, df: w.df, p: w.pValue
        })
      }
    }
  }
  const adjusted = Stats.adjust(rows.map((r) => r.p as number), options.correction)
  rows.forEach((r, i) => {
    r.p_adjusted = adjusted[i]
    r.significant = Number.isNaN(adjusted[i]) ? null : adjusted[i] < options.alpha
  })
  const pct = `${Math.round(options.level * 100)}%`
  const name = Stats.correctionName(options.correction)
  const ns = rows.flatMap((r) => [r.n as number, r.reference_n as number])
  return {
    name: "significance",
    title: "Differences from the reference",
    caption: `Welch's two-sided t-test of each method against its reference (the same configuration trained from scratch ` +
      `when the report has one, else the separate reference), epoch-matched, ${ns.length === 0 ? "no test" : `${Runs.nRange(ns)} runs a side (columns n)`}. ` +
      `Difference = method − reference with Welch's ${pct} interval; the bootstrap ${pct} interval resamples each side's runs (percentile, ` +
      `exact enumeration up to ${options.bootstrap.resamples} resample pairs, else seeded draws). p (adjusted): ${name} over the ` +
      `${rows.length} tests of this table; significant means p (adjusted) < ${options.alpha}. Methods with fewer than two runs are not tested.`,
    columns: [
      { key: "method", title: "Method", format: "text" },
      { key: "against", title: "Reference", format: "text" },
      { key: "metric", title: "Metric", format: "text" },
      { key: "n", title: "n", format: "int" },
      { key: "reference_n", title: "Reference n", format: "int", detail: true },
      { key: "mean", title: "Mean", format: "fixed4" },
      { key: "reference", title: "Reference mean", format: "fixed4" },
      { key: "difference", title: `Difference [${pct} CI]`, format: "fixed4", interval: { lower: "difference_lower", upper: "difference_upper" } },
      { key: "bootstrap_lower", title: `Bootstrap ${pct} CI, lower`, format: "fixed4", detail: true },
      { key: "bootstrap_upper", title: `Bootstrap ${pct} CI, upper`, format: "fixed4", detail: true },
      { key: "t", title: "t", format: "fixed2", detail: true },
      { key: "df", title: "df", format: "fixed2", detail: true },
      { key: "p", title: "p", format: "pvalue" },
      { key: "p_adjusted", title: `p (${Stats.correctionShortName(options.correction)})`, format: "pvalue" },
      { key: "significant", title: `Significant (adjusted p < ${options.alpha})`, format: "text" }
    ],
    rows
  }
}

export interface Match {
  readonly method: string
  readonly reference: string
  readonly epochs: number
  readonly best: number
  readonly bestEpoch: number
  /** First reference epoch whose mean validation accuracy reaches `best`; null when it never does. */
  readonly referenceEpochs: number | null
  readonly referenceBest: number
  readonly referenceTrained: number
  readonly secondsToBest: number
  readonly referenceSeconds: number | null
}

/** The mean validation-accuracy curve of the reference runs (epochs all of them reached). */
export const referenceCurve = (reference: ReadonlyArray<Runs.Run>): ReadonlyArray<{ readonly epoch: number; readonly mean: number; readonly seconds: number }> => {
  const acc = Runs.byEpoch(reference, (e) => e.valAccuracy).filter((e) => e.values.length === reference.length)
  const secs = Runs.byEpoch(reference, (e) => e.seconds)
  return acc.map((e) => ({ epoch: e.epoch, mean: Stats.mean(e.values), seconds: Stats.mean(secs.find((s) => s.epoch === e.epoch)?.values ?? []) }))
}

/** How many epochs of each matched reference (scratch) it takes to reach each method's best validation accuracy. */
export const scratchMatch = (ms: ReadonlyArray<MethodStats>, referencesOf: (m: MethodStats) => ReadonlyArray<ReferenceRuns>): ReadonlyArray<Match> =>
  ms.filter((m) => !m.isReference).flatMap((m) => referencesOf(m).map((reference) => {
    const curve = referenceCurve(reference.runs)
    const refBest = Math.max(...curve.map((c) => c.mean))
    const best = m.bestValAccuracy.mean
    const at = curve.findIndex((c) => c.mean >= best)
    return {
      method: m.group.label, reference: reference.label, epochs: m.epochs, best, bestEpoch: m.bestEpoch,
      referenceEpochs: at < 0 ? null : curve[at].epoch,
      referenceBest: refBest, referenceTrained: curve.length,
      secondsToBest: Stats.mean(m.summaries.map((s) => s.secondsToBest)),
      referenceSeconds: at < 0 ? null : curve.slice(0, at + 1).reduce((n, c) => n + c.seconds, 0)
    }
  }))

export const matchTable = (matches: ReadonlyArray<Match>): DataTable => ({
  name: "scratch_match",
  title: "Reference epochs to match",
  caption: "How many epochs of each method's reference (mean curve over its runs) reach the method's best validation " +
    "accuracy (mean over runs); \"–\" means it never does within the epochs it trained.",
  columns: [
    { key: "method", title: "Method", format: "text" },
    { key: "reference", title: "Reference", format: "text" },
    { key: "epochs", title: "Epochs trained", format: "int" },
    { key: "best", title: "Best val acc", format: "percent" },
    { key: "best_epoch", title: "Reached at epoch", format: "fixed2" },
    { key: "reference_epochs", title: "Reference epochs to match", format: "int" },
    { key: "reference_best", title: "Reference best", format: "percent" },
    { key: "reference_trained", title: "Reference epochs", format: "int" },
    { key: "seconds_to_best", title: "Seconds to best", format: "seconds" },
    { key: "reference_seconds", title: "Reference seconds to match", format: "seconds" }
  ],
  rows: matches.map((m) => ({
    method: m.method, reference: m.reference, epochs: m.epochs, best: m.best, best_epoch: m.bestEpoch, reference_epochs: m.referenceEpochs,
    reference_best: m.referenceBest, reference_trained: m.referenceTrained, seconds_to_best: m.secondsToBest,
    reference_seconds: m.referenceSeconds
  }))
})

export const expansionTable = (expansions: ReadonlyArray<Expansion>): DataTable => ({
  name: "expansion",
  title: "Expansions",
  caption: "Per expansion artifact: weight layers grown, the operators used, the SNR of the added noise (all noisy layers) and the " +
    "measured function preservation (max |Δlogits| between the source and the grown model).",
  columns: [
    { key: "method", title: "Method", format: "text" },
    { key: "grown", title: "Layers grown", format: "int" },
    { key: "operators", title: "Operators", format: "text" },
    { key: "snr_db", title: "SNR", format: "db" },
    { key: "dlogits_random", title: "max |Δlogits| (random)", format: "sci" },
    { key: "dlogits_real", title: "max |Δlogits| (real)", format: "sci" },
    { key: "preserved", title: "Preserved", format: "text" }
  ],
  rows: expansions.map((e) => ({
    method: e.method,
    grown: e.layers.filter((l) => l.growth !== "none" && l.operator !== "none").length,
    operators: [...new Set(e.layers.map((l) => l.operator).filter((o) => o !== "none"))].join(", "),
    snr_db: e.snrDb, dlogits_random: e.maxAbsDeltaLogitsRandom, dlogits_real: e.maxAbsDeltaLogitsReal,
    preserved: e.preserved
  }))
})

/** Per-epoch mean and std of every metric per method (for the CSV/Arrow output and the curves). */
export const curvesTable = (ms: ReadonlyArray<MethodStats>): DataTable => {
  const rows: Array<Record<string, string | number>> = []
  for (const m of ms) {
    const series = {
      val_accuracy: Runs.byEpoch(m.group.runs, (e) => e.valAccuracy),
      val_loss: Runs.byEpoch(m.group.runs, (e) => e.valLoss),
      train_accuracy: Runs.byEpoch(m.group.runs, (e) => e.trainAccuracy),
      train_loss: Runs.byEpoch(m.group.runs, (e) => e.trainLoss)
    }
    series.val_accuracy.forEach((e, i) => {
      const row: Record<string, string | number> = { method: m.group.label, epoch: e.epoch, runs: e.values.length }
      for (const [k, s] of Object.entries(series)) {
        row[`${k}_mean`] = Stats.mean(s[i].values)
        row[`${k}_std`] = Stats.std(s[i].values)
      }
      rows.push(row)
    })
  }
  const metric = (k: string, t: string, f: Column["format"]): Array<Column> => [
    { key: `${k}_mean`, title: `${t} mean`, format: f }, { key: `${k}_std`, title: `${t} std`, format: f }
  ]
  return {
    name: "curves",
    title: "Learning curves",
    caption: "Per-epoch mean and standard deviation over the runs of each method.",
    columns: [
      { key: "method", title: "Method", format: "text" }, { key: "epoch", title: "Epoch", format: "int" }, { key: "runs", title: "Runs", format: "int" },
      ...metric("val_accuracy", "Val acc", "percent"), ...metric("val_loss", "Val loss", "fixed4"),
      ...metric("train_accuracy", "Train acc", "percent"), ...metric("train_loss", "Train loss", "fixed4")
    ],
    rows
  }
}
