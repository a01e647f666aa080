/**
 * growlab's weights in PyTorch's layouts and names, so that a `torch.nn.Sequential` of named modules built from the
 * spec (one module per spec layer, named like the layer: `conv2d_1`, `dense_7`, ...) takes them with
 * `load_state_dict(..., strict=True)` and computes the same function on NCHW inputs.
 *
 * | growlab weight (TF layout)                 | PyTorch tensor            | transform                                    |
 * |--------------------------------------------|---------------------------|----------------------------------------------|
 * | conv2d `<l>/kernel` [kh, kw, in, out]      | `<l>.weight` [out, in, kh, kw] | permute(3, 2, 0, 1)                      |
 * | conv2d / dense `<l>/bias` [out]            | `<l>.bias` [out]          | none                                         |
 * | dense `<l>/kernel` [in, out]               | `<l>.weight` [out, in]    | transpose; after a Flatten of [h, w, c], the |
 * |                                            |                           | inputs are reordered from (h, w, c) to (c, h, w) |
 * | batchNormalization gamma / beta            | `<l>.weight` / `<l>.bias` | none (reordered like a Dense input after Flatten) |
 * | batchNormalization movingMean / movingVariance | `<l>.running_mean` / `<l>.running_var` | as gamma             |
 *
 * Why reorder after Flatten: channels-last Flatten emits index (y·w + x)·c + ch, PyTorch's `nn.Flatten` on NCHW
 * emits ch·h·w + y·w + x. Reordering the next Dense kernel's input rows (once, here) lets the torch model keep the
 * standard `nn.Flatten()`. A spec that ends in Flatten with no Dense after it returns its features in (c, h, w) order.
 */
import type { Model } from "@growlab/core/ModelArtifact"
import { inferShapes } from "@growlab/core/ModelSpec"

export interface TorchTensor {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array
  /** The growlab weight it comes from, and how. */
  readonly from: string
  readonly transform: string
}

/** Permutes a row-major tensor's axes: out[j...] = in[i...] with out axis k = in axis `axes[k]`. */
export const permute = (values: Float32Array, shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): { values: Float32Array; shape: Array<number> } => {
  const rank = shape.length
  const outShape = axes.map((a) => shape[a])
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
  const strideOfOut = axes.map((a) => inStrides[a])
  const out = new Float32Array(values.length)
  const index = new Array<number>(rank).fill(0)
  for (let j = 0; j < out.length; j++) {
    let src = 0
    for (let k = 0; k < rank; k++) src += index[k] * strideOfOut[k]
    out[j] = values[src]
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break
      index[k] = 0
    }
  }
  return { values: out, shape: outShape }
}

/** order[torchIndex] = tfIndex for the Flatten of a channels-last [h, w, c] tensor. */
export const flattenOrder = (h: number, w: number, c: number): Int32Array => {
  const order = new Int32Array(h * w * c)
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < h * w; p++) order[ch * h * w + p] = p * c + ch
  }
  return order
}

const gather = (values: Float32Array, order: Int32Array): Float32Array => Float32Array.from(order, (i) => values[i])

const BN_NAMES: Readonly<Record<string, string>> = { gamma: "weight", beta: "bias", movingMean: "running_mean", movingVariance: "running_var" }

/** The model's tensors in PyTorch layouts and names, in spec order. */
export const toTorch = (model: Model): ReadonlyArray<TorchTensor> => {
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  const out: Array<TorchTensor> = []
  let order: Int32Array | undefined
  const reordered = " (inputs reordered (h, w, c) -> (c, h, w) after flatten)"
  for (const l of inferShapes(model.spec)) {
    const get = (param: string) => {
      const w = byName.get(`${l.name}/${param}`)
      if (!w) throw new RangeError(`model has no weight ${l.name}/${param}`)
      return w
    }
    switch (l.layer._tag) {
      case "conv2d": {
        const k = get("kernel")
        out.push({ name: `${l.name}.weight`, ...permute(k.values, k.shape, [3, 2, 0, 1]), from: k.name, transform: "permute(3, 2, 0, 1)" })
        if (l.layer.useBias) out.push({ name: `${l.name}.bias`, shape: [l.layer.filters], values: get("bias").values, from: `${l.name}/bias`, transform: "none" })
        break
      }
      case "dense": {
        const k = get("kernel")
        const [inputs, units] = k.shape
        let values = k.values
        if (order) {
          const rows = order
          values = new Float32Array(values.length)
          for (let j = 0; j < inputs; j++) values.set(k.values.subarray(rows[j] * units, (rows[j] + 1) * units), j * units)
        }
        out.push({ name: `${l.name}.weight`, ...permute(values, k.shape, [1, 0]), from: k.name, transform: `transpose(1, 0)${order ? reordered : ""}` })
        if (l.layer.useBias) out.push({ name: `${l.name}.bias`, shape: [units], values: get("bias").values, from: `${l.name}/bias`, transform: "none" })
        order = undefined
        break
      }
      case "batchNormalization": {
        for (const param of ["gamma", "beta", "movingMean", "movingVariance"]) {
          const w = get(param)
          out.push({
            name: `${l.name}.${BN_NAMES[param]}`, shape: w.shape, values: order ? gather(w.values, order) : w.values,
            from: w.name, transform: order ? `none${reordered}` : "none"
          })
        }
        break
      }
      case "flatten": {
        const s = l.inputShape
        order = s.length === 3 ? flattenOrder(s[0], s[1], s[2]) : undefined
        break
      }
      default:
        break
    }
  }
  return out
}
