/**
 * Who may read and write. The tokens file (JSON, decoded once at start) lists each token's name, scope and the
 * sha256 of the token, never the token itself, so the file is no secret:
 *
 *   { "tokens": [ { "name": "ci", "scope": "read-write", "sha256": "<64 hex>" },
 *                 { "name": "alice-laptop", "scope": "read", "sha256": "<64 hex>" } ] }
 *
 * A request's bearer token is hashed and compared with every listed digest with `crypto.timingSafeEqual` (no early
 * exit), so the time taken says nothing about which digest, or how much of one, matched.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { SettingsError } from "./CacheError.js"

export const Scope = Schema.Literal("read", "read-write")
export type Scope = typeof Scope.Type

export const TokenEntry = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/)),
  scope: Scope,
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))
})
export type TokenEntry = typeof TokenEntry.Type

export const TokensFile = Schema.Struct({
  tokens: Schema.Array(TokenEntry).pipe(
    Schema.filter((ts) => new Set(ts.map((t) => t.name)).size === ts.length || "token names must be unique"),
    Schema.filter((ts) => new Set(ts.map((t) => t.sha256)).size === ts.length || "each token must be listed once")
  )
})
export type TokensFile = typeof TokensFile.Type

/** Whoever presented a valid token: the token's name (safe to log) and its scope. */
export interface Principal {
  readonly name: string
  readonly scope: Scope
}

export interface AccessTokens {
  /** The principal for an `Authorization` header, if it carries a listed bearer token. */
  readonly authenticate: (authorization: string | undefined) => Option.Option<Principal>
}

export const AccessTokens = Context.GenericTag<AccessTokens>("@growlab/cache-server/AccessTokens")

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

/** `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 6750). */
export const bearerToken = (authorization: string | undefined): Option.Option<string> => {
  const m = authorization === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization)
  return m === null ? Option.none() : Option.some(m[1]!)
}

export const make = (file: TokensFile): AccessTokens => {
  const listed = file.tokens.map((t) => ({ principal: { name: t.name, scope: t.scope } as Principal, digest: Buffer.from(t.sha256, "hex") }))
  return {
    authenticate: (authorization) => {
      const token = bearerToken(authorization)
      // an absent or malformed header is still compared (with a digest nothing matches) so it costs the same time
      const presented = digest(Option.getOrElse(token, () => ""))
      let found: Principal | undefined
      for (const t of listed) {
        if (timingSafeEqual(presented, t.digest) && Option.isSome(token)) found = t.principal
      }
      return Option.fromNullable(found)
    }
  }
}

/** Reads and decodes the tokens file; its errors name the file, the field and what was wrong. */
export const readFile = (file: string): Effect.Effect<TokensFile, SettingsError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new SettingsError({ file, field: "(file)", expected: "a readable tokens file", actual: e.message }))
    )
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new SettingsError({ file, field: "(file)", expected: "valid JSON", actual: String(e) })
    })
    return yield* Schema.decodeUnknown(TokensFile)(json).pipe(
      Effect.mapError((e) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
        return new SettingsError({
          file, field: issue?.path.join(".") || "(root)",
          expected: `{ "tokens": [ { "name", "scope": "read" | "read-write", "sha256": 64 hex } ] }`,
          actual: issue?.message ?? e.message
        })
      })
    )
  })

export const layerFile = (file: string): Layer.Layer<AccessTokens, SettingsError, FileSystem.FileSystem> =>
  Layer.effect(AccessTokens, Effect.map(readFile(file), make))

export const layer = (file: TokensFile): Layer.Layer<AccessTokens> => Layer.succeed(AccessTokens, make(file))

/** A new random token (256 bits, base64url) and the entry that grants it `scope` under `name`. */
export const generate = (name: string, scope: Scope): { readonly token: string; readonly entry: TokenEntry } => {
  const token = randomBytes(32).toString("base64url")
  return { token, entry: { name, scope, sha256: digest(token).toString("hex") } }
}
