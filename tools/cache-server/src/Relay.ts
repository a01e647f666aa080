/**
 * `growlab-cache relay`: a local stand-in that Nx talks to (`NX_SELF_HOSTED_REMOTE_CACHE_SERVER=http://127.0.0.1:4601`),
 * forwarding each request, with Nx's own Authorization header, to the team's server. Nx 24 stops the whole run on
 * any remote-cache answer but 200/404 to a GET (a refused token, a server that is down or restarting, a 5xx) and
 * fails a task whose upload gets anything but 200/403/409. The relay turns every such failure into what lets the run
 * go on locally, and says so in its log:
 *   GET: upstream 200 whose body matches its Repr-Digest sha256 and Content-Length → 200; upstream 404 → 404;
 *        anything else (401, 403, 5xx, a digest mismatch, no answer within the timeout, refused connection) → 404.
 *   PUT: upstream 200 → 200, 409 → 409, anything else (403, 401, 413, 5xx, no answer) → 403 (Nx: "not stored").
 * It also checks every downloaded body against the server's sha256 before Nx sees a byte, and it can trust a
 * private CA for an HTTPS server (`--ca`), which Nx itself cannot.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as tls from "node:tls"
import { SettingsError } from "./CacheError.js"
import * as Listen from "./internal/listen.js"
import { fromReprDigest, reprDigestHeader, sha256Hex, toReprDigest } from "./Digest.js"
import * as RequestLog from "./RequestLog.js"
import { readBody } from "./internal/readBody.js"

export interface RelaySettings {
  /** The team server's base URL, without a trailing slash. */
  readonly upstream: string
  /** Longest wait for one upstream exchange (headers and body). */
  readonly timeout: Duration.Duration
  /** Largest body the relay holds in memory. */
  readonly maxEntryBytes: number
}

export const RelaySettings = Context.GenericTag<RelaySettings>("@growlab/cache-server/RelaySettings")

const forwardedHeaders = (request: HttpServerRequest.HttpServerRequest): Record<string, string> =>
  request.headers.authorization === undefined ? {} : { authorization: request.headers.authorization }

const context = (method: "GET" | "PUT") =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const settings = yield* RelaySettings
    const client = yield* HttpClient.HttpClient
    const key = params.hash ?? ""
    const started = Date.now()
    const url = `${settings.upstream}/v1/cache/${encodeURIComponent(key)}`
    const done = (response: HttpServerResponse.HttpServerResponse, bytes: number, note: string) =>
      RequestLog.log({ method, key: RequestLog.printable(key), status: response.status, bytes, started, who: "relay", note }).pipe(Effect.as(response))
    /** Nx gets `response`; the log line (a warning) says why the upstream's answer was not passed on. */
    const fallBack = (response: HttpServerResponse.HttpServerResponse, why: string) =>
      RequestLog.log({ method, key: RequestLog.printable(key), status: response.status, bytes: 0, started, who: "relay", note: `fallback, the Nx run goes on locally: ${why}`, warn: true })
        .pipe(Effect.as(response))
    return { request, settings, client, key, url, done, fallBack }
  })

/** The first line of a client error and the system error under it (ECONNREFUSED, a timeout, …). */
const reason = (e: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = e.cause as { readonly code?: string; readonly message?: string } | undefined
  const under = cause?.code ?? cause?.message
  return `${e.message.split("\n")[0]}${under ? `: ${under}` : ""}`
}

const upstreamText = (response: { readonly text: Effect.Effect<string, unknown> }) =>
  response.text.pipe(Effect.map((t) => t.trim().slice(0, 200)), Effect.orElseSucceed(() => ""))

const relayGet = Effect.gen(function*() {
  const c = yield* context("GET")
  const miss = HttpServerResponse.empty({ status: 404, headers: { "content-length": "0" } })
  const exchange = c.client.execute(HttpClientRequest.get(c.url, { headers: { ...forwardedHeaders(c.request), accept: "application/octet-stream" } })).pipe(
    Effect.flatMap((response) => response.status !== 200
      ? upstreamText(response).pipe(Effect.map((text) => ({ status: response.status, text, body: new Uint8Array(0), headers: response.headers })))
      : Number(response.headers["content-length"] ?? 0) > c.settings.maxEntryBytes
      ? Effect.fail(new Error(`its entry of ${response.headers["content-length"]} bytes exceeds the relay's limit of ${c.settings.maxEntryBytes} bytes`))
      : response.arrayBuffer.pipe(Effect.map((b) => ({ status: 200, text: "", body: new Uint8Array(b), headers: response.headers })))),
    Effect.timeout(c.settings.timeout),
    Effect.either
  )
  const answer = yield* exchange
  if (answer._tag === "Left") return yield* c.fallBack(miss, `no usable answer from upstream (${reason(answer.left)})`)
  const { status, text, body, headers } = answer.right
  if (status === 404) return yield* c.done(miss, 0, "upstream 404")
  if (status !== 200) return yield* c.fallBack(miss, `upstream answered ${status}${text ? ` "${text}"` : ""}`)
  const declared = headers["content-length"]
  if (declared !== undefined && Number(declared) !== body.length) {
    return yield* c.fallBack(miss, `upstream body has ${body.length} bytes, its Content-Length says ${declared}`)
  }
  const expected = fromReprDigest(headers[reprDigestHeader])
  const actual = sha256Hex(body)
  if (Option.isNone(expected)) return yield* c.fallBack(miss, "upstream sent no Repr-Digest sha-256")
  if (expected.value !== actual) return yield* c.fallBack(miss, `upstream body sha256 ${actual} differs from its Repr-Digest ${expected.value}`)
  return yield* c.done(HttpServerResponse.uint8Array(body, {
    status: 200, contentType: "application/octet-stream", headers: { [reprDigestHeader]: toReprDigest(actual) }
  }), body.length, "upstream 200, sha256 verified")
})

