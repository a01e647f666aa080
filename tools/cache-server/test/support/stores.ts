/** The two real stores as layers, for tests that run the same checks over both. */
import { NodeContext } from "@effect/platform-node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FsStore from "../../src/FsStore.js"
import * as S3Store from "../../src/S3Store.js"
import { CephS3, layer as cephLayer } from "./CephS3.js"

/** A temp directory, removed when its scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** The directory an FsStore layer keeps its entries in. */
export class StoreDir extends Context.Tag("test/StoreDir")<StoreDir, string>() {}

/** An FsStore in the StoreDir of the context. */
export const fsStoreIn = Layer.unwrapEffect(Effect.map(StoreDir, (dir) => FsStore.layer({ dir }).pipe(Layer.orDie, Layer.provide(NodeContext.layer))))

/** An FsStore in a temp directory (removed afterwards), and that directory. */
export const fsStore = () => fsStoreIn.pipe(Layer.provideMerge(Layer.scoped(StoreDir, tempDir("growlab-cache-fs-"))))

export const s3Options = (s3: CephS3, prefix: string): S3Store.S3StoreOptions => ({
  bucket: s3.bucket, prefix, endpoint: Option.some(s3.endpoint), region: "us-east-1", forcePathStyle: true,
  credentials: Option.some({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey })
})

/** An S3Store on the Ceph cluster in the context. */
export const s3StoreOn = (prefix: string) =>
  Layer.unwrapEffect(Effect.map(CephS3, (s3) => S3Store.layer(s3Options(s3, prefix)).pipe(Layer.orDie)))

/** An S3Store on a throwaway Ceph RGW cluster, and the cluster itself (for direct access to the bucket). */
export const cephStore = (prefix: string) => s3StoreOn(prefix).pipe(Layer.provideMerge(cephLayer))
