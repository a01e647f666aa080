/**
 * A minimal protocol-buffer encoder (proto3 wire format: varints, 32-bit floats, length-delimited fields) and the
 * few TensorFlow messages growlab writes: GraphDef / NodeDef / AttrValue / TensorProto / TensorShapeProto,
 * SignatureDef / TensorInfo, MetaGraphDef and SavedModel. Field numbers are those of tensorflow/core/framework/*.proto
 * and tensorflow/core/protobuf/{meta_graph,saved_model}.proto (stable since TF 1.x).
 *
 * Only encoding: nothing here parses protos. Messages are encoded bottom-up (a nested message is its bytes).
 */

/** A growable byte buffer with protobuf field writers. */
export class Writer {
  private buf = new Uint8Array(256)
  private len = 0

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  private byte(b: number): void {
    this.reserve(1)
    this.buf[this.len++] = b
  }

  /** An unsigned varint (up to 2^53) or a negative int64 (10-byte two's complement, as protobuf encodes int64). */
  rawVarint(value: number): void {
    if (!Number.isInteger(value)) throw new Error(`varint of a non-integer ${value}`)
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value))
      for (let i = 0; i < 9; i++) {
        this.byte(Number(v & 0x7fn) | 0x80)
        v >>= 7n
      }
      this.byte(Number(v))
      return
    }
    let v = value
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    this.byte(v)
  }

  private tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.rawVarint(field * 8 + wire)
  }

  /** int32 / int64 / uint / enum / bool field (wire type 0). Zero is written too (callers skip defaults). */
  varint(field: number, value: number): this {
    this.tag(field, 0)
    this.rawVarint(value)
    return this
  }

  bool(field: number, value: boolean): this {
    return this.varint(field, value ? 1 : 0)
  }

  float(field: number, value: number): this {
    this.tag(field, 5)
    this.reserve(4)
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true)
    this.len += 4
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2)
    this.rawVarint(value.length)
    this.reserve(value.length)
    this.buf.set(value, this.len)
    this.len += value.length
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  /** A nested message: its encoded bytes. */
  message(field: number, value: Uint8Array): this {
    return this.bytes(field, value)
  }

  packedVarints(field: number, values: ReadonlyArray<number>): this {
    const inner = new Writer()
    for (const v of values) inner.rawVarint(v)
    return this.bytes(field, inner.finish())
  }

  packedFloats(field: number, values: ReadonlyArray<number>): this {
    const data = new Uint8Array(values.length * 4)
    const view = new DataView(data.buffer)
    values.forEach((v, i) => view.setFloat32(i * 4, v, true))
    return this.bytes(field, data)
  }

  /** A map<string, Message> entry: key field 1, value field 2. */
  mapEntry(field: number, key: string, value: Uint8Array): this {
    return this.message(field, encode((w) => w.string(1, key).message(2, value)))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

export const encode = (build: (w: Writer) => void): Uint8Array => {
  const w = new Writer()
  build(w)
  return w.finish()
}

// ---------------------------------------------------------------------------------------------------------------
// TensorFlow messages

/** tensorflow.DataType values used here. */
export const DT = { float: 1, int32: 3, string: 7, bool: 10, bfloat16: 14, resource: 20 } as const
export type DataType = (typeof DT)[keyof typeof DT]

/** TensorShapeProto: dims (−1 = unknown), or unknown rank when `dims` is undefined. */
export const tensorShape = (dims: ReadonlyArray<number> | undefined): Uint8Array =>
  encode((w) => {
    if (dims === undefined) {
      w.bool(3, true)
      return
    }
    for (const d of dims) w.message(2, encode((dw) => dw.varint(1, d)))
  })

/** TensorProto of float32 or int32 values with the given shape (values stored in tensor_content, little-endian). */
export const tensorProto = (dtype: typeof DT.float | typeof DT.int32, shape: ReadonlyArray<number>, values: ReadonlyArray<number>): Uint8Array =>
  encode((w) => {
    w.varint(1, dtype)
    w.message(2, tensorShape(shape))
    const data = new Uint8Array(values.length * 4)
    const view = new DataView(data.buffer)
    values.forEach((v, i) => dtype === DT.float ? view.setFloat32(i * 4, v, true) : view.setInt32(i * 4, v, true))
    if (values.length > 0) w.bytes(4, data)
  })

/** An AttrValue. */
export type Attr =
  | { readonly kind: "type"; readonly value: DataType }
  | { readonly kind: "i"; readonly value: number }
  | { readonly kind: "f"; readonly value: number }
  | { readonly kind: "b"; readonly value: boolean }
  | { readonly kind: "s"; readonly value: string }
  | { readonly kind: "shape"; readonly value: ReadonlyArray<number> | undefined }
  | { readonly kind: "tensor"; readonly value: Uint8Array }
  | { readonly kind: "listI"; readonly value: ReadonlyArray<number> }
  | { readonly kind: "listS"; readonly value: ReadonlyArray<string> }
  | { readonly kind: "listType"; readonly value: ReadonlyArray<DataType> }

export const attrValue = (a: Attr): Uint8Array =>
  encode((w) => {
    switch (a.kind) {
      case "type": w.varint(6, a.value); break
      case "i": w.varint(3, a.value); break
      case "f": w.float(4, a.value); break
      case "b": w.bool(5, a.value); break
      case "s": w.string(2, a.value); break
      case "shape": w.message(7, tensorShape(a.value)); break
      case "tensor": w.message(8, a.value); break
      // ListValue: s = 2, i = 3 (packed), type = 6 (packed). An empty list is an empty ListValue.
      case "listI": w.message(1, a.value.length ? encode((l) => l.packedVarints(3, a.value)) : new Uint8Array(0)); break
      case "listS": w.message(1, encode((l) => { for (const s of a.value) l.string(2, s) })); break
      case "listType": w.message(1, a.value.length ? encode((l) => l.packedVarints(6, a.value)) : new Uint8Array(0)); break
    }
  })

export interface NodeDef {
  readonly name: string
  readonly op: string
  /** "node", "node:1" or "^node" (control input; after the data inputs). */
  readonly inputs: ReadonlyArray<string>
  readonly attrs: Readonly<Record<string, Attr>>
  readonly device?: string
}

export const nodeDef = (n: NodeDef): Uint8Array =>
  encode((w) => {
    w.string(1, n.name).string(2, n.op)
    for (const i of n.inputs) w.string(3, i)
    if (n.device) w.string(4, n.device)
    for (const key of Object.keys(n.attrs).sort()) w.mapEntry(5, key, attrValue(n.attrs[key]))
  })

/** GraphDef: nodes (field 1) and versions (field 4: VersionDef producer = 1, min_consumer = 2). */
export const graphDef = (nodes: ReadonlyArray<NodeDef>, producer: number): Uint8Array =>
  encode((w) => {
    for (const n of nodes) w.message(1, nodeDef(n))
    w.message(4, encode((v) => v.varint(1, producer)))
  })

export interface TensorInfo {
  /** "node:0" */
  readonly name: string
  readonly dtype: DataType
  readonly shape: ReadonlyArray<number> | undefined
}

export const tensorInfo = (t: TensorInfo): Uint8Array =>
  encode((w) => w.string(1, t.name).varint(2, t.dtype).message(3, tensorShape(t.shape)))

export interface SignatureDef {
  readonly inputs: ReadonlyArray<readonly [string, TensorInfo]>
  readonly outputs: ReadonlyArray<readonly [string, TensorInfo]>
  readonly methodName: string
}

export const signatureDef = (s: SignatureDef): Uint8Array =>
  encode((w) => {
    for (const [k, t] of s.inputs) w.mapEntry(1, k, tensorInfo(t))
    for (const [k, t] of s.outputs) w.mapEntry(2, k, tensorInfo(t))
    w.string(3, s.methodName)
  })

export interface MetaGraph {
  readonly tags: ReadonlyArray<string>
  readonly graph: Uint8Array
  readonly signatures: ReadonlyArray<readonly [string, SignatureDef]>
  readonly tensorflowVersion?: string
}

/** MetaGraphDef: meta_info_def = 1 (tags = 4, tensorflow_version = 5), graph_def = 2, signature_def = 5. */
export const metaGraphDef = (m: MetaGraph): Uint8Array =>
  encode((w) => {
    w.message(1, encode((info) => {
      for (const t of m.tags) info.string(4, t)
      if (m.tensorflowVersion) info.string(5, m.tensorflowVersion)
    }))
    w.message(2, m.graph)
    for (const [k, s] of m.signatures) w.mapEntry(5, k, signatureDef(s))
  })

/** SavedModel: saved_model_schema_version = 1 (1), meta_graphs = 2. */
export const savedModel = (metaGraphs: ReadonlyArray<Uint8Array>): Uint8Array =>
  encode((w) => {
    w.varint(1, 1)
    for (const m of metaGraphs) w.message(2, m)
  })
