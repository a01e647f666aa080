/**
 * tfjs LayersModel: `model.json` (Keras-style topology, weights manifest, the spec in `userDefinedMetadata`) and
 * `weights.bin`. Written by tfjs-layers' own serializer (`model.save` into a handler that hands back the artifacts),
 * from the `tf.LayersModel` that train's `Layers.build` makes of the spec, so `tf.loadLayersModel` reads what tfjs writes.
 * Weight names are growlab's (`<layer>/<param>`), layouts unchanged (Dense [in, out], Conv2D [kh, kw, in, out]).
 */
import * as Effect from "effect/Effect"
import * as tf from "@tensorflow/tfjs"
import { encodeModelSpec, inferShapes } from "@growlab/core/ModelSpec"
import type { Model } from "@growlab/core/ModelArtifact"
import * as Layers from "@growlab/train/Layers"
import { ExportError } from "./Errors.js"
import * as Format from "./Format.js"

const WEIGHTS = "weights.bin"

const fail = (reason: string) => new ExportError({ format: "tfjs", file: "model.json", reason })

/**
 * Copies the weights into the layers model layer by layer, by name (as Layers.fromArtifact does; tfjs lists a
 * model's trainable weights before its non-trainable ones, so one model-wide `setWeights` in spec order would break
 * on BatchNormalization's moving statistics). `setWeights` copies; tidy disposes the sources.
 */
const setWeights = (layers: tf.LayersModel, model: Model) =>
  Effect.try({
    try: () => {
      const byName = new Map(model.weights.map((w) => [w.name, w]))
      for (const l of inferShapes(model.spec)) {
        if (l.weights.length === 0) continue
        tf.tidy(() => layers.getLayer(l.name).setWeights(l.weights.map((w) => {
          const src = byName.get(w.name)
          if (!src) throw new RangeError(`model has no weight ${w.name}`)
          return tf.tensor(src.values, [...w.shape], "float32")
        })))
      }
    },
    catch: (e) => fail(`cannot set the weights of the tfjs layers model: ${String(e)}`)
  })

/** Runs tfjs' serializer and returns the artifacts it would write. Disposes the temporary layers model. */
const serialize = (model: Model) =>
  Effect.acquireUseRelease(
    Effect.try({ try: () => Layers.build(model.spec), catch: (e) => fail(`cannot build the tfjs layers model: ${String(e)}`) }),
    (layers) =>
      Effect.zipRight(setWeights(layers, model), Effect.tryPromise({
        try: async () => {
          layers.setUserDefinedMetadata({ "growlab.spec": encodeModelSpec(model.spec), "growlab.info": model.info })
          let captured: tf.io.ModelArtifacts | undefined
          await layers.save(tf.io.withSaveHandler(async (artifacts) => {
            captured = artifacts
            return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON" } }
          }))
          if (!captured) throw new Error("the save handler received nothing")
          return captured
        },
        catch: (e) => fail(`tfjs serializer failed: ${String(e)}`)
      })),
    (layers) => Effect.sync(() => layers.dispose())
  )

/** tfjs names a Sequential `sequential_<n>` with a per-process counter: a fixed name keeps the bytes reproducible. */
const renamed = (topology: tf.io.ModelArtifacts["modelTopology"], name: string) => {
  const t = topology as { config?: Record<string, unknown> } | undefined
  return t?.config ? { ...t, config: { ...t.config, name } } : topology
}

export const format = Format.make({
  name: "tfjs",
  description: "TensorFlow.js LayersModel (model.json + weights.bin)",
  files: ["model.json", WEIGHTS],
  loader: `const model = await tf.loadLayersModel("file://path/to/tfjs/model.json")  // @tensorflow/tfjs-node`,
  usesTf: true,
  encode: (model) =>
    Effect.gen(function*() {
      const a = yield* serialize(model)
      if (!a.weightSpecs || !a.weightData) return yield* Effect.fail(fail("the serializer returned no weights"))
      const json = {
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        modelTopology: renamed(a.modelTopology, model.spec.name ?? "growlab"),
        weightsManifest: [{ paths: [WEIGHTS], weights: a.weightSpecs }],
        userDefinedMetadata: a.userDefinedMetadata
      }
      return [
        { name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) },
        { name: WEIGHTS, bytes: new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData)) }
      ]
    })
})
