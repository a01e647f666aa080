/**
 * The tensor ops the epoch loop runs per batch, chosen once per engine: TensorFlow's kernels called directly (graph
 * and native engines) or plain tfjs ops (tfjs engine). Same math; the loop itself never asks which engine runs.
 */
import * as tf from "@tensorflow/tfjs"
import * as Native from "./native.js"

export interface BatchOps {
  /** Rows [begin, begin + size) of a 1-D index tensor. */
  readonly sliceRows: (perm: tf.Tensor, begin: number, size: number) => tf.Tensor
  /** Rows `idx` of a tensor (axis 0). */
  readonly gather: (t: tf.Tensor, idx: tf.Tensor) => tf.Tensor
  /** A batch's mean loss times its size (the batch's loss sum). */
  readonly weigh: (loss: tf.Tensor, size: number) => tf.Tensor
  readonly add: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor
  /** The kernels of forward passes outside the training step (the teacher's logits). */
  readonly kernels: "native" | "tfjs"
}

const native: BatchOps = {
  sliceRows: Native.sliceRows,
  gather: Native.gather,
  weigh: (loss, size) => Native.mul(loss, tf.scalar(size)),
  add: Native.add,
  kernels: "native"
}

const plain: BatchOps = {
  sliceRows: (perm, begin, size) => tf.slice(perm, begin, size),
  gather: (t, idx) => tf.gather(t, idx),
  weigh: (loss, size) => tf.mul(loss, size),
  add: (a, b) => tf.add(a, b),
  kernels: "tfjs"
}

export const forEngine = (engine: "graph" | "native" | "tfjs"): BatchOps => engine === "tfjs" ? plain : native
