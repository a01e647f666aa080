/**
 * A `tf.LayersModel` equivalent to a spec and its weights (the Keras-style model the study used). growlab trains
 * with its own engine (Trainer.ts); this builder is the independent reference the engine is tested against
 * (`model.fit` must reach the same weights) and a way to hand a model to tfjs tooling (`model.save`).
 */
import * as tf from "@tensorflow/tfjs"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"

const layerOf = (layer: Layer, name: string, inputShape?: Array<number>): tf.layers.Layer => {
  const base = inputShape ? { name, inputShape } : { name }
  switch (layer._tag) {
    case "rescaling": return tf.layers.rescaling({ ...base, scale: layer.scale, offset: layer.offset })
    case "dense": return tf.layers.dense({ ...base, units: layer.units, activation: layer.activation, useBias: layer.useBias })
    case "conv2d":
      return tf.layers.conv2d({
        ...base, filters: layer.filters, kernelSize: layer.kernelSize, strides: layer.strides, padding: layer.padding,
        activation: layer.activation, useBias: layer.useBias
      })
    case "maxPooling2d": return tf.layers.maxPooling2d({ ...base, poolSize: layer.poolSize, strides: layer.strides ?? layer.poolSize, padding: "valid" })
    case "flatten": return tf.layers.flatten(base)
    case "activation": return tf.layers.activation({ ...base, activation: layer.activation })
    case "batchNormalization": return tf.layers.batchNormalization({ ...base, epsilon: layer.epsilon, momentum: layer.momentum })
    case "dropout": return tf.layers.dropout({ ...base, rate: layer.rate })
  }
}

/** A sequential model of `spec` (uncompiled). Layer names follow the spec's names. */
export const build = (spec: ModelSpec): tf.Sequential => {
  const model = tf.sequential()
  inferShapes(spec).forEach((l, i) => model.add(layerOf(l.layer, l.name, i === 0 ? [...spec.inputShape] : undefined)))
  return model
}

/** A sequential model of the artifact's spec holding copies of its weights. */
export const fromArtifact = (model: ModelArtifact.Model): tf.Sequential => {
  const m = build(model.spec)
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  const values = inferShapes(model.spec).flatMap((l) => l.weights).map((w) => {
    const src = byName.get(w.name)
    if (!src) throw new Error(`model has no weight ${w.name}`)
    return tf.tensor(src.values, w.shape as Array<number>, "float32")
  })
  if (values.length !== m.weights.length) throw new Error(`spec implies ${values.length} weights, the layers model has ${m.weights.length}`)
  m.setWeights(values)
  tf.dispose(values)
  return m
}

/** The weights of a layers model, named as in the spec, as flat float32 arrays (copies). */
export const weightsOf = (spec: ModelSpec, model: tf.LayersModel): Map<string, Float32Array> => {
  const names = inferShapes(spec).flatMap((l) => l.weights.map((w) => w.name))
  return new Map(model.getWeights().map((t, i) => [names[i], Float32Array.from(t.dataSync() as Float32Array)]))
}
