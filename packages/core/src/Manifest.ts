/**
 * The manifest written beside every stage's outputs (`manifest.json`): what produced them, from which params and inputs.
 */
import * as Schema from "effect/Schema"

export const SCHEMA_VERSION = 1

export const FileDigest = Schema.Struct({ file: Schema.String, sha256: Schema.String, bytes: Schema.Number })

export const Manifest = Schema.Struct({
  schemaVersion: Schema.Literal(SCHEMA_VERSION),
  pipeline: Schema.String,
  stage: Schema.String,
  kind: Schema.String,
  vars: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) }),
  paramsHash: Schema.String,
  params: Schema.Unknown,
  inputs: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Struct({ stage: Schema.String, file: Schema.String, sha256: Schema.String })) }),
  outputs: Schema.Record({ key: Schema.String, value: Schema.Array(FileDigest) }),
  backend: Schema.Struct({ backend: Schema.String, tfVersion: Schema.String, tfjsVersion: Schema.String }),
  info: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  wallSeconds: Schema.Number
})
export type Manifest = typeof Manifest.Type
