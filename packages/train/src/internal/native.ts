/**
 * Native TensorFlow kernels for the training hot path, on the 'tensorflow' backend of tfjs-node.
 *
 * tfjs dispatches every op through its engine (≈ 25 µs of JavaScript per op here) and expands some gradients into
 * many TF ops (the ReLU gradient `Step` alone is six TF ops over the whole activation, ≈ 5.6 ms for a
 * 32×30×30×32 tensor against 0.23 ms for TF's own `ReluGrad`). These kernels call TensorFlow ops directly
 * (`backend.executeSingleOutput`, ≈ 9 µs each) and register hand-written gradients with the tfjs engine, so
 * autodiff (`tf.variableGrads`) still drives training:
 *
 * - `GrowlabConv2D`  x, filter, bias? → act(Conv2D(x, filter) + bias); gradients Conv2DBackpropInput,
 *   Conv2DBackpropFilter, BiasAddGrad, ReluGrad.
 * - `GrowlabDense`   x, kernel, bias? → act(MatMul(x, kernel) + bias); gradients MatMul (transposed), BiasAddGrad, ReluGrad.
 * - `GrowlabSoftmaxCE`  logits, labels (int32), teacher? (probabilities), teacherEntropy? → the scalar training loss
 *   (see `Loss.ts` for the formula); gradient from SparseSoftmaxCrossEntropyWithLogits / SoftmaxCrossEntropyWithLogits.
 *
 * The math is the same as the tfjs ops they replace (same TF kernels for the convolutions and matmuls; BiasAdd is the
 * same float addition as a broadcast Add); gradients are evaluated lazily, so the first layer's input gradient is
 * never computed. Tensors made here are ordinary tfjs tensors, tracked by the enclosing tf.tidy.
 */
import * as tf from "@tensorflow/tfjs"

interface Attr { readonly name: string; readonly type: number; readonly value: unknown }
interface Binding {
  readonly TF_ATTR_TYPE: number
  readonly TF_ATTR_INT: number
  readonly TF_ATTR_BOOL: number
  readonly TF_ATTR_STRING: number
  readonly TF_ATTR_FLOAT: number
  readonly TF_FLOAT: number
  readonly TF_INT32: number
}
interface NodeBackend {
  readonly binding: Binding
  executeSingleOutput(name: string, attrs: ReadonlyArray<Attr>, inputs: ReadonlyArray<tf.Tensor>): tf.Tensor
  executeMultipleOutputs(name: string, attrs: ReadonlyArray<Attr>, inputs: ReadonlyArray<tf.Tensor>, n: number): Array<tf.Tensor>
}

/**
 * Internal switch for A/B benchmarks (both settings compute the same values): the max-pool gradient in vectorised
 * ops (default) or TensorFlow's MaxPoolGrad.
 */
export const tuning = { vectorisedPoolGrad: true }

/** Whether the native kernels can run (the 'tensorflow' backend is active). */
export const available = (): boolean => tf.getBackend() === "tensorflow"

let be: NodeBackend | undefined
const backend = (): NodeBackend => {
  if (!be) be = tf.findBackend("tensorflow") as unknown as NodeBackend
  return be
}

/** Runs one TensorFlow op on tfjs tensors; the result is tracked by the current tf.tidy scope. */
export const op = (name: string, attrs: ReadonlyArray<Attr>, inputs: ReadonlyArray<tf.Tensor>): tf.Tensor =>
  backend().executeSingleOutput(name, attrs, inputs)

export const opN = (name: string, attrs: ReadonlyArray<Attr>, inputs: ReadonlyArray<tf.Tensor>, n: number): Array<tf.Tensor> =>
  backend().executeMultipleOutputs(name, attrs, inputs, n)

// ---------------------------------------------------------------------------------------------------------------
// attributes
const b = (): Binding => backend().binding
export const T = (): Attr => ({ name: "T", type: b().TF_ATTR_TYPE, value: b().TF_FLOAT })
const typeAttr = (name: string, dtype: "float32" | "int32"): Attr =>
  ({ name, type: b().TF_ATTR_TYPE, value: dtype === "float32" ? b().TF_FLOAT : b().TF_INT32 })
