/**
 * The backward half of the training-step graph (TrainStepGraph.ts): explicit gradient ops from the float32 dLogits
 * (Conv2DBackpropInput/Filter, BiasAddGrad, ReluGrad, MaxPoolGrad, MatMul with transposes, FusedBatchNormGradV3,
 * Mean's broadcast), in bfloat16 under bf16-mixed, and the forward-convolution form of small conv weight gradients.
 * Over a DAG: layers are visited in reverse order, the gradient of an output several layers read is the sum of their
 * contributions, and `add` passes its output's gradient to each of its inputs.
 */
import type { Activation, LayerShapes } from "@growlab/core/ModelSpec"
import { GraphBuilder, type FloatType, type Value } from "./GraphBuilder.js"
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
  const float32 = new Set<string>()
  if (compute === DT.float) return backwardIn(g, layers, fwd, dLogits, w, filterGradAsConv, float32)
  const dy = g.within("grad/to_compute", () => g.cast(dLogits, DT.float, compute))
  const grads = g.computeIn(compute, () => backwardIn(g, layers, fwd, dy, w, filterGradAsConv, float32))
  return new Map([...grads].map(([name, grad]) => [name, float32.has(name) ? grad : g.within(`grad/to_float/${name}`, () => g.cast(grad, compute, DT.float))]))
}

/** `float32` receives the names of the gradients computed in float32 whatever the compute type (BatchNormalization's). */
const backwardIn = (
  g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, fwd: Forwarded, dLogits: Value, w: (name: string) => Value, filterGradAsConv: boolean,
  float32: Set<string>
): Map<string, Value> => {
  const grads = new Map<string, Value>()
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  // The gradient of each layer's output: the sum over the layers that read it (in the order they are reached).
  const dOut = new Map<number, Value>([[layers.length - 1, dLogits]])
  for (let i = layers.length - 1; i >= firstTrainable; i--) {
    const l = layers[i]
    const layer = l.layer
    const { input, output, reluDeferred, pooled, bn, subsampled } = fwd.trace[i]
    let dy = dOut.get(i)
    if (dy === undefined) throw new Error(`layer ${l.name}: its output is not used`)
    dOut.delete(i)
    // The inputs that need a gradient: those at or after the first layer with weights (before it nothing trains).
    const needDx = l.inputs.some((j) => j >= firstTrainable)
    /** Adds `dx` to the gradient of layer j's output. */
    const flow = (j: number, dx: Value): void => {
      if (j < firstTrainable) return
      const prev = dOut.get(j)
      dOut.set(j, prev === undefined ? dx : g.within(`grad/${layers[j].name}/sum`, () => g.add(prev, dx)))
    }
    g.within(`grad/${l.name}`, () => {
      switch (layer._tag) {
        case "rescaling":
          dy = g.mul(dy!, g.scalar(layer.scale))
          break
        case "dense":
        case "conv2d": {
          const dz = reluDeferred ? dy! : activationGrad(g, layer.activation, output, dy!)
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
            if (subsampled !== undefined) {
              grads.set(`${l.name}/kernel`, g.conv2dBackpropFilter(subsampled, g.ints(ks), dz, 1, "valid"))
              if (needDx) dy = strided1x1InputGrad(g, dz, kernel, l.inputShape, l.outputShape, layer.strides)
            } else {
              grads.set(`${l.name}/kernel`, asConv ? filterGradient(g, input, dz) : g.conv2dBackpropFilter(input, g.ints(ks), dz, layer.strides, layer.padding))
              if (needDx) dy = g.conv2dBackpropInput(g.shape(input), kernel, dz, layer.strides, layer.padding)
            }
          }
          break
        }
        case "maxPooling2d":
          if (pooled) dy = g.maxPoolGrad(input, pooled, g.reluGrad(dy!, output), layer.poolSize, layer.strides ?? layer.poolSize)
          else dy = g.maxPoolGrad(input, output, dy!, layer.poolSize, layer.strides ?? layer.poolSize)
          break
        case "flatten":
          dy = g.reshape(dy!, g.shape(input))
          break
        case "activation":
          dy = activationGrad(g, layer.activation, output, dy!)
          break
        case "dropout":
        case "add":
          break
        case "globalAveragePooling2d": {
          // Mean's gradient: dy / (h·w) at every position of its window.
          const [h, wd, c] = l.inputShape
          dy = g.broadcastTo(g.reshape(g.div(dy!, g.scalar(h * wd)), g.ints([-1, 1, 1, c])), g.shape(input))
          break
        }
        case "batchNormalization": {
          // in float32 also under bf16-mixed (see StepForward): dy cast up, dx cast back down
          if (!bn) throw new Error(`layer ${l.name}: no training-mode forward`)
          const lowp = g.computeType
          const c = l.outputShape[l.outputShape.length - 1]
          const rank1 = l.outputShape.length === 1
          const dy32 = lowp === DT.float ? dy! : g.cast(dy!, lowp, DT.float)
          const dx32 = g.computeIn(DT.float, () => {
            const grad = g.fusedBatchNormGrad(rank1 ? g.reshape(dy32, g.ints([-1, 1, 1, c])) : dy32, bn.x4, w(`${l.name}/gamma`), bn.node, layer.epsilon)
            grads.set(`${l.name}/gamma`, GraphBuilder.out(grad, 1))
            grads.set(`${l.name}/beta`, GraphBuilder.out(grad, 2))
            return rank1 ? g.reshape(grad, g.ints([-1, c])) : grad
          })
          float32.add(`${l.name}/gamma`).add(`${l.name}/beta`)
          dy = lowp === DT.float ? dx32 : g.cast(dx32, DT.float, lowp)
          break
        }
      }
    })
    // `add` passes dy to each input; the other layers have one input.
    if (needDx) for (const j of l.inputs) flow(j, dy)
  }
  return grads
}

