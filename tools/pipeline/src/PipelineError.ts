import * as Schema from "effect/Schema"

/** A pipeline file is malformed or inconsistent: names the file and the field (a dotted path into the file). */
export class PipelineError extends Schema.TaggedError<PipelineError>()("PipelineError", {
  file: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}
