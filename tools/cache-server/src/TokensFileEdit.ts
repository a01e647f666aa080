/**
 * `growlab-cache token`: adds a new random token to a tokens file (creating it), written atomically, and returns
 * the token, which is shown once and stored nowhere (the file keeps only its sha256).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as AccessTokens from "./AccessTokens.js"
import { SettingsError } from "./CacheError.js"

export const addToken = (file: string, name: string, scope: AccessTokens.Scope) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const existing = (yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))
      ? yield* AccessTokens.readFile(file)
      : { tokens: [] }
    if (existing.tokens.some((t) => t.name === name)) {
      return yield* Effect.fail(new SettingsError({ file, field: "tokens[].name", expected: "a name not yet in the file", actual: JSON.stringify(name) }))
    }
    const { token, entry } = AccessTokens.generate(name, scope)
    const next: AccessTokens.TokensFile = { tokens: [...existing.tokens, entry] }
    const tmp = `${file}.tmp-${process.pid}`
    yield* fs.writeFileString(tmp, `${JSON.stringify(next, null, 2)}\n`).pipe(
      Effect.zipRight(fs.rename(tmp, file)),
      Effect.mapError((e) => new SettingsError({ file, field: "(file)", expected: "a writable tokens file", actual: e.message }))
    )
    return { token, entry }
  })