/**
 * The input gradient of a 1×1 convolution with stride s > 1 (a ResNet's projection shortcut), which StepForward runs
 * as x[:, ::s, ::s, :] (no padding for a 1×1 kernel, SAME or VALID) and a stride-1 convolution: dx = dz·Wᵀ at those
 * positions and 0 elsewhere: a MatMul, then zeros interleaved by Pad + Reshape (cropped to the input's size when it
 * is not a multiple of s). Not the strided convolution and its Conv2DBackprop ops: in TensorFlow 2.21's oneDNN CPU
 * graph, a 1×1 stride-2 convolution after another layer corrupts the heap once the step sees a second batch size
 * (observed: "free(): invalid size" / "munmap_chunk(): invalid pointer" a few runs after a batch of another size;
 * 3×3 stride 2, 1×1 stride 3 and TF_ENABLE_ONEDNN_OPTS=0 are fine), and a training run's last batch is usually smaller.
 */
const strided1x1InputGrad = (
  g: GraphBuilder, dz: Value, kernel: Value, inputShape: ReadonlyArray<number>, outputShape: ReadonlyArray<number>, s: number
): Value => {
  const [h, w, cin] = inputShape
  const [oh, ow, cout] = outputShape
  const d = g.matMul(g.reshape(dz, g.ints([-1, cout])), g.reshape(kernel, g.ints([cin, cout])), false, true)
  const spread = g.pad(g.reshape(d, g.ints([-1, oh, 1, ow, 1, cin])), [[0, 0], [0, 0], [0, s - 1], [0, 0], [0, s - 1], [0, 0]])
  const dx = g.reshape(spread, g.ints([-1, oh * s, ow * s, cin]))
  return oh * s === h && ow * s === w ? dx : g.sliceNd(dx, [0, 0, 0, 0], [-1, h, w, cin])
}

/**
 * The weight gradient of a VALID, stride-1 Conv2D as a forward Conv2D: dW[i,j,c,o] = Σ_{n,h,w} x[n,h+i,w+j,c]·dz[n,h,w,o]
 * is the VALID convolution of x laid out as [c, H, W, n] (batch c, channels n) with dz as the filter [h', w', n, o],
 * which gives [c, kh, kw, o]; three transposes (oneDNN reorders) put the operands and result in place. The bias
 * gradient stays BiasAddGrad (Conv2DBackpropFilter + BiasAddGrad fuse into one oneDNN op only on the other path).
 */
const filterGradient = (g: GraphBuilder, x: Value, dz: Value): Value =>
  g.transpose(g.conv2d(g.transpose(x, [3, 1, 2, 0]), g.transpose(dz, [1, 2, 0, 3]), 1, "valid"), [1, 2, 0, 3])

