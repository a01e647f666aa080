/**
 * The EntryStore contract, checked on both real stores through the same interface: a directory (FsStore) and an
 * S3 bucket on a real S3-compatible server (S3Store on Ceph RGW).
 */
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { sha256Hex } from "../src/Digest.js"
import * as EntryKey from "../src/EntryKey.js"
import { EntryStore } from "../src/EntryStore.js"
import { cephStore, fsStore } from "./support/stores.js"

const newKey = () => Option.getOrThrow(EntryKey.decode(String(BigInt(`0x${randomBytes(8).toString("hex")}`))))
const body = (text: string) => Buffer.from(text.repeat(1000))

const contract = <E>(name: string, store: Layer.Layer<EntryStore, E>) =>
  layer(store, { timeout: 180_000, excludeTestServices: true })(name, (it) => {
    it.effect("stores an entry and returns its body with the sha256 recorded at upload", () =>
      Effect.gen(function*() {
        const s = yield* EntryStore
        const key = newKey()
        assert.isFalse(yield* s.exists(key))
        assert.isTrue(Option.isNone(yield* s.get(key)))
        const b = body("first")
        yield* s.put(key, b, sha256Hex(b))
        assert.isTrue(yield* s.exists(key))
        const got = Option.getOrThrow(yield* s.get(key))
        assert.strictEqual(Buffer.compare(Buffer.from(got.body), b), 0)
        assert.strictEqual(got.sha256, sha256Hex(b))
      }))

    it.effect("is write-once: a second put fails with EntryExists and the stored entry is unchanged", () =>
      Effect.gen(function*() {
        const s = yield* EntryStore
        const key = newKey()
        const first = body("honest")
        yield* s.put(key, first, sha256Hex(first))
        const second = body("poison")
        const error = yield* s.put(key, second, sha256Hex(second)).pipe(Effect.flip)
        assert.strictEqual(error._tag, "EntryExists")
        const got = Option.getOrThrow(yield* s.get(key))
        assert.strictEqual(Buffer.compare(Buffer.from(got.body), first), 0)
        assert.strictEqual(got.sha256, sha256Hex(first))
      }))

    it.effect("of 8 concurrent puts of one key exactly one is stored, whole", () =>
      Effect.gen(function*() {
        const s = yield* EntryStore
        const key = newKey()
        const bodies = Array.from({ length: 8 }, (_, i) => body(`writer ${i} `))
        const results = yield* Effect.forEach(bodies, (b) => s.put(key, b, sha256Hex(b)).pipe(Effect.either), { concurrency: "unbounded" })
        const winners = results.flatMap((r, i) => r._tag === "Right" ? [i] : [])
        assert.strictEqual(winners.length, 1)
        for (const r of results) if (r._tag === "Left") assert.strictEqual(r.left._tag, "EntryExists")
        const got = Option.getOrThrow(yield* s.get(key))
        assert.strictEqual(Buffer.compare(Buffer.from(got.body), bodies[winners[0]!]!), 0)
        assert.strictEqual(got.sha256, sha256Hex(bodies[winners[0]!]!))
      }))

    it.effect("a quarantined entry is no longer served and its key can be stored again", () =>
      Effect.gen(function*() {
        const s = yield* EntryStore
        const key = newKey()
        const b = body("damaged later")
        yield* s.put(key, b, sha256Hex(b))
        yield* s.quarantine(key)
        assert.isFalse(yield* s.exists(key))
        assert.isTrue(Option.isNone(yield* s.get(key)))
        const fresh = body("rebuilt")
        yield* s.put(key, fresh, sha256Hex(fresh))
        assert.strictEqual(Buffer.compare(Buffer.from(Option.getOrThrow(yield* s.get(key)).body), fresh), 0)
      }))

    it.effect("stores an empty body and a 5 MB body byte for byte", () =>
      Effect.gen(function*() {
        const s = yield* EntryStore
        for (const b of [Buffer.alloc(0), randomBytes(5 * 1024 * 1024)]) {
          const key = newKey()
          yield* s.put(key, b, sha256Hex(b))
          const got = Option.getOrThrow(yield* s.get(key))
          assert.strictEqual(got.body.length, b.length)
          assert.strictEqual(sha256Hex(got.body), sha256Hex(b))
        }
      }))
  })

contract("FsStore (a directory)", fsStore())
contract("S3Store (Ceph RGW 16.2, a real S3-compatible server)", cephStore("contract/"))
