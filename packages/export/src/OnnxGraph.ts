/**
 * A spec and its weights as an ONNX graph (opset 13) that takes growlab's own input: float32 `input`
 * [batch, ...inputShape], channels-last, and returns `logits` [batch, ...outputShape] as growlab's forward pass does.
 *
 * ONNX's Conv, MaxPool and BatchNormalization work on NCHW: the graph transposes to NCHW before the first of them
 * and back to NHWC before a Flatten (and at the end), so Dense kernels keep growlab's row order. Initializers keep
 * growlab's weight names; Conv kernels are stored in ONNX's [out, in, kh, kw] layout as `<layer>/kernel_oihw`.
 * Dense is `Gemm` (kernel [in, out], as stored). `same` padding is TensorFlow's: the odd pixel goes after (bottom /
 * right), written as explicit `pads`. Dropout is the identity (an inference graph).
 */
import type { Model } from "@growlab/core/ModelArtifact"
import { inferShapes, isSequential, type Activation } from "@growlab/core/ModelSpec"
import type { Attribute, Graph, Initializer, Node } from "./internal/onnxProto.js"
import { permute } from "./TorchLayout.js"

export const INPUT = "input"
export const OUTPUT = "logits"

/** TensorFlow's `same` padding along one axis: [before, after]. */
export const samePads = (size: number, kernel: number, stride: number): [number, number] => {
  const out = Math.ceil(size / stride)
  const total = Math.max((out - 1) * stride + kernel - size, 0)
  return [Math.floor(total / 2), total - Math.floor(total / 2)]
}

export const graphOf = (model: Model): Graph => {
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  const nodes: Array<Node> = []
  const initializers: Array<Initializer> = []
  let current = INPUT
  let nchw = false

  const weight = (name: string) => {
    const w = byName.get(name)
    if (!w) throw new RangeError(`model has no weight ${name}`)
    return w
  }
  const add = (opType: string, name: string, inputs: ReadonlyArray<string>, attributes: ReadonlyArray<Attribute> = []): void => {
    const output = `${name}:${opType}`
    nodes.push({ opType, name: output, inputs, outputs: [output], attributes })
    current = output
  }
  const constant = (name: string, dims: ReadonlyArray<number>, values: Float32Array): string => {
    initializers.push({ name, dims, values })
    return name
  }
  const stored = (name: string): string => {
    const w = weight(name)
    return constant(name, w.shape, w.values)
  }
  const toNchw = (layer: string) => {
    if (nchw) return
    add("Transpose", `${layer}/to_nchw`, [current], [{ name: "perm", ints: [0, 3, 1, 2] }])
    nchw = true
  }
  const toNhwc = (layer: string) => {
    if (!nchw) return
    add("Transpose", `${layer}/to_nhwc`, [current], [{ name: "perm", ints: [0, 2, 3, 1] }])
    nchw = false
  }
  const activate = (layer: string, activation: Activation, rank: number) => {
    switch (activation) {
      case "linear": return
      case "relu": return add("Relu", layer, [current])
      case "tanh": return add("Tanh", layer, [current])
      case "sigmoid": return add("Sigmoid", layer, [current])
      case "softmax": return add("Softmax", layer, [current], [{ name: "axis", int: rank === 3 && nchw ? 1 : -1 }])
    }
  }

  if (!isSequential(model.spec)) {
    throw new RangeError("the ONNX export writes plain layer lists: specs whose layers read earlier layers (`input`, `add`) are not supported; export safetensors or tfjs")
  }
  const shapes = inferShapes(model.spec)
  for (const l of shapes) {
    const rank = l.inputShape.length
    switch (l.layer._tag) {
      case "rescaling": {
        add("Mul", l.name, [current, constant(`${l.name}/scale`, [], Float32Array.of(l.layer.scale))])
        if (l.layer.offset !== 0) add("Add", l.name, [current, constant(`${l.name}/offset`, [], Float32Array.of(l.layer.offset))])
        break
      }
      case "conv2d": {
        toNchw(l.name)
        const k = weight(`${l.name}/kernel`)
        const oihw = permute(k.values, k.shape, [3, 2, 0, 1])
        const [h, w] = l.inputShape
        const [top, bottom] = l.layer.padding === "same" ? samePads(h, l.layer.kernelSize, l.layer.strides) : [0, 0]
        const [left, right] = l.layer.padding === "same" ? samePads(w, l.layer.kernelSize, l.layer.strides) : [0, 0]
        const inputs = [current, constant(`${l.name}/kernel_oihw`, oihw.shape, oihw.values)]
        if (l.layer.useBias) inputs.push(stored(`${l.name}/bias`))
        add("Conv", l.name, inputs, [
          { name: "kernel_shape", ints: [l.layer.kernelSize, l.layer.kernelSize] },
          { name: "strides", ints: [l.layer.strides, l.layer.strides] },
          { name: "pads", ints: [top, left, bottom, right] },
          { name: "dilations", ints: [1, 1] },
          { name: "group", int: 1 }
        ])
        activate(l.name, l.layer.activation, 3)
        break
      }
      case "maxPooling2d": {
        toNchw(l.name)
        const s = l.layer.strides ?? l.layer.poolSize
        add("MaxPool", l.name, [current], [
          { name: "kernel_shape", ints: [l.layer.poolSize, l.layer.poolSize] },
          { name: "strides", ints: [s, s] }
        ])
        break
      }
      case "flatten": {
        if (rank === 1) break
        toNhwc(l.name)
        add("Flatten", l.name, [current], [{ name: "axis", int: 1 }])
        break
      }
      case "dense": {
        const inputs = [current, stored(`${l.name}/kernel`)]
        if (l.layer.useBias) inputs.push(stored(`${l.name}/bias`))
        add("Gemm", l.name, inputs)
        activate(l.name, l.layer.activation, 1)
        break
      }
      case "activation":
        activate(l.name, l.layer.activation, rank)
        break
      case "batchNormalization": {
        if (rank === 3) toNchw(l.name)
        const params = ["gamma", "beta", "movingMean", "movingVariance"].map((p) => stored(`${l.name}/${p}`))
        add("BatchNormalization", l.name, [current, ...params], [{ name: "epsilon", float: l.layer.epsilon }])
        break
      }
      case "globalAveragePooling2d": {
        add("ReduceMean", l.name, [current], [{ name: "axes", ints: nchw ? [2, 3] : [1, 2] }, { name: "keepdims", int: 0 }])
        nchw = false
        break
      }
      case "dropout":
      case "add":
        break
    }
  }
  toNhwc("output")
  nodes.push({ opType: "Identity", name: OUTPUT, inputs: [current], outputs: [OUTPUT] })
  const outputShape = shapes[shapes.length - 1].outputShape
  return {
    name: model.spec.name ?? "growlab",
    nodes,
    initializers,
    inputs: [{ name: INPUT, dims: ["batch", ...model.spec.inputShape] }],
    outputs: [{ name: OUTPUT, dims: ["batch", ...outputShape] }]
  }
}
