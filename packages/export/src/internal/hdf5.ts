/**
 * A minimal HDF5 writer: groups and little-endian float32 datasets (contiguous), nothing else. Enough for Keras 3's
 * `model.weights.h5` (groups `layers/<name>/vars` holding datasets `0`, `1`, ...), read by h5py.
 *
 * Keras also writes a `name` attribute on each `vars` group; its loader does not read it, and this writer has no
 * attributes.
 *
 * File layout (HDF5 File Format Specification 3.0): a version-2 superblock; version-2 object headers ("OHDR", no
 * timestamps, so the same tree gives the same bytes) for every group and dataset, in pre-order; then the raw data of
 * each dataset. Groups are "new style" compact groups: a Link Info message, a Group Info message and one Link message
 * per child (hard links, insertion order). Datasets: Dataspace v2, Datatype (IEEE float32 LE), Fill Value v3 and a
 * contiguous Data Layout v3. Checksums are lookup3 (see lookup3.ts).
 */
import { hashlittle } from "./lookup3.js"

export interface Dataset {
  readonly _tag: "dataset"
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}
export interface Group {
  readonly _tag: "group"
  /** Children in link order; names are ASCII without "/" or ".", at most 255 bytes. */
  readonly children: ReadonlyArray<readonly [string, Node]>
}
export type Node = Group | Dataset

export const group = (children: ReadonlyArray<readonly [string, Node]>): Group => ({ _tag: "group", children })
export const dataset = (shape: ReadonlyArray<number>, data: Float32Array): Dataset => {
  const size = shape.reduce((a, b) => a * b, 1)
  if (size !== data.length) throw new RangeError(`hdf5 dataset: shape [${shape.join(", ")}] needs ${size} values, got ${data.length}`)
  return { _tag: "dataset", shape, data }
}

const UNDEF = 0xffffffffffffffffn
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
const SUPERBLOCK_SIZE = 48

/** Little-endian byte builder. */
class Bytes {
  readonly out: Array<number> = []
  u8(v: number): this { this.out.push(v & 0xff); return this }
  u16(v: number): this { return this.u8(v).u8(v >>> 8) }
  u32(v: number): this { return this.u16(v & 0xffff).u16(v >>> 16) }
  u64(v: number | bigint): this {
    const b = BigInt(v)
    return this.u32(Number(b & 0xffffffffn)).u32(Number((b >> 32n) & 0xffffffffn))
  }
  raw(bytes: ArrayLike<number>): this { for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]); return this }
  get length(): number { return this.out.length }
}

interface Message { readonly type: number; readonly flags: number; readonly data: Bytes }

const message = (type: number, data: Bytes, flags = 0): Message => ({ type, flags, data })

const objectHeader = (messages: ReadonlyArray<Message>): Uint8Array => {
  const body = messages.reduce((n, m) => n + 4 + m.data.length, 0)
  const b = new Bytes().raw([0x4f, 0x48, 0x44, 0x52]).u8(2).u8(0x02).u32(body) // "OHDR", v2, 4-byte chunk size
  for (const m of messages) b.u8(m.type).u16(m.data.length).u8(m.flags).raw(m.data.out)
  const bytes = Uint8Array.from(b.out)
  return Uint8Array.from(new Bytes().raw(bytes).u32(hashlittle(bytes)).out)
}

const linkName = (name: string): Uint8Array => {
  const bytes = new TextEncoder().encode(name)
  if (bytes.length === 0 || bytes.length > 255 || name.includes("/") || name === ".") {
    throw new RangeError(`hdf5 link name '${name}': 1..255 bytes without '/'`)
  }
  return bytes
}

const groupHeader = (children: ReadonlyArray<readonly [string, bigint]>): Uint8Array =>
  objectHeader([
    message(0x02, new Bytes().u8(0).u8(0).u64(UNDEF).u64(UNDEF)), // Link Info: no fractal heap, no name index
    message(0x0a, new Bytes().u8(0).u8(0)), // Group Info: defaults
    ...children.map(([name, address]) => {
      const n = linkName(name)
      return message(0x06, new Bytes().u8(1).u8(0).u8(n.length).raw(n).u64(address)) // Link: hard, 1-byte name length
    })
  ])

const datasetHeader = (d: Dataset, address: bigint): Uint8Array => {
  const space = new Bytes().u8(2).u8(d.shape.length).u8(0).u8(d.shape.length === 0 ? 0 : 1)
  for (const n of d.shape) space.u64(n)
  const float32 = new Bytes()
    .u8(0x11).u8(0x20).u8(31).u8(0) // version 1, class 1 (float); LE, implied mantissa msb, sign at bit 31
    .u32(4) // size in bytes
    .u16(0).u16(32).u8(23).u8(8).u8(0).u8(23).u32(127) // offset, precision, exponent at 23 size 8, mantissa at 0 size 23, bias
  const bytes = d.data.length * 4
  return objectHeader([
    message(0x01, space),
    message(0x03, float32, 0x01),
    message(0x05, new Bytes().u8(3).u8(0x09)), // Fill Value v3: allocated early, written if set, none defined
    message(0x08, new Bytes().u8(3).u8(1).u64(bytes === 0 ? UNDEF : address).u64(bytes)) // Layout v3: contiguous
  ])
}

/** The file's bytes for a root group. */
export const write = (root: Group): Uint8Array => {
  // Header sizes do not depend on addresses (all 8 bytes), so lay out with placeholder addresses first.
  const order: Array<Node> = []
  const visit = (n: Node) => {
    order.push(n)
    if (n._tag === "group") for (const [, c] of n.children) visit(c)
  }
  visit(root)
  const headerOf = (n: Node, addr: ReadonlyMap<Node, bigint>, dataAddr: ReadonlyMap<Dataset, bigint>): Uint8Array =>
    n._tag === "group"
      ? groupHeader(n.children.map(([name, c]) => [name, addr.get(c) ?? 0n] as const))
      : datasetHeader(n, dataAddr.get(n) ?? 0n)
  const sizes = order.map((n) => headerOf(n, new Map(), new Map()).length)
  const addr = new Map<Node, bigint>()
  let at = SUPERBLOCK_SIZE
  order.forEach((n, i) => { addr.set(n, BigInt(at)); at += sizes[i] })
  const dataAddr = new Map<Dataset, bigint>()
  for (const n of order) {
    if (n._tag !== "dataset") continue
    at = Math.ceil(at / 8) * 8
    dataAddr.set(n, BigInt(at))
    at += n.data.length * 4
  }
  const out = new Uint8Array(at)
  const sb = new Bytes().raw(SIGNATURE).u8(2).u8(8).u8(8).u8(0).u64(0).u64(UNDEF).u64(at).u64(addr.get(root)!)
  out.set(new Bytes().raw(sb.out).u32(hashlittle(Uint8Array.from(sb.out))).out, 0)
  for (const n of order) {
    out.set(headerOf(n, addr, dataAddr), Number(addr.get(n)))
    if (n._tag === "dataset") {
      const view = new DataView(out.buffer, Number(dataAddr.get(n)), n.data.length * 4)
      n.data.forEach((v, i) => view.setFloat32(i * 4, v, true))
    }
  }
  return out
}
