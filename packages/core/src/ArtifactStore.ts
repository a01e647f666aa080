/**
 * Reading and writing artifact files. Every write is atomic: the bytes go to a temp file beside the target,
 * which is then renamed over it, so an interrupted stage never leaves half a file that a cache could keep.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { tableFromIPC, tableToIPC, type Table } from "apache-arrow"
import { ArtifactError } from "./Errors.js"

let counter = 0
const tempName = (target: string): string => `${target}.tmp-${process.pid}-${Date.now()}-${counter++}`

/** Writes bytes to `file` atomically (temp file + rename), creating the parent folder. */
export const writeFileAtomic = (file: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(file), { recursive: true })
    const tmp = tempName(file)
    yield* fs.writeFile(tmp, bytes).pipe(
      Effect.zipRight(fs.rename(tmp, file)),
      Effect.onError(() => fs.remove(tmp, { force: true }).pipe(Effect.ignore))
    )
  }).pipe(Effect.mapError((e) => new ArtifactError({ file, reason: `cannot write: ${e.message}` })))

export const writeTextAtomic = (file: string, text: string) => writeFileAtomic(file, new TextEncoder().encode(text))

export const writeJsonAtomic = (file: string, value: unknown) => writeTextAtomic(file, JSON.stringify(value, null, 2) + "\n")

/** Writes an Arrow table in the IPC file format (readable by pyarrow.ipc.open_file, pandas, DuckDB). */
export const writeTable = (file: string, table: Table) =>
  Effect.suspend(() => writeFileAtomic(file, tableToIPC(table, "file")))

/** Reads an Arrow IPC file (file or stream format). The returned columns are views on the file's bytes. */
export const readTable = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(file).pipe(
      Effect.mapError((e) => new ArtifactError({ file, reason: `cannot read: ${e.message}` }))
    )
    return yield* Effect.try({
      try: () => tableFromIPC(bytes),
      catch: (e) => new ArtifactError({ file, reason: `not an Arrow IPC file: ${(e as Error).message}` })
    })
  })

export const readJson = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new ArtifactError({ file, reason: `cannot read: ${e.message}` }))
    )
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new ArtifactError({ file, reason: `not JSON: ${(e as Error).message}` })
    })
  })

/** The `growlab.*` key/value metadata of an Arrow table's schema. */
export const tableMetadata = (table: Table): Record<string, string> => Object.fromEntries(table.schema.metadata)

/** Checks the artifact kind recorded in a table's metadata. */
export const expectKind = (file: string, table: Table, kind: string) => {
  const actual = table.schema.metadata.get("growlab.kind")
  return actual === kind
    ? Effect.void
    : Effect.fail(new ArtifactError({ file, reason: "wrong artifact kind", field: "growlab.kind", expected: kind, actual: actual ?? "none" }))
}
