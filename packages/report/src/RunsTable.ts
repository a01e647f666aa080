/**
 * A table of all runs of a pipeline, in the spirit of `dvc exp show`: one row per stage instance that wrote a
 * metrics artifact (`artifacts/<pipeline>/<instance>/manifest.json` + `metrics.arrow`), the params and matrix vars
 * that differ between runs (only those), and the headline metrics; sortable by any column.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { ArtifactError } from "@growlab/core/Errors"
import * as Manifest from "@growlab/core/Manifest"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as Stats from "@growlab/core/Stats"
import { formatValue, type Format } from "./DataTable.js"
import * as Runs from "./Runs.js"

export interface RunRow {
  readonly run: string
  readonly kind: string
  /** Params flattened to dotted paths; objects are walked, arrays and scalars are leaves (JSON text). */
  readonly params: Readonly<Record<string, string>>
  readonly vars: Runs.Vars
  readonly metrics: Runs.RunSummary
}

/** Flattens nested objects to `a.b.c` keys; arrays and scalars become JSON text leaves. */
export const flatten = (value: unknown, prefix = ""): Record<string, string> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k))
    return out
  }
  return prefix ? { [prefix]: typeof value === "string" ? value : JSON.stringify(value) } : {}
}

/** Keys whose values are not the same in every record (a key missing from some records counts as differing). */
export const changedKeys = (records: ReadonlyArray<Readonly<Record<string, string>>>): ReadonlyArray<string> => {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].sort()
  return keys.filter((k) => new Set(records.map((r) => (k in r ? r[k] : "\u0000missing"))).size > 1)
}

const decodeManifest = Schema.decodeUnknown(Manifest.Manifest)

/** Reads every run of `pipeline` under `artifacts` (instances without metrics are not runs and are skipped). */
export const load = (artifacts: string, pipeline: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.join(artifacts, pipeline)
    if (!(yield* fs.exists(root))) {
      return yield* Effect.fail(new ArtifactError({ file: root, reason: `no artifacts for pipeline '${pipeline}' (run it first: npx nx run pipelines:${pipeline})` }))
    }
    const rows: Array<RunRow> = []
    for (const name of (yield* fs.readDirectory(root)).sort()) {
      const dir = path.join(root, name)
      const manifestFile = path.join(dir, "manifest.json")
      const metricsFile = path.join(dir, "metrics.arrow")
      if (!(yield* fs.exists(manifestFile)) || !(yield* fs.exists(metricsFile))) continue
      const text = yield* fs.readFileString(manifestFile).pipe(Effect.mapError((e) => new ArtifactError({ file: manifestFile, reason: e.message })))
      const manifest = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => new ArtifactError({ file: manifestFile, reason: "not JSON" }) }).pipe(
        Effect.flatMap(decodeManifest),
        Effect.mapError((e) => new ArtifactError({ file: manifestFile, reason: `not a manifest: ${e.message}` }))
      )
      const metrics = yield* MetricsArtifact.read(metricsFile, manifest.measurements)
      rows.push({ run: manifest.stage, kind: manifest.kind, params: flatten(manifest.params), vars: manifest.vars, metrics: Runs.summarize(metrics) })
    }
    return rows
  })

export interface Column {
  readonly key: string
  readonly title: string
  readonly format: Format
  readonly value: (r: RunRow) => string | number
  /** Best is the largest value (accuracies) rather than the smallest (losses, seconds). */
  readonly higherIsBetter: boolean
}

const METRIC_COLUMNS: ReadonlyArray<Column> = [
  { key: "epochs", title: "epochs", format: "int", value: (r) => r.metrics.epochs, higherIsBetter: true },
  { key: "train_accuracy", title: "train_acc", format: "percent", value: (r) => r.metrics.finalTrainAccuracy, higherIsBetter: true },
  { key: "train_loss", title: "train_loss", format: "fixed4", value: (r) => r.metrics.finalTrainLoss, higherIsBetter: false },
  { key: "val_accuracy", title: "val_acc", format: "percent", value: (r) => r.metrics.finalValAccuracy, higherIsBetter: true },
  { key: "val_loss", title: "val_loss", format: "fixed4", value: (r) => r.metrics.finalValLoss, higherIsBetter: false },
  { key: "first_val_accuracy", title: "val_acc@1", format: "percent", value: (r) => r.metrics.firstValAccuracy, higherIsBetter: true },
  { key: "best_val_accuracy", title: "best_val_acc", format: "percent", value: (r) => r.metrics.bestValAccuracy, higherIsBetter: true },
  { key: "seconds_per_epoch", title: "s/epoch", format: "fixed2", value: (r) => Stats.mean(r.metrics.secondsPerEpoch), higherIsBetter: false }
]

