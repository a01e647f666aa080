/**
 * A Keras 3 `.keras` file written without Python: a zip of `metadata.json`, `config.json` (KerasConfig.ts) and
 * `model.weights.h5` (internal/hdf5.ts), loadable with `keras.saving.load_model("model.keras")`.
 * `metadata.json` names the Keras version whose format this follows (3.15.1, the version the tests load it with);
 * it has no save date, so the same model gives the same bytes.
 */
import * as Effect from "effect/Effect"
import type { Model } from "@growlab/core/ModelArtifact"
import { inferShapes } from "@growlab/core/ModelSpec"
import { ExportError } from "./Errors.js"
import * as Format from "./Format.js"
import * as Hdf5 from "./internal/hdf5.js"
import { zip } from "./internal/zip.js"
import * as KerasConfig from "./KerasConfig.js"

const FILE = "model.keras"
export const KERAS_VERSION = "3.15.1"

/** Keras' variable order per layer, by growlab param name. */
const VARIABLE_ORDER = ["kernel", "bias", "gamma", "beta", "movingMean", "movingVariance"]

/** The `model.weights.h5` tree of a model. */
export const weightsTree = (model: Model): Hdf5.Group => {
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  const groups = KerasConfig.weightGroups(model.spec)
  const layers = inferShapes(model.spec).map((l, i) => {
    const vars = [...l.weights].sort((a, b) => VARIABLE_ORDER.indexOf(a.param) - VARIABLE_ORDER.indexOf(b.param)).map((w, j) => {
      const weight = byName.get(w.name)
      if (!weight) throw new RangeError(`model has no weight ${w.name}`)
      return [String(j), Hdf5.dataset(w.shape, weight.values)] as const
    })
    return [groups[i], Hdf5.group([["vars", Hdf5.group(vars)]])] as const
  })
  return Hdf5.group([["layers", Hdf5.group(layers)], ["vars", Hdf5.group([])]])
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

export const format = Format.make({
  name: "keras",
  description: "Keras 3 .keras file (config.json + model.weights.h5 in a zip), TF layouts",
  files: [FILE],
  loader: `model = keras.saving.load_model("keras/model.keras")  # Keras 3`,
  usesTf: false,
  encode: (model) =>
    Effect.try({
      try: () => [{
        name: FILE,
        bytes: zip([
          { name: "metadata.json", data: json({ keras_version: KERAS_VERSION, saved_by: "@growlab/export (no Keras involved)" }) },
          { name: "config.json", data: json(KerasConfig.config(model.spec)) },
          { name: "model.weights.h5", data: Hdf5.write(weightsTree(model)) }
        ])
      }],
      catch: (e) => new ExportError({ format: "keras", file: FILE, reason: String(e) })
    })
})
