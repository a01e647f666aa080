/**
 * The Grad-CAM artifact: averaged Grad-CAM maps, one row per (conv layer, class or all images), plus the index of
 * the figures written beside it.
 *
 * Arrow layout (`gradcam.arrow`): columns `layer` utf8, `layer_index` int32, `class` int32 (-1 = all images),
 * `class_name` utf8 ("all" for -1), `images` int32 (how many maps were averaged), `h`, `w` int32 (the layer's
 * output size), `map` list<float32> (h*w values, row-major, maximum 1), `input_h`, `input_w` int32, `centre_ratio`
 * float64 (mean of the central box / mean of the map; 1 = uniform); metadata `growlab.kind=gradcam`,
 * `growlab.schemaVersion`, `growlab.info` (JSON: target, seed, class names, image count).
 *
 * Figures (`figures/` output): PNGs plus `index.json` ({ figures: [{ file, kind, layer, caption, ... }] }).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  Field, Float32, Float64, List, Schema as ArrowSchema, Table, Utf8, makeData, makeVector, vectorFromArray
} from "apache-arrow"
import { readTable, writeTable, expectKind } from "@growlab/core/ArtifactStore"
import { ArtifactError } from "@growlab/core/Errors"

export const SCHEMA_VERSION = "1"

export interface MapRow {
  readonly layer: string
  readonly layerIndex: number
  /** -1 for the average over all images. */
  readonly classIndex: number
  readonly className: string
  readonly images: number
  readonly h: number
  readonly w: number
  readonly map: Float32Array
  readonly inputH: number
  readonly inputW: number
  readonly centreRatio: number
}

export interface Gradcam {
  readonly rows: ReadonlyArray<MapRow>
  readonly info: Record<string, unknown>
}

const float32List = (rows: ReadonlyArray<Float32Array>) => {
  const offsets = new Int32Array(rows.length + 1)
  rows.forEach((r, i) => { offsets[i + 1] = offsets[i] + r.length })
  const values = new Float32Array(offsets[rows.length])
  rows.forEach((r, i) => values.set(r, offsets[i]))
  const child = makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values })
  return makeVector(makeData({ type: new List(new Field("item", new Float32(), false)), length: rows.length, nullCount: 0, valueOffsets: offsets, child }))
}

const int32 = (xs: ReadonlyArray<number>) => makeVector(Int32Array.from(xs))

export const toTable = (g: Gradcam): Table => {
  const r = g.rows
  const table = new Table({
    layer: vectorFromArray(r.map((x) => x.layer), new Utf8()),
    layer_index: int32(r.map((x) => x.layerIndex)),
    class: int32(r.map((x) => x.classIndex)),
    class_name: vectorFromArray(r.map((x) => x.className), new Utf8()),
    images: int32(r.map((x) => x.images)),
    h: int32(r.map((x) => x.h)),
    w: int32(r.map((x) => x.w)),
    map: float32List(r.map((x) => x.map)),
    input_h: int32(r.map((x) => x.inputH)),
    input_w: int32(r.map((x) => x.inputW)),
    centre_ratio: vectorFromArray(r.map((x) => x.centreRatio), new Float64())
  })
  const metadata = new Map<string, string>([
    ["growlab.kind", "gradcam"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.info", JSON.stringify(g.info)]
  ])
  return new Table(new ArrowSchema(table.schema.fields, metadata), table.batches)
}

const COLUMNS = ["layer", "layer_index", "class", "class_name", "images", "h", "w", "map", "input_h", "input_w", "centre_ratio"]

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "gradcam")
    for (const c of COLUMNS) {
      if (!table.getChild(c)) return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", field: c }))
    }
    const col = (c: string) => table.getChild(c)!
    const rows: Array<MapRow> = []
    for (let i = 0; i < table.numRows; i++) {
      const map = Float32Array.from(col("map").get(i) as Iterable<number>)
      const h = Number(col("h").get(i))
      const w = Number(col("w").get(i))
      if (map.length !== h * w) {
        return yield* Effect.fail(new ArtifactError({ file, reason: `row ${i}: map size`, field: "map", expected: String(h * w), actual: String(map.length) }))
      }
      rows.push({
        layer: String(col("layer").get(i)), layerIndex: Number(col("layer_index").get(i)),
        classIndex: Number(col("class").get(i)), className: String(col("class_name").get(i)),
        images: Number(col("images").get(i)), h, w, map,
        inputH: Number(col("input_h").get(i)), inputW: Number(col("input_w").get(i)),
        centreRatio: Number(col("centre_ratio").get(i))
      })
    }
    return { rows, info: JSON.parse(table.schema.metadata.get("growlab.info") ?? "{}") as Record<string, unknown> } satisfies Gradcam
  })

export const write = (file: string, g: Gradcam) => Effect.suspend(() => writeTable(file, toTable(g)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))

/** One figure of the `figures/` output. */
export const FigureEntry = Schema.Struct({
  file: Schema.String,
  kind: Schema.Literal("average", "overlay", "placement"),
  layer: Schema.String,
  caption: Schema.String,
  className: Schema.optional(Schema.String),
  /** Overlays: which of the sampled images (0-based, in sample order). */
  image: Schema.optional(Schema.Int),
  /** Placement figures: the methods of the mask panels, left to right (after the Grad-CAM panel). */
  methods: Schema.optional(Schema.Array(Schema.String))
})
export type FigureEntry = typeof FigureEntry.Type

export const FigureIndex = Schema.Struct({ figures: Schema.Array(FigureEntry) })
export type FigureIndex = typeof FigureIndex.Type

export const FIGURE_INDEX = "index.json"
