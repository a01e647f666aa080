/**
 * The forward half of the training-step graph (TrainStepGraph.ts): the layers of a spec in training mode (the
 * semantics of Forward.apply; training = inference for the layers the graph path supports), with the trace of every
 * layer's input and output that the backward pass (StepBackward.ts) reads.
 */
import type { Activation, LayerShapes } from "@growlab/core/ModelSpec"
import type { FloatType, GraphBuilder, Value } from "./GraphBuilder.js"
import { DT } from "./Proto.js"

export interface Traced {
  readonly input: Value
  readonly output: Value
  /** conv2d/dense: the ReLU was moved after the following max-pool (the layer's output is pre-activation). */
  readonly reluDeferred?: boolean
  /** maxPooling2d: the pool of the preceding layer's pre-activation, before the moved ReLU (output = relu(pooled)). */
  readonly pooled?: Value
}

export interface Forwarded {
  /** float32 logits (cast from the compute type when it is bfloat16). */
  readonly logits: Value
  /** Per layer: its input and output values (of the layer's compute type). */
  readonly trace: ReadonlyArray<Traced>
}

/**
 * Forward pass (training mode = inference mode for the supported layers). `w(name)` gives a weight's value.
 * With `reorderReluPool`, act = relu followed by a max-pool computes relu(maxpool(z)) instead of maxpool(relu(z)):
 * the same values (max and relu commute), and in the backward pass the ReLU gradient runs on the pooled tensor
 * (ties in a window: both route the gradient to an element equal to the window's max, and windows whose max is ≤ 0
 * get zero either way), so the gradients are the same too.
 * With `compute` bfloat16, layers from the first one with weights on run in bfloat16: its input is cast once, `w`
 * gives bfloat16 weights, and the logits are cast back to float32.
 */
export const forward = (g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, x: Value, w: (name: string) => Value, reorderReluPool: boolean, compute: FloatType): Forwarded => {
  const trace: Array<Traced> = []
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  let h = x
  layers.forEach((l, i) => {
    const layer = l.layer
    if (i === firstTrainable && compute !== DT.float) h = g.within("to_compute", () => g.cast(h, DT.float, compute))
    const input = h
    const p = (param: string): Value => w(`${l.name}/${param}`)
    g.computeIn(i >= firstTrainable ? compute : DT.float, () => g.within(l.name, () => {
      switch (layer._tag) {
        case "rescaling":
          h = g.mul(h, g.scalar(layer.scale))
          if (layer.offset !== 0) h = g.add(h, g.scalar(layer.offset))
          break
        case "dense":
        case "conv2d": {
          let z = layer._tag === "dense" ? g.matMul(h, p("kernel")) : g.conv2d(h, p("kernel"), layer.strides, layer.padding)
          if (layer.useBias) z = g.biasAdd(z, p("bias"))
          const defer = reorderReluPool && layer.activation === "relu" && layers[i + 1]?.layer._tag === "maxPooling2d"
          h = defer ? z : activate(g, z, layer.activation)
          trace.push({ input, output: h, reluDeferred: defer })
          return
        }
        case "maxPooling2d": {
          h = g.maxPool(h, layer.poolSize, layer.strides ?? layer.poolSize)
          if (trace[i - 1]?.reluDeferred) {
            const pooled = h
            h = g.relu(pooled)
            trace.push({ input, output: h, pooled })
            return
          }
          break
        }
        case "flatten":
          h = g.reshape(h, g.ints([-1, l.outputShape[0]]))
          break
        case "activation":
          h = activate(g, h, layer.activation)
          break
        case "dropout":
          break
        case "batchNormalization":
          throw new Error(`layer ${l.name}: batchNormalization is not supported by the graph path`)
      }
      trace.push({ input, output: h })
    }))
  })
  return { logits: compute === DT.float ? h : g.within("to_float", () => g.cast(h, compute, DT.float)), trace }
}

const activate = (g: GraphBuilder, z: Value, a: Activation): Value => {
  switch (a) {
    case "linear": return z
    case "relu": return g.relu(z)
    case "tanh": return g.tanh(z)
    case "sigmoid": return g.sigmoid(z)
    case "softmax": return g.softmax(z)
  }
}

