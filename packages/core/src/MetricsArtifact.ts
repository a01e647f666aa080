/**
 * The metrics artifact: one row per training epoch.
 *
 * Arrow layout (`metrics.arrow`): columns `epoch` int32, `train_loss`, `train_accuracy`, `val_loss`, `val_accuracy`,
 * `learning_rate` float64; metadata `growlab.kind=metrics`, `growlab.schemaVersion`, `growlab.info` (JSON: run facts
 * such as the seed, method, parameter count and FLOPs per example).
 *
 * The file holds results only, so a bit-identical retrain writes a byte-identical file and reruns nothing
 * downstream. Each epoch's wall time is a measurement: the train stage puts it in its manifest
 * (`measurements.epochSeconds`), and `read` joins it back into `EpochMetrics.seconds` when given (schema 1 files,
 * which still had a `seconds` column, are read as they are).
 */
import * as Effect from "effect/Effect"
import { Schema as ArrowSchema, Table, tableFromArrays } from "apache-arrow"
import { readTable, writeTable, expectKind } from "./ArtifactStore.js"
import { ArtifactError } from "./Errors.js"

export const SCHEMA_VERSION = "2"

export interface EpochMetrics {
  readonly epoch: number
  readonly trainLoss: number
  readonly trainAccuracy: number
  readonly valLoss: number
  readonly valAccuracy: number
  /** Wall time of the epoch (from the run's measurements; NaN when they are not known). */
  readonly seconds: number
  readonly learningRate: number
}

export interface Metrics {
  readonly epochs: ReadonlyArray<EpochMetrics>
  readonly info: Record<string, unknown>
}

const COLUMNS = [
  ["epoch", "epoch"], ["train_loss", "trainLoss"], ["train_accuracy", "trainAccuracy"], ["val_loss", "valLoss"],
  ["val_accuracy", "valAccuracy"], ["learning_rate", "learningRate"]
] as const

/** The run-to-run part of a training's metrics, for its manifest's `measurements`. */
export const measurementsOf = (m: Metrics): { readonly epochSeconds: ReadonlyArray<number> } => ({ epochSeconds: m.epochs.map((e) => e.seconds) })

/** Epoch wall times from a manifest's measurements, when it has them. */
const epochSeconds = (measurements: Readonly<Record<string, unknown>> | undefined): ReadonlyArray<number> | undefined => {
  const v = measurements?.epochSeconds
  return Array.isArray(v) && v.every((x) => typeof x === "number") ? v as ReadonlyArray<number> : undefined
}

export const toTable = (m: Metrics): Table => {
  const cols: Record<string, Float64Array | Int32Array> = {}
  for (const [col, key] of COLUMNS) {
    cols[col] = key === "epoch" ? Int32Array.from(m.epochs.map((e) => e.epoch)) : Float64Array.from(m.epochs.map((e) => e[key]))
  }
  const t = tableFromArrays(cols)
  const metadata = new Map<string, string>([
    ["growlab.kind", "metrics"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.info", JSON.stringify(m.info)]
  ])
  return new Table(new ArrowSchema(t.schema.fields, metadata), t.batches)
}

export const fromTable = (file: string, table: Table, measurements?: Readonly<Record<string, unknown>>) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "metrics")
    const cols: Record<string, Array<number>> = {}
    for (const [col, key] of COLUMNS) {
      const v = table.getChild(col)
      if (!v) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: col }))
      cols[key] = Array.from(v.toArray() as ArrayLike<number>, Number)
    }
    const legacy = table.getChild("seconds")
    const seconds = legacy ? Array.from(legacy.toArray() as ArrayLike<number>, Number) : epochSeconds(measurements)
    const epochs: Array<EpochMetrics> = cols.epoch.map((_, i) => ({
      epoch: cols.epoch[i], trainLoss: cols.trainLoss[i], trainAccuracy: cols.trainAccuracy[i], valLoss: cols.valLoss[i],
      valAccuracy: cols.valAccuracy[i], seconds: seconds?.[i] ?? Number.NaN, learningRate: cols.learningRate[i]
    }))
    return { epochs, info: JSON.parse(table.schema.metadata.get("growlab.info") ?? "{}") as Record<string, unknown> } satisfies Metrics
  })

export const write = (file: string, m: Metrics) => Effect.suspend(() => writeTable(file, toTable(m)))
/** Reads a metrics artifact; `measurements` (the producing run's manifest's) fill in each epoch's seconds. */
export const read = (file: string, measurements?: Readonly<Record<string, unknown>>) =>
  Effect.flatMap(readTable(file), (t) => fromTable(file, t, measurements))
