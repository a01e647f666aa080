/**
 * Where the loaders read source files from: a data folder, or the official archive (gunzipped and unpacked in memory
 * once per reader). Also the digest checks every loaded file goes through.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { sha256 } from "@growlab/core/Hash"
import { ChecksumMismatch, CorruptFile, SourceNotFound, type BadMagic, type TruncatedFile } from "../Errors.js"
import type { SourceFile } from "../Sources.js"
import { gunzip } from "./gzip.js"
import { members } from "./tar.js"

export type ReadError = SourceNotFound | CorruptFile | BadMagic | TruncatedFile

export interface Reader {
  readonly dataset: string
  /** The folder or archive read from. */
  readonly where: string
  /** The name used for a source path in errors (`/dir/cifar-10-batches-bin/x.bin` or `/dir/archive.tar.gz:cifar-10-batches-bin/x.bin`). */
  readonly label: (path: string) => string
  readonly read: (path: string) => Effect.Effect<Uint8Array, ReadError>
}

/** Reads files below a folder. */
export const dirReader = (dataset: string, dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const label = (p: string) => path.join(dir, p)
    const reader: Reader = {
      dataset,
      where: dir,
      label,
      read: (p) =>
        fs.readFile(label(p)).pipe(
          Effect.catchAll((e): Effect.Effect<never, ReadError> =>
            e._tag === "SystemError" && e.reason === "NotFound"
              ? Effect.fail(new SourceNotFound({ dataset, dir, missing: [p], fix: "Put the published files there (see the layout in packages/data/README.md)." }))
              : Effect.fail(new CorruptFile({ file: label(p), reason: `cannot read: ${e.message}` }))
          )
        )
    }
    return reader
  })

/** Reads members of a `.tar.gz` archive; the archive is read and unpacked once, on first use. */
export const archiveReader = (dataset: string, archive: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const unpacked = yield* Effect.cached(
      fs.readFile(archive).pipe(
        Effect.mapError((e) => new CorruptFile({ file: archive, reason: `cannot read: ${e.message}` })),
        Effect.flatMap((bytes) => gunzip(archive, bytes)),
        Effect.flatMap((tar) => members(archive, tar))
      )
    )
    const reader: Reader = {
      dataset,
      where: archive,
      label: (p) => `${archive}:${p}`,
      read: (p) =>
        Effect.flatMap(unpacked, (entries) => {
          const data = entries.get(p)
          return data
            ? Effect.succeed(data)
            : Effect.fail(new SourceNotFound({ dataset, dir: archive, missing: [p], fix: "The archive lacks this member: use the official cifar-10-binary.tar.gz." }))
        })
    }
    return reader
  })

/** Compares a file's SHA-256 with the table; returns the digest. */
export const verifySha256 = (file: string, source: SourceFile, bytes: Uint8Array): Effect.Effect<string, ChecksumMismatch> => {
  const actual = sha256(bytes)
  return actual === source.sha256
    ? Effect.succeed(actual)
    : Effect.fail(new ChecksumMismatch({ file, algorithm: "sha256", expected: source.sha256, actual }))
}

/**
 * The checksum of a split's sources: SHA-256 of their SHA256SUMS lines (`<sha256>  <path>\n`, in path order).
 * `grep -E 'data_batch' SHA256SUMS | sha256sum` reproduces it from a data folder's SHA256SUMS.
 */
export const listingChecksum = (files: ReadonlyArray<{ readonly path: string; readonly sha256: string }>): string =>
  sha256([...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => `${f.sha256}  ${f.path}\n`).join(""))