const ints = (name: string, value: ReadonlyArray<number> | number): Attr => ({ name, type: b().TF_ATTR_INT, value })
const bool = (name: string, value: boolean): Attr => ({ name, type: b().TF_ATTR_BOOL, value })
const str = (name: string, value: string): Attr => ({ name, type: b().TF_ATTR_STRING, value })

// ---------------------------------------------------------------------------------------------------------------
// plain (non-differentiable) ops used by the trainer and the optimizer
const binary = (name: string) => (x: tf.Tensor, y: tf.Tensor): tf.Tensor => op(name, [typeAttr("T", x.dtype as "float32" | "int32")], [x, y])
const unary = (name: string) => (x: tf.Tensor): tf.Tensor => op(name, [T()], [x])
export const add = binary("AddV2")
export const sub = binary("Sub")
export const mul = binary("Mul")
export const div = binary("RealDiv")
export const sqrt = unary("Sqrt")
export const square = unary("Square")

/** Σ over all axes of x (float32 or int32) as a scalar. */
export const sumAll = (x: tf.Tensor): tf.Tensor => {
  const axes = tf.tensor1d(x.shape.map((_, i) => i), "int32")
  try {
    return op("Sum", [bool("keep_dims", false), typeAttr("T", x.dtype as "float32" | "int32"), typeAttr("Tidx", "int32")], [x, axes])
  } finally {
    axes.dispose()
  }
}

export const reshape = (x: tf.Tensor, shape: ReadonlyArray<number>): tf.Tensor => {
  const s = tf.tensor1d(shape as Array<number>, "int32")
  try {
    return op("Reshape", [typeAttr("T", x.dtype as "float32" | "int32"), typeAttr("Tshape", "int32")], [x, s])
  } finally {
    s.dispose()
  }
}

/** Reshape with the target shape given as an int32 tensor (reused across calls). */
export const reshapeTo = (x: tf.Tensor, shape: tf.Tensor): tf.Tensor =>
  op("Reshape", [typeAttr("T", x.dtype as "float32" | "int32"), typeAttr("Tshape", "int32")], [x, shape])

/** Concatenates float32 tensors of equal rank along `axis`. */
export const concat = (xs: ReadonlyArray<tf.Tensor>, axis: number): tf.Tensor => {
  const a = tf.scalar(axis, "int32")
  try {
    return op("ConcatV2", [ints("N", xs.length), T(), typeAttr("Tidx", "int32")], [...xs, a])
  } finally {
    a.dispose()
  }
}

/** Splits a float32 tensor along `axis` into pieces of the given sizes. */
export const splitV = (x: tf.Tensor, sizes: ReadonlyArray<number>, axis = 0): Array<tf.Tensor> => {
  const s = tf.tensor1d(sizes as Array<number>, "int32")
  const a = tf.scalar(axis, "int32")
  try {
    return opN("SplitV", [ints("num_split", sizes.length), T(), typeAttr("Tlen", "int32")], [x, s, a], sizes.length)
  } finally {
    s.dispose()
    a.dispose()
  }
}

/** Rows of `x` (any dtype) at int32 `indices`, along axis 0. */
export const gather = (x: tf.Tensor, indices: tf.Tensor): tf.Tensor => {
  const axis = tf.scalar(0, "int32")
  try {
    return op("GatherV2", [typeAttr("Tparams", x.dtype as "float32" | "int32"), typeAttr("Tindices", "int32"), typeAttr("Taxis", "int32"), ints("batch_dims", 0)], [x, indices, axis])
  } finally {
    axis.dispose()
  }
}

/** Number of rows whose argmax (first maximum, as tf.argMax) equals the int32 label, as an int32 scalar. */
export const correctCount = (logits: tf.Tensor, labels: tf.Tensor): tf.Tensor => {
  const axis = tf.scalar(1, "int32")
  const pred = op("ArgMax", [T(), typeAttr("Tidx", "int32"), typeAttr("output_type", "int32")], [logits, axis])
  const eq = op("Equal", [typeAttr("T", "int32"), bool("incompatible_shape_error", true)], [pred, labels])
  const as = op("Cast", [{ name: "SrcT", type: b().TF_ATTR_TYPE, value: 10 /* TF_BOOL */ }, typeAttr("DstT", "int32"), bool("Truncate", false)], [eq])
  const sum = sumAll(as)
  for (const t of [axis, pred, eq, as]) t.dispose()
  return sum
}

