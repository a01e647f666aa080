/**
 * The expansion artifact (`expansion.arrow`): one row per layer of the target model, and a summary in the metadata.
 *
 * Columns: `layer`, `source_layer`, `kind`, `growth` ("none" | "input" | "output" | "both"), `operator`, `note` utf8;
 * `in_units_source`, `in_units_target`, `out_units_source`, `out_units_target` int32 (units or channels; a Dense after
 * a Flatten counts flattened features); `in_multiplier`, `out_multiplier` float64; nullable float64 `snr_db`,
 * `signal_energy`, `noise_energy`, `noise_mean`, `noise_std` (of the independent noise draws), `quarter_max_abs_diff`.
 * Metadata: `growlab.kind=expansion`, `growlab.schemaVersion`, `growlab.method`, `growlab.summary` (JSON Summary:
 * the options, whether the plan preserves the function in exact arithmetic and why not, and the measured
 * max |Δlogits| on random and real inputs).
 */
import * as Effect from "effect/Effect"
import { Float64, Schema as ArrowSchema, Table, Utf8, makeVector, vectorFromArray, type Vector } from "apache-arrow"
import { expectKind, readTable, writeTable } from "@growlab/core/ArtifactStore"
import { ArtifactError } from "@growlab/core/Errors"
import type { LayerRecord } from "./Expander.js"
import type { Comparison } from "./Preservation.js"
import type * as Noise from "./Noise.js"
import type * as Plan from "./Plan.js"

export const SCHEMA_VERSION = "1"

export interface Summary {
  readonly method: Plan.Method
  readonly oneAxis: Plan.OneAxis
  readonly fill: Plan.Fill
  readonly noise: Noise.Scheme | null
  readonly seed: number
  readonly sourceSpec: string | null
  readonly targetSpec: string | null
  readonly sourceParams: number
  readonly targetParams: number
  /** By construction: the plan's operators preserve the logits in exact arithmetic. */
  readonly preservesFunction: boolean
  /** Why not (empty when it does). */
  readonly breaks: ReadonlyArray<string>
  readonly tolerance: number
  readonly random: Comparison
  readonly real: Comparison | null
  /** Measured: every relative difference ≤ tolerance. */
  readonly preserved: boolean
}

export interface Expansion {
  readonly layers: ReadonlyArray<LayerRecord>
  readonly summary: Summary
}

const utf8 = (xs: ReadonlyArray<string>): Vector => vectorFromArray(xs as Array<string>, new Utf8())
const f64 = (xs: ReadonlyArray<number | null>): Vector => vectorFromArray(xs as Array<number | null>, new Float64())
const i32 = (xs: ReadonlyArray<number>): Vector => makeVector(Int32Array.from(xs))

export const toTable = (e: Expansion): Table => {
  const l = e.layers
  const t = new Table({
    layer: utf8(l.map((r) => r.layer)),
    source_layer: utf8(l.map((r) => r.sourceLayer)),
    kind: utf8(l.map((r) => r.kind)),
    growth: utf8(l.map((r) => r.growth)),
    operator: utf8(l.map((r) => r.operator)),
    note: utf8(l.map((r) => r.note)),
    in_units_source: i32(l.map((r) => r.inUnits[0])),
    in_units_target: i32(l.map((r) => r.inUnits[1])),
    out_units_source: i32(l.map((r) => r.outUnits[0])),
    out_units_target: i32(l.map((r) => r.outUnits[1])),
    in_multiplier: f64(l.map((r) => r.inMultiplier)),
    out_multiplier: f64(l.map((r) => r.outMultiplier)),
    snr_db: f64(l.map((r) => r.snrDb)),
    signal_energy: f64(l.map((r) => r.signalEnergy)),
    noise_energy: f64(l.map((r) => r.noiseEnergy)),
    noise_mean: f64(l.map((r) => r.noiseMean)),
    noise_std: f64(l.map((r) => r.noiseStd)),
    quarter_max_abs_diff: f64(l.map((r) => r.quarterMaxAbsDiff))
  })
  const metadata = new Map<string, string>([
    ["growlab.kind", "expansion"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.method", e.summary.method],
    ["growlab.summary", JSON.stringify(e.summary)]
  ])
  return new Table(new ArrowSchema(t.schema.fields, metadata), t.batches)
}

const COLUMNS = [
  "layer", "source_layer", "kind", "growth", "operator", "note", "in_units_source", "in_units_target", "out_units_source",
  "out_units_target", "in_multiplier", "out_multiplier", "snr_db", "signal_energy", "noise_energy", "noise_mean", "noise_std",
  "quarter_max_abs_diff"
] as const

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "expansion")
    const cols: Record<string, Array<unknown>> = {}
    for (const c of COLUMNS) {
      const v = table.getChild(c)
      if (!v) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: c }))
      cols[c] = Array.from({ length: v.length }, (_, i) => v.get(i))
    }
    const summaryJson = table.schema.metadata.get("growlab.summary")
    if (!summaryJson) return yield* Effect.fail(new ArtifactError({ file, reason: "missing metadata", field: "growlab.summary" }))
    const num = (c: string, i: number) => (cols[c][i] === null ? null : Number(cols[c][i]))
    const layers: Array<LayerRecord> = cols.layer.map((_, i) => ({
      layer: String(cols.layer[i]), sourceLayer: String(cols.source_layer[i]), kind: String(cols.kind[i]),
      growth: cols.growth[i] as LayerRecord["growth"], operator: cols.operator[i] as LayerRecord["operator"], note: String(cols.note[i]),
      inUnits: [Number(cols.in_units_source[i]), Number(cols.in_units_target[i])],
      outUnits: [Number(cols.out_units_source[i]), Number(cols.out_units_target[i])],
      inMultiplier: Number(cols.in_multiplier[i]), outMultiplier: Number(cols.out_multiplier[i]),
      snrDb: num("snr_db", i), signalEnergy: num("signal_energy", i), noiseEnergy: num("noise_energy", i),
      noiseMean: num("noise_mean", i), noiseStd: num("noise_std", i), quarterMaxAbsDiff: num("quarter_max_abs_diff", i)
    }))
    return { layers, summary: JSON.parse(summaryJson) as Summary } satisfies Expansion
  })

export const write = (file: string, e: Expansion) => Effect.suspend(() => writeTable(file, toTable(e)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
