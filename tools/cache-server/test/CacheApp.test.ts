/**
 * The cache API over HTTP, on both stores (a directory, and an S3 bucket on Ceph RGW): the spec's statuses, write-once,
 * scoped tokens, the size limit, truncated uploads, and digests verified on every read.
 */
import { assert, layer } from "@effect/vitest"
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as AccessTokens from "../src/AccessTokens.js"
import { CacheSettings, router } from "../src/CacheApp.js"
import { fromReprDigest, sha256Hex } from "../src/Digest.js"
import type { EntryStore } from "../src/EntryStore.js"
import { CephS3, layer as cephLayer } from "./support/CephS3.js"
import { send, truncatedPut } from "./support/http.js"
import { fsStoreIn, s3StoreOn, StoreDir, tempDir } from "./support/stores.js"

const ci = AccessTokens.generate("ci", "read-write")
const laptop = AccessTokens.generate("laptop", "read")
const MAX = 256 * 1024

/** Log lines the server wrote. */
class Logs extends Context.Tag("test/Logs")<Logs, Array<string>>() {}

/** Overwrites a stored entry behind the server's back (disk corruption, or someone with storage access). */
class Damage extends Context.Tag("test/Damage")<Damage, {
  readonly entry: (key: string, body: Buffer) => Effect.Effect<void>
  readonly quarantined: (key: string) => Effect.Effect<boolean>
}>() {}

const logsLayer = Layer.unwrapEffect(Effect.sync(() => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => { lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`) })
  return Layer.merge(Layer.succeed(Logs, lines), Logger.replace(Logger.defaultLogger, logger))
}))

const serverWith = <E, R>(store: Layer.Layer<EntryStore, E, R>) =>
  HttpServer.serve(router).pipe(
    Layer.provide(Layer.mergeAll(store, AccessTokens.layer({ tokens: [ci.entry, laptop.entry] }), Layer.succeed(CacheSettings, { maxEntryBytes: MAX }))),
    Layer.provide(logsLayer),
    Layer.provideMerge(logsLayer),
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

const fsDamage = Layer.effect(Damage, Effect.map(StoreDir, (dir) => ({
  entry: (key: string, body: Buffer) => Effect.sync(() => {
    const file = join(dir, "entries", key)
    const header = readFileSync(file).subarray(0, 94)
    writeFileSync(file, Buffer.concat([header, body]))
  }),
  quarantined: (key: string) => Effect.sync(() => readdirSync(join(dir, "quarantine")).some((f) => f.startsWith(`${key}.`)))
})))

const s3Damage = (prefix: string) => Layer.effect(Damage, Effect.map(CephS3, (s3) => {
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
  return {
    // a plain overwrite keeping the recorded digest: what the server's conditional write never does
    entry: (key: string, body: Buffer) => Effect.promise(async () => {
      const old = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}${key}` }))
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}${key}`, Body: body, Metadata: old.Metadata }))
    }),
    quarantined: (key: string) => Effect.promise(async () =>
      ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}quarantine/${key}.` }))).KeyCount ?? 0) === 1)
  }
}))

const newKey = () => BigInt(`0x${randomBytes(8).toString("hex")}`).toString()
const bearer = (t: { readonly token: string }) => `Bearer ${t.token}`

const put = (key: string, body: Uint8Array, token: { readonly token: string } | null) =>
  Effect.flatMap(HttpClient.HttpClient, (c) => c.execute(HttpClientRequest.put(`/v1/cache/${key}`).pipe(
    HttpClientRequest.setHeaders(token ? { authorization: bearer(token) } : {}),
    HttpClientRequest.bodyUint8Array(body, "application/octet-stream")
  )))

const get = (key: string, token: { readonly token: string } | null) =>
  Effect.flatMap(HttpClient.HttpClient, (c) => c.execute(HttpClientRequest.get(`/v1/cache/${key}`).pipe(
    HttpClientRequest.setHeaders({ accept: "application/octet-stream", ...(token ? { authorization: bearer(token) } : {}) })
  )))

const port = HttpServer.addressWith((a) => Effect.succeed(a._tag === "TcpAddress" ? a.port : 0))

