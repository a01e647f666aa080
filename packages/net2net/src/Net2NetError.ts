/**
 * The one error a Net2Net transform fails with: which operation, which layer, what it needed and what it found.
 */
import * as Schema from "effect/Schema"

export class Net2NetError extends Schema.TaggedError<Net2NetError>()("Net2NetError", {
  operation: Schema.Literal("net2wider", "net2deeper", "residual-deeper"),
  layer: Schema.String,
  reason: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.operation}: layer ${this.layer}: ${this.reason} (expected ${this.expected}, got ${this.actual})`
  }
}
