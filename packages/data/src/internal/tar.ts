/**
 * A reader for (ustar / GNU / pax) tar archives held in memory: enough for the official dataset archives.
 * Members are returned as views on the archive bytes (no copies). Header checksums and sizes are validated.
 */
import * as Effect from "effect/Effect"
import { CorruptFile, TruncatedFile } from "../Errors.js"

const BLOCK = 512
const decoder = new TextDecoder()

const cstring = (bytes: Uint8Array, start: number, length: number): string => {
  let end = start
  while (end < start + length && bytes[end] !== 0) end++
  return decoder.decode(bytes.subarray(start, end))
}

/** An octal number field (or GNU base-256 when the high bit of the first byte is set). */
const numberField = (bytes: Uint8Array, start: number, length: number): number => {
  if (bytes[start] & 0x80) {
    let v = bytes[start] & 0x7f
    for (let i = start + 1; i < start + length; i++) v = v * 256 + bytes[i]
    return v
  }
  const text = cstring(bytes, start, length).trim()
  return text === "" ? 0 : /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN
}

const isZeroBlock = (bytes: Uint8Array, at: number): boolean => {
  for (let i = at; i < at + BLOCK; i++) if (bytes[i] !== 0) return false
  return true
}

/** pax extended header records: "<len> <key>=<value>\n". */
const paxPath = (data: Uint8Array): string | undefined => {
  const text = decoder.decode(data)
  let path: string | undefined
  for (const line of text.split("\n")) {
    const m = /^\d+ ([^=]+)=(.*)$/s.exec(line)
    if (m && m[1] === "path") path = m[2]
  }
  return path
}

const normalise = (name: string): string => name.replace(/^(\.\/)+/, "")

/** The regular files of a tar archive, by member name, as views on `bytes`. */
export const members = (file: string, bytes: Uint8Array): Effect.Effect<Map<string, Uint8Array>, CorruptFile | TruncatedFile> =>
  Effect.suspend((): Effect.Effect<Map<string, Uint8Array>, CorruptFile | TruncatedFile> => {
    const out = new Map<string, Uint8Array>()
    let at = 0
    let longName: string | undefined
    let entry = 0
    while (true) {
      if (at + BLOCK > bytes.length) {
        // an archive may end without its two zero blocks when nothing follows the last member
        if (at === bytes.length && entry > 0) return Effect.succeed(out)
        return Effect.fail(new TruncatedFile({ file, offset: bytes.length, expectedBytes: at + BLOCK, actualBytes: bytes.length, record: entry, detail: "tar header cut short" }))
      }
      if (isZeroBlock(bytes, at)) return Effect.succeed(out)
      const stored = numberField(bytes, at + 148, 8)
      let sum = 0
      for (let i = at; i < at + BLOCK; i++) sum += i >= at + 148 && i < at + 156 ? 32 : bytes[i]
      if (stored !== sum) {
        return Effect.fail(new CorruptFile({ file, offset: at, reason: `tar header ${entry}: checksum ${stored} does not match the header bytes (${sum})` }))
      }
      const size = numberField(bytes, at + 124, 12)
      if (!Number.isFinite(size)) {
        return Effect.fail(new CorruptFile({ file, offset: at + 124, reason: `tar header ${entry}: size field is not a number` }))
      }
      const type = String.fromCharCode(bytes[at + 156] || 0x30)
      const ustar = cstring(bytes, at + 257, 6).startsWith("ustar")
      const prefix = ustar ? cstring(bytes, at + 345, 155) : ""
      const baseName = cstring(bytes, at, 100)
      const name = normalise(longName ?? (prefix ? `${prefix}/${baseName}` : baseName))
      const dataStart = at + BLOCK
      const dataEnd = dataStart + size
      if (dataEnd > bytes.length) {
        return Effect.fail(new TruncatedFile({ file, offset: bytes.length, expectedBytes: dataEnd, actualBytes: bytes.length, record: entry, detail: `member ${name} cut short` }))
      }
      const data = bytes.subarray(dataStart, dataEnd)
      longName = undefined
      if (type === "L") {
        longName = cstring(data, 0, data.length)
      } else if (type === "x") {
        longName = paxPath(data)
      } else if (type === "0" || type === "7") {
        out.set(name, data)
      }
      at = dataStart + Math.ceil(size / BLOCK) * BLOCK
      entry++
    }
  })
