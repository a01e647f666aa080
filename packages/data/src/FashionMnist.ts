/**
 * Fashion-MNIST in the IDX format (gzipped). Images: magic 2051, then big-endian uint32 count, rows, cols, then
 * count * rows * cols bytes (row-major, 0 = background). Labels: magic 2049, count, then count bytes.
 * Grayscale images are already channels-last with one channel: shape [28, 28, 1]; the pixel bytes are used as they
 * come out of gunzip (no copy). Byte offsets in errors about IDX content count bytes of the uncompressed data.
 */
import * as Effect from "effect/Effect"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import { BadMagic, CorruptFile, LabelOutOfRange, RecordCountMismatch, TruncatedFile, type LoadError } from "./Errors.js"
import { gunzip } from "./internal/gzip.js"
import { listingChecksum, verifySha256, type Reader } from "./internal/files.js"
import { FASHION_CLASSES, FASHION_SHAPE, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, fashionMnist, type Split } from "./Sources.js"

const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`

const u32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0

const header = (file: string, bytes: Uint8Array, magic: number, size: number) =>
  Effect.suspend((): Effect.Effect<void, TruncatedFile | BadMagic> => {
    if (bytes.length < size) {
      return Effect.fail(new TruncatedFile({ file, offset: bytes.length, expectedBytes: size, actualBytes: bytes.length, detail: "IDX header cut short" }))
    }
    const actual = u32(bytes, 0)
    return actual === magic
      ? Effect.void
      : Effect.fail(new BadMagic({ file, offset: 0, expected: `${magic} (${hex(magic)})`, actual: `${actual} (${hex(actual)})` }))
  })

const body = (file: string, bytes: Uint8Array, headerBytes: number, count: number, itemBytes: number, what: string) =>
  Effect.suspend((): Effect.Effect<Uint8Array, TruncatedFile | RecordCountMismatch> => {
    const expected = headerBytes + count * itemBytes
    if (bytes.length < expected) {
      return Effect.fail(new TruncatedFile({ file, offset: bytes.length, expectedBytes: expected, actualBytes: bytes.length, record: Math.floor((bytes.length - headerBytes) / itemBytes) }))
    }
    if (bytes.length > expected) {
      return Effect.fail(new RecordCountMismatch({ file, expected: 0, actual: bytes.length - expected, what: `trailing bytes after ${count} ${what}` }))
    }
    return Effect.succeed(bytes.subarray(headerBytes, expected))
  })

/** Validates an uncompressed IDX image file; returns a view on its pixels. */
export const decodeImages = (file: string, bytes: Uint8Array, expectedCount: number) =>
  Effect.gen(function*() {
    yield* header(file, bytes, IDX_IMAGES_MAGIC, 16)
    const count = u32(bytes, 4)
    const rows = u32(bytes, 8)
    const cols = u32(bytes, 12)
    if (count !== expectedCount) {
      return yield* Effect.fail(new RecordCountMismatch({ file, expected: expectedCount, actual: count, what: "images" }))
    }
    if (rows !== FASHION_SHAPE[0] || cols !== FASHION_SHAPE[1]) {
      return yield* Effect.fail(new CorruptFile({ file, offset: 8, reason: `image size ${rows}x${cols}, expected ${FASHION_SHAPE[0]}x${FASHION_SHAPE[1]}` }))
    }
    return yield* body(file, bytes, 16, count, rows * cols, "images")
  })

/** Validates an uncompressed IDX label file (every label a class index); returns a view on its labels. */
export const decodeLabels = (file: string, bytes: Uint8Array, expectedCount: number) =>
  Effect.gen(function*() {
    yield* header(file, bytes, IDX_LABELS_MAGIC, 8)
    const count = u32(bytes, 4)
    if (count !== expectedCount) {
      return yield* Effect.fail(new RecordCountMismatch({ file, expected: expectedCount, actual: count, what: "labels" }))
    }
    const labels = yield* body(file, bytes, 8, count, 1, "labels")
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= FASHION_CLASSES.length) {
        return yield* Effect.fail(new LabelOutOfRange({ file, record: i, offset: 8 + i, label: labels[i], classes: FASHION_CLASSES.length }))
      }
    }
    return labels
  })

/** Reads, gunzips, validates and checks one split through a reader. */
export const readSplit = (reader: Reader, split: Split): Effect.Effect<Dataset, LoadError> =>
  Effect.gen(function*() {
    const spec = fashionMnist[split]
    const imagesFile = reader.label(spec.images.path)
    const labelsFile = reader.label(spec.labels.path)
    const [imagesGz, labelsGz] = yield* Effect.all([reader.read(spec.images.path), reader.read(spec.labels.path)], { concurrency: 2 })
    const [imagesRaw, labelsRaw] = yield* Effect.all([gunzip(imagesFile, imagesGz), gunzip(labelsFile, labelsGz)], { concurrency: 2 })
    const images = yield* decodeImages(imagesFile, imagesRaw, spec.count)
    const labels = yield* decodeLabels(labelsFile, labelsRaw, spec.count)
    const digests = [
      { path: spec.images.path, sha256: yield* verifySha256(imagesFile, spec.images, imagesGz) },
      { path: spec.labels.path, sha256: yield* verifySha256(labelsFile, spec.labels, labelsGz) }
    ]
    const sourceIndex = new Int32Array(spec.count)
    for (let i = 0; i < spec.count; i++) sourceIndex[i] = i
    const dataset: Dataset = {
      dataset: "fashion-mnist",
      split,
      shape: [...FASHION_SHAPE],
      classNames: [...FASHION_CLASSES],
      images,
      labels,
      sourceIndex,
      sourceChecksum: listingChecksum(digests),
      transforms: []
    }
    return dataset
  })
