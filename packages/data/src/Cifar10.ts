/**
 * CIFAR-10, binary version. Each batch file is 10,000 records of 3,073 bytes: one label byte, then the 32x32 image as
 * three row-major planes (1,024 R, 1,024 G, 1,024 B). Decoding interleaves the planes into channels-last (HWC) order,
 * the layout of `DatasetArtifact` and of tfjs / Keras: pixel (y, x) channel c lands at `(y * 32 + x) * 3 + c`.
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "@effect/platform/FileSystem"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import { CorruptFile, LabelOutOfRange, RecordCountMismatch, TruncatedFile, type LoadError } from "./Errors.js"
import { archiveReader, listingChecksum, verifySha256, type Reader } from "./internal/files.js"
import {
  CIFAR10_BATCH_RECORDS, CIFAR10_CLASSES, CIFAR10_META, CIFAR10_RECORD_BYTES, CIFAR10_SHAPE, cifar10, type Split
} from "./Sources.js"

const PIXELS = 32 * 32
const IMAGE_BYTES = PIXELS * 3

/** Checks a batch file's size and labels; fails on the first problem. */
export const validateBatch = (file: string, bytes: Uint8Array, records: number = CIFAR10_BATCH_RECORDS) =>
  Effect.suspend((): Effect.Effect<void, TruncatedFile | RecordCountMismatch | LabelOutOfRange> => {
    const expected = records * CIFAR10_RECORD_BYTES
    if (bytes.length !== expected) {
      const partial = bytes.length % CIFAR10_RECORD_BYTES
      if (bytes.length < expected && partial !== 0) {
        return Effect.fail(new TruncatedFile({ file, offset: bytes.length, expectedBytes: expected, actualBytes: bytes.length, record: Math.floor(bytes.length / CIFAR10_RECORD_BYTES) }))
      }
      return Effect.fail(partial === 0
        ? new RecordCountMismatch({ file, expected: records, actual: bytes.length / CIFAR10_RECORD_BYTES, what: "records" })
        : new RecordCountMismatch({ file, expected, actual: bytes.length, what: "bytes (10,000 records of 3,073)" }))
    }
    for (let r = 0; r < records; r++) {
      const label = bytes[r * CIFAR10_RECORD_BYTES]
      if (label >= CIFAR10_CLASSES.length) {
        return Effect.fail(new LabelOutOfRange({ file, record: r, offset: r * CIFAR10_RECORD_BYTES, label, classes: CIFAR10_CLASSES.length }))
      }
    }
    return Effect.void
  })

/** Writes the records of a validated batch into `images` (HWC) and `labels`, starting at example `at`. */
export const decodeBatchInto = (bytes: Uint8Array, images: Uint8Array, labels: Uint8Array, at: number): void => {
  const records = bytes.length / CIFAR10_RECORD_BYTES
  for (let r = 0; r < records; r++) {
    const src = r * CIFAR10_RECORD_BYTES
    labels[at + r] = bytes[src]
    const red = src + 1
    const green = red + PIXELS
    const blue = green + PIXELS
    let o = (at + r) * IMAGE_BYTES
    for (let p = 0; p < PIXELS; p++) {
      images[o] = bytes[red + p]
      images[o + 1] = bytes[green + p]
      images[o + 2] = bytes[blue + p]
      o += 3
    }
  }
}

/** Decodes one batch file (validated first) into HWC images and labels. */
export const decodeBatch = (file: string, bytes: Uint8Array, records: number = CIFAR10_BATCH_RECORDS) =>
  Effect.map(validateBatch(file, bytes, records), () => {
    const images = new Uint8Array(records * IMAGE_BYTES)
    const labels = new Uint8Array(records)
    decodeBatchInto(bytes, images, labels, 0)
    return { images, labels }
  })

/** Parses `batches.meta.txt` (class names, one a line; blank lines ignored) and checks they are CIFAR-10's. */
export const decodeMeta = (file: string, bytes: Uint8Array): Effect.Effect<ReadonlyArray<string>, CorruptFile> => {
  const names = new TextDecoder().decode(bytes).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "")
  return names.length === CIFAR10_CLASSES.length && names.every((n, i) => n === CIFAR10_CLASSES[i])
    ? Effect.succeed(names)
    : Effect.fail(new CorruptFile({ file, reason: `class names: expected ${CIFAR10_CLASSES.join(",")}, got ${names.join(",") || "none"}` }))
}

/** Reads, validates and decodes one split through a reader (folder or archive). */
export const readSplit = (reader: Reader, split: Split): Effect.Effect<Dataset, LoadError> =>
  Effect.gen(function*() {
    const classNames = yield* Effect.flatMap(reader.read(CIFAR10_META), (b) => decodeMeta(reader.label(CIFAR10_META), b))
    const batches = cifar10[split].batches
    const n = batches.length * CIFAR10_BATCH_RECORDS
    const images = new Uint8Array(n * IMAGE_BYTES)
    const labels = new Uint8Array(n)
    const digests: Array<{ path: string; sha256: string }> = []
    for (const [k, source] of batches.entries()) {
      const file = reader.label(source.path)
      const bytes = yield* reader.read(source.path)
      yield* validateBatch(file, bytes)
      digests.push({ path: source.path, sha256: yield* verifySha256(file, source, bytes) })
      decodeBatchInto(bytes, images, labels, k * CIFAR10_BATCH_RECORDS)
    }
    const sourceIndex = new Int32Array(n)
    for (let i = 0; i < n; i++) sourceIndex[i] = i
    const dataset: Dataset = {
      dataset: "cifar10",
      split,
      shape: [...CIFAR10_SHAPE],
      classNames,
      images,
      labels,
      sourceIndex,
      sourceChecksum: listingChecksum(digests),
      transforms: []
    }
    return dataset
  })

/** Loads one split straight from the official `cifar-10-binary.tar.gz` (gunzip + tar in memory). */
export const loadArchive = (archive: string, split: Split): Effect.Effect<Dataset, LoadError, FileSystem.FileSystem> =>
  Effect.flatMap(archiveReader("cifar10", archive), (reader) => readSplit(reader, split))