// ---------------------------------------------------------------------------------------------------------------
// differentiable fused layers
export type FusedActivation = "linear" | "relu"

const biasAdd = (x: tf.Tensor, bias: tf.Tensor): tf.Tensor => op("BiasAdd", [T(), str("data_format", "NHWC")], [x, bias])
const biasAddGrad = (dz: tf.Tensor): tf.Tensor => op("BiasAddGrad", [T(), str("data_format", "NHWC")], [dz])
const reluGrad = (dy: tf.Tensor, y: tf.Tensor): tf.Tensor => op("ReluGrad", [T()], [dy, y])
const matMul = (a: tf.Tensor, c: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor =>
  op("MatMul", [T(), bool("transpose_a", ta), bool("transpose_b", tb)], [a, c])

/** Applies bias and activation to a fresh pre-activation `z`, disposing the intermediates. */
const finish = (z: tf.Tensor, bias: tf.Tensor | undefined, activation: FusedActivation): tf.Tensor => {
  let y = z
  if (bias) {
    const next = biasAdd(y, bias)
    y.dispose()
    y = next
  }
  if (activation === "relu") {
    const next = op("Relu", [T()], [y])
    y.dispose()
    y = next
  }
  return y
}

interface ConvAttrs { readonly strides: number; readonly pad: "valid" | "same"; readonly activation: FusedActivation }
interface DenseAttrs { readonly activation: FusedActivation }

const convAttrs = (a: ConvAttrs): Array<Attr> => [
  T(), ints("strides", [1, a.strides, a.strides, 1]), str("padding", a.pad === "same" ? "SAME" : "VALID"),
  str("data_format", "NHWC"), ints("dilations", [1, 1, 1, 1]), bool("use_cudnn_on_gpu", true)
]

const CONV = "GrowlabConv2D"
const DENSE = "GrowlabDense"

let registered = false

/** Registers the fused kernels and their gradients once (idempotent). */
export const register = (): void => {
  if (registered) return
  registered = true
  tf.registerKernel({
    kernelName: CONV,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs
      const { x, filter, bias } = inputs as unknown as Record<string, tf.Tensor>
      return finish(op("Conv2D", convAttrs(a), [x, filter]), bias, a.activation) as unknown as tf.TensorInfo
    }
  })
  tf.registerGradient({
    kernelName: CONV,
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as unknown as ConvAttrs
      const [x, filter, y] = saved
      const dz = a.activation === "relu" ? reluGrad(dy as tf.Tensor, y) : (dy as tf.Tensor)
      return {
        x: () => {
          const sizes = tf.tensor1d(x.shape as Array<number>, "int32")
          return op("Conv2DBackpropInput", convAttrs(a), [sizes, filter, dz])
        },
        filter: () => {
          const sizes = tf.tensor1d(filter.shape as Array<number>, "int32")
          return op("Conv2DBackpropFilter", convAttrs(a), [x, sizes, dz])
        },
        bias: () => biasAddGrad(dz)
      }
    }
  })
  tf.registerKernel({
    kernelName: DENSE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs }) => {
      const a = attrs as unknown as DenseAttrs
      const { x, kernel, bias } = inputs as unknown as Record<string, tf.Tensor>
      return finish(matMul(x, kernel, false, false), bias, a.activation) as unknown as tf.TensorInfo
    }
  })
  tf.registerGradient({
    kernelName: DENSE,
    inputsToSave: ["x", "kernel"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as unknown as DenseAttrs
      const [x, kernel, y] = saved
      const dz = a.activation === "relu" ? reluGrad(dy as tf.Tensor, y) : (dy as tf.Tensor)
      return {
        x: () => matMul(dz, kernel, false, true),
        kernel: () => matMul(x, dz, true, false),
        bias: () => biasAddGrad(dz)
      }
    }
  })
}

