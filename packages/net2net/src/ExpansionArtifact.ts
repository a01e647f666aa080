/**
 * The expansion artifact of the Net2Net stages (`expansion.arrow`), laid out like @growlab/expand's so one reader
 * (and the report) handles both: one row per layer of the grown model, and a summary in the metadata.
 *
 * Columns, as in @growlab/expand: `layer`, `source_layer`, `kind`, `growth` ("none" | "input" | "output" | "both"),
 * `operator` ("net2wider", "net2deeper", "replicate", "copy", "none"), `note` utf8; `in_units_source`,
 * `in_units_target`, `out_units_source`, `out_units_target` int32 (a Dense after a Flatten counts flattened
 * features); `in_multiplier`, `out_multiplier` float64; nullable float64 `snr_db`, `signal_energy`, `noise_energy`,
 * `noise_mean`, `noise_std` (of the independent noise draws), `quarter_max_abs_diff` (always null here).
 * Net2Net's own columns after them: `new_units`, `replicated_sources`, `max_replication` int32 (replication of the
 * output units), `max_abs_diff_random`, `max_abs_diff_real` float64 (the model's measured max |Δlogits|, repeated on
 * every row; real is null without a probe).
 * Metadata: `growlab.kind=expansion`, `growlab.schemaVersion`, `growlab.method`, `growlab.summary` (JSON Summary:
 * the same keys as @growlab/expand's, incl. `random` / `real` comparisons {count, maxAbsDiff, maxAbsLogits,
 * relativeDiff} and `preserved`, plus `relative` and operation `details`).
 */
import * as Effect from "effect/Effect"
import { Float64, Schema as ArrowSchema, Table, Utf8, makeVector, vectorFromArray, type Vector } from "apache-arrow"
import { expectKind, readTable, writeTable } from "@growlab/core/ArtifactStore"
import { ArtifactError } from "@growlab/core/Errors"
import type { Comparison } from "./Preservation.js"

export const SCHEMA_VERSION = "1"

export type Operator = "net2wider" | "net2deeper" | "replicate" | "copy" | "none"

/** One layer of the grown model. */
export interface LayerRecord {
  readonly layer: string
  /** The source layer it comes from ("" for a layer Net2DeeperNet inserted). */
  readonly sourceLayer: string
  /** The layer type (`_tag`). */
  readonly kind: string
  /** Which sides of the layer grew. */
  readonly growth: "none" | "input" | "output" | "both"
  /**
   * "net2wider" when a kernel was rewritten (either side), "net2deeper" for an inserted identity layer, "replicate"
   * for BatchNormalization parameters that follow a channel mapping, "copy" for a weighted layer copied unchanged,
   * "none" for a layer without weights.
   */
  readonly operator: Operator
  readonly note: string
  /** Input features [source, target]. */
  readonly inUnits: readonly [number, number]
  readonly outUnits: readonly [number, number]
  readonly inMultiplier: number
  readonly outMultiplier: number
  /**
   * 10·log10(Σ w² / Σ η²): w = the layer's kernel as built without noise, η = the noise added to it (float64; the
   * definition of @growlab/expand). null when no noise was added.
   */
  readonly snrDb: number | null
  /** Σ w² of the kernel built without noise; null for layers without a kernel. */
  readonly signalEnergy: number | null
  readonly noiseEnergy: number | null
  /** Mean and std of the independent noise draws (null without noise). */
  readonly noiseMean: number | null
  readonly noiseStd: number | null
  /** Output units added (target − source). */
  readonly newUnits: number
  /** Source output units with a replication count above 1 (0 when the output side is not widened). */
  readonly replicatedSources: number
  /** Largest replication count of an output unit (1 when the output side is not widened). */
  readonly maxReplication: number
}

export interface Summary {
  /** "net2wider", "net2wider-noise" or "net2deeper". */
  readonly method: string
  /** @growlab/expand keys that do not apply to Net2Net (always null). */
  readonly oneAxis: null
  readonly fill: null
  readonly noise: { readonly ratio: number } | null
  readonly seed: number
  readonly sourceSpec: string | null
  readonly targetSpec: string | null
  readonly sourceParams: number
  readonly targetParams: number
  /** By construction: the transform preserves the logits in exact arithmetic (false with noise). */
  readonly preservesFunction: boolean
  /** Why not (empty when it does). */
  readonly breaks: ReadonlyArray<string>
  readonly tolerance: number
  readonly random: Comparison
  readonly real: Comparison | null
  /** The larger relativeDiff of the two probes. */
  readonly relative: number
  /** Measured: every relative difference ≤ tolerance. */
  readonly preserved: boolean
  /** Facts of the operation (the mappings' seed, the inserted layer, ...). */
  readonly details: Record<string, unknown>
}

