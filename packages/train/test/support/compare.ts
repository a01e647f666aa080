/** Comparisons for tests: bit identity and max |difference| (never signed sums, whose errors cancel). */
import * as tf from "@tensorflow/tfjs"

export const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0

const values = (x: tf.Tensor | ArrayLike<number>): ArrayLike<number> => (x instanceof tf.Tensor ? x.dataSync() : x) as ArrayLike<number>

export const maxAbsDiff = (a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number => {
  const x = values(a)
  const y = values(b)
  if (x.length !== y.length) throw new Error(`lengths differ: ${x.length} vs ${y.length}`)
  let d = 0
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i])
    if (Number.isNaN(e)) return Number.NaN
    if (e > d) d = e
  }
  return d
}

export const maxAbs = (a: tf.Tensor | ArrayLike<number>): number => {
  const x = values(a)
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]))
  return m
}
