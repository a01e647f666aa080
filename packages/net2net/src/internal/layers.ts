/** Layer facts shared by Net2Wider and Net2Deeper: widths, structural comparison, weight lookup. */
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { shapeText, type Layer, type LayerShapes } from "@growlab/core/ModelSpec"
import { Net2NetError } from "../Net2NetError.js"

type Operation = "net2wider" | "net2deeper"

/** Output units of a weighted layer (Dense units, Conv2D filters). */
export const layerWidth = (layer: Layer): number =>
  layer._tag === "dense" ? layer.units : layer._tag === "conv2d" ? layer.filters : 0

/** The attributes (other than width and name) that must agree between a source layer and its widened target. */
const structural = (layer: Layer): Record<string, unknown> => {
  switch (layer._tag) {
    case "dense": return { activation: layer.activation, useBias: layer.useBias }
    case "conv2d": return { kernelSize: layer.kernelSize, strides: layer.strides, padding: layer.padding, activation: layer.activation, useBias: layer.useBias }
    case "maxPooling2d": return { poolSize: layer.poolSize, strides: layer.strides ?? layer.poolSize }
    case "rescaling": return { scale: layer.scale, offset: layer.offset }
    case "activation": return { activation: layer.activation }
    case "batchNormalization": return { epsilon: layer.epsilon }
    case "flatten":
    case "dropout":
    case "globalAveragePooling2d":
      return {}
    case "add":
      return { inputs: layer.inputs.join(",") }
  }
}

/** Fails unless source and target layer i have the same type and the same non-width attributes. */
export const compareStructure = (operation: Operation, s: LayerShapes, t: LayerShapes): void => {
  if (s.layer._tag !== t.layer._tag) {
    throw new Net2NetError({ operation, layer: t.name, reason: `layer ${s.index} has another type`, expected: s.layer._tag, actual: t.layer._tag })
  }
  const a = structural(s.layer), b = structural(t.layer)
  for (const key of Object.keys(a)) {
    if (a[key] !== b[key]) {
      throw new Net2NetError({ operation, layer: t.name, reason: `${key} differs from the source layer ${s.name}`, expected: String(a[key]), actual: String(b[key]) })
    }
  }
}

/** The values of `<layer>/<param>` in the source model, checked against the size the spec implies. */
export const sourceWeight = (operation: Operation, model: ModelArtifact.Model, s: LayerShapes, param: string): Float32Array => {
  const name = `${s.name}/${param}`
  const w = model.weights.find((x) => x.name === name)
  const expected = s.weights.find((x) => x.param === param)
  if (!w || !expected) {
    throw new Net2NetError({ operation, layer: s.name, reason: "missing weight", expected: name, actual: "absent" })
  }
  const size = expected.shape.reduce((a, b) => a * b, 1)
  if (w.values.length !== size) {
    throw new Net2NetError({ operation, layer: s.name, reason: `weight ${name} has the wrong size`, expected: `${size} values ${shapeText(expected.shape)}`, actual: String(w.values.length) })
  }
  return w.values
}
