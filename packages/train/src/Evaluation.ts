/**
 * Loss and accuracy of a model on labelled data, overall and per class, and the evaluation artifact.
 *
 * Arrow layout (`evaluation.arrow`): one row per class, then one overall row; columns `class` int32 (−1 for the
 * overall row), `class_name` utf8 ("all"), `count` int32, `correct` int32, `accuracy` float64 (correct / count),
 * `loss` float64 (mean softmax cross-entropy of those examples); metadata `growlab.kind=evaluation`,
 * `growlab.schemaVersion`, `growlab.info` (JSON: model and dataset facts).
 */
import * as tf from "@tensorflow/tfjs"
import * as Effect from "effect/Effect"
import { Schema as ArrowSchema, Table, tableFromArrays } from "apache-arrow"
import { expectKind, readTable, writeTable } from "@growlab/core/ArtifactStore"
import { ArtifactError } from "@growlab/core/Errors"
import type { ModelSpec } from "@growlab/core/ModelSpec"
import * as Forward from "./Forward.js"
import * as Loss from "./Loss.js"
import * as Native from "./internal/native.js"

export const SCHEMA_VERSION = "1"

/** Per-example results: cross-entropy loss and predicted class (first argmax). */
export interface Predictions {
  readonly loss: Float32Array
  readonly predicted: Int32Array
}

export interface PredictOptions {
  readonly batchSize?: number
  readonly kernels?: "tfjs" | "native"
}

/** Runs the model over x [n, ...] in batches and reads per-example losses against y (int32 [n]) and predictions. */
export const predict = (spec: ModelSpec, params: Forward.Params, x: tf.Tensor, y: tf.Tensor, options: PredictOptions = {}): Predictions => {
  const n = x.shape[0]
  const batchSize = options.batchSize ?? 500
  const native = options.kernels === "native" && Native.available()
  const loss = new Float32Array(n)
  const predicted = new Int32Array(n)
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start)
    const [l, p] = tf.tidy(() => {
      const xb = native ? Native.sliceRows(x, start, size) : tf.slice(x, start, size)
      const yb = native ? Native.sliceRows(y, start, size) : tf.slice(y, start, size)
      const logits = Forward.apply(spec, params, xb, { kernels: options.kernels })
      return native
        ? [Native.crossEntropyPerExample(logits, yb), Native.argMax(logits)]
        : [Loss.crossEntropyPerExample(logits, yb), tf.argMax(logits, 1)]
    })
    loss.set(l.dataSync() as Float32Array, start)
    predicted.set(p.dataSync() as Int32Array, start)
    l.dispose()
    p.dispose()
  }
  return { loss, predicted }
}

export interface Row {
  /** Class index, or −1 for the overall row. */
  readonly classIndex: number
  readonly className: string
  readonly count: number
  readonly correct: number
  readonly accuracy: number
  readonly loss: number
}

export interface Evaluation {
  readonly rows: ReadonlyArray<Row>
  readonly info: Record<string, unknown>
}

/** Aggregates predictions by class (one row per class name) plus an overall row (last). */
export const summarize = (p: Predictions, labels: ArrayLike<number>, classNames: ReadonlyArray<string>): ReadonlyArray<Row> => {
  const k = classNames.length
  const count = new Float64Array(k + 1)
  const correct = new Float64Array(k + 1)
  const lossSum = new Float64Array(k + 1)
  for (let i = 0; i < p.loss.length; i++) {
    const c = labels[i]
    if (!(c >= 0 && c < k)) throw new Error(`label ${c} of example ${i} is outside the ${k} class names`)
    const hit = p.predicted[i] === c ? 1 : 0
    for (const slot of [c, k]) {
      count[slot]++
      correct[slot] += hit
      lossSum[slot] += p.loss[i]
    }
  }
  const row = (slot: number, classIndex: number, className: string): Row => ({
    classIndex, className, count: count[slot], correct: correct[slot],
    accuracy: count[slot] > 0 ? correct[slot] / count[slot] : Number.NaN,
    loss: count[slot] > 0 ? lossSum[slot] / count[slot] : Number.NaN
  })
  return [...classNames.map((name, c) => row(c, c, name)), row(k, -1, "all")]
}

/** Mean loss and accuracy over all examples (the overall row without per-class rows). */
export const overallOf = (p: Predictions, labels: ArrayLike<number>): Row => {
  let correct = 0
  let lossSum = 0
  for (let i = 0; i < p.loss.length; i++) {
    if (p.predicted[i] === labels[i]) correct++
    lossSum += p.loss[i]
  }
  const count = p.loss.length
  return { classIndex: -1, className: "all", count, correct, accuracy: count > 0 ? correct / count : Number.NaN, loss: count > 0 ? lossSum / count : Number.NaN }
}

/** The overall row. */
export const overall = (e: Evaluation | ReadonlyArray<Row>): Row => {
  const rows = "rows" in e ? e.rows : e
  return rows.find((r) => r.classIndex === -1) ?? rows[rows.length - 1]
}

export const toTable = (e: Evaluation): Table => {
  const t = tableFromArrays({
    class: Int32Array.from(e.rows.map((r) => r.classIndex)),
    class_name: e.rows.map((r) => r.className),
    count: Int32Array.from(e.rows.map((r) => r.count)),
    correct: Int32Array.from(e.rows.map((r) => r.correct)),
    accuracy: Float64Array.from(e.rows.map((r) => r.accuracy)),
    loss: Float64Array.from(e.rows.map((r) => r.loss))
  })
  const metadata = new Map<string, string>([
    ["growlab.kind", "evaluation"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.info", JSON.stringify(e.info)]
  ])
  return new Table(new ArrowSchema(t.schema.fields, metadata), t.batches)
}

const COLUMNS = ["class", "class_name", "count", "correct", "accuracy", "loss"] as const

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "evaluation")
    const cols: Record<string, Array<unknown>> = {}
    for (const c of COLUMNS) {
      const v = table.getChild(c)
      if (!v) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: c }))
      cols[c] = Array.from(v.toArray() as ArrayLike<unknown>)
    }
    const rows: Array<Row> = cols.class.map((_, i) => ({
      classIndex: Number(cols.class[i]), className: String(cols.class_name[i]), count: Number(cols.count[i]),
      correct: Number(cols.correct[i]), accuracy: Number(cols.accuracy[i]), loss: Number(cols.loss[i])
    }))
    return { rows, info: JSON.parse(table.schema.metadata.get("growlab.info") ?? "{}") as Record<string, unknown> } satisfies Evaluation
  })

export const write = (file: string, e: Evaluation) => Effect.suspend(() => writeTable(file, toTable(e)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