const relayPut = Effect.gen(function*() {
  const c = yield* context("PUT")
  const notStored = HttpServerResponse.empty({ status: 403, headers: { "content-length": "0" } })
  const declared = c.request.headers["content-length"]
  if (declared === undefined || !/^\d+$/.test(declared)) {
    return yield* c.done(HttpServerResponse.text("growlab-cache relay: Content-Length is required\n", { status: 411, contentType: "text/plain" }), 0, "no Content-Length")
  }
  if (Number(declared) > c.settings.maxEntryBytes) {
    return yield* c.fallBack(notStored, `an entry of ${declared} bytes exceeds the relay's limit of ${c.settings.maxEntryBytes} bytes`)
  }
  const read = yield* readBody(c.request, c.key, Number(declared)).pipe(Effect.either)
  if (read._tag === "Left") return yield* c.done(notStored, 0, read.left.message)
  const body = read.right
  const answer = yield* c.client.execute(
    HttpClientRequest.put(c.url, { headers: forwardedHeaders(c.request) }).pipe(HttpClientRequest.bodyUint8Array(body, "application/octet-stream"))
  ).pipe(
    Effect.flatMap((response) => upstreamText(response).pipe(Effect.map((text) => ({ status: response.status, text })))),
    Effect.timeout(c.settings.timeout),
    Effect.either
  )
  if (answer._tag === "Left") return yield* c.fallBack(notStored, `upstream unreachable (${reason(answer.left)})`)
  const { status, text } = answer.right
  if (status === 200 || status === 409) return yield* c.done(HttpServerResponse.empty({ status, headers: { "content-length": "0" } }), body.length, `upstream ${status}`)
  return yield* c.fallBack(notStored, `upstream answered ${status}${text ? ` "${text}"` : ""}`)
})

export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/v1/cache/:hash", relayGet),
  HttpRouter.put("/v1/cache/:hash", relayPut)
)

export interface RelayOptions extends Listen.ListenOptions {
  readonly upstream: string
  readonly timeout: Duration.Duration
  readonly maxEntryBytes: number
  /** PEM file of a CA to trust for an HTTPS upstream, besides the system's. */
  readonly ca: Option.Option<string>
}

const clientLayer = (ca: Option.Option<string>) =>
  Layer.unwrapEffect(Option.match(ca, {
    onNone: () => Effect.succeed(NodeHttpClient.makeAgentLayer({ keepAlive: true })),
    onSome: (file) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
      Effect.mapError((e) => new SettingsError({ file, field: "--ca", expected: "a readable PEM file", actual: e.message })),
      Effect.map((pem) => NodeHttpClient.makeAgentLayer({ keepAlive: true, ca: [...tls.rootCertificates, pem] }))
    )
  })).pipe(Layer.provide(NodeContext.layer), (agent) => Layer.provide(NodeHttpClient.layerWithoutAgent, agent))

const announce = (options: RelayOptions) =>
  Effect.flatMap(Listen.url(options), (url) =>
    Effect.logInfo(`growlab-cache relay: listening on ${url}, forwarding to ${options.upstream} ` +
      `(Nx: NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${url}; a failing upstream reads as a cache miss)`))

/** The running relay; it stops when the layer's scope closes. */
export const layer = (options: RelayOptions) =>
  Layer.mergeAll(HttpServer.serve(router), Layer.effectDiscard(announce(options))).pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeed(RelaySettings, { upstream: options.upstream.replace(/\/+$/, ""), timeout: options.timeout, maxEntryBytes: options.maxEntryBytes }),
      clientLayer(options.ca)
    )),
    Layer.provideMerge(Listen.layer(options))
  )
