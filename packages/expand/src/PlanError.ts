/**
 * The one error of planning and applying an expansion: names the layer, the field, what was expected and what was
 * found, so a person can fix the target spec or the method without reading code.
 */
import * as Schema from "effect/Schema"

export class PlanError extends Schema.TaggedError<PlanError>()("PlanError", {
  /** The layer (target spec name, or `<model>` for whole-model problems). */
  layer: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `expansion plan: layer ${this.layer}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}
