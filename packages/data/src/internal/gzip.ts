/** gunzip with node's zlib (on the libuv thread pool), mapping failures to typed errors that name the file. */
import { gunzip as zlibGunzip } from "node:zlib"
import * as Effect from "effect/Effect"
import { BadMagic, CorruptFile, TruncatedFile } from "../Errors.js"

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

export const gunzip = (file: string, bytes: Uint8Array): Effect.Effect<Uint8Array, BadMagic | TruncatedFile | CorruptFile> =>
  Effect.suspend((): Effect.Effect<Uint8Array, BadMagic | TruncatedFile | CorruptFile> => {
    if (!isGzip(bytes)) {
      const actual = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join("")
      return Effect.fail(new BadMagic({ file, offset: 0, expected: "1f8b (gzip)", actual: actual === "" ? "an empty file" : actual }))
    }
    return Effect.async<Uint8Array, TruncatedFile | CorruptFile>((resume) => {
      zlibGunzip(bytes, (error, out) => {
        if (!error) return resume(Effect.succeed(new Uint8Array(out.buffer, out.byteOffset, out.byteLength)))
        const code = (error as NodeJS.ErrnoException).code
        resume(Effect.fail(
          code === "Z_BUF_ERROR"
            ? new TruncatedFile({ file, offset: bytes.length, actualBytes: bytes.length, detail: "the gzip stream ends before its end marker" })
            : new CorruptFile({ file, reason: `not a valid gzip stream: ${error.message}` })
        ))
      })
    })
  })
