/**
 * Stage kind `export`: writes a model artifact in the requested formats, for use outside growlab.
 *
 * Input: `model` (model). Params: `formats` (non-empty, no repeats: "tfjs", "safetensors", "keras", "onnx").
 * Output: `exports` (folder): `<format>/<file>` per format (tfjs/model.json + weights.bin,
 * safetensors/model.safetensors, keras/model.keras, onnx/model.onnx). The manifest records each file's size.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import * as Stage from "@growlab/core/Stage"
import { exportModel } from "./Exporter.js"
import { FormatName } from "./Format.js"

export const Params = Schema.Struct({
  formats: Schema.Array(FormatName).pipe(
    Schema.minItems(1),
    Schema.filter((fs) => new Set(fs).size === fs.length || "each format at most once")
  )
})
export type Params = typeof Params.Type

export const exportStage = Stage.make<Params>({
  kind: "export",
  description: "Write a model as tfjs, safetensors (PyTorch layout), Keras 3 and/or ONNX files",
  params: Params,
  // the bytes written do not depend on the TensorFlow build; the tfjs format loads the backend itself (Exporter.ts)
  usesTf: false,
  inputs: {
    model: { description: "the model to export", kind: "model" }
  },
  outputs: {
    exports: { description: "one folder per format: tfjs/, safetensors/, keras/, onnx/", kind: "model", file: "exports", dir: true }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      const model = yield* ModelArtifact.read(ctx.input("model"))
      const written = yield* exportModel(model, params.formats, ctx.output("exports"))
      for (const w of written) ctx.log(`${w.format}: ${w.files.map((f) => f.slice(ctx.outDir.length + 1)).join(", ")} (${w.bytes} bytes)`)
      ctx.record("exports", written.map((w) => ({ format: w.format, files: w.files.map((f) => f.slice(ctx.outDir.length + 1)), bytes: w.bytes })))
    })
})
