/**
 * Training precision (the `train` stage's `precision` param, `Trainer.Options.precision`).
 *
 * - "fp32" (default): everything in float32.
 * - "bf16-mixed": Keras's `mixed_bfloat16` policy: convolutions, matmuls and the layers between them compute in
 *   bfloat16 (float32 master weights cast to bfloat16 on read, bfloat16 activations and activation gradients), while
 *   the logits, softmax, loss, weight gradients, master weights and Adam's slots stay float32. Only the graph engine
 *   runs it (src/graph/README.md); validation, evaluation, Grad-CAM, expansion and function-preservation checks
 *   always compute in float32 from the float32 weights.
 */
import * as Schema from "effect/Schema"

export const Precision = Schema.Literal("fp32", "bf16-mixed")
export type Precision = typeof Precision.Type

/** The requested precision cannot run on the engine that would train. */
export class PrecisionUnsupported extends Schema.TaggedError<PrecisionUnsupported>()("PrecisionUnsupported", {
  /** The option that asked for it ("precision"). */
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
  /** The engine that would run, and why it is not the graph engine. */
  engine: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.field} ${this.actual} needs ${this.expected}, but this run trains on engine "${this.engine}" (${this.reason})`
  }
}

/**
 * Fails when `precision` cannot run on `engine` (the resolved engine; `reason` says why it is not "graph", e.g. the
 * spec has a layer the graph step cannot express, or the engine option asked for another).
 */
export const check = (precision: Precision, engine: string, reason: string): PrecisionUnsupported | undefined =>
  precision === "fp32" || engine === "graph"
    ? undefined
    : new PrecisionUnsupported({ field: "precision", expected: `engine "graph" (or precision "fp32")`, actual: `"${precision}"`, engine, reason })
