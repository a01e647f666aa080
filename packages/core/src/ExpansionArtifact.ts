/**
 * The expansion artifact (`expansion.arrow`) of every growth method (@growlab/expand's operators, @growlab/net2net's
 * Net2WiderNet and Net2DeeperNet): one row per layer of the grown model, and a summary in the metadata. One layout,
 * one writer, one reader; the report reads it with `readPartial`, which keeps working on older or partial tables.
 *
 * Columns (in this order):
 * - `layer`, `source_layer` ("" for a layer that was inserted), `kind` (the layer's `_tag`), `growth` ("none" |
 *   "input" | "output" | "both"), `operator`, `note` utf8;
 * - `in_units_source`, `in_units_target`, `out_units_source`, `out_units_target` int32 (units or channels; a Dense
 *   after a Flatten counts flattened features); `in_multiplier`, `out_multiplier` float64;
 * - nullable float64 `snr_db` (10·log10(Σ signal² / Σ noise²) of the kernel), `signal_energy`, `noise_energy`,
 *   `noise_mean`, `noise_std` (of the independent noise draws), `quarter_max_abs_diff` (max |block(0,0) −
 *   block(last,last)| of a tiled kernel);
 * - only for growth by a unit mapping (Net2WiderNet, and Net2DeeperNet's table): `new_units`, `replicated_sources`,
 *   `max_replication` int32 (replication of the output units), then `max_abs_diff_random`, `max_abs_diff_real` float64
 *   (the summary's measured max |Δlogits|, repeated on every row; real null without a real probe).
 * Metadata: `growlab.kind=expansion`, `growlab.schemaVersion`, `growlab.method`, `growlab.summary` (JSON of Summary;
 * a non-finite number, a diverged measurement, is written as the string "Infinity" / "NaN" and read back as a number).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Float64, Schema as ArrowSchema, Table, Utf8, makeVector, vectorFromArray, type Vector } from "apache-arrow"
import { expectKind, readTable, writeTable } from "./ArtifactStore.js"
import { ArtifactError } from "./Errors.js"
import { Comparison } from "./Preservation.js"

export const SCHEMA_VERSION = "1"

export const Growth = Schema.Literal("none", "input", "output", "both")
export type Growth = typeof Growth.Type

const Units = Schema.Tuple(Schema.Number, Schema.Number)
const Measure = Schema.NullOr(Schema.Number)

/** One layer of the grown model. */
export const LayerRecord = Schema.Struct({
  layer: Schema.String,
  /** The source layer it comes from ("" for an inserted layer). */
  sourceLayer: Schema.String,
  kind: Schema.String,
  growth: Growth,
  /** What filled the layer's weights (an operator's name, "replicate", "copy", "none", "net2wider", ...). */
  operator: Schema.String,
  note: Schema.String,
  /** Input features [source, target]. */
  inUnits: Units,
  outUnits: Units,
  inMultiplier: Schema.Number,
  outMultiplier: Schema.Number,
  snrDb: Measure,
  signalEnergy: Measure,
  noiseEnergy: Measure,
  noiseMean: Measure,
  noiseStd: Measure,
  quarterMaxAbsDiff: Measure,
  /** Growth by a unit mapping: output units added, source units replicated more than once, the largest count. */
  newUnits: Schema.optional(Schema.Number),
  replicatedSources: Schema.optional(Schema.Number),
  maxReplication: Schema.optional(Schema.Number)
})
export type LayerRecord = typeof LayerRecord.Type

/**
 * The summary. `relative` and `details` are written by the methods that report them (Net2Net), and left out
 * otherwise; the key order is the order here.
 */
