/**
 * The metrics artifact: one row per training epoch.
 *
 * Arrow layout (`metrics.arrow`): columns `epoch` int32, `train_loss`, `train_accuracy`, `val_loss`, `val_accuracy`,
 * `seconds` (wall time of the epoch), `learning_rate` float64; metadata `growlab.kind=metrics`, `growlab.schemaVersion`,
 * `growlab.info` (JSON: run facts such as the seed, method, parameter count and FLOPs per example).
 */
import * as Effect from "effect/Effect"
import { Schema as ArrowSchema, Table, tableFromArrays } from "apache-arrow"
import { readTable, writeTable, expectKind } from "./ArtifactStore.js"
import { ArtifactError } from "./Errors.js"

export const SCHEMA_VERSION = "1"

export interface EpochMetrics {
  readonly epoch: number
  readonly trainLoss: number
  readonly trainAccuracy: number
  readonly valLoss: number
  readonly valAccuracy: number
  readonly seconds: number
  readonly learningRate: number
}

export interface Metrics {
  readonly epochs: ReadonlyArray<EpochMetrics>
  readonly info: Record<string, unknown>
}

const COLUMNS = [
  ["epoch", "epoch"], ["train_loss", "trainLoss"], ["train_accuracy", "trainAccuracy"], ["val_loss", "valLoss"],
  ["val_accuracy", "valAccuracy"], ["seconds", "seconds"], ["learning_rate", "learningRate"]
] as const

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

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "metrics")
    const cols: Record<string, Array<number>> = {}
    for (const [col, key] of COLUMNS) {
      const v = table.getChild(col)
      if (!v) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: col }))
      cols[key] = Array.from(v.toArray() as ArrayLike<number>, Number)
    }
    const epochs: Array<EpochMetrics> = cols.epoch.map((_, i) => ({
      epoch: cols.epoch[i], trainLoss: cols.trainLoss[i], trainAccuracy: cols.trainAccuracy[i], valLoss: cols.valLoss[i],
      valAccuracy: cols.valAccuracy[i], seconds: cols.seconds[i], learningRate: cols.learningRate[i]
    }))
    return { epochs, info: JSON.parse(table.schema.metadata.get("growlab.info") ?? "{}") as Record<string, unknown> } satisfies Metrics
  })

export const write = (file: string, m: Metrics) => Effect.suspend(() => writeTable(file, toTable(m)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
