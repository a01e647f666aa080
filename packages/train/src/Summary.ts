/**
 * Summaries of training curves: the first epoch, the best epoch and the final epoch of one run, and the spread of a
 * number over repeated runs (seeds come from the pipeline matrix: one metrics artifact per seed).
 */
import * as Option from "effect/Option"
import type { EpochMetrics, Metrics } from "@growlab/core/MetricsArtifact"

export interface RunSummary {
  readonly epochs: number
  /** Epoch 1: how much a growth method gives before training has done much. */
  readonly first: EpochMetrics
  /** The epoch with the highest validation accuracy (the earliest one on ties). */
  readonly best: EpochMetrics
  /** The epoch with the lowest validation loss (the earliest one on ties). */
  readonly bestLoss: EpochMetrics
  readonly final: EpochMetrics
  /** Sum of the epochs' wall seconds. */
  readonly totalSeconds: number
  readonly meanEpochSeconds: number
}

/** Summary of one run; none when it has no epochs. */
export const summarize = (metrics: Metrics | ReadonlyArray<EpochMetrics>): Option.Option<RunSummary> => {
  const epochs = "epochs" in metrics ? metrics.epochs : metrics
  if (epochs.length === 0) return Option.none()
  const sorted = [...epochs].sort((a, b) => a.epoch - b.epoch)
  const best = sorted.reduce((b, e) => (e.valAccuracy > b.valAccuracy ? e : b))
  const bestLoss = sorted.reduce((b, e) => (e.valLoss < b.valLoss ? e : b))
  const totalSeconds = sorted.reduce((s, e) => s + e.seconds, 0)
  return Option.some({
    epochs: sorted.length, first: sorted[0], best, bestLoss, final: sorted[sorted.length - 1],
    totalSeconds, meanEpochSeconds: totalSeconds / sorted.length
  })
}

export interface Spread {
  readonly n: number
  readonly mean: number
  /** Sample standard deviation (n − 1); NaN for a single run. */
  readonly std: number
  readonly min: number
  readonly max: number
}

export const spread = (values: ReadonlyArray<number>): Spread => {
  const n = values.length
  if (n === 0) return { n, mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN }
  const mean = values.reduce((a, b) => a + b, 0) / n
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : Number.NaN
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values) }
}

export interface RepeatedSummary {
  readonly runs: number
  readonly firstValAccuracy: Spread
  readonly bestValAccuracy: Spread
  readonly finalValAccuracy: Spread
  readonly finalValLoss: Spread
  readonly finalTrainAccuracy: Spread
  readonly finalTrainLoss: Spread
  readonly meanEpochSeconds: Spread
}

/** Spread over repeated runs of the same configuration (runs without epochs are left out). */
export const acrossRuns = (runs: ReadonlyArray<Metrics | ReadonlyArray<EpochMetrics>>): RepeatedSummary => {
  const s = runs.flatMap((r) => Option.toArray(summarize(r)))
  const of = (f: (r: RunSummary) => number) => spread(s.map(f))
  return {
    runs: s.length,
    firstValAccuracy: of((r) => r.first.valAccuracy),
    bestValAccuracy: of((r) => r.best.valAccuracy),
    finalValAccuracy: of((r) => r.final.valAccuracy),
    finalValLoss: of((r) => r.final.valLoss),
    finalTrainAccuracy: of((r) => r.final.trainAccuracy),
    finalTrainLoss: of((r) => r.final.trainLoss),
    meanEpochSeconds: of((r) => r.meanEpochSeconds)
  }
}
