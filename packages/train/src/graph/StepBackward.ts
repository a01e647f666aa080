/**
 * The backward half of the training-step graph (TrainStepGraph.ts): explicit gradient ops from the float32 dLogits
 * (Conv2DBackpropInput/Filter, BiasAddGrad, ReluGrad, MaxPoolGrad, MatMul with transposes), in bfloat16 under
 * bf16-mixed, and the forward-convolution form of small conv weight gradients.
 */
import type { Activation, LayerShapes } from "@growlab/core/ModelSpec"
import type { FloatType, GraphBuilder, Value } from "./GraphBuilder.js"
import { DT } from "./Proto.js"
import type { Forwarded } from "./StepForward.js"

/**
 * Output positions (h'·w') up to which `filterGradAsConv` applies. Measured (one core, bfloat16, batch 32 and 128,
 * 64 or 128 channels): the forward-conv form takes 0.4–0.75× the time of Conv2DBackpropFilter at 4×4, 6×6 and 8×8
 * outputs, about the same at 10×10 and 1.1–1.3× at 13×13.
 */
export const FILTER_GRAD_AS_CONV_MAX_AREA = 64

/** d(act(z))/dz · dy given y = act(z). */
const activationGrad = (g: GraphBuilder, a: Activation, y: Value, dy: Value): Value => {
  switch (a) {
    case "linear": return dy
    case "relu": return g.reluGrad(dy, y)
    case "tanh": return g.tanhGrad(y, dy)
    case "sigmoid": return g.sigmoidGrad(y, dy)
    case "softmax": {
      // dz = (dy − Σ_c dy·y) · y
      const s = g.sum(g.mul(dy, y), [-1], true)
      return g.mul(g.sub(dy, s), y)
    }
  }
}

/**
 * Backward pass from the float32 dLogits; returns the float32 gradient of every trainable weight (by name). With
 * `compute` bfloat16 it runs in bfloat16 (dLogits cast down, each weight gradient cast up: the gradient of the
 * forward's casts).
 */
export const backward = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, fwd: Forwarded, dLogits: Value, w: (name: string) => Value, compute: FloatType, filterGradAsConv: boolean): Map<string, Value> => {
  if (compute === DT.float) return backwardIn(g, layers, fwd, dLogits, w, filterGradAsConv)
  const dy = g.within("grad/to_compute", () => g.cast(dLogits, DT.float, compute))
  const grads = g.computeIn(compute, () => backwardIn(g, layers, fwd, dy, w, filterGradAsConv))
  return new Map([...grads].map(([name, grad]) => [name, g.within(`grad/to_float/${name}`, () => g.cast(grad, compute, DT.float))]))
}

const backwardIn = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, fwd: Forwarded, dLogits: Value, w: (name: string) => Value, filterGradAsConv: boolean): Map<string, Value> => {
  const grads = new Map<string, Value>()
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  let dy = dLogits
  for (let i = layers.length - 1; i >= firstTrainable; i--) {
    const l = layers[i]
    const layer = l.layer
    const { input, output, reluDeferred, pooled } = fwd.trace[i]
    const needDx = i > firstTrainable
    g.within(`grad/${l.name}`, () => {
      switch (layer._tag) {
        case "rescaling":
          dy = g.mul(dy, g.scalar(layer.scale))
          break
        case "dense":
        case "conv2d": {
          const dz = reluDeferred ? dy : activationGrad(g, layer.activation, output, dy)
          const asConv = layer._tag === "conv2d" && filterGradAsConv && layer.strides === 1 && layer.padding === "valid" &&
            l.outputShape[0] * l.outputShape[1] <= FILTER_GRAD_AS_CONV_MAX_AREA
          // TensorFlow's CPU BiasAddGrad accumulates bfloat16 in bfloat16 (measured: up to 27 % off for 5,000+ terms);
          // in bfloat16 it stays only where oneDNN fuses it into Conv2DBackpropFilter (float32 accumulation), and
          // elsewhere Sum (float accumulation, one final rounding) gives the bias gradient.
          const fusedBiasGrad = layer._tag === "conv2d" && !asConv
          if (layer.useBias) {
            grads.set(`${l.name}/bias`, g.computeType === DT.float || fusedBiasGrad ? g.biasAddGrad(dz) : g.sum(dz, l.outputShape.map((_, a) => a), false))
          }
          const kernel = w(`${l.name}/kernel`)
          if (layer._tag === "dense") {
            grads.set(`${l.name}/kernel`, g.matMul(input, dz, true, false))
            if (needDx) dy = g.matMul(dz, kernel, false, true)
          } else {
            const ks = l.weights.find((x) => x.param === "kernel")!.shape
            grads.set(`${l.name}/kernel`, asConv ? filterGradient(g, input, dz) : g.conv2dBackpropFilter(input, g.ints(ks), dz, layer.strides, layer.padding))
            if (needDx) dy = g.conv2dBackpropInput(g.shape(input), kernel, dz, layer.strides, layer.padding)
          }
          break
        }
        case "maxPooling2d":
          if (pooled) dy = g.maxPoolGrad(input, pooled, g.reluGrad(dy, output), layer.poolSize, layer.strides ?? layer.poolSize)
          else dy = g.maxPoolGrad(input, output, dy, layer.poolSize, layer.strides ?? layer.poolSize)
          break
        case "flatten":
          dy = g.reshape(dy, g.shape(input))
          break
        case "activation":
          dy = activationGrad(g, layer.activation, output, dy)
          break
        case "dropout":
          break
        case "batchNormalization":
          throw new Error("unreachable")
      }
    })
  }
  return grads
}

/**
 * The weight gradient of a VALID, stride-1 Conv2D as a forward Conv2D: dW[i,j,c,o] = Σ_{n,h,w} x[n,h+i,w+j,c]·dz[n,h,w,o]
 * is the VALID convolution of x laid out as [c, H, W, n] (batch c, channels n) with dz as the filter [h', w', n, o],
 * which gives [c, kh, kw, o]; three transposes (oneDNN reorders) put the operands and result in place. The bias
 * gradient stays BiasAddGrad (Conv2DBackpropFilter + BiasAddGrad fuse into one oneDNN op only on the other path).
 */
const filterGradient = (g: GraphBuilder, x: Value, dz: Value): Value =>
  g.transpose(g.conv2d(g.transpose(x, [3, 1, 2, 0]), g.transpose(dz, [1, 2, 0, 3]), 1, "valid"), [1, 2, 0, 3])