// Max pooling with non-overlapping windows (stride = pool size, 'valid'). TensorFlow's CPU MaxPoolGrad recomputes
// the pooling with a scalar argmax loop and is the slowest op of a small-CNN step (3.5–10 ms for 32×30×30×32, ≈ 20×
// the forward pass). The gradient here is the same function, in vectorised ops: SpaceToDepth puts the k² window
// positions side by side in the channels (scan order, as MaxPoolGrad scans), a chain of Equal/LogicalAnd builds the
// first-maximum mask (ties go to the first position, as in MaxPoolGrad), Select routes dy, DepthToSpace puts it back.
const POOL = "GrowlabMaxPool"
interface PoolAttrs { readonly size: number }

const poolAttrs = (k: number): Array<Attr> => [
  T(), ints("ksize", [1, k, k, 1]), ints("strides", [1, k, k, 1]), str("padding", "VALID"), str("data_format", "NHWC")
]
const logical = (name: string) => (x: tf.Tensor, y: tf.Tensor): tf.Tensor => op(name, [], [x, y])
const logicalAnd = logical("LogicalAnd")
const logicalOr = logical("LogicalOr")
const logicalNot = (x: tf.Tensor): tf.Tensor => op("LogicalNot", [], [x])
const equal = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => op("Equal", [T(), bool("incompatible_shape_error", true)], [x, y])
// Select (not SelectV2): same-shape operands are ≈ 2.5× cheaper than broadcasting a scalar
const select = (c: tf.Tensor, x: tf.Tensor, y: tf.Tensor): tf.Tensor => op("Select", [T()], [c, x, y])
const pack = (xs: ReadonlyArray<tf.Tensor>, axis: number): tf.Tensor => op("Pack", [T(), ints("N", xs.length), ints("axis", axis)], xs)

const maxPoolGrad = (x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, k: number): tf.Tensor =>
  tf.tidy(() => {
    const [n, h, w, c] = x.shape
    const [, ho, wo] = y.shape
    const cropped = ho * k === h && wo * k === w
      ? x
      : op("Slice", [T(), typeAttr("Index", "int32")], [x, tf.tensor1d([0, 0, 0, 0], "int32"), tf.tensor1d([n, ho * k, wo * k, c], "int32")])
    // window position p = row·k + column of every window, side by side: [n, ho, wo, k²·c] split into k² × [n, ho, wo, c]
    const blocks = op("SpaceToDepth", [T(), ints("block_size", k), str("data_format", "NHWC")], [cropped])
    const windows = splitV(blocks, Array.from({ length: k * k }, () => c), 3)
    const zeros = op("ZerosLike", [T()], [dy])
    const parts: Array<tf.Tensor> = []
    let found: tf.Tensor | undefined
    windows.forEach((xi, i) => {
      if (i === windows.length - 1) {
        parts.push(found ? select(found, zeros, dy) : dy)
        return
      }
      const eq = equal(xi, y)
      parts.push(select(found ? logicalAnd(eq, logicalNot(found)) : eq, dy, zeros))
      found = found ? logicalOr(found, eq) : eq
    })
    // back to [n, ho, k, wo, k, c] = [n, ho·k, wo·k, c]
    const rows = Array.from({ length: k }, (_, r) => pack(parts.slice(r * k, (r + 1) * k), 3))
    const grad = reshape(pack(rows, 2), [n, ho * k, wo * k, c])
    if (cropped === x) return grad
    const paddings = tf.tensor2d([[0, 0], [0, h - ho * k], [0, w - wo * k], [0, 0]], [4, 2], "int32")
    return op("Pad", [T(), typeAttr("Tpaddings", "int32")], [grad, paddings])
  })

let registeredPool = false
const registerPool = (): void => {
  if (registeredPool) return
  registeredPool = true
  tf.registerKernel({
    kernelName: POOL,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs }) => op("MaxPool", poolAttrs((attrs as unknown as PoolAttrs).size), [(inputs as unknown as Record<string, tf.Tensor>).x]) as unknown as tf.TensorInfo
  })
  tf.registerGradient({
    kernelName: POOL,
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const k = (attrs as unknown as PoolAttrs).size
      return { x: () => tuning.vectorisedPoolGrad ? maxPoolGrad(saved[0], saved[1], dy as tf.Tensor, k) : op("MaxPoolGrad", poolAttrs(k), [saved[0], saved[1], dy as tf.Tensor]) }
    }
  })
}

