import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeContext } from "@effect/platform-node"
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync, mkdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import * as Loader from "../src/Loader.js"
import { fashionDownloads } from "../src/Sources.js"
import { DATA_DIR, DATA_DIR_ABS, listFiles, tempDir, withSettings } from "./fixtures.js"

/** A local HTTP server standing in for the publishers (files by URL path). */
const serve = (files: Record<string, Uint8Array>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; url: string }>((resume) => {
      const server = createServer((req, res) => {
        const body = files[decodeURIComponent(req.url ?? "")]
        if (!body) { res.writeHead(404).end("not found"); return }
        res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" }).end(body)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
    }),
    ({ server }) => Effect.async<void>((resume) => { server.close(() => resume(Effect.void)) })
  )

/** A URL where nothing listens (a port that was free a moment ago). */
const deadUrl = Effect.async<string>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}`)))
  })
})

describe("downloads into the cache", () => {
  it.scoped("Fashion-MNIST: fetched from the (mirrored) addresses, MD5-checked, saved, then loaded from the cache", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const files = Object.fromEntries(fashionDownloads.map((d) => [`/${d.path}`, readFileSync(path.join(DATA_DIR_ABS, d.path))]))
      const { url } = yield* serve(files)
      const test = yield* Loader.loadSplit("fashion-mnist", "test", { cacheDir: cache, mirror: url, quiet: true })
      assert.deepStrictEqual(yield* listFiles(cache), fashionDownloads.map((d) => d.path).sort())
      const reference = yield* Loader.loadSplit("fashion-mnist", "test", { dataDir: DATA_DIR })
      assert.strictEqual(test.sourceChecksum, reference.sourceChecksum)
      // second time: from the cache, no download
      const again = yield* Loader.locate("fashion-mnist", { cacheDir: cache, download: false })
      assert.deepStrictEqual(again, { dataset: "fashion-mnist", kind: "dir", path: cache, origin: "cache" })
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))

  it.scoped("bytes that are not the published file fail the MD5 check and leave nothing in the cache", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const { url } = yield* serve({ "/cifar-10-binary.tar.gz": gzipSync(Buffer.from("not the archive")) })
      const e = yield* Effect.flip(Loader.load("cifar10", { cacheDir: cache, mirror: url, quiet: true }))
      assert.strictEqual(e._tag, "ChecksumMismatch")
      if (e._tag !== "ChecksumMismatch") return
      assert.deepStrictEqual([e.file, e.algorithm, e.expected], [`${url}/cifar-10-binary.tar.gz`, "md5", "c32a1d4ab5d03f1284b67883e8d87530"])
      assert.deepStrictEqual(yield* listFiles(cache), [])
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))

  it.scoped("an HTTP error is a DownloadFailed naming the address", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const { url } = yield* serve({})
      const e = yield* Effect.flip(Loader.load("fashion-mnist", { cacheDir: cache, mirror: url, quiet: true }))
      assert.strictEqual(e._tag, "DownloadFailed")
      assert.include(e.message, `${url}/fashion-mnist/`)
      assert.include(e.message, "404")
      assert.deepStrictEqual(yield* listFiles(cache), [])
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))

  it.scoped("offline: the error says where to put the files by hand", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const url = yield* deadUrl
      const e = yield* Effect.flip(Loader.load("cifar10", { cacheDir: cache, mirror: url, quiet: true }))
      assert.strictEqual(e._tag, "DownloadFailed")
      assert.include(e.message, "ECONNREFUSED")
      assert.include(e.message, `save it as ${path.join(cache, "cifar-10-binary.tar.gz")}`)
      assert.include(e.message, "GROWLAB_DATA_DIR")
      assert.deepStrictEqual(yield* listFiles(cache), [])
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))

  it.scoped("with downloads off, an empty cache is a SourceNotFound", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const e = yield* Effect.flip(Loader.load("fashion-mnist", { cacheDir: cache, download: false }))
      assert.strictEqual(e._tag, "SourceNotFound")
      assert.include(e.message, "fashion-mnist/train-images-idx3-ubyte.gz")
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))

  it.scoped("a downloaded CIFAR-10 archive in the cache is checked, unpacked into cifar-10-batches-bin/ and removed", () =>
    Effect.gen(function*() {
      const cache = yield* tempDir
      const tar = spawnSync("tar", ["-cf", "-", "-C", DATA_DIR_ABS, "cifar-10-batches-bin"], { maxBuffer: 256 << 20 })
      assert.strictEqual(tar.status, 0, String(tar.stderr))
      mkdirSync(cache, { recursive: true })
      // level 0: a valid gzip stream without the cost of deflating 184 MB in a test
      writeFileSync(path.join(cache, "cifar-10-binary.tar.gz"), gzipSync(tar.stdout, { level: 0 }))
      const location = yield* Loader.locate("cifar10", { cacheDir: cache, download: false, quiet: true })
      assert.deepStrictEqual(location, { dataset: "cifar10", kind: "dir", path: cache, origin: "cache" })
      assert.deepStrictEqual(yield* listFiles(cache), [
        "cifar-10-batches-bin/batches.meta.txt", "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
        "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin", "cifar-10-batches-bin/data_batch_5.bin",
        "cifar-10-batches-bin/test_batch.bin"
      ])
      const test = yield* Loader.loadSplit("cifar10", "test", { cacheDir: cache, download: false })
      const reference = yield* Loader.loadSplit("cifar10", "test", { dataDir: DATA_DIR })
      assert.strictEqual(test.sourceChecksum, reference.sourceChecksum)
      assert.strictEqual(Buffer.compare(Buffer.from(test.images), Buffer.from(reference.images)), 0)
    }).pipe(withSettings(), Effect.provide(NodeContext.layer)))
})
