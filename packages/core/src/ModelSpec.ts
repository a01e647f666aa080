/**
 * Model specs: the layer topology of a network, declared in pipeline params and stored in model artifacts.
 * Kernel layouts are fixed facts: Dense kernel [in, out], Conv2D kernel [kh, kw, in, out], channels-last tensors.
 */
import * as Schema from "effect/Schema"
import { SpecError } from "./Errors.js"

export const Activation = Schema.Literal("linear", "relu", "tanh", "sigmoid", "softmax")
export type Activation = typeof Activation.Type

const Name = Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*$/)))
const PositiveInt = Schema.Int.pipe(Schema.positive())

export const Rescaling = Schema.TaggedStruct("rescaling", {
  name: Name,
  scale: Schema.Number,
  offset: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
export const Dense = Schema.TaggedStruct("dense", {
  name: Name,
  units: PositiveInt,
  activation: Schema.optionalWith(Activation, { default: () => "linear" as const }),
  useBias: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export const Conv2D = Schema.TaggedStruct("conv2d", {
  name: Name,
  filters: PositiveInt,
  kernelSize: PositiveInt,
  strides: Schema.optionalWith(PositiveInt, { default: () => 1 }),
  padding: Schema.optionalWith(Schema.Literal("valid", "same"), { default: () => "valid" as const }),
  activation: Schema.optionalWith(Activation, { default: () => "linear" as const }),
  useBias: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export const MaxPooling2D = Schema.TaggedStruct("maxPooling2d", {
  name: Name,
  poolSize: PositiveInt,
  strides: Schema.optional(PositiveInt)
})
export const Flatten = Schema.TaggedStruct("flatten", { name: Name })
export const ActivationLayer = Schema.TaggedStruct("activation", { name: Name, activation: Activation })
export const BatchNormalization = Schema.TaggedStruct("batchNormalization", {
  name: Name,
  epsilon: Schema.optionalWith(Schema.Number, { default: () => 1e-3 }),
  momentum: Schema.optionalWith(Schema.Number, { default: () => 0.99 })
})
export const Dropout = Schema.TaggedStruct("dropout", { name: Name, rate: Schema.Number.pipe(Schema.between(0, 1)) })

export const Layer = Schema.Union(Rescaling, Dense, Conv2D, MaxPooling2D, Flatten, ActivationLayer, BatchNormalization, Dropout)
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
  readonly inputShape: ReadonlyArray<number>
  readonly outputShape: ReadonlyArray<number>
  readonly weights: ReadonlyArray<WeightShape>
}

const convOut = (size: number, k: number, s: number, padding: "valid" | "same"): number =>
  padding === "same" ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1

/**
 * Propagates shapes through the spec: each layer's input/output shape (no batch axis) and its weight shapes,
 * in the order tfjs-layers lists them. Fails with a SpecError naming the layer when a shape does not fit.
 */
export const inferShapes = (spec: ModelSpec): ReadonlyArray<LayerShapes> => {
  let shape: ReadonlyArray<number> = spec.inputShape
  const out: Array<LayerShapes> = []
  spec.layers.forEach((layer, index) => {
    const name = layerName(layer, index)
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
    out.push({ name, layer, index, inputShape: input, outputShape: shape, weights })
  })
  return out
}

/** Total number of weights (trainable and not), as Keras' `count_params` reports it. */
export const countParams = (spec: ModelSpec): number =>
  inferShapes(spec).reduce((n, l) => n + l.weights.reduce((m, w) => m + w.shape.reduce((a, b) => a * b, 1), 0), 0)

/** Forward FLOPs per example (multiply-adds counted as 2), for compute accounting. */
export const forwardFlops = (spec: ModelSpec): number =>
  inferShapes(spec).reduce((n, l) => {
    const kernel = l.weights.find((w) => w.param === "kernel")
    if (!kernel) return n
    const macsPerOutput = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1)
    const outputs = l.outputShape.reduce((a, b) => a * b, 1)
    return n + 2 * macsPerOutput * outputs
  }, 0)
