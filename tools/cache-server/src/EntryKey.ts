/**
 * The `{hash}` path parameter of `/v1/cache/{hash}`. Nx sends its task hash (today a decimal u64); the spec only
 * says "string". A key names a file or an object, so it is limited to letters, digits, `_` and `-` (no dots, no
 * slashes: it can never point outside the store).
 */
import * as Schema from "effect/Schema"

export const EntryKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/),
  Schema.annotations({ description: "1–128 letters, digits, '_' or '-', starting with a letter or digit" }),
  Schema.brand("EntryKey")
)
export type EntryKey = typeof EntryKey.Type

export const decode = Schema.decodeUnknownOption(EntryKey)
