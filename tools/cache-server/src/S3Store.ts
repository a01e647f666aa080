/**
 * Entries as objects in an S3-compatible bucket (AWS S3, Ceph RGW, MinIO, …): `<prefix><key>`, the body as
 * uploaded, the sha256 recorded in the object's metadata (`x-amz-meta-sha256`). Write-once rests on the store's
 * conditional write (`If-None-Match: *`): the store answers 412 when the key exists, and of concurrent writes
 * exactly one succeeds. An object appears whole or not at all, so an interrupted upload leaves nothing. The layer
 * checks at start that the endpoint honours `If-None-Match` (some S3 clones ignore it); it refuses to run otherwise.
 * Credentials come from the AWS SDK's usual chain (environment, shared config, instance role) unless given.
 */
import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client
} from "@aws-sdk/client-s3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { randomBytes } from "node:crypto"
import { EntryExists, StoreError } from "./CacheError.js"
import type { EntryKey } from "./EntryKey.js"
import { EntryStore, type StoredEntry } from "./EntryStore.js"

export interface S3StoreOptions {
  readonly bucket: string
  /** Prepended to every key, e.g. `nx/`. */
  readonly prefix: string
  /** An S3-compatible endpoint (`https://rgw.lab:7480`); AWS S3 when absent. */
  readonly endpoint: Option.Option<string>
  readonly region: string
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (most self-hosted servers need it). */
  readonly forcePathStyle: boolean
  readonly credentials: Option.Option<{ readonly accessKeyId: string; readonly secretAccessKey: string }>
}

interface SdkError {
  readonly name?: string
  readonly message?: string
  readonly $metadata?: { readonly httpStatusCode?: number }
}

const statusOf = (e: unknown): number | undefined => (e as SdkError)?.$metadata?.httpStatusCode
const describeError = (e: unknown): string => {
  const s = e as SdkError
  return `${s?.name ?? "Error"}${statusOf(e) !== undefined ? ` (HTTP ${statusOf(e)})` : ""}: ${s?.message ?? String(e)}`
}

export const make = (options: S3StoreOptions) =>
  Effect.gen(function*() {
    const where = `s3://${options.bucket}/${options.prefix}${Option.match(options.endpoint, { onNone: () => "", onSome: (e) => ` at ${e}` })}`
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new S3Client({
        region: options.region,
        forcePathStyle: options.forcePathStyle,
        ...Option.match(options.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
        ...Option.match(options.credentials, { onNone: () => ({}), onSome: (credentials) => ({ credentials }) })
      })),
      (c) => Effect.sync(() => c.destroy())
    )
    const objectKey = (key: string) => `${options.prefix}${key}`
    const send = <A>(operation: string, key: string, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (e) => e }).pipe(
        Effect.mapError((e) => ({ e, toStore: () => new StoreError({ store: `s3 ${where}`, operation, key, reason: describeError(e) }) }))
      )

    const exists = (key: string) =>
      send("check", key, (abortSignal) => client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: objectKey(key) }), { abortSignal })).pipe(
        Effect.as(true),
        Effect.catchAll(({ e, toStore }) => statusOf(e) === 404 ? Effect.succeed(false) : Effect.fail(toStore()))
      )

    const putOnce = (key: string, body: Uint8Array, sha256: string) =>
      send("put", key, (abortSignal) => client.send(new PutObjectCommand({
        Bucket: options.bucket,
        Key: objectKey(key),
        Body: body,
        ContentLength: body.length,
        ContentType: "application/octet-stream",
        IfNoneMatch: "*",
        Metadata: { sha256 }
      }), { abortSignal }))

    const put = (key: string, body: Uint8Array, sha256: string) =>
      putOnce(key, body, sha256).pipe(
        // AWS answers 409 ConditionalRequestConflict while a concurrent conditional write is in flight: try again
        Effect.retry({ while: ({ e }) => statusOf(e) === 409, schedule: Schedule.exponential("50 millis"), times: 4 }),
        Effect.asVoid,
        Effect.mapError(({ e, toStore }): EntryExists | StoreError => statusOf(e) === 412 ? new EntryExists({ key }) : toStore())
      )

    const get = (key: string) =>
      send("read", key, async (abortSignal) => {
        const r = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: objectKey(key) }), { abortSignal })
        const body = await r.Body!.transformToByteArray()
        return { body, sha256: r.Metadata?.sha256 ?? "(no sha256 in the object's metadata)" } satisfies StoredEntry
      }).pipe(
        Effect.map(Option.some),
        Effect.catchAll(({ e, toStore }) => statusOf(e) === 404 ? Effect.succeed(Option.none<StoredEntry>()) : Effect.fail(toStore()))
      )

    const remove = (key: string, object: string) =>
      send("delete", key, (abortSignal) => client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: object }), { abortSignal }))
        .pipe(Effect.asVoid, Effect.mapError(({ toStore }) => toStore()))

    const quarantine = (key: string) =>
      send("quarantine", key, (abortSignal) => client.send(new CopyObjectCommand({
        Bucket: options.bucket,
        CopySource: `${options.bucket}/${objectKey(key)}`,
        Key: `${options.prefix}quarantine/${key}.${new Date().toISOString().replace(/[:.]/g, "-")}`
      }), { abortSignal })).pipe(
        Effect.mapError(({ toStore }) => toStore()),
        Effect.zipRight(remove(key, objectKey(key)))
      )

    // write-once depends on If-None-Match: prove the endpoint honours it before serving anything
    const probe = `.growlab-cache-probe-${randomBytes(6).toString("hex")}`
    const probeBody = Buffer.from("probe")
    yield* putOnce(probe, probeBody, "probe").pipe(Effect.mapError(({ toStore }) => toStore()))
    const second = yield* putOnce(probe, probeBody, "probe").pipe(Effect.either)
    yield* remove(probe, objectKey(probe))
    if (second._tag === "Right" || statusOf(second.left.e) !== 412) {
      return yield* Effect.fail(new StoreError({
        store: `s3 ${where}`, operation: "check conditional writes", key: probe,
        reason: `a second PUT with If-None-Match: * must be refused with 412, got ${second._tag === "Right" ? "success" : describeError(second.left.e)}; ` +
          "this endpoint cannot guarantee write-once entries"
      }))
    }

    const store: EntryStore = {
      describe: `s3 ${where}`,
      exists: (key: EntryKey) => exists(key),
      put: (key: EntryKey, body, sha256) => put(key, body, sha256),
      get: (key: EntryKey) => get(key),
      quarantine: (key: EntryKey) => quarantine(key)
    }
    return store
  })

export const layer = (options: S3StoreOptions): Layer.Layer<EntryStore, StoreError> => Layer.scoped(EntryStore, make(options))
