/**
 * Typed errors of the dataset loaders. Each names the file (for a member of an archive: `archive.tar.gz:member`)
 * and, where it applies, the byte offset or record index, so a person can find the problem with `xxd -s OFFSET`.
 * Loaders validate everything before anything is written: on any of these errors no artifact or cache file is left.
 */
import * as Schema from "effect/Schema"

/** The source files are not where the settings say (an explicit `dataDir` / `GROWLAB_DATA_DIR`, or the cache with downloads off). */
export class SourceNotFound extends Schema.TaggedError<SourceNotFound>()("SourceNotFound", {
  dataset: Schema.String,
  dir: Schema.String,
  missing: Schema.Array(Schema.String),
  fix: Schema.String
}) {
  override get message(): string {
    return `${this.dataset}: missing in ${this.dir}: ${this.missing.join(", ")}. ${this.fix}`
  }
}

/** A download from the canonical address failed (offline, HTTP error, interrupted). */
export class DownloadFailed extends Schema.TaggedError<DownloadFailed>()("DownloadFailed", {
  dataset: Schema.String,
  url: Schema.String,
  file: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `${this.dataset}: cannot download ${this.url} to ${this.file}: ${this.reason}. ${this.fix}`
  }
}

/** A header's magic number is not the format's. */
export class BadMagic extends Schema.TaggedError<BadMagic>()("BadMagic", {
  file: Schema.String,
  offset: Schema.Number,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.file}: bad magic number at byte ${this.offset}: expected ${this.expected}, got ${this.actual}`
  }
}

/** The file ends before its header says it should (or in the middle of a record). */
export class TruncatedFile extends Schema.TaggedError<TruncatedFile>()("TruncatedFile", {
  file: Schema.String,
  /** Where the data ends (byte offset of the first missing byte). */
  offset: Schema.Number,
  /** The size the header or format implies, when it is known. */
  expectedBytes: Schema.optional(Schema.Number),
  actualBytes: Schema.Number,
  /** The record cut short, when the file is a sequence of records. */
  record: Schema.optional(Schema.Number),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `${this.file}: truncated at byte ${this.offset}` +
      (this.record !== undefined ? ` (inside record ${this.record})` : "") +
      (this.expectedBytes !== undefined ? `: expected ${this.expectedBytes} bytes, got ${this.actualBytes}` : `: ${this.actualBytes} bytes`) +
      (this.detail ? ` (${this.detail})` : "")
  }
}

/** A file holds a different number of records than the split has (or images and labels disagree). */
export class RecordCountMismatch extends Schema.TaggedError<RecordCountMismatch>()("RecordCountMismatch", {
  file: Schema.String,
  expected: Schema.Number,
  actual: Schema.Number,
  /** What was counted: "records", "images", "labels", "trailing bytes". */
  what: Schema.String
}) {
  override get message(): string {
    return `${this.file}: expected ${this.expected} ${this.what}, got ${this.actual}`
  }
}

/** A label byte is not a class index. */
export class LabelOutOfRange extends Schema.TaggedError<LabelOutOfRange>()("LabelOutOfRange", {
  file: Schema.String,
  record: Schema.Number,
  offset: Schema.Number,
  label: Schema.Number,
  classes: Schema.Number
}) {
  override get message(): string {
    return `${this.file}: record ${this.record} (byte ${this.offset}): label ${this.label} is outside [0, ${this.classes})`
  }
}

/** A file's digest differs from the published one. */
export class ChecksumMismatch extends Schema.TaggedError<ChecksumMismatch>()("ChecksumMismatch", {
  file: Schema.String,
  algorithm: Schema.Literal("md5", "sha256"),
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.algorithm} mismatch: expected ${this.expected}, got ${this.actual} ` +
      "(the file is damaged or not the published release: delete it and fetch it again)"
  }
}

/** A container or text file cannot be decoded (bad gzip stream, bad tar header, wrong class names). */
export class CorruptFile extends Schema.TaggedError<CorruptFile>()("CorruptFile", {
  file: Schema.String,
  reason: Schema.String,
  offset: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${this.file}: ${this.offset !== undefined ? `at byte ${this.offset}: ` : ""}${this.reason}`
  }
}

/** Transform or selection params that cannot apply to this data (e.g. a subset larger than the split). */
export class TransformError extends Schema.TaggedError<TransformError>()("TransformError", {
  transform: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.transform}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

/** A batch request outside the data (Tensors helpers). */
export class BatchRangeError extends Schema.TaggedError<BatchRangeError>()("BatchRangeError", {
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `batch ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

/** Errors of decoding a source file. */
export type DecodeError = BadMagic | TruncatedFile | RecordCountMismatch | LabelOutOfRange | ChecksumMismatch | CorruptFile

/** Every error a loader can fail with. */
export type LoadError = DecodeError | SourceNotFound | DownloadFailed
