/**
 * The dataset artifact: uint8 images (channels-last, row-major, one contiguous buffer) and labels, with the
 * shape, class names, source checksum and applied transforms in the schema metadata.
 *
 * Arrow layout (`dataset.arrow`): columns `image` FixedSizeList<uint8>[h*w*c], `label` uint8, `source_index` int32;
 * metadata `growlab.kind=dataset`, `growlab.schemaVersion`, `growlab.dataset`, `growlab.split`, `growlab.shape` (JSON),
 * `growlab.classNames` (JSON), `growlab.sourceChecksum`, `growlab.transforms` (JSON).
 */
import * as Effect from "effect/Effect"
import { Schema as ArrowSchema, Field, Int32, Table, Uint8, makeData, makeVector, FixedSizeList, RecordBatch, Struct } from "apache-arrow"
import { readTable, writeTable, expectKind } from "./ArtifactStore.js"
import { ArtifactError } from "./Errors.js"
import { fixedBytesValues } from "./internal/arrowColumns.js"

export const SCHEMA_VERSION = "1"

export interface Dataset {
  readonly dataset: string
  readonly split: string
  /** Per-example shape without the batch axis, e.g. [32, 32, 3] or [1024]. */
  readonly shape: ReadonlyArray<number>
  readonly classNames: ReadonlyArray<string>
  /** count * prod(shape) bytes. */
  readonly images: Uint8Array
  /** count labels in [0, classNames.length). */
  readonly labels: Uint8Array
  /** Index of each example in the source split (traceability to the raw file). */
  readonly sourceIndex: Int32Array
  readonly sourceChecksum: string
  readonly transforms: ReadonlyArray<Record<string, unknown>>
}

export const count = (d: Dataset): number => d.labels.length
export const exampleSize = (d: Dataset): number => d.shape.reduce((a, b) => a * b, 1)

export const toTable = (d: Dataset): Table => {
  const width = exampleSize(d)
  const n = d.labels.length
  if (d.images.length !== n * width) {
    throw new ArtifactError({ file: "<memory>", reason: "image buffer size", field: "images", expected: String(n * width), actual: String(d.images.length) })
  }
  const imageType = new FixedSizeList(width, new Field("value", new Uint8(), false))
  const fields = [
    new Field("image", imageType, false),
    new Field("label", new Uint8(), false),
    new Field("source_index", new Int32(), false)
  ]
  const metadata = new Map<string, string>([
    ["growlab.kind", "dataset"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.dataset", d.dataset],
    ["growlab.split", d.split],
    ["growlab.shape", JSON.stringify(d.shape)],
    ["growlab.classNames", JSON.stringify(d.classNames)],
    ["growlab.sourceChecksum", d.sourceChecksum],
    ["growlab.transforms", JSON.stringify(d.transforms)]
  ])
  const schema = new ArrowSchema(fields, metadata)
  const children = [
    makeData({ type: imageType, length: n, nullCount: 0, child: makeData({ type: new Uint8(), length: n * width, nullCount: 0, data: d.images }) }),
    makeData({ type: new Uint8(), length: n, nullCount: 0, data: d.labels }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: d.sourceIndex })
  ]
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }))
  return new Table(schema, [batch])
}

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "dataset")
    const meta = table.schema.metadata
    const get = (key: string) => {
      const v = meta.get(key)
      return v === undefined
        ? Effect.fail(new ArtifactError({ file, reason: "missing metadata", field: key }))
        : Effect.succeed(v)
    }
    const shape = JSON.parse(yield* get("growlab.shape")) as Array<number>
    const labelsVec = table.getChild("label")
    const indexVec = table.getChild("source_index")
    if (!labelsVec || !indexVec || !table.getChild("image")) {
      return yield* Effect.fail(new ArtifactError({ file, reason: "missing column", expected: "image, label, source_index", actual: table.schema.fields.map((f) => f.name).join(", ") }))
    }
    const dataset: Dataset = {
      dataset: yield* get("growlab.dataset"),
      split: yield* get("growlab.split"),
      shape,
      classNames: JSON.parse(yield* get("growlab.classNames")) as Array<string>,
      images: fixedBytesValues(table, "image"),
      labels: labelsVec.data.length === 1 ? (labelsVec.data[0].values as Uint8Array).subarray(labelsVec.data[0].offset, labelsVec.data[0].offset + labelsVec.length) : Uint8Array.from(labelsVec.toArray() as Uint8Array),
      sourceIndex: indexVec.data.length === 1 ? (indexVec.data[0].values as Int32Array).subarray(indexVec.data[0].offset, indexVec.data[0].offset + indexVec.length) : Int32Array.from(indexVec.toArray() as Int32Array),
      sourceChecksum: yield* get("growlab.sourceChecksum"),
      transforms: JSON.parse(meta.get("growlab.transforms") ?? "[]") as Array<Record<string, unknown>>
    }
    const width = exampleSize(dataset)
    if (dataset.images.length !== dataset.labels.length * width) {
      return yield* Effect.fail(new ArtifactError({ file, reason: "image bytes do not match shape", field: "image", expected: String(dataset.labels.length * width), actual: String(dataset.images.length) }))
    }
    return dataset
  })

export const write = (file: string, d: Dataset) => Effect.suspend(() => writeTable(file, toTable(d)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
