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

/** How to replace a stage's artifacts: Nx puts back its cached copy, or reruns it. */
export const recovery = (project: string): string =>
  `Nothing reads it until it is replaced: npx nx run ${project}:run restores it from the Nx cache (or reruns it)`

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

/** The Nx cache folder of a workspace: NX_CACHE_DIRECTORY, else nx.json's cacheDirectory, else `.nx/cache`. */
export const nxCacheDir = (root: string, env: Readonly<Record<string, string | undefined>> = process.env) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (env.NX_CACHE_DIRECTORY) return path.resolve(root, env.NX_CACHE_DIRECTORY)
    const text = yield* fs.readFileString(path.join(root, "nx.json")).pipe(Effect.orElseSucceed(() => "{}"))
    const dir = yield* Effect.try(() => (JSON.parse(text) as { cacheDirectory?: unknown }).cacheDirectory).pipe(Effect.orElseSucceed(() => undefined))
    return path.resolve(root, typeof dir === "string" ? dir : ".nx/cache")
  })

/**
 * Finds the Nx cache entries holding an artifact folder (`relDir`, relative to the workspace root) whose files do not
 * match the manifest they hold, and moves them out of the cache (`<cache>/../growlab-quarantine/`): Nx then misses
 * instead of restoring the bad copy again. Returns the quarantined entries.
 */
export const quarantineCorruptEntries = (root: string, relDir: string, project: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const cache = yield* nxCacheDir(root)
    const entries = yield* fs.readDirectory(cache).pipe(Effect.orElseSucceed(() => [] as Array<string>))
    const moved: Array<string> = []
    for (const entry of entries) {
      const dir = path.join(cache, entry, relDir)
      if (!(yield* fs.exists(path.join(dir, "manifest.json")).pipe(Effect.orElseSucceed(() => false)))) continue
      const ok = yield* Effect.either(Effect.flatMap(readManifest(dir, project), (m) => verifyOutputs(dir, m, project)))
      if (ok._tag === "Right") continue
      const target = path.join(path.dirname(cache), "growlab-quarantine", `${entry}-${Date.now()}`)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true }).pipe(Effect.zipRight(fs.rename(path.join(cache, entry), target)), Effect.ignore)
      moved.push(path.relative(root, target))
    }
    return moved
  })
