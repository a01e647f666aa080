import * as Schema from "effect/Schema"

/** A part of a stage's cache key could not be computed (the code could not be bundled, the lockfile is out of sync...). */
export class KeyError extends Schema.TaggedError<KeyError>()("KeyError", {
  part: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cache key (${this.part}): ${this.reason}`
  }
}
