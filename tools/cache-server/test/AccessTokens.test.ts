import { assert, describe, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as AccessTokens from "../src/AccessTokens.js"
import { addToken } from "../src/TokensFileEdit.js"
import { tempDir } from "./support/stores.js"

const ci = AccessTokens.generate("ci", "read-write")
const alice = AccessTokens.generate("alice", "read")
const tokens = AccessTokens.make({ tokens: [ci.entry, alice.entry] })

describe("AccessTokens", () => {
  it("maps a listed bearer token to its name and scope, and nothing else to anyone", () => {
    assert.deepStrictEqual(tokens.authenticate(`Bearer ${ci.token}`), Option.some({ name: "ci", scope: "read-write" as const }))
    assert.deepStrictEqual(tokens.authenticate(`bearer ${alice.token}`), Option.some({ name: "alice", scope: "read" as const }))
    assert.isTrue(Option.isNone(tokens.authenticate(undefined)))
    assert.isTrue(Option.isNone(tokens.authenticate("Bearer ")))
    assert.isTrue(Option.isNone(tokens.authenticate(`Basic ${ci.token}`)))
    assert.isTrue(Option.isNone(tokens.authenticate(`Bearer ${ci.token}x`)))
    assert.isTrue(Option.isNone(tokens.authenticate(`Bearer ${ci.token.slice(0, -1)}`)))
    // the file holds digests: presenting a digest as the token gets nothing
    assert.isTrue(Option.isNone(tokens.authenticate(`Bearer ${ci.entry.sha256}`)))
  })

  it("generates distinct 256-bit tokens whose sha256 is what the file lists", () => {
    const a = AccessTokens.generate("a", "read")
    const b = AccessTokens.generate("b", "read")
    assert.notStrictEqual(a.token, b.token)
    assert.strictEqual(Buffer.from(a.token, "base64url").length, 32)
    assert.match(a.entry.sha256, /^[0-9a-f]{64}$/)
    assert.notInclude(JSON.stringify(a.entry), a.token)
  })

  it.effect("the tokens file's errors name the file, the field and what was wrong", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("growlab-tokens-")
      const file = join(dir, "tokens.json")
      const errorOf = (content: string) => {
        writeFileSync(file, content)
        return AccessTokens.readFile(file).pipe(Effect.flip)
      }
      const badScope = yield* errorOf(JSON.stringify({ tokens: [{ ...ci.entry, scope: "admin" }] }))
      assert.strictEqual(badScope.file, file)
      assert.strictEqual(badScope.field, "tokens.0.scope")
      assert.include(badScope.actual, "admin")
      const badDigest = yield* errorOf(JSON.stringify({ tokens: [{ ...ci.entry, sha256: ci.token }] }))
      assert.strictEqual(badDigest.field, "tokens.0.sha256")
      const twice = yield* errorOf(JSON.stringify({ tokens: [ci.entry, { ...ci.entry, name: "other" }] }))
      assert.include(twice.actual, "listed once")
      const notJson = yield* errorOf("{ tokens: ")
      assert.strictEqual(notJson.expected, "valid JSON")
      const missing = yield* AccessTokens.readFile(join(dir, "absent.json")).pipe(Effect.flip)
      assert.strictEqual(missing.field, "(file)")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("`token` adds entries to a new or existing file, refuses a taken name, and the printed token authenticates", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir("growlab-tokens-"), "tokens.json")
      const first = yield* addToken(file, "ci", "read-write")
      const second = yield* addToken(file, "bob", "read")
      const taken = yield* addToken(file, "ci", "read").pipe(Effect.flip)
      assert.strictEqual(taken.field, "tokens[].name")
      const listed = AccessTokens.make(yield* AccessTokens.readFile(file))
      assert.deepStrictEqual(listed.authenticate(`Bearer ${first.token}`), Option.some({ name: "ci", scope: "read-write" as const }))
      assert.deepStrictEqual(listed.authenticate(`Bearer ${second.token}`), Option.some({ name: "bob", scope: "read" as const }))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})
