/**
 * Where entries live. A store is write-once: `put` of a key that exists fails with `EntryExists` and leaves the
 * stored entry as it was; concurrent `put`s of one key store exactly one body; a `put` is atomic (an interrupted or
 * crashed one leaves nothing that `get` returns). Each entry keeps the sha256 recorded at upload, so the server
 * can verify the body on every read. Implementations: `FsStore` (a directory), `S3Store` (an S3-compatible bucket).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { EntryExists, StoreError } from "./CacheError.js"
import type { EntryKey } from "./EntryKey.js"

export interface StoredEntry {
  readonly body: Uint8Array
  /** The sha256 (hex) recorded when the entry was uploaded. */
  readonly sha256: string
}

export interface EntryStore {
  /** e.g. `fs /srv/nx-cache` or `s3 s3://bucket/prefix (endpoint)`; for logs. */
  readonly describe: string
  readonly exists: (key: EntryKey) => Effect.Effect<boolean, StoreError>
  /** Stores `body` whose sha256 is `sha256`, unless the key exists. */
  readonly put: (key: EntryKey, body: Uint8Array, sha256: string) => Effect.Effect<void, EntryExists | StoreError>
  readonly get: (key: EntryKey) => Effect.Effect<Option.Option<StoredEntry>, StoreError>
  /** Moves a damaged entry out of the way (kept for inspection), so a later upload can store the key again. */
  readonly quarantine: (key: EntryKey) => Effect.Effect<void, StoreError>
}

export const EntryStore = Context.GenericTag<EntryStore>("@growlab/cache-server/EntryStore")
