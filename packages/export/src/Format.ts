/**
 * An export format: a name, the files it writes and how to load them outside growlab, and a pure encoder from a
 * model artifact to those files' bytes. Formats.ts registers them; the CLI choices, the stage's param schema and the
 * README's table come from that registry.
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Model } from "@growlab/core/ModelArtifact"
import type { ExportError } from "./Errors.js"

export const FormatName = Schema.Literal("tfjs", "safetensors", "keras", "onnx")
export type FormatName = typeof FormatName.Type

export interface File {
  /** Name inside the format's folder. */
  readonly name: string
  readonly bytes: Uint8Array
}

export interface Format {
  readonly name: FormatName
  readonly description: string
  /** The files `encode` returns, in order. */
  readonly files: ReadonlyArray<string>
  /** Loading it outside growlab, in the consumer's own language (shown by the CLI and in the README). */
  readonly loader: string
  /** Whether encoding needs the TensorFlow backend. */
  readonly usesTf: boolean
  readonly encode: (model: Model) => Effect.Effect<ReadonlyArray<File>, ExportError>
}

/** Declares a format (identity, for inference). */
export const make = (format: Format): Format => format