export const Summary = Schema.Struct({
  /** The method as a pipeline names it ("noisy-diagonal", "net2wider-noise", "net2deeper", ...). */
  method: Schema.String,
  /** @growlab/expand's one-axis rule and envelope fill (null for methods without them). */
  oneAxis: Schema.NullOr(Schema.String),
  fill: Schema.NullOr(Schema.String),
  /** The noise params as given (null without noise). */
  noise: Schema.NullOr(Schema.Object),
  seed: Schema.Number,
  sourceSpec: Schema.NullOr(Schema.String),
  targetSpec: Schema.NullOr(Schema.String),
  sourceParams: Schema.Number,
  targetParams: Schema.Number,
  /** By construction: the grown model computes the source's logits in exact arithmetic. */
  preservesFunction: Schema.Boolean,
  /** Why not (empty when it does). */
  breaks: Schema.Array(Schema.String),
  tolerance: Schema.Number,
  random: Comparison,
  real: Schema.NullOr(Comparison),
  /** The larger relativeDiff of the two probes. */
  relative: Schema.optional(Schema.Number),
  /** Measured: every relative difference ≤ tolerance. */
  preserved: Schema.Boolean,
  /** Facts of the operation (mappings, the inserted layer, a method's own params, ...). */
  details: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type Summary = typeof Summary.Type

export interface Expansion {
  readonly layers: ReadonlyArray<LayerRecord>
  readonly summary: Summary
}

type Cell = string | number | null
type ArrowType = "utf8" | "int32" | "float64"

/** A column: its Arrow type, and how a record (and the summary) fill it. */
interface Column {
  readonly name: string
  readonly type: ArrowType
  readonly write: (r: LayerRecord, s: Summary) => Cell
  /** The record field (and tuple index) the column reads back into; none for columns copied from the summary. */
  readonly field?: readonly [keyof LayerRecord, 0 | 1] | keyof LayerRecord
}

const col = (name: string, type: ArrowType, field: keyof LayerRecord | readonly [keyof LayerRecord, 0 | 1]): Column => ({
  name, type, field,
  write: (r) => typeof field === "string" ? (r[field] as Cell | undefined) ?? null : (r[field[0]] as ReadonlyArray<number>)[field[1]]
})

const BASE: ReadonlyArray<Column> = [
  col("layer", "utf8", "layer"), col("source_layer", "utf8", "sourceLayer"), col("kind", "utf8", "kind"),
  col("growth", "utf8", "growth"), col("operator", "utf8", "operator"), col("note", "utf8", "note"),
  col("in_units_source", "int32", ["inUnits", 0]), col("in_units_target", "int32", ["inUnits", 1]),
  col("out_units_source", "int32", ["outUnits", 0]), col("out_units_target", "int32", ["outUnits", 1]),
  col("in_multiplier", "float64", "inMultiplier"), col("out_multiplier", "float64", "outMultiplier"),
  col("snr_db", "float64", "snrDb"), col("signal_energy", "float64", "signalEnergy"), col("noise_energy", "float64", "noiseEnergy"),
  col("noise_mean", "float64", "noiseMean"), col("noise_std", "float64", "noiseStd"), col("quarter_max_abs_diff", "float64", "quarterMaxAbsDiff")
]

const MAPPING: ReadonlyArray<Column> = [
  col("new_units", "int32", "newUnits"), col("replicated_sources", "int32", "replicatedSources"), col("max_replication", "int32", "maxReplication"),
  { name: "max_abs_diff_random", type: "float64", write: (_r, s) => s.random.maxAbsDiff },
  { name: "max_abs_diff_real", type: "float64", write: (_r, s) => s.real?.maxAbsDiff ?? null }
]

/** Every column, in table order (the mapping columns last). */
const ALL: ReadonlyArray<Column> = [...BASE, ...MAPPING]

/** Every column name, in table order. */
export const COLUMNS: ReadonlyArray<string> = ALL.map((c) => c.name)

/** Whether the records carry a unit mapping (then the table has the mapping columns). */
const mapped = (layers: ReadonlyArray<LayerRecord>): boolean => layers.length > 0 && layers.every((l) => l.newUnits !== undefined)

const vector = (type: ArrowType, xs: Array<Cell>): Vector =>
  type === "utf8" ? vectorFromArray(xs as Array<string>, new Utf8())
    : type === "float64" ? vectorFromArray(xs as Array<number | null>, new Float64())
    : makeVector(Int32Array.from(xs as Array<number>))

/** JSON has no Infinity: a diverged measurement is written as the string "Infinity" and read back as a number. */
const replacer = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)
const reviver = (_k: string, v: unknown) => (v === "Infinity" ? Number.POSITIVE_INFINITY : v === "NaN" ? Number.NaN : v)

export const toTable = (e: Expansion): Table => {
  const columns = mapped(e.layers) ? ALL : BASE
  const t = new Table(Object.fromEntries(columns.map((c) => [c.name, vector(c.type, e.layers.map((r) => c.write(r, e.summary)))])))
  const metadata = new Map<string, string>([
    ["growlab.kind", "expansion"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.method", e.summary.method],
    ["growlab.summary", JSON.stringify(Schema.encodeSync(Summary)(e.summary), replacer)]
  ])
  return new Table(new ArrowSchema(t.schema.fields, metadata), t.batches)
}

/** Column values by name (nulls as null); absent columns are absent. */
const columnsOf = (table: Table): Map<string, Array<unknown>> => {
  const out = new Map<string, Array<unknown>>()
  for (const name of COLUMNS) {
    const v = table.getChild(name)
    if (v) out.set(name, Array.from({ length: v.length }, (_, i) => v.get(i) as unknown))
  }
  return out
}

const cell = (type: ArrowType, v: unknown): Cell => (v === null || v === undefined ? null : type === "utf8" ? String(v) : Number(v))

/** The records of the table, with the fields whose columns are present (a tuple field needs both of its columns). */
const recordsOf = (table: Table, cols: Map<string, Array<unknown>>): Array<Record<string, unknown>> =>
  Array.from({ length: table.numRows }, (_, i) => {
    const r: Record<string, unknown> = {}
    for (const c of ALL) {
      const values = cols.get(c.name)
      if (!values || c.field === undefined) continue
      if (typeof c.field === "string") r[c.field] = cell(c.type, values[i])
      else ((r[c.field[0]] ??= [undefined, undefined]) as Array<unknown>)[c.field[1]] = cell(c.type, values[i])
    }
    for (const k of ["inUnits", "outUnits"]) if (Array.isArray(r[k]) && (r[k] as Array<unknown>).includes(undefined)) delete r[k]
    return r
  })

/** The summary's JSON, parsed (undefined when absent or not JSON). */
const parseSummary = (table: Table) =>
  Effect.try(() => JSON.parse(table.schema.metadata.get("growlab.summary") ?? "", reviver) as unknown).pipe(Effect.orElseSucceed(() => undefined))

/** Reads a table strictly: every base column, the mapping columns when present, a complete summary. */
export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "expansion")
    const cols = columnsOf(table)
    const missing = BASE.find((c) => !cols.has(c.name))
    if (missing) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: missing.name }))
    const raw = yield* parseSummary(table)
    if (raw === undefined) return yield* Effect.fail(new ArtifactError({ file, reason: "missing or invalid metadata", field: "growlab.summary" }))
    const summary = yield* Schema.decodeUnknown(Summary)(raw).pipe(
      Effect.mapError((e) => new ArtifactError({ file, reason: `invalid summary: ${e.message}`, field: "growlab.summary" })))
    const layers = yield* Schema.decodeUnknown(Schema.Array(LayerRecord))(recordsOf(table, cols)).pipe(
      Effect.mapError((e) => new ArtifactError({ file, reason: `invalid layer rows: ${e.message}` })))
    return { layers, summary } satisfies Expansion
  })

