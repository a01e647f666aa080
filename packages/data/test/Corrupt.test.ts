import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeContext } from "@effect/platform-node"
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import * as Loader from "../src/Loader.js"
import { requiredFiles, type DatasetName, type Split } from "../src/Sources.js"
import { DATA_DIR_ABS, listFiles, tempDir } from "./fixtures.js"

const raw = (rel: string): Buffer => readFileSync(path.join(DATA_DIR_ABS, rel))

/** A data folder in `dir` linking the real files, with `overrides` written as altered copies. */
const dataDir = (dir: string, dataset: DatasetName, overrides: Record<string, Uint8Array>) => {
  for (const rel of requiredFiles(dataset)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    if (overrides[rel]) writeFileSync(path.join(dir, rel), overrides[rel])
    else symlinkSync(path.join(DATA_DIR_ABS, rel), path.join(dir, rel))
  }
  return dir
}

/** Loads a split from a folder with one altered file and returns the error (and checks nothing was written). */
const failure = (dataset: DatasetName, split: Split, overrides: Record<string, Uint8Array>) =>
  Effect.gen(function*() {
    const dir = dataDir(yield* tempDir, dataset, overrides)
    const before = yield* listFiles(dir)
    const e = yield* Effect.flip(Loader.loadSplit(dataset, split, { dataDir: dir }))
    assert.deepStrictEqual(yield* listFiles(dir), before)
    return { e, dir }
  })

const TEST_BATCH = "cifar-10-batches-bin/test_batch.bin"
const T10K_IMAGES = "fashion-mnist/t10k-images-idx3-ubyte.gz"
const T10K_LABELS = "fashion-mnist/t10k-labels-idx1-ubyte.gz"

describe("CIFAR-10 corrupt inputs", () => {
  it.scoped("a truncated batch names the file, the byte where it ends and the record cut short", () =>
    Effect.gen(function*() {
      const bytes = raw(TEST_BATCH)
      const { e, dir } = yield* failure("cifar10", "test", { [TEST_BATCH]: bytes.subarray(0, bytes.length - 100) })
      assert.strictEqual(e._tag, "TruncatedFile")
      if (e._tag !== "TruncatedFile") return
      assert.strictEqual(e.file, path.join(dir, TEST_BATCH))
      assert.strictEqual(e.offset, 30_730_000 - 100)
      assert.strictEqual(e.record, 9999)
      assert.strictEqual(e.expectedBytes, 30_730_000)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a batch with whole records missing is a record-count error", () =>
    Effect.gen(function*() {
      const bytes = raw(TEST_BATCH)
      const { e } = yield* failure("cifar10", "test", { [TEST_BATCH]: bytes.subarray(0, 9999 * 3073) })
      assert.strictEqual(e._tag, "RecordCountMismatch")
      if (e._tag !== "RecordCountMismatch") return
      assert.deepStrictEqual([e.expected, e.actual, e.what], [10_000, 9999, "records"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a label byte outside [0, 10) names the batch file, record and byte offset", () =>
    Effect.gen(function*() {
      const rel = "cifar-10-batches-bin/data_batch_2.bin"
      const bytes = Buffer.from(raw(rel))
      bytes[4321 * 3073] = 10
      const { e, dir } = yield* failure("cifar10", "train", { [rel]: bytes })
      assert.strictEqual(e._tag, "LabelOutOfRange")
      if (e._tag !== "LabelOutOfRange") return
      assert.deepStrictEqual([e.file, e.record, e.offset, e.label], [path.join(dir, rel), 4321, 4321 * 3073, 10])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("one changed pixel is a SHA-256 mismatch against the table", () =>
    Effect.gen(function*() {
      const bytes = Buffer.from(raw(TEST_BATCH))
      bytes[5000] ^= 1
      const { e } = yield* failure("cifar10", "test", { [TEST_BATCH]: bytes })
      assert.strictEqual(e._tag, "ChecksumMismatch")
      if (e._tag !== "ChecksumMismatch") return
      assert.strictEqual(e.algorithm, "sha256")
      assert.strictEqual(e.expected, "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b")
      assert.notStrictEqual(e.actual, e.expected)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("wrong class names in batches.meta.txt", () =>
    Effect.gen(function*() {
      const { e } = yield* failure("cifar10", "test", { "cifar-10-batches-bin/batches.meta.txt": Buffer.from("cat\ndog\n") })
      assert.strictEqual(e._tag, "CorruptFile")
      assert.include(e.message, "batches.meta.txt: class names")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Fashion-MNIST corrupt inputs", () => {
  const labelsIdx = () => Buffer.from(gunzipSync(raw(T10K_LABELS)))

  it.scoped("a wrong magic number names the file, offset 0, expected and actual", () =>
    Effect.gen(function*() {
      const idx = labelsIdx()
      idx.writeUInt32BE(2051, 0)
      const { e, dir } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: gzipSync(idx) })
      assert.strictEqual(e._tag, "BadMagic")
      if (e._tag !== "BadMagic") return
      assert.deepStrictEqual([e.file, e.offset, e.expected, e.actual], [path.join(dir, T10K_LABELS), 0, "2049 (0x00000801)", "2051 (0x00000803)"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a file that is not gzip at all", () =>
    Effect.gen(function*() {
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: labelsIdx() })
      assert.strictEqual(e._tag, "BadMagic")
      assert.include(e.message, "expected 1f8b (gzip), got 0000")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a truncated .gz (interrupted download)", () =>
    Effect.gen(function*() {
      const gz = raw(T10K_LABELS)
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: gz.subarray(0, 3000) })
      assert.strictEqual(e._tag, "TruncatedFile")
      if (e._tag !== "TruncatedFile") return
      assert.strictEqual(e.offset, 3000)
      assert.include(e.message, "gzip stream ends")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("IDX images cut short inside the last image", () =>
    Effect.gen(function*() {
      const idx = gunzipSync(raw(T10K_IMAGES))
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_IMAGES]: gzipSync(idx.subarray(0, idx.length - 500), { level: 1 }) })
      assert.strictEqual(e._tag, "TruncatedFile")
      if (e._tag !== "TruncatedFile") return
      assert.deepStrictEqual([e.record, e.offset, e.expectedBytes], [9999, 16 + 10_000 * 784 - 500, 16 + 10_000 * 784])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a label file with 9,999 labels is a record-count error", () =>
    Effect.gen(function*() {
      const idx = labelsIdx().subarray(0, 8 + 9999)
      idx.writeUInt32BE(9999, 4)
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: gzipSync(idx) })
      assert.strictEqual(e._tag, "RecordCountMismatch")
      if (e._tag !== "RecordCountMismatch") return
      assert.deepStrictEqual([e.expected, e.actual, e.what], [10_000, 9999, "labels"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a label of 12 names the record and its offset", () =>
    Effect.gen(function*() {
      const idx = labelsIdx()
      idx[8 + 77] = 12
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: gzipSync(idx) })
      assert.strictEqual(e._tag, "LabelOutOfRange")
      if (e._tag !== "LabelOutOfRange") return
      assert.deepStrictEqual([e.record, e.offset, e.label, e.classes], [77, 85, 12, 10])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a recompressed file with the same content passes the structure checks but not the checksum", () =>
    Effect.gen(function*() {
      const { e } = yield* failure("fashion-mnist", "test", { [T10K_LABELS]: gzipSync(labelsIdx(), { level: 1 }) })
      assert.strictEqual(e._tag, "ChecksumMismatch")
      assert.include(e.message, "t10k-labels-idx1-ubyte.gz: sha256 mismatch")
    }).pipe(Effect.provide(NodeContext.layer)))
})
