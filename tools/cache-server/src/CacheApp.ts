/**
 * The Nx self-hosted remote cache API (OpenAPI "Nx custom remote cache specification" 1.0.0, Nx ≥ 20.8):
 *
 *   PUT /v1/cache/{hash}  body: the task's tar.gz (application/octet-stream), Content-Length required
 *     200 stored · 401 missing/invalid token (text/plain) · 403 read-only token (text/plain) · 409 exists
 *     and, outside the spec's list: 400 bad key or a body shorter than its Content-Length, 411 no Content-Length,
 *     413 larger than the entry limit, 503 storage failed
 *   GET /v1/cache/{hash}
 *     200 the entry (application/octet-stream, Content-Length, Repr-Digest: sha-256) · 404 no such entry
 *     401 missing/invalid token (text/plain) · 503 storage failed
 *
 * Every GET re-hashes the stored body and compares it with the sha256 recorded at upload. A mismatch is never
 * served: it is logged, the entry is quarantined, and the answer is 404, so Nx rebuilds the task and the next
 * upload stores the key afresh (Nx 24 stops the whole run on any GET status but 200 and 404).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AccessTokens } from "./AccessTokens.js"
import { reprDigestHeader, sha256Hex, toReprDigest } from "./Digest.js"
import * as EntryKey from "./EntryKey.js"
import { EntryStore } from "./EntryStore.js"
import * as RequestLog from "./RequestLog.js"
import { readBody } from "./internal/readBody.js"

export interface CacheSettings {
  /** The largest entry (the tar.gz body) accepted, in bytes. */
  readonly maxEntryBytes: number
}

export const CacheSettings = Context.GenericTag<CacheSettings>("@growlab/cache-server/CacheSettings")

const message = (status: number, text: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(`${text}\n`, { status, contentType: "text/plain", headers })

/** A status without a body (`Content-Length: 0`). */
const bare = (status: number) => HttpServerResponse.empty({ status, headers: { "content-length": "0" } })

const unauthorized = message(401, "growlab-cache: missing or invalid bearer token (NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN)", {
  "www-authenticate": "Bearer realm=\"growlab-cache\""
})

interface Exchange {
  readonly method: "GET" | "PUT"
  readonly request: HttpServerRequest.HttpServerRequest
  readonly started: number
  readonly rawKey: string
}

const exchange = (method: "GET" | "PUT") =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    return { method, request, started: Date.now(), rawKey: params.hash ?? "" } satisfies Exchange
  })

/** Logs the request and returns the response. */
const respond = (x: Exchange, who: string, response: HttpServerResponse.HttpServerResponse, bytes = 0, note?: string) =>
  RequestLog.log({ method: x.method, key: RequestLog.printable(x.rawKey), status: response.status, bytes, started: x.started, who, ...(note ? { note } : {}) })
    .pipe(Effect.as(response))

/** The principal and the decoded key, or the refusal to send. */
const admit = (x: Exchange) =>
  Effect.gen(function*() {
    const tokens = yield* AccessTokens
    const principal = tokens.authenticate(x.request.headers.authorization)
    if (Option.isNone(principal)) return yield* Effect.fail(yield* respond(x, "anonymous", unauthorized))
    const key = EntryKey.decode(x.rawKey)
    if (Option.isNone(key)) {
      return yield* Effect.fail(yield* respond(x, principal.value.name, message(400, "growlab-cache: the key must be 1–128 letters, digits, '_' or '-'")))
    }
    return { principal: principal.value, key: key.value }
  })

const getEntry = Effect.gen(function*() {
  const x = yield* exchange("GET")
  const { key, principal } = yield* admit(x)
  const store = yield* EntryStore
  const found = yield* store.get(key).pipe(Effect.either)
  if (found._tag === "Left") {
    yield* Effect.logError(found.left.message)
    return yield* respond(x, principal.name, message(503, "growlab-cache: storage unavailable"))
  }
  if (Option.isNone(found.right)) return yield* respond(x, principal.name, bare(404))
  const entry = found.right.value
  const actual = sha256Hex(entry.body)
  if (actual !== entry.sha256) {
    yield* Effect.logError(`integrity: entry ${key}: expected sha256 ${entry.sha256} (recorded at upload), got ${actual} ` +
      `over ${entry.body.length} bytes; not served, quarantined`)
    yield* store.quarantine(key).pipe(Effect.catchAll((e) => Effect.logError(`integrity: could not quarantine ${key}: ${e.message}`)))
    return yield* respond(x, principal.name, bare(404), 0, "damaged entry quarantined")
  }
  return yield* respond(x, principal.name, HttpServerResponse.uint8Array(entry.body, {
    status: 200,
    contentType: "application/octet-stream",
    headers: { [reprDigestHeader]: toReprDigest(actual) }
  }), entry.body.length)
}).pipe(Effect.catchAll((response) => Effect.succeed(response)))

const putEntry = Effect.gen(function*() {
  const x = yield* exchange("PUT")
  const { key, principal } = yield* admit(x)
  if (principal.scope !== "read-write") {
    return yield* respond(x, principal.name, message(403, `growlab-cache: token '${principal.name}' is read-only`))
  }
  const declared = x.request.headers["content-length"]
  if (declared === undefined || !/^\d+$/.test(declared)) {
    return yield* respond(x, principal.name, message(411, "growlab-cache: Content-Length is required"))
  }
  const length = Number(declared)
  const { maxEntryBytes } = yield* CacheSettings
  if (length > maxEntryBytes) {
    // closing the connection spares reading a body that will not be stored
    return yield* respond(x, principal.name, message(413, `growlab-cache: an entry of ${length} bytes exceeds the limit of ${maxEntryBytes} bytes`, { connection: "close" }))
  }
  const store = yield* EntryStore
  const present = yield* store.exists(key).pipe(Effect.either)
  if (present._tag === "Right" && present.right) return yield* respond(x, principal.name, bare(409))
  const read = yield* readBody(x.request, key, length).pipe(
    Effect.onInterrupt(() => Effect.logWarning(`PUT ${key}: the client closed the connection during the upload; nothing stored (${principal.name})`)),
    Effect.either
  )
  if (read._tag === "Left") {
    return yield* respond(x, principal.name, message(400, `growlab-cache: ${read.left.message}`), 0, "truncated upload discarded")
  }
  const body = read.right
  const sha256 = sha256Hex(body)
  return yield* store.put(key, body, sha256).pipe(
    Effect.flatMap(() => respond(x, principal.name, bare(200), body.length, `sha256=${sha256}`)),
    Effect.catchTags({
      EntryExists: () => respond(x, principal.name, bare(409), body.length),
      StoreError: (e) => Effect.logError(e.message).pipe(Effect.zipRight(respond(x, principal.name, message(503, "growlab-cache: storage unavailable"), body.length)))
    })
  )
}).pipe(Effect.catchAll((response) => Effect.succeed(response)))

const methodNotAllowed = message(405, "growlab-cache: only GET and PUT", { allow: "GET, PUT" })

/** The routes of the spec; anything else is 404 (405 for another method on an entry). */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/v1/cache/:hash", getEntry),
  HttpRouter.put("/v1/cache/:hash", putEntry),
  HttpRouter.post("/v1/cache/:hash", Effect.succeed(methodNotAllowed)),
  HttpRouter.patch("/v1/cache/:hash", Effect.succeed(methodNotAllowed)),
  HttpRouter.del("/v1/cache/:hash", Effect.succeed(methodNotAllowed))
)
