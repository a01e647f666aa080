/**
 * The model artifact: a spec (layer topology) plus every weight tensor.
 *
 * Arrow layout (`model.arrow`): one row per weight tensor, columns `name` utf8 (`<layer>/<param>`), `layer` utf8,
 * `param` utf8, `shape` list<int32>, `values` list<float32> (row-major, Dense [in, out], Conv2D [kh, kw, in, out]);
 * metadata `growlab.kind=model`, `growlab.schemaVersion`, `growlab.spec` (the encoded ModelSpec JSON),
 * `growlab.info` (JSON: provenance such as the expansion method).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Schema as ArrowSchema, Table } from "apache-arrow"
import { readTable, writeTable, expectKind } from "./ArtifactStore.js"
import { ArtifactError } from "./Errors.js"
import { ModelSpec, encodeModelSpec, inferShapes } from "./ModelSpec.js"
import { columnArray, float32ListColumn, int32ListColumn, listRows, utf8Column } from "./internal/arrowColumns.js"

export const SCHEMA_VERSION = "1"

export interface Weight {
  readonly name: string
  readonly layer: string
  readonly param: string
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array
}

export interface Model {
  readonly spec: ModelSpec
  readonly weights: ReadonlyArray<Weight>
  readonly info: Record<string, unknown>
}

export const weightMap = (m: Model): ReadonlyMap<string, Weight> => new Map(m.weights.map((w) => [w.name, w]))

/** Checks that the weights are exactly those the spec implies, with matching shapes and sizes. */
export const validate = (file: string, m: Model) =>
  Effect.gen(function*() {
    const expected = inferShapes(m.spec).flatMap((l) => l.weights)
    const byName = weightMap(m)
    for (const w of expected) {
      const got = byName.get(w.name)
      if (!got) return yield* Effect.fail(new ArtifactError({ file, reason: "missing weight", field: w.name, expected: `[${w.shape.join(", ")}]`, actual: "absent" }))
      if (got.shape.join(",") !== w.shape.join(",")) {
        return yield* Effect.fail(new ArtifactError({ file, reason: "weight shape", field: w.name, expected: `[${w.shape.join(", ")}]`, actual: `[${got.shape.join(", ")}]` }))
      }
      const size = w.shape.reduce((a, b) => a * b, 1)
      if (got.values.length !== size) {
        return yield* Effect.fail(new ArtifactError({ file, reason: "weight size", field: w.name, expected: String(size), actual: String(got.values.length) }))
      }
    }
    if (m.weights.length !== expected.length) {
      const extra = m.weights.filter((w) => !expected.some((e) => e.name === w.name)).map((w) => w.name)
      return yield* Effect.fail(new ArtifactError({ file, reason: "unexpected weights", expected: String(expected.length), actual: `${m.weights.length} (${extra.join(", ")})` }))
    }
    return m
  })

export const toTable = (m: Model): Table => {
  const table = new Table({
    name: utf8Column(m.weights.map((w) => w.name)),
    layer: utf8Column(m.weights.map((w) => w.layer)),
    param: utf8Column(m.weights.map((w) => w.param)),
    shape: int32ListColumn(m.weights.map((w) => w.shape)),
    values: float32ListColumn(m.weights.map((w) => w.values))
  })
  const metadata = new Map<string, string>([
    ["growlab.kind", "model"],
    ["growlab.schemaVersion", SCHEMA_VERSION],
    ["growlab.spec", JSON.stringify(encodeModelSpec(m.spec))],
    ["growlab.info", JSON.stringify(m.info)]
  ])
  return new Table(new ArrowSchema(table.schema.fields, metadata), table.batches)
}

export const fromTable = (file: string, table: Table) =>
  Effect.gen(function*() {
    yield* expectKind(file, table, "model")
    const specJson = table.schema.metadata.get("growlab.spec")
    if (!specJson) return yield* Effect.fail(new ArtifactError({ file, reason: "missing metadata", field: "growlab.spec" }))
    const spec = yield* Schema.decodeUnknown(ModelSpec)(JSON.parse(specJson)).pipe(
      Effect.mapError((e) => new ArtifactError({ file, reason: `invalid spec: ${e.message}`, field: "growlab.spec" }))
    )
    const names = columnArray<string>(table, "name")
    const layers = columnArray<string>(table, "layer")
    const params = columnArray<string>(table, "param")
    const shapes = listRows<Int32Array>(table, "shape")
    const values = listRows<Float32Array>(table, "values")
    const weights: Array<Weight> = names.map((name, i) => ({
      name, layer: layers[i], param: params[i], shape: Array.from(shapes[i]), values: values[i]
    }))
    const info = JSON.parse(table.schema.metadata.get("growlab.info") ?? "{}") as Record<string, unknown>
    return yield* validate(file, { spec, weights, info })
  })

export const write = (file: string, m: Model) => Effect.suspend(() => writeTable(file, toTable(m)))
export const read = (file: string) => Effect.flatMap(readTable(file), (t) => fromTable(file, t))
