/**
 * Residual networks (specs whose layers read earlier layers: `input`, `add`): the tfjs export holds a functional
 * LayersModel that `tf.loadLayersModel` reads back with growlab's logits on real CIFAR-10 images; safetensors writes
 * every tensor under its PyTorch name; the Keras `.keras` export (a Sequential) and the ONNX export (a chain of
 * layers) refuse with an ExportError that says so and which formats can.
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import { ModelSpec, inferShapes } from "@growlab/core/ModelSpec"
import { resnet } from "@growlab/core/ResNet"
import * as Forward from "@growlab/train/Forward"
import { exportModel } from "../src/Exporter.js"
import { cifarImages, randomModel } from "./support/fixtures.js"

const spec = Schema.decodeUnknownSync(ModelSpec)(resnet({ blocks: 1, widths: [8, 16, 32] }))

describe("exports of a residual network (ResNet-8)", () => {
  it.scoped("tfjs round trip computes growlab's logits; safetensors holds every tensor; keras and onnx refuse", () =>
    Effect.gen(function*() {
      ensureNativeSync()
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-export-resnet-" })
      const model = randomModel(spec, 3)
      const images = yield* cifarImages(64)
      yield* exportModel(model, ["tfjs", "safetensors"], dir)
      const x = tf.tensor(images.values, [...images.shape], "float32")
      const reference = Forward.logits(model, x)
      const loaded = yield* Effect.promise(() => tf.loadLayersModel(`file://${dir}/tfjs/model.json`))
      const y = loaded.predict(x) as tf.Tensor
      const diff = tf.max(tf.abs(tf.sub(reference, y))).dataSync()[0]
      console.log(`[export tfjs ResNet-8] max|Δ| ${diff.toExponential(2)}`)
      assert.isAtMost(diff, 1e-5)
      tf.dispose([x, reference, y])
      loaded.dispose()
      const st = yield* fs.readFile(`${dir}/safetensors/model.safetensors`)
      const headerLength = Number(new DataView(st.buffer, st.byteOffset, 8).getBigUint64(0, true))
      const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLength)))
      const weights = inferShapes(spec).flatMap((l) => l.weights)
      assert.strictEqual(Object.keys(header).filter((k) => k !== "__metadata__").length, weights.length)
      assert.deepStrictEqual(header["s2b1_proj.weight"].shape, [16, 8, 1, 1])
      for (const format of ["keras", "onnx"] as const) {
        const e = yield* Effect.flip(exportModel(model, [format], dir))
        assert.strictEqual(e._tag, "ExportError")
        assert.include(e.message, "`input`, `add`")
        assert.include(e.message, "safetensors or tfjs")
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})
