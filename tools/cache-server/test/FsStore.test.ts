import { assert, describe, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { sha256Hex } from "../src/Digest.js"
import * as EntryKey from "../src/EntryKey.js"
import * as FsStore from "../src/FsStore.js"
import { tempDir } from "./support/stores.js"

const key = (k: string) => Option.getOrThrow(EntryKey.decode(k))

describe("FsStore", () => {
  it.effect("an upload a crash left in tmp/ is never served, and the next start removes it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("growlab-cache-fs-")
      yield* FsStore.make({ dir })
      // what a server killed mid-upload leaves: a temp file that was never linked into entries/
      writeFileSync(join(dir, "tmp", "777.5f1e0c2a9b3d4e6f"), "growlab-cache-entry/1 sha256=" + "0".repeat(64) + "\npartial")
      const store = yield* FsStore.make({ dir })
      assert.deepStrictEqual(readdirSync(join(dir, "tmp")), [])
      assert.isTrue(Option.isNone(yield* store.get(key("777"))))
      assert.isFalse(yield* store.exists(key("777")))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))

  it.effect("keeps the recorded sha256 in the entry's first line; a damaged line records no valid digest", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("growlab-cache-fs-")
      const store = yield* FsStore.make({ dir })
      const body = Buffer.from("tar.gz bytes")
      yield* store.put(key("42"), body, sha256Hex(body))
      const file = readFileSync(join(dir, "entries", "42"))
      assert.strictEqual(file.toString("latin1"), `growlab-cache-entry/1 sha256=${sha256Hex(body)}\ntar.gz bytes`)
      writeFileSync(join(dir, "entries", "42"), Buffer.concat([Buffer.from("garbage\n"), body]))
      const damaged = Option.getOrThrow(yield* store.get(key("42")))
      assert.notStrictEqual(damaged.sha256, sha256Hex(damaged.body))
      assert.deepStrictEqual(readdirSync(join(dir, "tmp")), [])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})
