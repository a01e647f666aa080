/** Errors of the export package. */
import * as Schema from "effect/Schema"

/** A model cannot be written in a format (a layer the format has no equivalent for, a size limit, a write failure). */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  format: Schema.String,
  /** The file being written, or the model artifact read. */
  file: Schema.String,
  reason: Schema.String,
  field: Schema.optional(Schema.String),
  expected: Schema.optional(Schema.String),
  actual: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `${this.format} export ${this.file}: ${this.field ? `${this.field}: ` : ""}${this.reason}` +
      (this.expected !== undefined ? ` (expected ${this.expected}, got ${this.actual ?? "nothing"})` : "")
  }
}
