/**
 * Adam over all trainable weights at once, in native TensorFlow ops: the gradients are flattened into one vector,
 * the update runs as 13 element-wise ops on that vector (instead of ≈ 15 tfjs ops per weight tensor), and the new
 * weights are split back into the variables. The arithmetic is exactly tfjs's `AdamOptimizer.applyGradients`
 * (same float32 ops in the same order, bias corrections 1 − β^t accumulated in float32), so both give bit-identical
 * weights:
 *
 *   m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
 *   w ← −lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε) + w
 */
import * as tf from "@tensorflow/tfjs"
import * as Native from "./native.js"

export interface AdamConfig {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

export interface FlatAdam {
  /** Applies one update with gradients in the same order as the variables. Call inside tf.tidy. */
  readonly apply: (grads: ReadonlyArray<tf.Tensor>, learningRate: number) => void
  /** Number of updates applied. */
  readonly iterations: () => number
  readonly dispose: () => void
}

export const make = (variables: ReadonlyArray<tf.Variable>, config: AdamConfig): FlatAdam => {
  const sizes = variables.map((v) => v.size)
  const total = sizes.reduce((a, b) => a + b, 0)
  // The float32 master copy of the weights and the two moment vectors; owned here, disposed by `dispose`.
  let w = tf.tidy(() => Native.concat(variables.map((v) => Native.reshape(v, [v.size])), 0))
  let m = tf.zeros([total])
  let v = tf.zeros([total])
  const beta1 = tf.scalar(config.beta1)
  const beta2 = tf.scalar(config.beta2)
  const oneMinusBeta1 = tf.scalar(1 - config.beta1)
  const oneMinusBeta2 = tf.scalar(1 - config.beta2)
  const epsilon = tf.scalar(config.epsilon)
  // shape operands of the per-step reshapes, made once
  const flatShapes = variables.map((x) => tf.tensor1d([x.size], "int32"))
  const varShapes = variables.map((x) => tf.tensor1d(x.shape, "int32"))
  const totalShape = tf.tensor1d([total], "int32")
  // β^t in float32, as tfjs keeps it (a float32 variable multiplied by β each step).
  const f32Beta1 = Math.fround(config.beta1)
  const f32Beta2 = Math.fround(config.beta2)
  let accBeta1 = f32Beta1
  let accBeta2 = f32Beta2
  let t = 0
  const replace = (old: tf.Tensor, next: tf.Tensor): tf.Tensor => {
    tf.keep(next)
    old.dispose()
    return next
  }
  return {
    apply: (grads, learningRate) => {
      const g = grads.length === 1 ? Native.reshapeTo(grads[0], totalShape) : Native.concat(grads.map((x, i) => Native.reshapeTo(x, flatShapes[i])), 0)
      const m1 = Native.add(Native.mul(m, beta1), Native.mul(g, oneMinusBeta1))
      const v1 = Native.add(Native.mul(v, beta2), Native.mul(Native.square(g), oneMinusBeta2))
      const mHat = Native.div(m1, tf.scalar(Math.fround(1 - accBeta1)))
      const vHat = Native.div(v1, tf.scalar(Math.fround(1 - accBeta2)))
      const step = Native.mul(Native.div(mHat, Native.add(Native.sqrt(vHat), epsilon)), tf.scalar(-learningRate))
      const w1 = Native.add(step, w)
      m = replace(m, m1)
      v = replace(v, v1)
      w = replace(w, w1)
      const parts = variables.length === 1 ? [w1] : Native.splitV(w1, sizes)
      variables.forEach((variable, i) => variable.assign(Native.reshapeTo(parts[i], varShapes[i])))
      accBeta1 = Math.fround(accBeta1 * f32Beta1)
      accBeta2 = Math.fround(accBeta2 * f32Beta2)
      t++
    },
    iterations: () => t,
    dispose: () => {
      for (const x of [w, m, v, beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon, totalShape, ...flatShapes, ...varShapes]) x.dispose()
    }
  }
}