/** Max pooling over k×k windows with stride k ('valid'), channels-last, differentiable. */
export const maxPool = (x: tf.Tensor, size: number): tf.Tensor => {
  registerPool()
  return tf.engine().runKernel(POOL, { x }, { size } as unknown as tf.NamedAttrMap) as tf.Tensor
}

/** TensorFlow's own MaxPoolGrad (the reference the vectorised gradient is tested against). */
export const maxPoolGradReference = (x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, k: number): tf.Tensor =>
  op("MaxPoolGrad", poolAttrs(k), [x, y, dy])

/** The vectorised max-pool gradient (exported for tests). */
export const maxPoolGradVectorised = maxPoolGrad

const RELU = "GrowlabRelu"
let registeredRelu = false
const registerRelu = (): void => {
  if (registeredRelu) return
  registeredRelu = true
  tf.registerKernel({
    kernelName: RELU,
    backendName: "tensorflow",
    kernelFunc: ({ inputs }) => op("Relu", [T()], [(inputs as unknown as Record<string, tf.Tensor>).x]) as unknown as tf.TensorInfo
  })
  tf.registerGradient({
    kernelName: RELU,
    outputsToSave: [true],
    gradFunc: (dy, saved) => ({ x: () => reluGrad(dy as tf.Tensor, saved[0]) })
  })
}

/** max(x, 0) with TensorFlow's ReluGrad as gradient (one op instead of tfjs's six-op `Step`). */
export const relu = (x: tf.Tensor): tf.Tensor => {
  registerRelu()
  return tf.engine().runKernel(RELU, { x }) as tf.Tensor
}

/** act(conv2d(x, filter) + bias), channels-last, differentiable. */
export const conv2d = (x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor | undefined, attrs: ConvAttrs): tf.Tensor => {
  register()
  const inputs: Record<string, tf.Tensor> = bias ? { x, filter, bias } : { x, filter }
  return tf.engine().runKernel(CONV, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor
}

/** act(x · kernel + bias), differentiable. */
export const dense = (x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | undefined, attrs: DenseAttrs): tf.Tensor => {
  register()
  const inputs: Record<string, tf.Tensor> = bias ? { x, kernel, bias } : { x, kernel }
  return tf.engine().runKernel(DENSE, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor
}

// ---------------------------------------------------------------------------------------------------------------
// losses (formulas in Loss.ts)
const CE = "GrowlabCrossEntropy"
const DISTILL = "GrowlabDistillation"

interface DistillAttrs { readonly teacherWeight: number; readonly labelWeight: number; readonly temperature: number }

const meanAll = (x: tf.Tensor): tf.Tensor => {
  const axes = tf.tensor1d(x.shape.map((_, i) => i), "int32")
  try {
    return op("Mean", [bool("keep_dims", false), T(), typeAttr("Tidx", "int32")], [x, axes])
  } finally {
    axes.dispose()
  }
}
const sparseCE = (logits: tf.Tensor, labels: tf.Tensor): [tf.Tensor, tf.Tensor] =>
  opN("SparseSoftmaxCrossEntropyWithLogits", [T(), typeAttr("Tlabels", "int32")], [logits, labels], 2) as [tf.Tensor, tf.Tensor]
const softCE = (logits: tf.Tensor, probs: tf.Tensor): [tf.Tensor, tf.Tensor] =>
  opN("SoftmaxCrossEntropyWithLogits", [T()], [logits, probs], 2) as [tf.Tensor, tf.Tensor]

/** Scalar tensors of plain numbers, disposed by the caller's tidy. */
const scalar = (v: number): tf.Tensor => tf.scalar(v, "float32")

/** The per-example distillation objective, or the gradient of its sum with respect to the logits (see Loss.ts). */
const distillPart = (want: "loss" | "grad", logits: tf.Tensor, labels: tf.Tensor, probs: tf.Tensor, entropy: tf.Tensor, a: DistillAttrs): tf.Tensor =>
  tf.tidy(() => {
    const t = a.temperature
    const [kce, bpKd] = softCE(div(logits, scalar(t)), probs)
    let out = want === "loss" ? mul(sub(kce, entropy), scalar(a.teacherWeight * t * t)) : mul(bpKd, scalar(a.teacherWeight * t))
    if (a.labelWeight !== 0) {
      const [ce, bpCe] = sparseCE(logits, labels)
      out = add(out, mul(want === "loss" ? ce : bpCe, scalar(a.labelWeight)))
    }
    return out
  })

let registeredLosses = false
const registerLosses = (): void => {
  if (registeredLosses) return
  registeredLosses = true
  tf.registerKernel({
    kernelName: CE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs }) => {
      const { logits, labels } = inputs as unknown as Record<string, tf.Tensor>
      const [loss, backprop] = sparseCE(logits, labels)
      backprop.dispose()
      const mean = meanAll(loss)
      loss.dispose()
      return mean as unknown as tf.TensorInfo
    }
  })
  tf.registerGradient({
    kernelName: CE,
    inputsToSave: ["logits", "labels"],
    gradFunc: (dy, saved) => ({
      logits: () => {
        const [logits, labels] = saved
        const [, backprop] = sparseCE(logits, labels)
        return mul(backprop, div(dy as tf.Tensor, scalar(logits.shape[0])))
      }
    })
  })
  tf.registerKernel({
    kernelName: DISTILL,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, attrs }) => {
      const { logits, labels, probs, entropy } = inputs as unknown as Record<string, tf.Tensor>
      const per = distillPart("loss", logits, labels, probs, entropy, attrs as unknown as DistillAttrs)
      const mean = meanAll(per)
      per.dispose()
      return mean as unknown as tf.TensorInfo
    }
  })
  tf.registerGradient({
    kernelName: DISTILL,
    inputsToSave: ["logits", "labels", "probs", "entropy"],
    gradFunc: (dy, saved, attrs) => ({
      logits: () => {
        const [logits, labels, probs, entropy] = saved
        const grad = distillPart("grad", logits, labels, probs, entropy, attrs as unknown as DistillAttrs)
        return mul(grad, div(dy as tf.Tensor, scalar(logits.shape[0])))
      }
    })
  })
}

