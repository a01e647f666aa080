import { describe, it, assert } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as Forward from "../src/Forward.js"
import * as Init from "../src/Init.js"
import * as Loss from "../src/Loss.js"
import * as Zoo from "../src/Zoo.js"
import * as Native from "../src/internal/native.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTrain } from "./support/cifar.js"
import { maxAbs, maxAbsDiff } from "./support/compare.js"

Backend.ensureNativeSync()

// Two examples, three classes; T = 2.
const student = [[1, 2, 0.5], [0, -1, 3]]
const teacher = [[2, 0, 1], [1, 1, -2]]
const labels = [1, 2]

describe("losses", () => {
  it("KD matches a hand-computed value", () => {
    // Example 1: p = softmax([1, 0, 0.5]) = [0.5065, 0.1863, 0.3072], q = softmax([0.5, 1, 0.25]) = [0.2918, 0.4810, 0.2272],
    //   KL = Σ p·ln(p/q) = 0.2793 − 0.1767 + 0.0927 = 0.1953.
    // Example 2: p = softmax([0.5, 0.5, −1]) = [0.4498, 0.4498, 0.1004], q = softmax([0, −0.5, 1.5]) = [0.1643, 0.0996, 0.7361],
    //   KL = 0.4530 + 0.6782 − 0.2000 = 0.9312.
    // KD = T² · mean KL = 4 · (0.1953 + 0.9312) / 2 = 2.2530 (2.2530565641009446 in double precision).
    const s = tf.tensor2d(student)
    const t = tf.tensor2d(teacher)
    const y = tf.tensor1d(labels, "int32")
    assert.closeTo(Loss.distillation(s, t, 2).dataSync()[0], 2.2530565641009446, 2e-6)
    assert.closeTo(Loss.distillation(s, t, 1).dataSync()[0], 1.6772885074002701, 2e-6)
    // CE = mean(−ln softmax(z)[y]) = 0.26512634393268697; the 3:1 setup: 3·KD + 1·CE
    assert.closeTo(Loss.crossEntropy(s, y).dataSync()[0], 0.26512634393268697, 1e-6)
    const d = { teacherWeight: 3, labelWeight: 1, temperature: 2 }
    assert.closeTo(Loss.objective(s, y, d, t).dataSync()[0], 7.024296036235521, 1e-5)
    // the native kernel (KD as T²·(CE(p, z/T) − H(p)) with precomputed targets) gives the same value
    const { probs, entropy } = Loss.teacherTargets(t, 2)
    assert.closeTo(Native.distillation(s, y, probs, entropy, d).dataSync()[0], 7.024296036235521, 1e-5)
    assert.closeTo(Native.crossEntropy(s, y).dataSync()[0], 0.26512634393268697, 1e-6)
    tf.dispose([s, t, y, probs, entropy])
  })

  it("native loss gradients equal the tfjs autodiff gradients", () => {
    const z = tf.randomNormal([16, 10], 0, 3, "float32", 1)
    const t = tf.randomNormal([16, 10], 0, 3, "float32", 2)
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => (i * 7) % 10), "int32")
    for (const d of [undefined, { teacherWeight: 1, labelWeight: 5, temperature: 1 }, { teacherWeight: 5, labelWeight: 0, temperature: 3 }]) {
      const { probs, entropy } = Loss.teacherTargets(t, d?.temperature ?? 1)
      const ref = tf.valueAndGrad((zz: tf.Tensor) => Loss.objective(zz, y, d, t))(z)
      const nat = tf.valueAndGrad((zz: tf.Tensor) => d ? Native.distillation(zz, y, probs, entropy, d) : Native.crossEntropy(zz, y))(z)
      assert.closeTo(nat.value.dataSync()[0], ref.value.dataSync()[0], 1e-5 * Math.max(1, ref.value.dataSync()[0]))
      assert.isBelow(maxAbsDiff(nat.grad, ref.grad), 1e-6 * Math.max(1, maxAbs(ref.grad)))
      tf.dispose([probs, entropy, ref.value, ref.grad, nat.value, nat.grad])
    }
    tf.dispose([z, t, y])
  })
})

describe("native layer kernels", () => {
  it("max-pool gradient routes dy to the first maximum exactly as TensorFlow's MaxPoolGrad", () => {
    for (const [h, c, k] of [[30, 32, 2], [13, 64, 2], [9, 3, 3]]) {
      // rounded values: many ties inside windows (CIFAR has flat regions too)
      const x = tf.tidy(() => tf.relu(tf.round(tf.randomNormal([4, h, h, c], 0, 1.5, "float32", h))))
      const y = tf.maxPool(x as tf.Tensor4D, k, k, "valid")
      const dy = tf.randomNormal(y.shape, 0, 1, "float32", c)
      const ref = Native.maxPoolGradReference(x, y, dy, k)
      const vec = Native.maxPoolGradVectorised(x, y, dy, k)
      assert.strictEqual(maxAbsDiff(vec, ref), 0, `${h}x${h}x${c} pool ${k}`)
      tf.dispose([x, y, dy, ref, vec])
    }
  })

  it("fused conv/dense/pool kernels give the tfjs gradients of every weight", () => {
    for (const spec of [Zoo.cnnSmall, Zoo.mlpSmall]) {
      const model = Init.initialize(spec, 9)
      const params = Forward.paramsOf(model)
      const names = [...params.keys()]
      const { x, y } = spec === Zoo.mlpSmall
        ? { x: tf.randomUniform([32, 1024], 0, 255, "float32", 3), y: tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), "int32") }
        : toTensors(cifarTrain(32))
      const grads = (kernels: "tfjs" | "native") =>
        tf.grads((...ws: Array<tf.Tensor>) => {
          const p = new Map(names.map((n, i) => [n, ws[i]]))
          return Loss.crossEntropy(Forward.apply(spec, p, x, { training: true, kernels }), y)
        })(names.map((n) => params.get(n)!))
      const ref = grads("tfjs")
      const nat = grads("native")
      names.forEach((n, i) => {
        const scale = maxAbs(ref[i])
        assert.isAbove(scale, 0, n)
        assert.isBelow(maxAbsDiff(nat[i], ref[i]), 1e-4 * scale, n)
      })
      tf.dispose([...ref, ...nat, x, y])
      Forward.disposeParams(params)
    }
  })

  it("gradients flow into a layer's input (e.g. Grad-CAM taps) through the native kernels", () => {
    const model = Init.initialize(Zoo.cnnSmall, 2)
    const params = Forward.paramsOf(model)
    const { x, y } = toTensors(cifarTrain(8))
    const feature = tf.tidy(() => Forward.apply(Zoo.cnnSmall, params, x, { to: 4 }))
    const g = (kernels: "tfjs" | "native") =>
      tf.grad((f: tf.Tensor) => tf.sum(tf.gather(Forward.apply(Zoo.cnnSmall, params, f, { from: 4, kernels }), [3], 1)))(feature)
    const ref = g("tfjs")
    const nat = g("native")
    assert.isAbove(maxAbs(ref), 0)
    assert.isBelow(maxAbsDiff(nat, ref), 1e-5 * maxAbs(ref))
    tf.dispose([feature, ref, nat, x, y])
    Forward.disposeParams(params)
  })
})
