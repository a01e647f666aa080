/**
 * The manifest written beside every stage's outputs (`manifest.json`): what produced them — the stage's cache key and
 * each of its parts, the inputs and outputs with their SHA-256 — and what was measured while producing them
 * (wall time, throughput). No cache key reads a manifest: measurements differ run to run, results must not.
 */
import * as Schema from "effect/Schema"

export const SCHEMA_VERSION = 2

export const FileDigest = Schema.Struct({ file: Schema.String, sha256: Schema.String, bytes: Schema.Number })
export type FileDigest = typeof FileDigest.Type

/** The parts of a stage's cache key (tools/pipeline/src/StageKey.ts defines them; README "Cache key"). */
export const KeyParts = Schema.Struct({
  kind: Schema.String,
  /** Hash of the kind and the resolved params. */
  params: Schema.String,
  /** Hash of which upstream output feeds which input (gathers and filters resolved, in order). */
  wiring: Schema.String,
  /** Hash of the stage's bundled code closure. */
  code: Schema.String,
  /** Hash of the third-party package versions the code loads (from package-lock.json). */
  packages: Schema.String,
  /** The effective numerics environment (TensorFlow stages; null for the others). */
  numerics: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** Digest of the external data files read (dataset stages; null for the others). */
  data: Schema.NullOr(Schema.String),
  /** Hash of the bound upstream artifacts' SHA-256s. */
  upstream: Schema.String
})
export type KeyParts = typeof KeyParts.Type

export const Manifest = Schema.Struct({
  schemaVersion: Schema.Literal(SCHEMA_VERSION),
  pipeline: Schema.String,
  stage: Schema.String,
  kind: Schema.String,
  vars: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) }),
  paramsHash: Schema.String,
  params: Schema.Unknown,
  /** The full cache key and the static part the task graph was built with. */
  key: Schema.String,
  staticKey: Schema.String,
  keyParts: KeyParts,
  inputs: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Struct({ stage: Schema.String, file: Schema.String, sha256: Schema.String })) }),
  outputs: Schema.Record({ key: Schema.String, value: Schema.Array(FileDigest) }),
  backend: Schema.Struct({ backend: Schema.String, tfVersion: Schema.String, tfjsVersion: Schema.String }),
  info: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** Run-to-run measurements (seconds, images per second, thread settings that do not change results). */
  measurements: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** What the stage asked of the machine (cpus are its TensorFlow threads unless TF_NUM_INTRAOP_THREADS was set). */
  resources: Schema.Struct({ cpus: Schema.Number, memoryMiB: Schema.Number, gpus: Schema.Number, timeMinutes: Schema.Number }),
  host: Schema.String,
  wallSeconds: Schema.Number
})
export type Manifest = typeof Manifest.Type
