/**
 * Typed errors shared by every growlab package. Each carries the fields a person needs to act:
 * the file, the field or stage, what was expected and what was found.
 */
import * as Schema from "effect/Schema"

/** A file could not be read, decoded or written as the artifact it should be. */
export class ArtifactError extends Schema.TaggedError<ArtifactError>()("ArtifactError", {
  file: Schema.String,
  reason: Schema.String,
  field: Schema.optional(Schema.String),
  expected: Schema.optional(Schema.String),
  actual: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `${this.file}: ${this.field ? `field ${this.field}: ` : ""}${this.reason}` +
      (this.expected !== undefined ? ` (expected ${this.expected}, got ${this.actual ?? "nothing"})` : "")
  }
}

/** Stage params (or a config) did not decode. */
export class ParamsError extends Schema.TaggedError<ParamsError>()("ParamsError", {
  file: Schema.String,
  stage: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.file}: stage ${this.stage}: field ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

/** The TensorFlow backend is not the native one (or could not load). */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  expected: Schema.String,
  actual: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `TensorFlow backend is '${this.actual}', expected '${this.expected}'. ${this.fix}`
  }
}

/** A model spec is inconsistent (shapes, unknown layer, a weight missing). */
export class SpecError extends Schema.TaggedError<SpecError>()("SpecError", {
  layer: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `layer ${this.layer}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

/** A stage failed for a domain reason (NaN loss, impossible expansion, ...). */
export class StageFailure extends Schema.TaggedError<StageFailure>()("StageFailure", {
  stage: Schema.String,
  reason: Schema.String,
  field: Schema.optional(Schema.String),
  expected: Schema.optional(Schema.String),
  actual: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `stage ${this.stage}: ${this.reason}` +
      (this.expected !== undefined ? ` (${this.field ?? "value"}: expected ${this.expected}, got ${this.actual ?? "nothing"})` : "")
  }
}