const suite = <E>(name: string, server: Layer.Layer<HttpServer.HttpServer | HttpClient.HttpClient | Logs | Damage, E>) =>
  layer(server, { timeout: 180_000, excludeTestServices: true })(name, (it) => {
    it.effect("PUT stores (200); GET returns the same bytes as application/octet-stream with Content-Length and Repr-Digest", () =>
      Effect.gen(function*() {
        const key = newKey()
        const body = randomBytes(50_000)
        const stored = yield* put(key, body, ci)
        assert.strictEqual(stored.status, 200)
        const r = yield* get(key, laptop)
        assert.strictEqual(r.status, 200)
        assert.strictEqual(r.headers["content-type"], "application/octet-stream")
        assert.strictEqual(r.headers["content-length"], String(body.length))
        assert.strictEqual(fromReprDigest(r.headers["repr-digest"]).pipe((o) => o._tag === "Some" ? o.value : ""), sha256Hex(body))
        assert.strictEqual(Buffer.compare(Buffer.from(yield* r.arrayBuffer), body), 0)
        assert.strictEqual((yield* get(newKey(), laptop)).status, 404)
      }))

    it.effect("an overwrite attempt is refused with 409 and the stored entry is unchanged", () =>
      Effect.gen(function*() {
        const key = newKey()
        const honest = Buffer.from("honest outputs")
        assert.strictEqual((yield* put(key, honest, ci)).status, 200)
        assert.strictEqual((yield* put(key, Buffer.from("poisoned outputs"), ci)).status, 409)
        assert.strictEqual((yield* put(key, honest, ci)).status, 409)
        const r = yield* get(key, laptop)
        assert.strictEqual(Buffer.from(yield* r.arrayBuffer).toString(), "honest outputs")
      }))

    it.effect("no or an unknown token: 401 text/plain on GET and PUT; a read-only token reads but gets 403 text/plain on PUT", () =>
      Effect.gen(function*() {
        const key = newKey()
        assert.strictEqual((yield* put(key, Buffer.from("x"), ci)).status, 200)
        const refused = [
          yield* get(key, null), yield* get(key, { token: "not-a-token" }),
          yield* put(newKey(), Buffer.from("x"), null), yield* put(newKey(), Buffer.from("x"), { token: ci.entry.sha256 })
        ]
        for (const r of refused) {
          assert.strictEqual(r.status, 401)
          assert.strictEqual(r.headers["content-type"], "text/plain")
          assert.include(yield* r.text, "missing or invalid bearer token")
        }
        assert.strictEqual((yield* get(key, laptop)).status, 200)
        const other = newKey()
        const readOnly = yield* put(other, Buffer.from("x"), laptop)
        assert.strictEqual(readOnly.status, 403)
        assert.strictEqual(readOnly.headers["content-type"], "text/plain")
        assert.include(yield* readOnly.text, "'laptop' is read-only")
        assert.strictEqual((yield* get(other, ci)).status, 404)
      }))

    it.effect("an entry over the size limit gets 413, a PUT without Content-Length 411, and neither is stored", () =>
      Effect.gen(function*() {
        const p = yield* port
        const big = newKey()
        const tooLarge = yield* Effect.promise(() => send({ port: p, method: "PUT", path: `/v1/cache/${big}`, headers: { authorization: bearer(ci), "content-length": String(MAX + 1) } }))
        assert.strictEqual(tooLarge.status, 413)
        assert.include(tooLarge.body.toString(), `limit of ${MAX} bytes`)
        const chunked = newKey()
        const noLength = yield* Effect.promise(() => send({ port: p, method: "PUT", path: `/v1/cache/${chunked}`, headers: { authorization: bearer(ci), "transfer-encoding": "chunked" }, body: Buffer.from("abc") }))
        assert.strictEqual(noLength.status, 411)
        assert.strictEqual((yield* get(big, ci)).status, 404)
        assert.strictEqual((yield* get(chunked, ci)).status, 404)
        assert.strictEqual((yield* put(newKey(), randomBytes(MAX), ci)).status, 200)
      }))

    it.effect("8 concurrent PUTs of one key: exactly one 200, the others 409, and GET serves the winner's body", () =>
      Effect.gen(function*() {
        const key = newKey()
        const bodies = Array.from({ length: 8 }, () => randomBytes(20_000))
        const statuses = yield* Effect.forEach(bodies, (b) => Effect.map(put(key, b, ci), (r) => r.status), { concurrency: "unbounded" })
        assert.strictEqual(statuses.filter((s) => s === 200).length, 1)
        assert.strictEqual(statuses.filter((s) => s === 409).length, 7)
        const served = Buffer.from(yield* (yield* get(key, laptop)).arrayBuffer)
        assert.strictEqual(Buffer.compare(served, bodies[statuses.indexOf(200)]!), 0)
      }))

    it.effect("a body cut off before its Content-Length is never stored or served", () =>
      Effect.gen(function*() {
        const key = newKey()
        const p = yield* port
        yield* Effect.promise(() => truncatedPut(p, `/v1/cache/${key}`, bearer(ci), 10_000, 4_000))
        const logs = yield* Logs
        // the server has seen the connection end once the request's log line is there
        yield* Effect.promise(async () => { for (let i = 0; i < 100 && !logs.some((l) => l.includes(key)); i++) await new Promise((r) => setTimeout(r, 50)) })
        assert.strictEqual((yield* get(key, laptop)).status, 404)
        assert.isTrue(logs.some((l) => l.includes(key) && (l.includes("truncated upload discarded") || l.includes("closed the connection during the upload"))))
        assert.strictEqual((yield* put(key, Buffer.from("complete"), ci)).status, 200)
      }))

    it.effect("a damaged entry is never served: 404, logged with both digests, quarantined; the next upload stores the key again", () =>
      Effect.gen(function*() {
        const key = newKey()
        const body = Buffer.from("the real outputs of a training stage")
        assert.strictEqual((yield* put(key, body, ci)).status, 200)
        const damage = yield* Damage
        yield* damage.entry(key, Buffer.from("the real outputs of a training stagE"))
        const r = yield* get(key, laptop)
        assert.strictEqual(r.status, 404)
        assert.strictEqual((yield* r.arrayBuffer).byteLength, 0)
        const logs = yield* Logs
        const line = logs.find((l) => l.includes(`integrity: entry ${key}`))
        assert.isDefined(line)
        assert.include(line!, `expected sha256 ${sha256Hex(body)}`)
        assert.include(line!, `got ${sha256Hex(Buffer.from("the real outputs of a training stagE"))}`)
        assert.isTrue(yield* damage.quarantined(key))
        assert.strictEqual((yield* put(key, body, ci)).status, 200)
        assert.strictEqual(Buffer.compare(Buffer.from(yield* (yield* get(key, laptop)).arrayBuffer), body), 0)
      }))

    it.effect("bad keys get 400, other paths 404, other methods 405; no log line holds a token", () =>
      Effect.gen(function*() {
        const p = yield* port
        const auth = { authorization: bearer(ci) }
        assert.strictEqual((yield* Effect.promise(() => send({ port: p, method: "GET", path: "/v1/cache/..%2F..%2Fetc", headers: auth }))).status, 400)
        assert.strictEqual((yield* Effect.promise(() => send({ port: p, method: "GET", path: "/v1/cache/a.b", headers: auth }))).status, 400)
        assert.strictEqual((yield* Effect.promise(() => send({ port: p, method: "GET", path: "/v1/other/1", headers: auth }))).status, 404)
        assert.strictEqual((yield* Effect.promise(() => send({ port: p, method: "DELETE", path: "/v1/cache/1", headers: auth }))).status, 405)
        const logs = yield* Logs
        assert.isAbove(logs.length, 10)
        for (const l of logs) {
          assert.notInclude(l, ci.token)
          assert.notInclude(l, laptop.token)
        }
      }))
  })

suite("cache API on FsStore", serverWith(fsStoreIn).pipe(Layer.provideMerge(fsDamage), Layer.provide(Layer.scoped(StoreDir, tempDir("growlab-cache-fs-")))))
suite("cache API on S3Store (Ceph RGW)", serverWith(s3StoreOn("app/")).pipe(Layer.provideMerge(s3Damage("app/")), Layer.provide(cephLayer)))
