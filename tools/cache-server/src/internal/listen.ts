/**
 * The HTTP(S) listener shared by `serve` and `relay`: plain HTTP, or HTTPS when a certificate and key are given.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as http from "node:http"
import * as https from "node:https"
import { SettingsError } from "../CacheError.js"

export interface ListenOptions {
  readonly host: string
  /** 0 picks a free port (printed in the "listening on" line). */
  readonly port: number
  /** PEM files; HTTPS when present. */
  readonly tls: Option.Option<{ readonly cert: string; readonly key: string }>
}

// uploads of large entries over slow links take minutes; headers must still arrive promptly
const timeouts = { requestTimeout: 30 * 60_000, headersTimeout: 60_000 }

const readPem = (file: string, field: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(file)).pipe(
    Effect.mapError((e) => new SettingsError({ file, field, expected: "a readable PEM file", actual: e.message }))
  )

export const layer = (options: ListenOptions) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const tls = yield* Option.match(options.tls, {
      onNone: () => Effect.succeedNone,
      onSome: (t) => Effect.all({ cert: readPem(t.cert, "--tls-cert"), key: readPem(t.key, "--tls-key") }).pipe(Effect.asSome)
    })
    const create = Option.match(tls, {
      onNone: () => () => http.createServer(timeouts),
      onSome: (pem) => () => https.createServer({ ...timeouts, cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) }) as unknown as http.Server
    })
    return NodeHttpServer.layer(create, { host: options.host, port: options.port })
  }))

/** `http(s)://host:port` of the running server. */
export const url = (options: ListenOptions) =>
  HttpServer.addressWith((a) => Effect.succeed(
    a._tag === "TcpAddress" ? `${Option.isSome(options.tls) ? "https" : "http"}://${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}` : `unix:${a.path}`
  ))