export interface Expansion {
  readonly layers: ReadonlyArray<LayerRecord>
  readonly summary: Summary
}

const utf8 = (xs: ReadonlyArray<string>): Vector => vectorFromArray(xs as Array<string>, new Utf8())
const f64 = (xs: ReadonlyArray<number | null>): Vector => vectorFromArray(xs as Array<number | null>, new Float64())
const i32 = (xs: ReadonlyArray<number>): Vector => makeVector(Int32Array.from(xs))

/** JSON has no Infinity: a diverged measurement is written as the string "Infinity" and read back as a number. */
const replacer = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)
const reviver = (_k: string, v: unknown) => (v === "Infinity" ? Number.POSITIVE_INFINITY : v === "NaN" ? Number.NaN : v)

export const toTable = (e: Expansion): Table => {
  const l = e.layers
  const s = e.summary
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
    quarter_max_abs_diff: f64(l.map(() => null)),
    new_units: i32(l.map((r) => r.newUnits)),
    replicated_sources: i32(l.map((r) => r.replicatedSources)),
    max_replication: i32(l.map((r) => r.maxReplication)),
    max_abs_diff_random: f64(l.map(() => s.random.maxAbsDiff)),
    max_abs_diff_real: f64(l.map(() => s.real?.maxAbsDiff ?? null))
  })
  const metadata = new Map<string, string>([
    ["growlab.kind", "expansion"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.method", s.method],
    ["growlab.summary", JSON.stringify(s, replacer)]
  ])
  return new Table(new ArrowSchema(t.schema.fields, metadata), t.batches)
}

const COLUMNS = [
  "layer", "source_layer", "kind", "growth", "operator", "note", "in_units_source", "in_units_target", "out_units_source",
  "out_units_target", "in_multiplier", "out_multiplier", "snr_db", "signal_energy", "noise_energy", "noise_mean", "noise_std",
  "quarter_max_abs_diff", "new_units", "replicated_sources", "max_replication", "max_abs_diff_random", "max_abs_diff_real"
] as const

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "expansion")
    const cols: Record<string, Array<unknown>> = {}
    for (const c of COLUMNS) {
      const v = table.getChild(c)
      if (!v) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: c }))
      // `get` (not `toArray`) so that nulls come back as null
      cols[c] = Array.from({ length: v.length }, (_, i) => v.get(i))
    }
    const summaryJson = table.schema.metadata.get("growlab.summary")
    if (!summaryJson) return yield* Effect.fail(new ArtifactError({ file, reason: "missing metadata", field: "growlab.summary" }))
    const num = (c: string, i: number) => (cols[c][i] === null ? null : Number(cols[c][i]))
    const layers: Array<LayerRecord> = cols.layer.map((_, i) => ({
      layer: String(cols.layer[i]), sourceLayer: String(cols.source_layer[i]), kind: String(cols.kind[i]),
      growth: cols.growth[i] as LayerRecord["growth"], operator: cols.operator[i] as Operator, note: String(cols.note[i]),
      inUnits: [Number(cols.in_units_source[i]), Number(cols.in_units_target[i])],
      outUnits: [Number(cols.out_units_source[i]), Number(cols.out_units_target[i])],
      inMultiplier: Number(cols.in_multiplier[i]), outMultiplier: Number(cols.out_multiplier[i]),
      snrDb: num("snr_db", i), signalEnergy: num("signal_energy", i), noiseEnergy: num("noise_energy", i),
      noiseMean: num("noise_mean", i), noiseStd: num("noise_std", i),
      newUnits: Number(cols.new_units[i]), replicatedSources: Number(cols.replicated_sources[i]), maxReplication: Number(cols.max_replication[i])
    }))
    return { layers, summary: JSON.parse(summaryJson, reviver) as Summary } satisfies Expansion
  })

export const write = (file: string, e: Expansion) => Effect.suspend(() => writeTable(file, toTable(e)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
