/**
 * `growlab export <model artifact> --format tfjs|safetensors|keras|onnx [--format ...] [--out DIR]`: writes the model
 * in each format under `DIR/<format>/` (default `./export`), then prints each file and how to load it.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { exportModel } from "./Exporter.js"
import type { FormatName } from "./Format.js"
import { formats, names } from "./Formats.js"

export const DEFAULT_OUT = "export"

export const exportCommand = Command.make("export", {
  model: Args.file({ name: "model artifact", exists: "yes" }).pipe(Args.withDescription("a model.arrow file")),
  format: Options.choice("format", names as [FormatName, ...Array<FormatName>]).pipe(
    Options.atLeast(1),
    Options.withDescription(`format to write; repeat for several (${names.join(", ")})`)
  ),
  out: Options.directory("out").pipe(Options.optional, Options.withDescription(`output folder (default ./${DEFAULT_OUT}); each format goes into <out>/<format>/`))
}, (args) =>
  Effect.gen(function*() {
    const model = yield* ModelArtifact.read(args.model)
    const unique = [...new Set(args.format)]
    const written = yield* exportModel(model, unique, Option.getOrElse(args.out, () => DEFAULT_OUT))
    for (const w of written) {
      yield* Console.log(`${w.format}: ${w.files.join(", ")} (${w.bytes} bytes)`)
      yield* Console.log(`  load: ${formats[w.format].loader}`)
    }
    return written
  })).pipe(Command.withDescription("write a model artifact as tfjs, safetensors (PyTorch layout), Keras 3 or ONNX files"))
