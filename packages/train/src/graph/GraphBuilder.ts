/**
 * Builds a TensorFlow GraphDef node by node: unique names, typed attributes, and helpers for the ops growlab's
 * training graphs use. A value is referred to by its output name ("node" = output 0, "node:1").
 *
 * The float helpers build ops of the current compute type: float32, or bfloat16 inside `computeIn(DT.bfloat16, f)`
 * (mixed precision: TrainStepGraph runs the layers in bfloat16 and the loss and Adam in float32; `cast` converts).
 */
import { DT, type Attr, type DataType, type NodeDef, tensorProto } from "./Proto.js"

export type Value = string

export const attr = {
  type: (value: DataType): Attr => ({ kind: "type", value }),
  i: (value: number): Attr => ({ kind: "i", value }),
  f: (value: number): Attr => ({ kind: "f", value }),
  b: (value: boolean): Attr => ({ kind: "b", value }),
  s: (value: string): Attr => ({ kind: "s", value }),
  shape: (value: ReadonlyArray<number> | undefined): Attr => ({ kind: "shape", value }),
  ints: (value: ReadonlyArray<number>): Attr => ({ kind: "listI", value }),
  strings: (value: ReadonlyArray<string>): Attr => ({ kind: "listS", value })
}

/** The float types ops can compute in. */
export type FloatType = typeof DT.float | typeof DT.bfloat16

export class GraphBuilder {
  readonly nodes: Array<NodeDef> = []
  private readonly used = new Set<string>()
  private readonly constants = new Map<string, Value>()
  private scope = ""
  private compute: FloatType = DT.float

  /** The compute type of the float helpers (float32 unless inside `computeIn`). */
  get computeType(): FloatType {
    return this.compute
  }

  /** Runs `f` with the float helpers building ops of type `dtype`. */
  computeIn<A>(dtype: FloatType, f: () => A): A {
    const saved = this.compute
    this.compute = dtype
    try {
      return f()
    } finally {
      this.compute = saved
    }
  }

  /** The `T` attribute of the current compute type. */
  private get T(): Attr {
    return attr.type(this.compute)
  }

  /** Runs `f` with node names prefixed by `name/`. */
  within<A>(name: string, f: () => A): A {
    const saved = this.scope
    this.scope = saved ? `${saved}/${name}` : name
    try {
      return f()
    } finally {
      this.scope = saved
    }
  }

  private unique(base: string, absolute = false): string {
    const full = this.scope && !absolute ? `${this.scope}/${base}` : base
    if (!this.used.has(full)) {
      this.used.add(full)
      return full
    }
    for (let i = 1; ; i++) {
      const candidate = `${full}_${i}`
      if (!this.used.has(candidate)) {
        this.used.add(candidate)
        return candidate
      }
    }
  }

  /** Adds a node; returns its name (= its output 0). `control` lists nodes that must run first. */
  op(op: string, inputs: ReadonlyArray<Value>, attrs: Record<string, Attr> = {}, options: { name?: string; absolute?: boolean; control?: ReadonlyArray<Value> } = {}): Value {
    const name = this.unique(options.name ?? op, options.absolute)
    if (options.absolute && name !== options.name) throw new Error(`duplicate node name ${options.name}`)
    const control = (options.control ?? []).map((c) => `^${c.split(":")[0]}`)
    this.nodes.push({ name, op, inputs: [...inputs, ...control], attrs })
    return name
  }

  /** Output `i` of a multi-output node. */
  static out(node: Value, i: number): Value {
    return i === 0 ? node : `${node}:${i}`
  }

  placeholder(name: string, dtype: DataType, shape: ReadonlyArray<number> | undefined): Value {
    if (this.used.has(name)) throw new Error(`duplicate placeholder ${name}`)
    this.used.add(name)
    this.nodes.push({ name, op: "Placeholder", inputs: [], attrs: { dtype: attr.type(dtype), shape: attr.shape(shape) } })
    return name
  }

  /** A float32 or int32 constant (deduplicated by value). */
  const(dtype: typeof DT.float | typeof DT.int32, shape: ReadonlyArray<number>, values: ReadonlyArray<number>): Value {
    const key = `${dtype}|${shape.join(",")}|${values.map((v) => dtype === DT.float ? Math.fround(v) : v).join(",")}`
    const hit = this.constants.get(key)
    if (hit) return hit
    const saved = this.scope
    this.scope = ""
    const name = this.op("Const", [], { dtype: attr.type(dtype), value: { kind: "tensor", value: tensorProto(dtype, shape, values) } }, { name: "const" })
    this.scope = saved
    this.constants.set(key, name)
    return name
  }

  /** A scalar of the compute type: a float32 constant, or its cast to bfloat16 (which Grappler folds). */
  scalar(value: number): Value {
    const f32 = this.const(DT.float, [], [value])
    if (this.compute === DT.float) return f32
    const key = `cast${this.compute}|${f32}`
    const hit = this.constants.get(key)
    if (hit) return hit
    const saved = this.scope
    this.scope = ""
    const name = this.cast(f32, DT.float, this.compute)
    this.scope = saved
    this.constants.set(key, name)
    return name
  }