/**
 * The columns to show: the run, then the vars and params that differ between runs (a var that merely repeats a
 * differing param of the same name, as matrix vars do, is shown once, under the param's path), then the metrics.
 */
export const columns = (rows: ReadonlyArray<RunRow>): ReadonlyArray<Column> => {
  const params = changedKeys(rows.map((r) => r.params))
  const vars = changedKeys(rows.map((r) => Object.fromEntries(Object.entries(r.vars).map(([k, v]) => [k, String(v)]))))
  // a matrix var repeats the param it sets: the param column shows it (and also the runs outside the matrix)
  const duplicate = (v: string) =>
    params.some((p) => (p === v || p.endsWith(`.${v}`)) && rows.every((r) => r.vars[v] === undefined || r.params[p] === String(r.vars[v])))
  const text = (key: string, title: string, value: (r: RunRow) => string): Column => ({ key, title, format: "text", value, higherIsBetter: false })
  return [
    text("run", "run", (r) => r.run),
    ...vars.filter((v) => !duplicate(v)).map((v) => {
      const key = params.includes(v) ? `vars.${v}` : v
      return text(key, key, (r) => (r.vars[v] === undefined ? "" : String(r.vars[v])))
    }),
    ...params.map((p) => text(p, p, (r) => r.params[p] ?? "")),
    ...METRIC_COLUMNS
  ]
}

export interface SortSpec {
  readonly key: string
  readonly descending: boolean
}

/**
 * Parses `--sort` (`column`, `column:asc` or `column:desc`). Without a direction, metrics sort best first
 * (accuracies descending, losses and seconds ascending) and text columns ascending.
 */
export const parseSort = (spec: string, cols: ReadonlyArray<Column>): SortSpec | string => {
  const [key, dir] = spec.split(":")
  const col = cols.find((c) => c.key === key || c.title === key)
  if (!col) return `unknown sort column '${key}'; one of: ${cols.map((c) => c.key).join(", ")}`
  if (dir !== undefined && dir !== "asc" && dir !== "desc") return `sort direction must be asc or desc, got '${dir}'`
  return { key: col.key, descending: dir === undefined ? col.format !== "text" && col.higherIsBetter : dir === "desc" }
}

/** Sorted rows; a numeric column sorts numerically (NaN last), a text one by natural order (seed=2 before seed=10). */
export const sortRows = (rows: ReadonlyArray<RunRow>, cols: ReadonlyArray<Column>, sort: SortSpec): ReadonlyArray<RunRow> => {
  const col = cols.find((c) => c.key === sort.key)!
  const collator = new Intl.Collator("en", { numeric: true })
  return [...rows].sort((a, b) => {
    const va = col.value(a)
    const vb = col.value(b)
    if (typeof va === "number" && typeof vb === "number") {
      if (Number.isNaN(va) || Number.isNaN(vb)) return Number.isNaN(va) ? (Number.isNaN(vb) ? 0 : 1) : -1
      return sort.descending ? vb - va : va - vb
    }
    const c = collator.compare(String(va), String(vb))
    return sort.descending ? -c : c
  })
}

const clip = (s: string, width: number): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s)

/** The table as aligned text (numbers right-aligned; long param values, not run names, clipped to `maxWidth`). */
export const render = (rows: ReadonlyArray<RunRow>, cols: ReadonlyArray<Column>, sort?: SortSpec, maxWidth = 28): string => {
  const header = cols.map((c) => (sort && c.key === sort.key ? `${c.title} ${sort.descending ? "↓" : "↑"}` : c.title))
  const cells = rows.map((r) => cols.map((c) => {
    const v = c.value(r)
    return typeof v === "number" ? formatValue(v, c.format) : c.key === "run" ? v : clip(v, maxWidth)
  }))
  const widths = cols.map((_, i) => Math.max(header[i].length, ...cells.map((row) => row[i].length)))
  const line = (values: ReadonlyArray<string>) =>
    values.map((v, i) => (cols[i].format === "text" ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ").trimEnd()
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...cells.map(line)].join("\n")
}
