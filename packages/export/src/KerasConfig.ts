/**
 * The Keras 3 serialization of a spec: the `config.json` of a `.keras` file (a `Sequential` whose first layer is an
 * `InputLayer`), and where each layer's variables live in `model.weights.h5`.
 *
 * Keras 3 (checked against 3.15) stores a Sequential's variables under `layers/<snake_case(class)>[_<n>]/vars/<i>`
 * (`conv2d`, `conv2d_1`, ..., numbered per class in layer order, the InputLayer excluded), plus an empty top-level
 * `vars` group; each layer's variables in its own order (Conv2D / Dense: kernel, bias; BatchNormalization: gamma,
 * beta, moving_mean, moving_variance). Layouts are TensorFlow's, as growlab's: nothing is transposed.
 * Config fields left out take the layer constructors' defaults (initializers, regularizers).
 */
import { inferShapes, isSequential, type Layer, type ModelSpec } from "@growlab/core/ModelSpec"

const DTYPE = { module: "keras", class_name: "DTypePolicy", config: { name: "float32" }, registered_name: null }

const pair = (n: number) => [n, n]

/** Keras' class name and the layer-specific config of a spec layer. */
export const kerasLayer = (layer: Layer): { readonly className: string; readonly config: Record<string, unknown> } => {
  switch (layer._tag) {
    case "rescaling": return { className: "Rescaling", config: { scale: layer.scale, offset: layer.offset } }
    case "dense": return { className: "Dense", config: { units: layer.units, activation: layer.activation, use_bias: layer.useBias } }
    case "conv2d":
      return {
        className: "Conv2D",
        config: {
          filters: layer.filters, kernel_size: pair(layer.kernelSize), strides: pair(layer.strides), padding: layer.padding,
          data_format: "channels_last", dilation_rate: [1, 1], groups: 1, activation: layer.activation, use_bias: layer.useBias
        }
      }
    case "maxPooling2d":
      return {
        className: "MaxPooling2D",
        config: { pool_size: pair(layer.poolSize), strides: pair(layer.strides ?? layer.poolSize), padding: "valid", data_format: "channels_last" }
      }
    case "flatten": return { className: "Flatten", config: { data_format: "channels_last" } }
    case "activation": return { className: "Activation", config: { activation: layer.activation } }
    case "batchNormalization":
      return { className: "BatchNormalization", config: { axis: -1, momentum: layer.momentum, epsilon: layer.epsilon, center: true, scale: true } }
    case "dropout": return { className: "Dropout", config: { rate: layer.rate, noise_shape: null, seed: null } }
    case "globalAveragePooling2d": return { className: "GlobalAveragePooling2D", config: { data_format: "channels_last", keepdims: false } }
    case "add": throw new RangeError(`layer ${layer.name ?? "add"}: a Keras Sequential cannot hold an Add layer (the .keras export writes plain layer lists only)`)
  }
}

/** snake_case as Keras' `naming.to_snake_case` gives it for these class names. */
export const snakeCase = (className: string): string =>
  className.replace(/(.)([A-Z][a-z]+)/g, "$1_$2").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()

const batchShape = (shape: ReadonlyArray<number>) => [null, ...shape]

/** The `config.json` object of a `.keras` file for `spec`. */
export const config = (spec: ModelSpec): Record<string, unknown> => {
  if (!isSequential(spec)) {
    throw new RangeError("the .keras export writes a Keras Sequential: specs whose layers read earlier layers (`input`, `add`) are not supported; export safetensors or tfjs")
  }
  const input = batchShape(spec.inputShape)
  const layers = inferShapes(spec).map((l) => {
    const k = kerasLayer(l.layer)
    return {
      module: "keras.layers",
      class_name: k.className,
      config: { name: l.name, trainable: true, dtype: DTYPE, ...k.config },
      registered_name: null,
      build_config: { input_shape: batchShape(l.inputShape) }
    }
  })
  return {
    module: "keras",
    class_name: "Sequential",
    config: {
      name: spec.name ?? "growlab",
      trainable: true,
      dtype: DTYPE,
      layers: [
        {
          module: "keras.layers", class_name: "InputLayer", registered_name: null,
          config: { batch_shape: input, dtype: "float32", sparse: false, ragged: false, name: "input_layer", optional: false }
        },
        ...layers
      ],
      build_input_shape: input
    },
    registered_name: null,
    build_config: { input_shape: input },
    compile_config: {}
  }
}

/** The weights-file group of each spec layer (`layers/conv2d_1`), in layer order. */
export const weightGroups = (spec: ModelSpec): ReadonlyArray<string> => {
  const used = new Map<string, number>()
  return spec.layers.map((layer) => {
    const base = snakeCase(kerasLayer(layer).className)
    const n = used.get(base)
    used.set(base, n === undefined ? 0 : n + 1)
    return n === undefined ? base : `${base}_${n + 1}`
  })
}