  /** `x` (of type `from`) converted to `to` (round to nearest even). */
  cast(x: Value, from: DataType, to: DataType): Value {
    return this.op("Cast", [x], { SrcT: attr.type(from), DstT: attr.type(to), Truncate: attr.b(false) })
  }

  ints(values: ReadonlyArray<number>): Value {
    return this.const(DT.int32, [values.length], values)
  }

  intScalar(value: number): Value {
    return this.const(DT.int32, [], [value])
  }

  // -------------------------------------------------------------------------------------------------------------
  // float ops (of the compute type)

  add(a: Value, b: Value): Value { return this.op("AddV2", [a, b], { T: this.T }) }
  sub(a: Value, b: Value): Value { return this.op("Sub", [a, b], { T: this.T }) }
  mul(a: Value, b: Value): Value { return this.op("Mul", [a, b], { T: this.T }) }
  div(a: Value, b: Value): Value { return this.op("RealDiv", [a, b], { T: this.T }) }
  sqrt(a: Value): Value { return this.op("Sqrt", [a], { T: this.T }) }
  square(a: Value): Value { return this.op("Square", [a], { T: this.T }) }
  neg(a: Value): Value { return this.op("Neg", [a], { T: this.T }) }
  identity(a: Value, dtype: DataType = this.compute, options: { name?: string; absolute?: boolean; control?: ReadonlyArray<Value> } = {}): Value {
    return this.op("Identity", [a], { T: attr.type(dtype) }, options)
  }

  relu(a: Value): Value { return this.op("Relu", [a], { T: this.T }) }
  reluGrad(dy: Value, y: Value): Value { return this.op("ReluGrad", [dy, y], { T: this.T }) }
  tanh(a: Value): Value { return this.op("Tanh", [a], { T: this.T }) }
  tanhGrad(y: Value, dy: Value): Value { return this.op("TanhGrad", [y, dy], { T: this.T }) }
  sigmoid(a: Value): Value { return this.op("Sigmoid", [a], { T: this.T }) }
  sigmoidGrad(y: Value, dy: Value): Value { return this.op("SigmoidGrad", [y, dy], { T: this.T }) }
  softmax(a: Value): Value { return this.op("Softmax", [a], { T: this.T }) }

  /** Σ over `axes` (int32 list). */
  sum(a: Value, axes: ReadonlyArray<number>, keepDims: boolean, dtype: DataType = this.compute): Value {
    return this.op("Sum", [a, this.ints(axes)], { T: attr.type(dtype), Tidx: attr.type(DT.int32), keep_dims: attr.b(keepDims) })
  }

  mean(a: Value, axes: ReadonlyArray<number>, keepDims = false): Value {
    return this.op("Mean", [a, this.ints(axes)], { T: this.T, Tidx: attr.type(DT.int32), keep_dims: attr.b(keepDims) })
  }

  matMul(a: Value, b: Value, transposeA = false, transposeB = false): Value {
    return this.op("MatMul", [a, b], { T: this.T, transpose_a: attr.b(transposeA), transpose_b: attr.b(transposeB) })
  }

  biasAdd(x: Value, bias: Value): Value { return this.op("BiasAdd", [x, bias], { T: this.T, data_format: attr.s("NHWC") }) }
  biasAddGrad(dy: Value): Value { return this.op("BiasAddGrad", [dy], { T: this.T, data_format: attr.s("NHWC") }) }

  private convAttrs(strides: number, padding: "valid" | "same"): Record<string, Attr> {
    return {
      T: this.T, strides: attr.ints([1, strides, strides, 1]), padding: attr.s(padding === "same" ? "SAME" : "VALID"),
      data_format: attr.s("NHWC"), dilations: attr.ints([1, 1, 1, 1]), use_cudnn_on_gpu: attr.b(true),
      explicit_paddings: attr.ints([])
    }
  }

  conv2d(x: Value, filter: Value, strides: number, padding: "valid" | "same"): Value {
    return this.op("Conv2D", [x, filter], this.convAttrs(strides, padding))
  }

  conv2dBackpropInput(inputSizes: Value, filter: Value, dy: Value, strides: number, padding: "valid" | "same"): Value {
    return this.op("Conv2DBackpropInput", [inputSizes, filter, dy], this.convAttrs(strides, padding))
  }

  conv2dBackpropFilter(x: Value, filterSizes: Value, dy: Value, strides: number, padding: "valid" | "same"): Value {
    return this.op("Conv2DBackpropFilter", [x, filterSizes, dy], this.convAttrs(strides, padding))
  }

  private poolAttrs(size: number, strides: number): Record<string, Attr> {
    return { T: this.T, ksize: attr.ints([1, size, size, 1]), strides: attr.ints([1, strides, strides, 1]), padding: attr.s("VALID"), data_format: attr.s("NHWC") }
  }

  maxPool(x: Value, size: number, strides: number): Value {
    return this.op("MaxPool", [x], this.poolAttrs(size, strides))
  }

  maxPoolGrad(x: Value, y: Value, dy: Value, size: number, strides: number): Value {
    return this.op("MaxPoolGrad", [x, y, dy], this.poolAttrs(size, strides))
  }

