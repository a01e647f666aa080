/**
 * `growlab-cache serve`: the cache API (CacheApp) over a store (a directory or an S3 bucket), the tokens file and
 * an HTTP(S) listener, as one Layer. Its first log line says where it listens.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AccessTokens from "./AccessTokens.js"
import { CacheSettings, router } from "./CacheApp.js"
import * as FsStore from "./FsStore.js"
import * as S3Store from "./S3Store.js"
import { EntryStore } from "./EntryStore.js"
import * as Listen from "./internal/listen.js"

export type StoreChoice =
  | { readonly _tag: "fs"; readonly dir: string }
  | ({ readonly _tag: "s3" } & S3Store.S3StoreOptions)

export interface ServeOptions extends Listen.ListenOptions {
  readonly store: StoreChoice
  readonly tokensFile: string
  readonly maxEntryBytes: number
}

const storeLayer = (store: StoreChoice) => store._tag === "fs" ? FsStore.layer({ dir: store.dir }) : S3Store.layer(store)

const announce = (options: ServeOptions) =>
  Effect.gen(function*() {
    const url = yield* Listen.url(options)
    const store = yield* EntryStore
    const tokens = yield* AccessTokens.readFile(options.tokensFile)
    const rw = tokens.tokens.filter((t) => t.scope === "read-write").length
    yield* Effect.logInfo(`growlab-cache serve: listening on ${url} (store: ${store.describe}; tokens: ${tokens.tokens.length}, ` +
      `${rw} read-write; entries up to ${options.maxEntryBytes} bytes; Nx: NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${url})`)
  })

/** The running server; it stops when the layer's scope closes (SIGINT/SIGTERM under NodeRuntime.runMain). */
export const layer = (options: ServeOptions) =>
  Layer.mergeAll(
    HttpServer.serve(router),
    Layer.effectDiscard(announce(options))
  ).pipe(
    Layer.provide(Layer.mergeAll(
      storeLayer(options.store),
      AccessTokens.layerFile(options.tokensFile),
      Layer.succeed(CacheSettings, { maxEntryBytes: options.maxEntryBytes })
    )),
    Layer.provideMerge(Listen.layer(options))
  )
