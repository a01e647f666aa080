/**
 * The optimizer ops of the training-step graph (TrainStepGraph.ts).
 * - `plain`: tf.train.adam's op sequence (tfjs-core AdamOptimizer.applyGradients), elementwise, so running it over the
 *   flat vector gives the same bits per element as per weight:
 *     m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  w' = (m'/c1) / (sqrt(v'/c2) + ε) · (−lr) + w
 *   with c1 = 1 − β1^t, c2 = 1 − β2^t fed per step.
 * - `resource`: ResourceApplyAdam on the session's variables: α = lr·sqrt(1−β2^t)/(1−β1^t); m += (g−m)(1−β1);
 *   v += (g²−v)(1−β2); w −= α·m/(sqrt(v)+ε_t). With ε_t = ε·sqrt(1−β2^t) this is tf.train.adam's
 *   w −= lr·m̂/(sqrt(v̂)+ε) (same math, other float rounding).
 * Each creates its constants when called, in a fixed order: the graph's bytes depend on it.
 */
import { attr, type GraphBuilder, type Value } from "./GraphBuilder.js"
import { DT } from "./Proto.js"

export interface AdamConstants {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

/** tf.train.adam in plain ops: returns the update of one (w, m, v, gradient) quadruple. */
export const plain = (g: GraphBuilder, c: AdamConstants, lr: Value, c1: Value, c2: Value) => {
  const b1 = g.scalar(c.beta1)
  const omb1 = g.scalar(1 - c.beta1)
  const b2 = g.scalar(c.beta2)
  const omb2 = g.scalar(1 - c.beta2)
  const eps = g.scalar(c.epsilon)
  const negLr = g.within("adam", () => g.neg(lr))
  return (w: Value, m: Value, v: Value, grad: Value) => {
    const m2 = g.add(g.mul(m, b1), g.mul(grad, omb1))
    const v2 = g.add(g.mul(v, b2), g.mul(g.square(grad), omb2))
    const mHat = g.div(m2, c1)
    const vHat = g.div(v2, c2)
    return { w2: g.add(g.mul(g.div(mHat, g.add(g.sqrt(vHat), eps)), negLr), w), m2, v2 }
  }
}

/** The weights' gradients as one flat vector laid out like the weights (zero in the padding, where w, m and v stay 0). */
export const flatGradient = (
  g: GraphBuilder, segments: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly size: number }>, flatSize: number,
  gradOf: (name: string) => Value
): Value => {
  const parts: Array<Value> = []
  segments.forEach((seg, i) => {
    parts.push(g.reshape(gradOf(seg.name), g.ints([-1])))
    const end = i + 1 < segments.length ? segments[i + 1].offset : flatSize
    if (end > seg.offset + seg.size) parts.push(g.const(DT.float, [end - seg.offset - seg.size], new Array(end - seg.offset - seg.size).fill(0)))
  })
  return parts.length === 1 ? parts[0] : g.concat(parts, 0)
}

/** ResourceApplyAdam of every weight (its variable handles and gradient); returns the update ops. */
export const resource = (
  g: GraphBuilder, c: AdamConstants,
  weights: ReadonlyArray<{ readonly name: string; readonly w: Value; readonly m: Value; readonly v: Value; readonly grad: Value }>,
  b1Power: Value, b2Power: Value, lr: Value, epsT: Value
): Array<Value> => {
  const b1 = g.scalar(c.beta1)
  const b2 = g.scalar(c.beta2)
  return weights.map((w) => g.op("ResourceApplyAdam", [w.w, w.m, w.v, b1Power, b2Power, lr, b1, b2, epsT, w.grad], {
    T: attr.type(DT.float), use_locking: attr.b(false), use_nesterov: attr.b(false)
  }, { name: `adam/${w.name}` }))
}
