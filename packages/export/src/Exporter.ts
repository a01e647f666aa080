/**
 * Writes a model artifact in several formats: `<outDir>/<format>/<file>` for each format (TfjsExport.ts,
 * SafetensorsExport.ts, KerasExport.ts, OnnxExport.ts). Each file is written atomically.
 */
import * as Effect from "effect/Effect"
import * as Path from "@effect/platform/Path"
import { writeFileAtomic } from "@growlab/core/ArtifactStore"
import * as Backend from "@growlab/core/Backend"
import type { Model } from "@growlab/core/ModelArtifact"
import { ExportError } from "./Errors.js"
import type { FormatName } from "./Format.js"
import { formats } from "./Formats.js"

export interface Written {
  readonly format: FormatName
  /** Paths of the files written, in the format's order. */
  readonly files: ReadonlyArray<string>
  readonly bytes: number
}

export const exportModel = (model: Model, names: ReadonlyArray<FormatName>, outDir: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    if (names.some((n) => formats[n].usesTf)) yield* Backend.ensureNative
    const written: Array<Written> = []
    for (const name of names) {
      const files = yield* formats[name].encode(model)
      const paths: Array<string> = []
      for (const f of files) {
        const file = path.join(outDir, name, f.name)
        yield* writeFileAtomic(file, f.bytes).pipe(
          Effect.mapError((e) => new ExportError({ format: name, file, reason: `cannot write: ${e.message}` }))
        )
        paths.push(file)
      }
      written.push({ format: name, files: paths, bytes: files.reduce((n, f) => n + f.bytes.length, 0) })
    }
    return written
  })
