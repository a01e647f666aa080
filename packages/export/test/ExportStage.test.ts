/** The `export` stage run directly (runStage): one folder per format, sizes in the manifest, params checked. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { runStage } from "@growlab/core/StageContext"
import { exportStage } from "../src/ExportStage.js"
import { stages } from "../src/stages.js"
import { cnn, randomModel } from "./support/fixtures.js"

const setup = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-export-stage-" })
  const model = `${dir}/model.arrow`
  yield* ModelArtifact.write(model, randomModel(cnn(64, 64, 64), 1))
  return { fs, dir, model }
})

describe("export stage", () => {
  it("is the package's only stage kind, with one folder output", () => {
    assert.deepStrictEqual(stages.map((s) => s.kind), ["export"])
    assert.deepStrictEqual(Object.keys(exportStage.inputs), ["model"])
    assert.deepStrictEqual(exportStage.outputs.exports, {
      description: "one folder per format: tfjs/, safetensors/, keras/, onnx/", kind: "model", file: "exports", dir: true
    })
  })

  it.scoped("writes each requested format into exports/<format>/ and records the files and sizes", () =>
    Effect.gen(function*() {
      ensureNativeSync()
      const { fs, dir, model } = yield* setup
      const before = tf.memory().numTensors
      const info = yield* runStage(exportStage, { formats: ["onnx", "tfjs", "keras"] }, { outDir: `${dir}/out`, inputs: { model }, log: () => {} })
      assert.strictEqual(tf.memory().numTensors, before, "tensors leaked")
      assert.deepStrictEqual((yield* fs.readDirectory(`${dir}/out/exports`)).sort(), ["keras", "onnx", "tfjs"])
      const recorded = info.exports as Array<{ format: string; files: Array<string>; bytes: number }>
      assert.deepStrictEqual(recorded.map((r) => [r.format, r.files]), [
        ["onnx", ["exports/onnx/model.onnx"]],
        ["tfjs", ["exports/tfjs/model.json", "exports/tfjs/weights.bin"]],
        ["keras", ["exports/keras/model.keras"]]
      ])
      for (const r of recorded) {
        let size = 0
        for (const f of r.files) size += Number((yield* fs.stat(`${dir}/out/${f}`)).size)
        assert.strictEqual(r.bytes, size, `${r.format} bytes`)
      }
      // the weights dominate: 122,570 float32 values
      assert.strictEqual(Number((yield* fs.stat(`${dir}/out/exports/tfjs/weights.bin`)).size), 122_570 * 4)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("rejects an empty list, a repeated format and an unknown one, naming the field", () =>
    Effect.gen(function*() {
      const { dir, model } = yield* setup
      for (const formats of [[], ["onnx", "onnx"], ["pt"]]) {
        const exit = yield* Effect.exit(runStage(exportStage, { formats }, { outDir: `${dir}/out`, inputs: { model }, log: () => {} }))
        assert.isTrue(Exit.isFailure(exit), `accepted ${JSON.stringify(formats)}`)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const e = exit.cause.error as { _tag: string; field?: string }
          assert.strictEqual(e._tag, "ParamsError")
          assert.match(e.field ?? "", /^params\.formats/)
        }
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})
