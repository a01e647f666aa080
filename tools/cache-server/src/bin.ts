/**
 * `growlab-cache` — the team's remote cache for Nx.
 *   serve  the cache server (a directory or an S3 bucket; bearer tokens; write-once; sha256-verified reads)
 *   relay  a local relay that Nx talks to; a failing server reads as a cache miss instead of stopping the run
 *   token  add a read or read-write token to a tokens file and print it once
 * Every option falls back to an environment variable (named in --help).
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { SettingsError } from "./CacheError.js"
import * as Relay from "./Relay.js"
import * as Serve from "./Serve.js"
import { addToken } from "./TokensFileEdit.js"
import * as LineLogger from "./internal/lineLogger.js"

const withEnv = <A>(option: Options.Options<A>, config: Config.Config<A>, what: string) =>
  option.pipe(Options.withFallbackConfig(config), Options.withDescription(what))

const host = withEnv(Options.text("host"), Config.string("GROWLAB_CACHE_HOST"), "address to listen on (GROWLAB_CACHE_HOST); 0.0.0.0 for all interfaces")
  .pipe(Options.withDefault("127.0.0.1"))
const maxEntryMb = withEnv(Options.integer("max-entry-mb"), Config.integer("GROWLAB_CACHE_MAX_ENTRY_MB"), "largest entry accepted, MiB (GROWLAB_CACHE_MAX_ENTRY_MB)")
  .pipe(Options.withDefault(1024))
const optionalText = (name: string, env: string, what: string) => withEnv(Options.text(name), Config.string(env), `${what} (${env})`).pipe(Options.optional)

const settingsError = (field: string, expected: string, actual: string) =>
  new SettingsError({ file: "(command line)", field, expected, actual })

const tlsOf = (cert: Option.Option<string>, key: Option.Option<string>) =>
  Option.isSome(cert) === Option.isSome(key)
    ? Effect.succeed(Option.all({ cert, key }))
    : Effect.fail(settingsError("--tls-cert / --tls-key", "both or neither", Option.isSome(cert) ? "only --tls-cert" : "only --tls-key"))

const serve = Command.make("serve", {
  dir: optionalText("dir", "GROWLAB_CACHE_DIR", "store entries in this directory"),
  s3Bucket: optionalText("s3-bucket", "GROWLAB_CACHE_S3_BUCKET", "store entries in this S3 bucket (credentials: the AWS SDK's usual chain, e.g. AWS_ACCESS_KEY_ID)"),
  s3Prefix: withEnv(Options.text("s3-prefix"), Config.string("GROWLAB_CACHE_S3_PREFIX"), "key prefix in the bucket (GROWLAB_CACHE_S3_PREFIX)").pipe(Options.withDefault("")),
  s3Endpoint: optionalText("s3-endpoint", "GROWLAB_CACHE_S3_ENDPOINT", "S3-compatible endpoint URL (Ceph RGW, MinIO, …)"),
  s3Region: withEnv(Options.text("s3-region"), Config.string("GROWLAB_CACHE_S3_REGION"), "bucket region (GROWLAB_CACHE_S3_REGION)").pipe(Options.withDefault("us-east-1")),
  s3PathStyle: Options.boolean("s3-path-style").pipe(Options.withDescription("path-style URLs (most self-hosted S3 servers)")),
  tokens: withEnv(Options.text("tokens"), Config.string("GROWLAB_CACHE_TOKENS"), "tokens file (GROWLAB_CACHE_TOKENS); `growlab-cache token` writes it"),
  host,
  port: withEnv(Options.integer("port"), Config.integer("GROWLAB_CACHE_PORT"), "port (GROWLAB_CACHE_PORT); 0 picks a free one").pipe(Options.withDefault(4600)),
  maxEntryMb,
  tlsCert: optionalText("tls-cert", "GROWLAB_CACHE_TLS_CERT", "PEM certificate (chain): serve HTTPS"),
  tlsKey: optionalText("tls-key", "GROWLAB_CACHE_TLS_KEY", "PEM private key for --tls-cert")
}, (o) =>
  Effect.gen(function*() {
    const store: Serve.StoreChoice | undefined = Option.isSome(o.dir) && Option.isNone(o.s3Bucket)
      ? { _tag: "fs", dir: o.dir.value }
      : Option.isSome(o.s3Bucket) && Option.isNone(o.dir)
      ? { _tag: "s3", bucket: o.s3Bucket.value, prefix: o.s3Prefix, endpoint: o.s3Endpoint, region: o.s3Region, forcePathStyle: o.s3PathStyle, credentials: Option.none() }
      : undefined
    if (store === undefined) {
      return yield* Effect.fail(settingsError("--dir / --s3-bucket", "exactly one", Option.isSome(o.dir) ? "both" : "neither"))
    }
    const tls = yield* tlsOf(o.tlsCert, o.tlsKey)
    return yield* Layer.launch(Serve.layer({
      store, tokensFile: o.tokens, host: o.host, port: o.port, tls, maxEntryBytes: o.maxEntryMb * 1024 * 1024
    }))
  })).pipe(Command.withDescription("run the cache server"))

const relay = Command.make("relay", {
  upstream: withEnv(Options.text("upstream"), Config.string("GROWLAB_CACHE_UPSTREAM"), "the team server's URL, e.g. https://nx-cache.lab:4600 (GROWLAB_CACHE_UPSTREAM)"),
  ca: optionalText("ca", "GROWLAB_CACHE_CA", "PEM CA certificate to trust for an HTTPS upstream"),
  host,
  port: withEnv(Options.integer("port"), Config.integer("GROWLAB_CACHE_RELAY_PORT"), "port (GROWLAB_CACHE_RELAY_PORT); 0 picks a free one").pipe(Options.withDefault(4601)),
  timeoutS: withEnv(Options.integer("timeout-s"), Config.integer("GROWLAB_CACHE_RELAY_TIMEOUT_S"), "longest wait for one upstream exchange, s").pipe(Options.withDefault(300)),
  maxEntryMb
}, (o) =>
  Layer.launch(Relay.layer({
    upstream: o.upstream, ca: o.ca, host: o.host, port: o.port, tls: Option.none(),
    timeout: Duration.seconds(o.timeoutS), maxEntryBytes: o.maxEntryMb * 1024 * 1024
  }))).pipe(Command.withDescription("run a local relay for Nx: forwards to the server, turns its failures into cache misses"))

const token = Command.make("token", {
  tokens: withEnv(Options.text("tokens"), Config.string("GROWLAB_CACHE_TOKENS"), "tokens file to add to (created if absent)"),
  name: Options.text("name").pipe(Options.withDescription("who or what holds it, e.g. ci or alice-laptop (shown in the server's log)")),
  scope: Options.choice("scope", ["read", "read-write"]).pipe(Options.withDefault("read" as const), Options.withDescription("read (laptops) or read-write (CI)"))
}, (o) =>
  Effect.gen(function*() {
    const { token } = yield* addToken(o.tokens, o.name, o.scope)
    yield* Console.error(`added ${o.scope} token '${o.name}' to ${o.tokens} (only its sha256 is stored; the server reads the file at start)`)
    yield* Console.log(token)
  })).pipe(Command.withDescription("add a token to the tokens file; prints the token once on stdout"))

const cli = Command.run(Command.make("growlab-cache").pipe(Command.withSubcommands([serve, relay, token])), {
  name: "growlab-cache",
  version: "0.1.0"
})

cli(process.argv).pipe(
  Effect.provide(Layer.merge(NodeContext.layer, LineLogger.layer)),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
