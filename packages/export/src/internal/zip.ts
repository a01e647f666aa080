/**
 * A zip archive writer for a few small files, entries stored (no compression) with a fixed 1980-01-01 timestamp so
 * the same contents give the same bytes. Enough for a `.keras` file (Keras reads it with Python's `zipfile`).
 * No zip64: the archive and each entry must stay under 4 GiB.
 */

import { crc32 } from "@growlab/core/Crc32"

export interface Entry {
  readonly name: string
  readonly data: Uint8Array
}

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
const LIMIT = 0xffffffff

/** The archive's bytes: local headers and data, then the central directory and its end record. */
export const zip = (entries: ReadonlyArray<Entry>): Uint8Array => {
  const names = entries.map((e) => new TextEncoder().encode(e.name))
  const crcs = entries.map((e) => crc32(e.data))
  const localSize = entries.reduce((n, e, i) => n + 30 + names[i].length + e.data.length, 0)
  const centralSize = entries.reduce((n, _, i) => n + 46 + names[i].length, 0)
  if (localSize + centralSize + 22 > LIMIT) throw new RangeError(`zip: ${localSize + centralSize + 22} bytes need zip64, which this writer does not do`)
  const out = new Uint8Array(localSize + centralSize + 22)
  const view = new DataView(out.buffer)
  let at = 0
  const u16 = (v: number) => { view.setUint16(at, v, true); at += 2 }
  const u32 = (v: number) => { view.setUint32(at, v >>> 0, true); at += 4 }
  const put = (b: Uint8Array) => { out.set(b, at); at += b.length }
  const offsets: Array<number> = []
  entries.forEach((e, i) => {
    offsets.push(at)
    u32(0x04034b50); u16(20); u16(0x0800); u16(0); u16(0); u16(DOS_DATE_1980_01_01)
    u32(crcs[i]); u32(e.data.length); u32(e.data.length); u16(names[i].length); u16(0)
    put(names[i]); put(e.data)
  })
  const central = at
  entries.forEach((e, i) => {
    u32(0x02014b50); u16(20); u16(20); u16(0x0800); u16(0); u16(0); u16(DOS_DATE_1980_01_01)
    u32(crcs[i]); u32(e.data.length); u32(e.data.length); u16(names[i].length); u16(0); u16(0); u16(0); u16(0)
    u32(0); u32(offsets[i]); put(names[i])
  })
  const centralLength = at - central
  u32(0x06054b50); u16(0); u16(0); u16(entries.length); u16(entries.length); u32(centralLength); u32(central); u16(0)
  return out
}
