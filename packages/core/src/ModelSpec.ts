/**
 * Model specs: the layer topology of a network, declared in pipeline params and stored in model artifacts.
 * Kernel layouts are fixed facts: Dense kernel [in, out], Conv2D kernel [kh, kw, in, out], channels-last tensors.
 */
import * as Schema from "effect/Schema"
import { SpecError } from "./Errors.js"

export const Activation = Schema.Literal("linear", "relu", "tanh", "sigmoid", "softmax")
export type Activation = typeof Activation.Type

const LayerRef = Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*$/))
const Name = Schema.optional(LayerRef)
/**
 * Where a layer reads from: the name of an earlier layer (a branch, e.g. a residual block's projection shortcut).
 * Absent: the previous layer's output (the model input for the first layer). Specs without `input` and without
 * `add` layers are plain layer lists; with them the layers form a DAG listed in topological order.
 */
const Input = Schema.optional(LayerRef)
const PositiveInt = Schema.Int.pipe(Schema.positive())

export const Rescaling = Schema.TaggedStruct("rescaling", {
  name: Name,
  input: Input,
  scale: Schema.Number,
  offset: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
export const Dense = Schema.TaggedStruct("dense", {
  name: Name,
  input: Input,
  units: PositiveInt,
  activation: Schema.optionalWith(Activation, { default: () => "linear" as const }),
  useBias: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export const Conv2D = Schema.TaggedStruct("conv2d", {
  name: Name,
  input: Input,
  filters: PositiveInt,
  kernelSize: PositiveInt,
  strides: Schema.optionalWith(PositiveInt, { default: () => 1 }),
  padding: Schema.optionalWith(Schema.Literal("valid", "same"), { default: () => "valid" as const }),
  activation: Schema.optionalWith(Activation, { default: () => "linear" as const }),
  useBias: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export const MaxPooling2D = Schema.TaggedStruct("maxPooling2d", {
  name: Name,
  input: Input,
  poolSize: PositiveInt,
  strides: Schema.optional(PositiveInt)
})
export const Flatten = Schema.TaggedStruct("flatten", { name: Name, input: Input })
export const ActivationLayer = Schema.TaggedStruct("activation", { name: Name, input: Input, activation: Activation })
export const BatchNormalization = Schema.TaggedStruct("batchNormalization", {
  name: Name,
  input: Input,
  epsilon: Schema.optionalWith(Schema.Number, { default: () => 1e-3 }),
  momentum: Schema.optionalWith(Schema.Number, { default: () => 0.99 })
})
export const Dropout = Schema.TaggedStruct("dropout", { name: Name, input: Input, rate: Schema.Number.pipe(Schema.between(0, 1)) })
/** The elementwise sum of two or more earlier layers' outputs of one shape (a residual connection). */
export const Add = Schema.TaggedStruct("add", { name: Name, inputs: Schema.Array(LayerRef).pipe(Schema.minItems(2)) })
/** The mean over the spatial axes: [h, w, c] → [c]. */
export const GlobalAveragePooling2D = Schema.TaggedStruct("globalAveragePooling2d", { name: Name, input: Input })

export const Layer = Schema.Union(Rescaling, Dense, Conv2D, MaxPooling2D, Flatten, ActivationLayer, BatchNormalization, Dropout, Add, GlobalAveragePooling2D)
export type Layer = typeof Layer.Type
export type LayerEncoded = typeof Layer.Encoded

export const ModelSpec = Schema.Struct({
  name: Schema.optional(Schema.String),
  /** Input shape without the batch axis: [features] for MLPs, [h, w, c] for CNNs. */
  inputShape: Schema.Array(PositiveInt).pipe(Schema.minItems(1)),
  layers: Schema.Array(Layer).pipe(Schema.minItems(1))
})
export type ModelSpec = typeof ModelSpec.Type
export type ModelSpecEncoded = typeof ModelSpec.Encoded

export const decodeModelSpec = Schema.decodeUnknown(ModelSpec)
export const encodeModelSpec = Schema.encodeSync(ModelSpec)

/** The stable name of layer i: the user's name, else `<type>_<i>`. Weight names are `<layer>/<param>`. */
export const layerName = (layer: Layer, index: number): string => layer.name ?? `${layer._tag}_${index}`

/** A shape as error messages and comparisons write it: `[32, 32, 3]`. */
export const shapeText = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** Values per example the model takes (the product of its input shape). */
export const inputSize = (spec: ModelSpec): number => spec.inputShape.reduce((a, b) => a * b, 1)

/** A weight tensor of a layer, in the layouts stated above. */
export interface WeightShape {
  readonly name: string
  readonly layer: string
  readonly param: "kernel" | "bias" | "gamma" | "beta" | "movingMean" | "movingVariance"
  readonly shape: ReadonlyArray<number>
}

export interface LayerShapes {
  readonly name: string
  readonly layer: Layer
  readonly index: number
  /** Indices of the layers this one reads (-1: the model input); one entry except for `add`. */
  readonly inputs: ReadonlyArray<number>
  readonly inputShape: ReadonlyArray<number>
  readonly outputShape: ReadonlyArray<number>
  readonly weights: ReadonlyArray<WeightShape>
}

const convOut = (size: number, k: number, s: number, padding: "valid" | "same"): number =>
  padding === "same" ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1

/** The names of the layers `layer` reads, as written in the spec (empty: the previous layer's output). */
export const inputNames = (layer: Layer): ReadonlyArray<string> =>
  layer._tag === "add" ? layer.inputs : layer.input === undefined ? [] : [layer.input]

/** Whether the spec is a plain layer list: no layer reads anything but the previous layer's output. */
export const isSequential = (spec: ModelSpec): boolean => spec.layers.every((l) => inputNames(l).length === 0)

/**
 * Propagates shapes through the spec: each layer's input/output shape (no batch axis) and its weight shapes,
 * in the order tfjs-layers lists them. Fails with a SpecError naming the layer when a shape does not fit, when a
 * layer reads a name that is not an earlier layer, or when two layers share a name.
 */
export const inferShapes = (spec: ModelSpec): ReadonlyArray<LayerShapes> => {
  const out: Array<LayerShapes> = []
  const indexOf = new Map<string, number>()
  spec.layers.forEach((layer, index) => {
    const name = layerName(layer, index)
    if (indexOf.has(name)) {
      throw new SpecError({ layer: name, field: "name", expected: "a name no other layer has", actual: `${JSON.stringify(name)} (also layer ${indexOf.get(name)})` })
    }
    const refs = inputNames(layer)
    const inputs = refs.length === 0 ? [index - 1] : refs.map((ref) => {
      const i = indexOf.get(ref)
      if (i === undefined) {
        throw new SpecError({ layer: name, field: layer._tag === "add" ? "inputs" : "input", expected: "the name of an earlier layer", actual: JSON.stringify(ref) })
      }
      return i
    })
    indexOf.set(name, index)
    const shapeOf = (i: number): ReadonlyArray<number> => i < 0 ? spec.inputShape : out[i].outputShape
    let shape: ReadonlyArray<number> = shapeOf(inputs[0])
    const w = (param: WeightShape["param"], s: ReadonlyArray<number>): WeightShape => ({ name: `${name}/${param}`, layer: name, param, shape: s })
    const weights: Array<WeightShape> = []
    const input = shape
    switch (layer._tag) {
      case "dense": {
        if (shape.length !== 1) {
          throw new SpecError({ layer: name, field: "inputShape", expected: "a rank-1 input (add a flatten layer)", actual: shapeText(shape) })
        }
        weights.push(w("kernel", [shape[0], layer.units]))
        if (layer.useBias) weights.push(w("bias", [layer.units]))
        shape = [layer.units]
        break
      }
      case "conv2d": {
        if (shape.length !== 3) {
          throw new SpecError({ layer: name, field: "inputShape", expected: "[h, w, c]", actual: shapeText(shape) })
        }
        const [h, wd, c] = shape
        const oh = convOut(h, layer.kernelSize, layer.strides, layer.padding)
        const ow = convOut(wd, layer.kernelSize, layer.strides, layer.padding)
        if (oh < 1 || ow < 1) {
          throw new SpecError({ layer: name, field: "kernelSize", expected: `at most ${Math.min(h, wd)}`, actual: String(layer.kernelSize) })
        }
        weights.push(w("kernel", [layer.kernelSize, layer.kernelSize, c, layer.filters]))
        if (layer.useBias) weights.push(w("bias", [layer.filters]))
        shape = [oh, ow, layer.filters]
        break
      }
      case "maxPooling2d": {
        if (shape.length !== 3) {
          throw new SpecError({ layer: name, field: "inputShape", expected: "[h, w, c]", actual: shapeText(shape) })
        }
        const s = layer.strides ?? layer.poolSize
        shape = [Math.floor((shape[0] - layer.poolSize) / s) + 1, Math.floor((shape[1] - layer.poolSize) / s) + 1, shape[2]]
        break
      }
      case "globalAveragePooling2d":
        if (shape.length !== 3) {
          throw new SpecError({ layer: name, field: "inputShape", expected: "[h, w, c]", actual: shapeText(shape) })
        }
        shape = [shape[2]]
        break
      case "add":
        for (const i of inputs.slice(1)) {
          if (shapeText(shapeOf(i)) !== shapeText(shape)) {
            throw new SpecError({
              layer: name, field: "inputs",
              expected: `outputs of one shape (${layerName(spec.layers[inputs[0]], inputs[0])}: ${shapeText(shape)})`,
              actual: `${layerName(spec.layers[i], i)}: ${shapeText(shapeOf(i))}`
            })
          }
        }
        break
      case "flatten":
        shape = [shape.reduce((a, b) => a * b, 1)]
        break
      case "batchNormalization": {
        const c = shape[shape.length - 1]
        weights.push(w("gamma", [c]), w("beta", [c]), w("movingMean", [c]), w("movingVariance", [c]))
        break
      }
      case "rescaling":
      case "activation":
      case "dropout":
        break
    }
    out.push({ name, layer, index, inputs, inputShape: input, outputShape: shape, weights })
  })
  return out
}

/** Total number of weights (trainable and not), as Keras' `count_params` reports it. */
export const countParams = (spec: ModelSpec): number =>
  inferShapes(spec).reduce((n, l) => n + l.weights.reduce((m, w) => m + w.shape.reduce((a, b) => a * b, 1), 0), 0)

/** Forward FLOPs per example (multiply-adds counted as 2; elementwise layers, BatchNormalization and pooling not counted), for compute accounting. */
export const forwardFlops = (spec: ModelSpec): number =>
  inferShapes(spec).reduce((n, l) => {
    const kernel = l.weights.find((w) => w.param === "kernel")
    if (!kernel) return n
    const macsPerOutput = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1)
    const outputs = l.outputShape.reduce((a, b) => a * b, 1)
    return n + 2 * macsPerOutput * outputs
  }, 0)
