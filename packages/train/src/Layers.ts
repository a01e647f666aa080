/**
 * A `tf.LayersModel` equivalent to a spec and its weights (the Keras-style model the study used). growlab trains
 * with its own engine (Trainer.ts); this builder is the independent reference the engine is tested against
 * (`model.fit` must reach the same weights) and a way to hand a model to tfjs tooling (`model.save`).
 */
import * as tf from "@tensorflow/tfjs"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { inferShapes, isSequential, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"

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
    case "globalAveragePooling2d": return tf.layers.globalAveragePooling2d({ ...base, dataFormat: "channelsLast" })
    case "add": return tf.layers.add(base)
  }
}

/**
 * A layers model of `spec` (uncompiled): a `tf.Sequential` for a plain layer list, a functional `tf.LayersModel`
 * when layers read earlier layers (`input`, `add`). Layer names follow the spec's names.
 */
export const build = (spec: ModelSpec): tf.LayersModel => {
  const shapes = inferShapes(spec)
  if (isSequential(spec)) {
    const model = tf.sequential()
    shapes.forEach((l, i) => model.add(layerOf(l.layer, l.name, i === 0 ? [...spec.inputShape] : undefined)))
    return model
  }
  const input = tf.input({ shape: [...spec.inputShape], name: "input" })
  const outputs: Array<tf.SymbolicTensor> = []
  shapes.forEach((l) => {
    const ins = l.inputs.map((j) => (j < 0 ? input : outputs[j]))
    outputs.push(layerOf(l.layer, l.name).apply(l.layer._tag === "add" ? ins : ins[0]) as tf.SymbolicTensor)
  })
  return tf.model({ inputs: input, outputs: outputs[outputs.length - 1], name: spec.name ?? "growlab" })
}

/** A layers model of the artifact's spec holding copies of its weights (set layer by layer, by name). */
export const fromArtifact = (model: ModelArtifact.Model): tf.LayersModel => {
  const m = build(model.spec)
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  for (const l of inferShapes(model.spec)) {
    if (l.weights.length === 0) continue
    const values = l.weights.map((w) => {
      const src = byName.get(w.name)
      if (!src) throw new Error(`model has no weight ${w.name}`)
      return tf.tensor(src.values, w.shape as Array<number>, "float32")
    })
    m.getLayer(l.name).setWeights(values)
    tf.dispose(values)
  }
  return m
}

/** The weights of a layers model built by `build`, named as in the spec, as flat float32 arrays (copies). */
export const weightsOf = (spec: ModelSpec, model: tf.LayersModel): Map<string, Float32Array> =>
  new Map(inferShapes(spec).flatMap((l) => {
    if (l.weights.length === 0) return []
    const values = model.getLayer(l.name).getWeights()
    return l.weights.map((w, i) => [w.name, Float32Array.from(values[i].dataSync() as Float32Array)] as const)
  }))
