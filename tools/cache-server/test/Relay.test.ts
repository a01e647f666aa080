/**
 * The relay in front of an upstream that misbehaves in every way Nx 24 would stop a run for: each such answer
 * becomes a cache miss (GET) or "not stored" (PUT); a good answer passes through only with its sha256 verified.
 */
import { assert, layer } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { sha256Hex, toReprDigest } from "../src/Digest.js"
import { RelaySettings, router } from "../src/Relay.js"

interface Received {
  readonly method: string
  readonly key: string
  readonly authorization: string | undefined
  readonly contentLength: string | undefined
  readonly body: Buffer
}

/** A scripted upstream: what it answers depends on the key; it records what it received. */
class Upstream extends Context.Tag("test/Upstream")<Upstream, { readonly received: Array<Received> }>() {}

const good = Buffer.from("a tar.gz of a stage's outputs")

const script = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
  const key = req.url!.split("/").pop()!
  const text = (status: number, t: string) => { res.writeHead(status, { "content-type": "text/plain" }); res.end(t) }
  switch (key) {
    case "ok": res.writeHead(200, { "content-type": "application/octet-stream", "repr-digest": toReprDigest(sha256Hex(good)), "content-length": good.length }); return res.end(good)
    case "tampered": res.writeHead(200, { "repr-digest": toReprDigest(sha256Hex(good)), "content-length": good.length }); return res.end(Buffer.from(good).fill(65, 0, 1))
    case "nodigest": res.writeHead(200, { "content-length": good.length }); return res.end(good)
    case "short": res.writeHead(200, { "repr-digest": toReprDigest(sha256Hex(good)), "content-length": good.length + 100 }); res.write(good); return res.destroy()
    case "missing": res.writeHead(404); return res.end()
    case "refused": return text(401, "growlab-cache: missing or invalid bearer token")
    case "readonly": return text(403, "growlab-cache: token 'laptop' is read-only")
    case "exists": res.writeHead(409); return res.end()
    case "broken": return text(500, "disk on fire")
    case "toolarge": return text(413, "too large")
    case "silent": return // never answers
    default: res.writeHead(200); return res.end()
  }
}

const upstreamLayer = Layer.scoped(Upstream, Effect.acquireRelease(
  Effect.async<{ readonly received: Array<Received>; readonly url: string; readonly close: () => void }>((resume) => {
    const received: Array<Received> = []
    const open = new Set<import("node:net").Socket>()
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const body = Buffer.concat(chunks)
        received.push({ method: req.method!, key: req.url!.split("/").pop()!, authorization: req.headers.authorization, contentLength: req.headers["content-length"], body })
        script(req, body, res)
      })
    })
    server.on("connection", (s) => { open.add(s); s.on("close", () => open.delete(s)) })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({
      received, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      close: () => { for (const s of open) s.destroy(); server.close() }
    })))
  }),
  (u) => Effect.sync(() => u.close())
).pipe(Effect.map((u) => ({ received: u.received, url: u.url }))))

/** The relay (real HTTP server on a free port) in front of `upstream`, and a client for the relay. */
const relayOn = (upstream: (u: { readonly url: string }) => string) =>
  Layer.unwrapEffect(Effect.map(Upstream, (u) =>
    HttpServer.serve(router).pipe(
      Layer.provide(Layer.mergeAll(
        Layer.succeed(RelaySettings, { upstream: upstream(u as never), timeout: Duration.seconds(2), maxEntryBytes: 1024 * 1024 }),
        NodeHttpClient.layer
      )),
      Layer.provideMerge(NodeHttpServer.layerTest)
    ))).pipe(Layer.provideMerge(upstreamLayer))

const get = (key: string) => Effect.flatMap(HttpClient.HttpClient, (c) =>
  c.execute(HttpClientRequest.get(`/v1/cache/${key}`, { headers: { authorization: "Bearer t0ken", accept: "application/octet-stream" } })))
const put = (key: string, body: Buffer) => Effect.flatMap(HttpClient.HttpClient, (c) =>
  c.execute(HttpClientRequest.put(`/v1/cache/${key}`, { headers: { authorization: "Bearer t0ken" } }).pipe(HttpClientRequest.bodyUint8Array(body, "application/octet-stream"))))

layer(relayOn((u) => u.url), { timeout: 60_000, excludeTestServices: true })("relay in front of a scripted upstream", (it) => {
  it.effect("passes a verified entry through with Nx's Authorization forwarded, and a 404 as a 404", () =>
    Effect.gen(function*() {
      const r = yield* get("ok")
      assert.strictEqual(r.status, 200)
      assert.strictEqual(r.headers["content-type"], "application/octet-stream")
      assert.strictEqual(Buffer.compare(Buffer.from(yield* r.arrayBuffer), good), 0)
      assert.strictEqual((yield* get("missing")).status, 404)
      const { received } = yield* Upstream
      assert.strictEqual(received.find((x) => x.key === "ok")!.authorization, "Bearer t0ken")
    }))

  it.effect("a body that does not match its Repr-Digest, has none, or is cut short is a miss (404), never served", () =>
    Effect.gen(function*() {
      for (const key of ["tampered", "nodigest", "short"]) {
        const r = yield* get(key)
        assert.strictEqual(r.status, 404, key)
        assert.strictEqual((yield* r.arrayBuffer).byteLength, 0, key)
      }
    }))

  it.effect("GET: 401, 403, 500 and no answer within the timeout all become 404 (Nx builds the task)", () =>
    Effect.gen(function*() {
      for (const key of ["refused", "readonly", "broken", "silent"]) assert.strictEqual((yield* get(key)).status, 404, key)
    }))

  it.effect("PUT: forwards the exact body with its Content-Length; 200 and 409 pass through, 401/403/413/500/silence become 403", () =>
    Effect.gen(function*() {
      const body = Buffer.from("outputs to share")
      assert.strictEqual((yield* put("stored", body)).status, 200)
      const { received } = yield* Upstream
      const forwarded = received.find((x) => x.method === "PUT" && x.key === "stored")!
      assert.strictEqual(Buffer.compare(forwarded.body, body), 0)
      assert.strictEqual(forwarded.contentLength, String(body.length))
      assert.strictEqual(forwarded.authorization, "Bearer t0ken")
      assert.strictEqual((yield* put("exists", body)).status, 409)
      for (const key of ["refused", "readonly", "toolarge", "broken", "silent"]) assert.strictEqual((yield* put(key, body)).status, 403, key)
      // over the relay's own limit: not read, not forwarded
      assert.strictEqual((yield* put("huge", Buffer.alloc(1024 * 1024 + 1))).status, 403)
      assert.isUndefined(received.find((x) => x.key === "huge"))
    }))
})

layer(relayOn(() => "http://127.0.0.1:9"), { timeout: 60_000, excludeTestServices: true })("relay whose upstream is down", (it) => {
  it.effect("a refused connection is a miss for GET and 'not stored' for PUT", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* get("anything")).status, 404)
      assert.strictEqual((yield* put("anything", Buffer.from("x"))).status, 403)
    }))
})