/** Mean softmax cross-entropy of logits [n, k] against int32 labels [n] (a scalar), differentiable in the logits. */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar => {
  registerLosses()
  return tf.engine().runKernel(CE, { logits, labels }) as tf.Scalar
}

/**
 * Mean of teacherWeight·T²·(CE(p_teacher, logits/T) − H(p_teacher)) + labelWeight·CE(labels, logits), differentiable
 * in the logits; `probs` = softmax(teacherLogits / T) [n, k], `entropy` = H(probs) [n].
 */
export const distillation = (logits: tf.Tensor, labels: tf.Tensor, probs: tf.Tensor, entropy: tf.Tensor, attrs: DistillAttrs): tf.Scalar => {
  registerLosses()
  return tf.engine().runKernel(DISTILL, { logits, labels, probs, entropy }, attrs as unknown as tf.NamedAttrMap) as tf.Scalar
}

/** Per-example softmax cross-entropy [n] of logits against int32 labels (not differentiable; for evaluation). */
export const crossEntropyPerExample = (logits: tf.Tensor, labels: tf.Tensor): tf.Tensor => {
  const [loss, backprop] = sparseCE(logits, labels)
  backprop.dispose()
  return loss
}

/** Index of the first maximum of each row, int32 [n] (as tf.argMax). */
export const argMax = (logits: tf.Tensor): tf.Tensor => {
  const axis = tf.scalar(1, "int32")
  try {
    return op("ArgMax", [T(), typeAttr("Tidx", "int32"), typeAttr("output_type", "int32")], [logits, axis])
  } finally {
    axis.dispose()
  }
}

/** Rows [begin, begin + size) of x along axis 0. */
export const sliceRows = (x: tf.Tensor, begin: number, size: number): tf.Tensor => {
  const b0 = tf.tensor1d([begin, ...x.shape.slice(1).map(() => 0)], "int32")
  const s0 = tf.tensor1d([size, ...x.shape.slice(1).map(() => -1)], "int32")
  try {
    return op("Slice", [typeAttr("T", x.dtype as "float32" | "int32"), typeAttr("Index", "int32")], [x, b0, s0])
  } finally {
    b0.dispose()
    s0.dispose()
  }
}
