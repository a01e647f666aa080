/**
 * Each export loaded OUTSIDE growlab computes growlab's logits on real CIFAR-10 test images (max |Δ| ≤ 1e-5):
 * tfjs with `tf.loadLayersModel` in Node; Keras 3 with `keras.saving.load_model`; ONNX with onnx.checker and
 * onnxruntime; safetensors with a torch.nn.Sequential built from the file's metadata (`load_state_dict(strict=True)`).
 * The Python side runs in the venv that `npm run setup` creates (.growlab/venv): without it the Python checks skip
 * with a printed reason, except under CI=true, where they fail.
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as PlatformCommand from "@effect/platform/Command"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import type { Model } from "@growlab/core/ModelArtifact"
import * as Forward from "@growlab/train/Forward"
import { exportModel } from "../src/Exporter.js"
import { names } from "../src/Formats.js"
import { cifarImages, cnn, everyLayer, grownModel, inCi, mlp, randomModel, venvPython } from "./support/fixtures.js"

const N = 100
const TOLERANCE = 1e-5
const SCRIPT = new URL("./python/check_exports.py", import.meta.url).pathname
const PYTHON_FORMATS = ["keras", "onnx", "safetensors"] as const

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  assert.strictEqual(b.length, a.length, "logit count")
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

const f32 = (bytes: Uint8Array) => new Float32Array(bytes.slice().buffer)

/** growlab's logits and tfjs' (from the exported model.json) for the same images; no tensor outlives the call. */
const nodeLogits = (model: Model, images: { shape: ReadonlyArray<number>; values: Float32Array }, modelJson: string) =>
  Effect.gen(function*() {
    const x = tf.tensor(images.values, [...images.shape], "float32")
    try {
      const reference = Forward.logits(model, x)
      const growlab = Float32Array.from(reference.dataSync())
      reference.dispose()
      const loaded = yield* Effect.tryPromise(() => tf.loadLayersModel(`file://${modelJson}`))
      const y = loaded.predict(x) as tf.Tensor
      const tfjs = Float32Array.from(y.dataSync())
      y.dispose()
      loaded.dispose()
      return { growlab, tfjs }
    } finally {
      x.dispose()
    }
  })

/** Runs check_exports.py in the venv; its per-format logits, or why there are none. */
const pythonLogits = (python: string, dir: string, images: { shape: ReadonlyArray<number>; values: Float32Array }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFile(`${dir}/input.f32`, new Uint8Array(images.values.buffer, images.values.byteOffset, images.values.byteLength))
    const code = yield* PlatformCommand.exitCode(
      PlatformCommand.make(python, SCRIPT, `${dir}/exports`, `${dir}/input.f32`, images.shape.join(","), `${dir}/py`).pipe(
        PlatformCommand.env({ TF_CPP_MIN_LOG_LEVEL: "3", KERAS_BACKEND: "tensorflow", CUDA_VISIBLE_DEVICES: "" }),
        PlatformCommand.stdout("inherit"),
        PlatformCommand.stderr("inherit")
      )
    )
    assert.strictEqual(code, 0, "check_exports.py exit code")
    const result = JSON.parse(yield* fs.readFileString(`${dir}/py/result.json`)) as Record<string, { ok: boolean; shape?: Array<number>; error?: string; skipped?: string; trace?: string } & Record<string, unknown>>
    const logits: Partial<Record<(typeof PYTHON_FORMATS)[number], Float32Array>> = {}
    for (const format of PYTHON_FORMATS) {
      const r = result[format]
      assert.isDefined(r, `${format}: no result`)
      if (!r.ok && r.skipped !== undefined && !inCi) {
        console.log(`[export] ${format}: Python check skipped: ${r.skipped}`)
        continue
      }
      assert.isTrue(r.ok, `${format}: ${r.error ?? r.skipped}\n${r.trace ?? ""}`)
      logits[format] = f32(yield* fs.readFile(`${dir}/py/${format}.f32`))
      const { ok: _, shape, ...info } = r
      console.log(`[export]   ${format} loaded with ${JSON.stringify(info)}; output [${shape}]`)
    }
    return logits
  })

const checkModel = (label: string, make: Effect.Effect<Model, unknown>) =>
  it.scoped(`${label}: every export computes growlab's logits on ${N} CIFAR-10 test images`, () =>
    Effect.gen(function*() {
      ensureNativeSync()
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-export-" })
      const model = yield* make
      const images = yield* cifarImages(N)
      const before = tf.memory().numTensors
      const written = yield* exportModel(model, names, `${dir}/exports`)
      assert.deepStrictEqual(written.map((w) => w.format), ["tfjs", "safetensors", "keras", "onnx"])
      const { growlab, tfjs } = yield* nodeLogits(model, images, `${dir}/exports/tfjs/model.json`)
      assert.strictEqual(tf.memory().numTensors, before, "tensors leaked")
      // a comparison of near-constant outputs would prove little: the logits must differ across images
      assert.isAbove(Math.max(...growlab) - Math.min(...growlab), 0.05, "reference logits are degenerate")

      const deltas: Record<string, number> = { tfjs: maxAbsDiff(growlab, tfjs) }
      const python = venvPython()
      if (python === undefined) {
        assert.isFalse(inCi, "CI=true but the Python venv is missing: `npm run setup` creates .growlab/venv")
        console.log(`[export] ${label}: Python checks skipped: no venv at ${process.env.GROWLAB_VENV ?? ".growlab/venv"} (npm run setup creates it)`)
      } else {
        const py = yield* pythonLogits(python, dir, images)
        for (const [format, logits] of Object.entries(py)) deltas[format] = maxAbsDiff(growlab, logits)
      }
      console.log(`[export] ${label}: max |Δlogits| vs growlab ${Object.entries(deltas).map(([f, d]) => `${f} ${d.toExponential(2)}`).join(", ")}`)
      for (const [format, d] of Object.entries(deltas)) assert.isAtMost(d, TOLERANCE, `${label} ${format}: max |Δlogits|`)
    }).pipe(Effect.provide(NodeContext.layer)))

describe("exports outside growlab", () => {
  const small = randomModel(cnn(64, 64, 64), 11)
  checkModel("small CNN (122,570 params)", Effect.succeed(small))
  checkModel("CNN grown to large-2 (noisy diagonal, 449,034 params)", grownModel(small))
  checkModel("MLP 3072-64-128-10", Effect.succeed(randomModel(mlp, 12)))
  checkModel("CNN with every layer kind", Effect.succeed(randomModel(everyLayer, 13)))
})
