/**
 * A small protocol-buffer encoder (wire types 0 varint, 2 length-delimited, 5 fixed32): enough for ONNX's ModelProto.
 * A message is built as a list of fields and encoded bottom-up: a nested message is just its bytes.
 * Nothing here parses protobuf.
 */

/** One encoded field (tag + payload), kept as chunks so large tensors are copied once, at the end. */
export type Field = ReadonlyArray<Uint8Array>

const varintBytes = (value: number | bigint): Uint8Array => {
  // int64 fields encode negatives as 10-byte two's complement
  let v = BigInt.asUintN(64, BigInt(value))
  const out: Array<number> = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

const tag = (field: number, wire: 0 | 2 | 5): Uint8Array => varintBytes(field * 8 + wire)

/** int32 / int64 / enum / bool (wire type 0). */
export const varint = (field: number, value: number | bigint): Field => {
  if (typeof value === "number" && !Number.isInteger(value)) throw new RangeError(`protobuf varint field ${field}: ${value} is not an integer`)
  return [tag(field, 0), varintBytes(value)]
}

/** A 32-bit float (wire type 5, little-endian). */
export const float = (field: number, value: number): Field => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setFloat32(0, value, true)
  return [tag(field, 5), b]
}

/** Bytes, a string (UTF-8) or a nested message (wire type 2). */
export const bytes = (field: number, value: Uint8Array | string | ReadonlyArray<Field>): Field => {
  const chunks: ReadonlyArray<Uint8Array> = typeof value === "string"
    ? [new TextEncoder().encode(value)]
    : value instanceof Uint8Array ? [value] : value.flat()
  const length = chunks.reduce((n, c) => n + c.length, 0)
  return [tag(field, 2), varintBytes(length), ...chunks]
}

/** A nested message: alias of `bytes` for readability. */
export const message = (field: number, fields: ReadonlyArray<Field>): Field => bytes(field, fields)

/** Concatenates the fields of a top-level message into its wire bytes. */
export const encode = (fields: ReadonlyArray<Field>): Uint8Array => {
  const chunks = fields.flat()
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}