  /**
   * FusedBatchNormV3 (NHWC, float32 statistics): outputs y, batch_mean, batch_variance (Bessel-corrected in training),
   * reserve spaces 1–3 (training: batch mean, biased batch variance, workspace) for FusedBatchNormGradV3.
   */
  fusedBatchNorm(x: Value, scale: Value, offset: Value, mean: Value, variance: Value, epsilon: number, training: boolean): Value {
    return this.op("FusedBatchNormV3", [x, scale, offset, mean, variance], {
      T: this.T, U: attr.type(DT.float), epsilon: attr.f(epsilon), exponential_avg_factor: attr.f(1),
      data_format: attr.s("NHWC"), is_training: attr.b(training)
    })
  }

  /** FusedBatchNormGradV3 of a training-mode FusedBatchNormV3 node: outputs dx, dscale, doffset. */
  fusedBatchNormGrad(dy: Value, x: Value, scale: Value, forward: Value, epsilon: number): Value {
    return this.op("FusedBatchNormGradV3", [dy, x, scale, GraphBuilder.out(forward, 3), GraphBuilder.out(forward, 4), GraphBuilder.out(forward, 5)], {
      T: this.T, U: attr.type(DT.float), epsilon: attr.f(epsilon), data_format: attr.s("NHWC"), is_training: attr.b(true)
    })
  }

  /** Zero padding of `x` by int32 [rank, 2] `paddings` (before, after per axis). */
  pad(x: Value, paddings: ReadonlyArray<readonly [number, number]>): Value {
    return this.op("Pad", [x, this.const(DT.int32, [paddings.length, 2], paddings.flat())], { T: this.T, Tpaddings: attr.type(DT.int32) })
  }

  /** x[:, ::s, ::s, :] of an NHWC tensor. */
  subsample(x: Value, s: number): Value {
    return this.op("StridedSlice", [x, this.ints([0, 0, 0, 0]), this.ints([0, 0, 0, 0]), this.ints([1, s, s, 1])], {
      T: this.T, Index: attr.type(DT.int32), begin_mask: attr.i(15), end_mask: attr.i(15), ellipsis_mask: attr.i(0),
      new_axis_mask: attr.i(0), shrink_axis_mask: attr.i(0)
    })
  }

  /** x[begin : begin + size] along every axis (size −1: to the end). */
  sliceNd(x: Value, begin: ReadonlyArray<number>, size: ReadonlyArray<number>): Value {
    return this.op("Slice", [x, this.ints(begin), this.ints(size)], { T: this.T, Index: attr.type(DT.int32) })
  }

  /** `x` broadcast to the int32 shape `shape`. */
  broadcastTo(x: Value, shape: Value): Value {
    return this.op("BroadcastTo", [x, shape], { T: this.T, Tidx: attr.type(DT.int32) })
  }

  transpose(x: Value, perm: ReadonlyArray<number>): Value {
    return this.op("Transpose", [x, this.ints(perm)], { T: this.T, Tperm: attr.type(DT.int32) })
  }

  reshape(x: Value, shape: Value): Value {
    return this.op("Reshape", [x, shape], { T: this.T, Tshape: attr.type(DT.int32) })
  }

  /** x[offset : offset + size] of a 1-D float32 tensor (no copy when offset·4 is a multiple of 64 bytes). */
  slice(x: Value, offset: number, size: number): Value {
    return this.op("Slice", [x, this.ints([offset]), this.ints([size])], { T: this.T, Index: attr.type(DT.int32) })
  }

  /** Concatenation of float32 tensors along `axis`. */
  concat(xs: ReadonlyArray<Value>, axis: number): Value {
    return this.op("ConcatV2", [...xs, this.intScalar(axis)], { T: this.T, N: attr.i(xs.length), Tidx: attr.type(DT.int32) })
  }

  /** Shape of a float32 tensor as int32 [rank]. */
  shape(x: Value): Value {
    return this.op("Shape", [x], { T: this.T, out_type: attr.type(DT.int32) })
  }

  /** Number of elements of `x` (of type `dtype`) as a float32 scalar. */
  sizeAsFloat(x: Value, dtype: DataType): Value {
    const n = this.op("Size", [x], { T: attr.type(dtype), out_type: attr.type(DT.int32) })
    return this.op("Cast", [n], { SrcT: attr.type(DT.int32), DstT: attr.type(DT.float), Truncate: attr.b(false) })
  }

  /** Number of rows where argmax(logits, 1) equals the int32 label, as an int32 scalar. */
  correctCount(logits: Value, labels: Value): Value {
    const pred = this.op("ArgMax", [logits, this.intScalar(1)], { T: this.T, Tidx: attr.type(DT.int32), output_type: attr.type(DT.int32) })
    const eq = this.op("Equal", [pred, labels], { T: attr.type(DT.int32), incompatible_shape_error: attr.b(true) })
    const asInt = this.op("Cast", [eq], { SrcT: attr.type(DT.bool), DstT: attr.type(DT.int32), Truncate: attr.b(false) })
    return this.sum(asInt, [0], false, DT.int32)
  }
}
