/**
 * The forward half of the training-step graph (TrainStepGraph.ts): the layers of a spec in training mode (the
 * semantics of Forward.apply), with the trace of every layer's input and output that the backward pass
 * (StepBackward.ts) reads. Specs are DAGs: each layer reads the outputs `LayerShapes.inputs` names (-1: the model
 * input), `add` sums its inputs, and every layer's output is kept for the layers that read it.
 */
import type { Activation, LayerShapes } from "@growlab/core/ModelSpec"
import { GraphBuilder, type FloatType, type Value } from "./GraphBuilder.js"
import { DT } from "./Proto.js"

export interface Traced {
  /** The layer's (first) input. */
  readonly input: Value
  /** All inputs of the layer (one, except for `add`). */
  readonly inputs: ReadonlyArray<Value>
  readonly output: Value
  /** conv2d/dense: the ReLU was moved after the following max-pool (the layer's output is pre-activation). */
  readonly reluDeferred?: boolean
  /** conv2d 1×1 with stride > 1: the subsampled input the stride-1 convolution read. */
  readonly subsampled?: Value
  /** maxPooling2d: the pool of the preceding layer's pre-activation, before the moved ReLU (output = relu(pooled)). */
  readonly pooled?: Value
  /**
   * batchNormalization in training mode: the FusedBatchNormV3 node and its 4-D float32 input, which
   * FusedBatchNormGradV3 takes, and the batch mean and biased batch variance (what the moving statistics move
   * towards, float32 [c]).
   */
  readonly bn?: { readonly node: Value; readonly x4: Value; readonly mean: Value; readonly variance: Value }
}

export interface Forwarded {
  /** float32 logits (cast from the compute type when it is bfloat16). */
  readonly logits: Value
  /** Per layer: its input and output values (of the layer's compute type). */
  readonly trace: ReadonlyArray<Traced>
}

/** For each layer, the indices of the layers that read its output. */
export const readersOf = (layers: ReadonlyArray<LayerShapes>): Array<Array<number>> => {
  const readers: Array<Array<number>> = layers.map(() => [])
  for (const l of layers) for (const j of l.inputs) if (j >= 0) readers[j].push(l.index)
  return readers
}

/**
 * Forward pass. `w(name)` gives a weight's value. `mode` "training" (default) normalises BatchNormalization with the
 * batch statistics; "inference" with the moving statistics (the predict signature).
 * Other layers compute the same in both modes (dropout of rate 0 only).
 * With `reorderReluPool`, act = relu followed by a max-pool computes relu(maxpool(z)) instead of maxpool(relu(z)):
 * the same values (max and relu commute), and in the backward pass the ReLU gradient runs on the pooled tensor
 * (ties in a window: both route the gradient to an element equal to the window's max, and windows whose max is ≤ 0
 * get zero either way), so the gradients are the same too. (Only where the pool is the layer's only reader.)
 * With `compute` bfloat16, layers from the first one with weights on run in bfloat16: the outputs they read from
 * before it (the model input, an input rescaling) are cast once, `w` gives bfloat16 weights, and the logits are cast
 * back to float32.
 */
export const forward = (
  g: GraphBuilder, layers: ReadonlyArray<LayerShapes>, x: Value, w: (name: string) => Value, reorderReluPool: boolean, compute: FloatType,
  mode: "training" | "inference" = "training"
): Forwarded => {
  const trace: Array<Traced> = []
  const firstTrainable = layers.findIndex((l) => l.weights.length > 0)
  const readers = readersOf(layers)
  // Outputs before the first layer with weights, cast once to the compute type for the layers after it that read them.
  const casts = new Map<number, Value>()
  const read = (j: number, i: number): Value => {
    const v = j < 0 ? x : trace[j].output
    if (compute === DT.float || i < firstTrainable || j >= firstTrainable) return v
    let c = casts.get(j)
    if (c === undefined) {
      c = g.within("to_compute", () => g.cast(v, DT.float, compute))
      casts.set(j, c)
    }
    return c
  }
  let h = x
  layers.forEach((l, i) => {
    const layer = l.layer
    const inputs = l.inputs.map((j) => read(j, i))
    h = inputs[0]
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
          // A 1×1 convolution with stride s > 1 reads x[:, ::s, ::s, :] (no padding either way): it runs as that
          // subsample and a stride-1 convolution (StepBackward's strided1x1InputGrad says why).
          const sub = layer._tag === "conv2d" && layer.kernelSize === 1 && layer.strides > 1 ? g.subsample(h, layer.strides) : undefined
          let z = layer._tag === "dense" ? g.matMul(h, p("kernel"))
            : sub !== undefined ? g.conv2d(sub, p("kernel"), 1, "valid")
            : g.conv2d(h, p("kernel"), layer.strides, layer.padding)
          if (layer.useBias) z = g.biasAdd(z, p("bias"))
          const defer = reorderReluPool && layer.activation === "relu" && layers[i + 1]?.layer._tag === "maxPooling2d" &&
            readers[i].length === 1 && readers[i][0] === i + 1
          h = defer ? z : activate(g, z, layer.activation)
          trace.push({ input, inputs, output: h, reluDeferred: defer, ...(sub === undefined ? {} : { subsampled: sub }) })
          return
        }
        case "maxPooling2d": {
          h = g.maxPool(h, layer.poolSize, layer.strides ?? layer.poolSize)
          if (l.inputs[0] === i - 1 && trace[i - 1]?.reluDeferred) {
            const pooled = h
            h = g.relu(pooled)
            trace.push({ input, inputs, output: h, pooled })
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
        case "add":
          h = inputs.slice(1).reduce((a, b) => g.add(a, b), inputs[0])
          break
        case "globalAveragePooling2d":
          h = g.mean(h, [1, 2])
          break
        case "batchNormalization": {
          // FusedBatchNormV3 on NHWC ([n, 1, 1, c] for a rank-1 layer): y = (x − μ)·γ/sqrt(σ² + ε) + β, in float32
          // also under bf16-mixed (Keras's mixed_bfloat16: the input is cast to float32, the output back; γ, β and the
          // statistics are float32, `w` gives them uncast).
          const lowp = g.computeType
          const c = l.outputShape[l.outputShape.length - 1]
          const rank1 = l.outputShape.length === 1
          const x32 = lowp === DT.float ? h : g.cast(h, lowp, DT.float)
          const y = g.computeIn(DT.float, () => {
            const x4 = rank1 ? g.reshape(x32, g.ints([-1, 1, 1, c])) : x32
            if (mode === "training") {
              const none = g.const(DT.float, [0], [])
              const node = g.fusedBatchNorm(x4, p("gamma"), p("beta"), none, none, layer.epsilon, true)
              // Output 4 (reserve_space_2) is the biased batch variance the batch was normalised with; output 2 is
              // Bessel-corrected (·n/(n − 1)), which Keras 3 does not use for the moving variance.
              return { node, bn: { node, x4, mean: GraphBuilder.out(node, 1), variance: GraphBuilder.out(node, 4) } }
            }
            return { node: g.fusedBatchNorm(x4, p("gamma"), p("beta"), p("movingMean"), p("movingVariance"), layer.epsilon, false), bn: undefined }
          })
          const y32 = rank1 ? g.computeIn(DT.float, () => g.reshape(y.node, g.ints([-1, c]))) : y.node
          h = lowp === DT.float ? y32 : g.cast(y32, DT.float, lowp)
          if (y.bn) {
            trace.push({ input, inputs, output: h, bn: y.bn })
            return
          }
          break
        }
      }
      trace.push({ input, inputs, output: h })
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

