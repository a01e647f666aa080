/** Low-level Arrow column builders and readers that avoid per-row copies. */
import {
  Field, FixedSizeList, Float32, Int32, List, Uint8, Utf8, makeData, makeVector, vectorFromArray,
  type Data, type DataType, type Table, type Vector
} from "apache-arrow"

/** A FixedSizeList<Uint8>[width] column over one contiguous byte buffer (e.g. images). */
export const fixedBytesColumn = (bytes: Uint8Array, width: number): Vector => {
  const length = bytes.length / width
  const child = makeData({ type: new Uint8(), length: bytes.length, nullCount: 0, data: bytes })
  return makeVector(makeData({ type: new FixedSizeList(width, new Field("value", new Uint8(), false)), length, nullCount: 0, child }))
}

const offsetsOf = (lengths: ReadonlyArray<number>): Int32Array => {
  const offsets = new Int32Array(lengths.length + 1)
  for (let i = 0; i < lengths.length; i++) offsets[i + 1] = offsets[i] + lengths[i]
  return offsets
}

/** A List<Float32> column from one array per row, concatenated once. */
export const float32ListColumn = (rows: ReadonlyArray<Float32Array>): Vector => {
  const offsets = offsetsOf(rows.map((r) => r.length))
  const values = new Float32Array(offsets[rows.length])
  rows.forEach((r, i) => values.set(r, offsets[i]))
  const child = makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values })
  return makeVector(makeData({ type: new List(new Field("item", new Float32(), false)), length: rows.length, nullCount: 0, valueOffsets: offsets, child }))
}

/** A List<Int32> column (e.g. tensor shapes). */
export const int32ListColumn = (rows: ReadonlyArray<ReadonlyArray<number>>): Vector => {
  const offsets = offsetsOf(rows.map((r) => r.length))
  const values = new Int32Array(offsets[rows.length])
  rows.forEach((r, i) => values.set(r, offsets[i]))
  const child = makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values })
  return makeVector(makeData({ type: new List(new Field("item", new Int32(), false)), length: rows.length, nullCount: 0, valueOffsets: offsets, child }))
}

export const utf8Column = (values: ReadonlyArray<string>): Vector => vectorFromArray(values as Array<string>, new Utf8())

const chunks = (table: Table, column: string): ReadonlyArray<Data<DataType>> => {
  const v = table.getChild(column)
  if (!v) throw new Error(`missing column '${column}'`)
  return v.data as ReadonlyArray<Data<DataType>>
}

/** The contiguous child values of a FixedSizeList<Uint8> column (one copy only when the file has several batches). */
export const fixedBytesValues = (table: Table, column: string): Uint8Array => {
  const parts = chunks(table, column).map((d) => {
    const child = d.children[0]
    const width = (d.type as unknown as FixedSizeList).listSize
    return (child.values as Uint8Array).subarray(d.offset * width, (d.offset + d.length) * width)
  })
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Rows of a List<T> numeric column as typed-array views (no copies). */
export const listRows = <A extends Float32Array | Int32Array>(table: Table, column: string): Array<A> => {
  const rows: Array<A> = []
  for (const d of chunks(table, column)) {
    const offsets = d.valueOffsets as Int32Array
    const values = d.children[0].values as A
    for (let i = d.offset; i < d.offset + d.length; i++) rows.push(values.subarray(offsets[i], offsets[i + 1]) as A)
  }
  return rows
}

/** A plain column as a JS array. */
export const columnArray = <T>(table: Table, column: string): Array<T> => {
  const v = table.getChild(column)
  if (!v) throw new Error(`missing column '${column}'`)
  return v.toArray() as Array<T>
}
