/**
 * ONNX messages (onnx/onnx.proto, stable field numbers) encoded with protobuf.ts: ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto (float32 raw_data), ValueInfoProto. Only what OnnxGraph.ts emits.
 */
import { bytes, encode, float, message, varint, type Field } from "./protobuf.js"

export type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly ints: ReadonlyArray<number> }
  | { readonly name: string; readonly string: string }

export interface Node {
  readonly opType: string
  readonly name: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly attributes?: ReadonlyArray<Attribute>
}

export interface Initializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly values: Float32Array
}

/** A float32 tensor's type; a string dimension is symbolic (`batch`). */
export interface ValueInfo {
  readonly name: string
  readonly dims: ReadonlyArray<number | string>
}

export interface Graph {
  readonly name: string
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Initializer>
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
  readonly docString?: string
}

export interface Model {
  readonly irVersion: number
  readonly opsetVersion: number
  readonly producerName: string
  readonly producerVersion: string
  readonly graph: Graph
  readonly metadata: Readonly<Record<string, string>>
  readonly docString?: string
}

const FLOAT = 1
const ATTR_FLOAT = 1
const ATTR_INT = 2
const ATTR_STRING = 3
const ATTR_INTS = 7

const attribute = (a: Attribute): ReadonlyArray<Field> => {
  if ("int" in a) return [bytes(1, a.name), varint(20, ATTR_INT), varint(3, a.int)]
  if ("float" in a) return [bytes(1, a.name), varint(20, ATTR_FLOAT), float(2, a.float)]
  if ("ints" in a) return [bytes(1, a.name), varint(20, ATTR_INTS), ...a.ints.map((i) => varint(8, i))]
  return [bytes(1, a.name), varint(20, ATTR_STRING), bytes(4, a.string)]
}

const node = (n: Node): ReadonlyArray<Field> => [
  ...n.inputs.map((i) => bytes(1, i)),
  ...n.outputs.map((o) => bytes(2, o)),
  bytes(3, n.name),
  bytes(4, n.opType),
  ...(n.attributes ?? []).map((a) => message(5, attribute(a)))
]

const littleEndian = (values: Float32Array): Uint8Array => {
  const out = new Uint8Array(values.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true)
  return out
}

const tensor = (t: Initializer): ReadonlyArray<Field> => [
  ...t.dims.map((d) => varint(1, d)),
  varint(2, FLOAT),
  bytes(8, t.name),
  bytes(9, littleEndian(t.values))
]

const valueInfo = (v: ValueInfo): ReadonlyArray<Field> => {
  const dims = v.dims.map((d) => message(1, [typeof d === "string" ? bytes(2, d) : varint(1, d)]))
  const tensorType = [varint(1, FLOAT), message(2, dims)]
  return [bytes(1, v.name), message(2, [message(1, tensorType)])]
}

const graph = (g: Graph): ReadonlyArray<Field> => [
  ...g.nodes.map((n) => message(1, node(n))),
  bytes(2, g.name),
  ...g.initializers.map((t) => message(5, tensor(t))),
  ...(g.docString ? [bytes(10, g.docString)] : []),
  ...g.inputs.map((v) => message(11, valueInfo(v))),
  ...g.outputs.map((v) => message(12, valueInfo(v)))
]

/** The `.onnx` file's bytes. */
export const encodeModel = (m: Model): Uint8Array =>
  encode([
    varint(1, m.irVersion),
    bytes(2, m.producerName),
    bytes(3, m.producerVersion),
    ...(m.docString ? [bytes(6, m.docString)] : []),
    message(7, graph(m.graph)),
    message(8, [bytes(1, ""), varint(2, m.opsetVersion)]),
    ...Object.entries(m.metadata).map(([k, v]) => message(14, [bytes(1, k), bytes(2, v)]))
  ])