/** What a tolerant reader gets: each layer's fields whose columns are present, and each summary field that decodes. */
export interface Partial {
  readonly layers: ReadonlyArray<{ readonly [K in keyof LayerRecord]?: LayerRecord[K] | null }>
  readonly summary: { readonly [K in keyof Summary]?: Summary[K] }
  /** `growlab.method` of the metadata. */
  readonly method: string | undefined
}

/** Reads what is there, for readers that must keep working while the layout grows: only the kind must be right. */
export const fromTablePartial = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "expansion")
    const raw = yield* parseSummary(table)
    const summary: Record<string, unknown> = {}
    if (raw !== null && typeof raw === "object") {
      for (const [k, field] of Object.entries(Summary.fields)) {
        const one = Schema.decodeUnknownOption(Schema.Struct({ [k]: field }))({ [k]: (raw as Record<string, unknown>)[k] })
        if (Option.isSome(one) && one.value[k] !== undefined) summary[k] = one.value[k]
      }
    }
    return { layers: recordsOf(table, columnsOf(table)), summary, method: table.schema.metadata.get("growlab.method") } as Partial
  })

export const write = (file: string, e: Expansion) => Effect.suspend(() => writeTable(file, toTable(e)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
export const readPartial = (file: string) => Effect.flatMap(readTable(file), (t) => fromTablePartial(file, t))
