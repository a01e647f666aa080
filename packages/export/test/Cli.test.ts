/** The `export` command: its handler called directly, and its arguments parsed by @effect/cli. */
import { describe, it, assert } from "@effect/vitest"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync } from "@growlab/core/Backend"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { exportCommand } from "../src/Cli.js"
import { mlp, randomModel } from "./support/fixtures.js"

const setup = Effect.gen(function*() {
  ensureNativeSync()
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-export-cli-" })
  const model = `${dir}/model.arrow`
  yield* ModelArtifact.write(model, randomModel(mlp, 2))
  return { fs, dir, model }
})

describe("export command", () => {
  it.scoped("handler: writes the formats under --out/<format>/ (a repeated format once)", () =>
    Effect.gen(function*() {
      const { fs, dir, model } = yield* setup
      const written = yield* exportCommand.handler({ model, format: ["safetensors", "tfjs", "safetensors"], out: Option.some(`${dir}/x`) })
      assert.deepStrictEqual((written as unknown as Array<{ format: string }>).map((w) => w.format), ["safetensors", "tfjs"])
      assert.isTrue(yield* fs.exists(`${dir}/x/safetensors/model.safetensors`))
      assert.isTrue(yield* fs.exists(`${dir}/x/tfjs/model.json`))
      assert.isFalse(yield* fs.exists(`${dir}/x/onnx`))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("parses `export <model> --format onnx --format keras --out DIR`", () =>
    Effect.gen(function*() {
      const { fs, dir, model } = yield* setup
      yield* Command.run(exportCommand, { name: "growlab", version: "0" })(["node", "growlab", model, "--format", "onnx", "--format", "keras", "--out", `${dir}/y`])
      assert.deepStrictEqual((yield* fs.readDirectory(`${dir}/y`)).sort(), ["keras", "onnx"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails on a file that is not a model artifact, naming it", () =>
    Effect.gen(function*() {
      const { fs, dir } = yield* setup
      yield* fs.writeFileString(`${dir}/not-a-model.arrow`, "hello")
      const error = yield* Effect.flip(exportCommand.handler({ model: `${dir}/not-a-model.arrow`, format: ["onnx"], out: Option.some(`${dir}/z`) }))
      assert.include(error.message, `${dir}/not-a-model.arrow`)
      assert.isFalse(yield* fs.exists(`${dir}/z`))
    }).pipe(Effect.provide(NodeContext.layer)))
})
