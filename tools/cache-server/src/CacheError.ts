/**
 * Typed errors of the cache server and relay. Each names what a person needs to act on: the entry key, the file or
 * setting, what was expected and what was found.
 */
import * as Schema from "effect/Schema"

/** An entry with this key is already stored: the cache is write-once, so it is never replaced. */
export class EntryExists extends Schema.TaggedError<EntryExists>()("EntryExists", {
  key: Schema.String
}) {
  override get message(): string {
    return `entry ${this.key} already exists (write-once: it is never replaced)`
  }
}

/** The storage backend failed (disk, network, permissions): the operation did not happen. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  store: Schema.String,
  operation: Schema.String,
  key: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.store}: ${this.operation} ${this.key}: ${this.reason}`
  }
}

/** A request body ended before its Content-Length, or ran past it. */
export class BodyError extends Schema.TaggedError<BodyError>()("BodyError", {
  key: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `upload of ${this.key}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

/** The tokens file, a TLS file or a command-line setting is missing or malformed. */
export class SettingsError extends Schema.TaggedError<SettingsError>()("SettingsError", {
  file: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}
