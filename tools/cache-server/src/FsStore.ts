/**
 * Entries in a directory: `entries/<key>` holds a one-line record header (`growlab-cache-entry/1 sha256=<hex>`)
 * and then the body. An upload is written to `tmp/`, fsynced, then hard-linked to `entries/<key>`: `link` fails
 * when the name exists, so of concurrent uploads exactly one is stored, an existing entry is never replaced, and a
 * crash before the link leaves only a temp file, which the next start removes. One server process per directory.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { EntryExists, StoreError } from "./CacheError.js"
import { isSha256Hex } from "./Digest.js"
import type { EntryKey } from "./EntryKey.js"
import { EntryStore, type StoredEntry } from "./EntryStore.js"

const MAGIC = "growlab-cache-entry/1 sha256="
const HEADER_BYTES = MAGIC.length + 64 + 1

export interface FsStoreOptions {
  readonly dir: string
}

const isReason = (e: PlatformError, reason: string): boolean => e._tag === "SystemError" && e.reason === reason

const recordHeader = (sha256: string): Uint8Array => Buffer.from(`${MAGIC}${sha256}\n`, "latin1")

/** Splits a stored file into the recorded sha256 and the body; a damaged header records no valid digest. */
const parseRecord = (file: Uint8Array): StoredEntry => {
  const header = Buffer.from(file.subarray(0, HEADER_BYTES)).toString("latin1")
  const sha256 = header.slice(MAGIC.length, MAGIC.length + 64)
  const valid = file.length >= HEADER_BYTES && header.startsWith(MAGIC) && header.endsWith("\n") && isSha256Hex(sha256)
  return valid
    ? { sha256, body: file.subarray(HEADER_BYTES) }
    : { sha256: "(damaged record header)", body: file }
}

export const make = (options: FsStoreOptions): Effect.Effect<EntryStore, StoreError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(options.dir)
    const entries = path.join(root, "entries")
    const tmp = path.join(root, "tmp")
    const quarantined = path.join(root, "quarantine")
    const fail = (operation: string, key: string) => (e: PlatformError) =>
      new StoreError({ store: `fs ${root}`, operation, key, reason: e.message })

    yield* Effect.forEach([entries, tmp, quarantined], (d) => fs.makeDirectory(d, { recursive: true }))
      .pipe(Effect.mapError(fail("create directory", root)))
    // temp files are uploads that a crashed or killed server never committed
    yield* fs.remove(tmp, { recursive: true }).pipe(
      Effect.zipRight(fs.makeDirectory(tmp, { recursive: true })),
      Effect.mapError(fail("clean temp files", tmp))
    )

    const syncDirectory = (dir: string) => Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (f) => f.sync))

    const writeTemp = (file: string, key: EntryKey, body: Uint8Array, sha256: string) =>
      Effect.scoped(Effect.gen(function*() {
        const f = yield* fs.open(file, { flag: "wx", mode: 0o644 })
        yield* f.writeAll(recordHeader(sha256))
        // writeAll of zero bytes reports WriteZero
        if (body.length > 0) yield* f.writeAll(body)
        yield* f.sync
      })).pipe(Effect.mapError(fail("write temp file", key)))

    const store: EntryStore = {
      describe: `fs ${root}`,
      exists: (key) => fs.exists(path.join(entries, key)).pipe(Effect.mapError(fail("check", key))),
      put: (key, body, sha256) =>
        Effect.acquireUseRelease(
          Effect.succeed(path.join(tmp, `${key}.${randomBytes(8).toString("hex")}`)),
          (file) =>
            writeTemp(file, key, body, sha256).pipe(
              Effect.zipRight(fs.link(file, path.join(entries, key)).pipe(
                Effect.mapError((e) => isReason(e, "AlreadyExists") ? new EntryExists({ key }) : fail("link", key)(e))
              )),
              Effect.zipRight(syncDirectory(entries).pipe(Effect.mapError(fail("sync directory", key))))
            ),
          (file) => fs.remove(file).pipe(Effect.ignore)
        ).pipe(Effect.uninterruptible),
      get: (key) =>
        fs.readFile(path.join(entries, key)).pipe(
          Effect.map((file) => Option.some(parseRecord(file))),
          Effect.catchIf((e) => isReason(e, "NotFound"), () => Effect.succeed(Option.none<StoredEntry>())),
          Effect.mapError(fail("read", key))
        ),
      quarantine: (key) =>
        fs.rename(path.join(entries, key), path.join(quarantined, `${key}.${new Date().toISOString().replace(/[:.]/g, "-")}`))
          .pipe(Effect.mapError(fail("quarantine", key)))
    }
    return store
  })

export const layer = (options: FsStoreOptions): Layer.Layer<EntryStore, StoreError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(EntryStore, make(options))
