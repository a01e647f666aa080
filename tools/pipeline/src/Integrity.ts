/**
 * Integrity of artifact folders: every file a stage wrote is listed with its SHA-256 in the stage's manifest, and is
 * checked against it before anything reads it (a downstream stage, `growlab status`, the task launcher). A file that
 * was altered, truncated or restored from a corrupt cache entry is never consumed: it is a typed error that names the
 * file, the expected and actual digest, and how to recover.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Schema from "effect/Schema"
import { sha256 } from "@growlab/core/Hash"
import { Manifest, SCHEMA_VERSION, type FileDigest } from "@growlab/core/Manifest"

/** An artifact does not match its manifest, or its manifest is unreadable. */
export class IntegrityError extends Schema.TaggedError<IntegrityError>()("IntegrityError", {
  file: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `${this.file}: expected ${this.expected}, got ${this.actual}. ${this.fix}`
  }
}

/** How to replace a stage's artifacts: rerun it without the cache entry that holds the bad copy. */
export const recovery = (project: string): string =>
  `Rerun it without its cache entry: npx nx run ${project}:run --skip-nx-cache (the artifacts are not used until then)`

/** Reads and decodes an artifact folder's manifest. */
export const readManifest = (dir: string, project: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, "manifest.json")
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new IntegrityError({
        file, expected: "the stage's manifest", actual: e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : e.message,
        fix: `Run the stage first: npx nx run ${project}:run`
      }))
    )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new IntegrityError({ file, expected: "JSON", actual: "unreadable text", fix: recovery(project) })
    })
    const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion
    if (version !== SCHEMA_VERSION) {
      return yield* Effect.fail(new IntegrityError({
        file, expected: `manifest schema ${SCHEMA_VERSION}`, actual: `schema ${JSON.stringify(version)} (written by an older growlab)`,
        fix: `Rerun the stage: npx nx run ${project}:run`
      }))
    }
    return yield* Schema.decodeUnknown(Manifest)(json).pipe(
      Effect.mapError((e) => new IntegrityError({ file, expected: "a growlab manifest", actual: e.message.split("\n")[0], fix: recovery(project) }))
    )
  })

/** Checks files of an artifact folder against their recorded digests; fails on the first mismatch. */
export const verifyFiles = (dir: string, digests: ReadonlyArray<FileDigest>, project: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const d of digests) {
      const file = path.join(dir, d.file)
      const bytes = yield* fs.readFile(file).pipe(
        Effect.mapError(() => new IntegrityError({ file, expected: `sha256 ${d.sha256} (${d.bytes} bytes, per manifest.json)`, actual: "no such file", fix: recovery(project) }))
      )
      const actual = sha256(bytes)
      if (actual !== d.sha256) {
        return yield* Effect.fail(new IntegrityError({
          file, expected: `sha256 ${d.sha256} (${d.bytes} bytes, per manifest.json)`, actual: `sha256 ${actual} (${bytes.length} bytes)`, fix: recovery(project)
        }))
      }
    }
  })

/** Checks every output a manifest lists. */
export const verifyOutputs = (dir: string, manifest: Manifest, project: string) =>
  verifyFiles(dir, Object.values(manifest.outputs).flat(), project)
