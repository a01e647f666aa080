import { describe, it, assert } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Backend from "@growlab/core/Backend"
import * as Random from "@growlab/core/Random"
import { ModelSpec, inferShapes } from "@growlab/core/ModelSpec"
import * as Forward from "@growlab/train/Forward"
import * as GradCam from "../src/GradCam.js"

const { tf } = Backend
Backend.ensureNativeSync()

const decode = Schema.decodeUnknownSync(ModelSpec)

/** Weight tensors for a spec from a function of (weight name, flat index). */
const paramsFor = (spec: ModelSpec, value: (name: string, i: number, shape: ReadonlyArray<number>) => number) =>
  new Map(inferShapes(spec).flatMap((l) => l.weights).map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1)
    return [w.name, tf.tensor(Float32Array.from({ length: size }, (_, i) => value(w.name, i, w.shape)), w.shape as Array<number>)] as const
  }))

describe("Grad-CAM", () => {
  it("equals the closed form ReLU(sum_c mean(dScore/dA_c) A_c) for a conv → dense model", () => {
    // conv 1×1 (3 filters, ReLU) → flatten → dense 2: dScore_k/dA[y, x, c] is the dense weight of feature (y, x, c)
    const spec = decode({
      inputShape: [5, 4, 2],
      layers: [{ _tag: "conv2d", name: "c", filters: 3, kernelSize: 1, activation: "relu" }, { _tag: "flatten" }, { _tag: "dense", name: "d", units: 2 }]
    })
    const rng = Random.make(7)
    const params = paramsFor(spec, () => rng.normal())
    const n = 3
    const xData = Float32Array.from({ length: n * 5 * 4 * 2 }, () => rng.normal())
    const x = tf.tensor(xData, [n, 5, 4, 2])
    const layer = GradCam.convLayers(spec)[0]
    const labels = [1, 0, 1]
    const before = tf.memory().numTensors
    const result = GradCam.computeBatch(spec, params, x, [layer], "label", labels)
    assert.strictEqual(tf.memory().numTensors, before, "computeBatch leaks no tensor")

    const K = params.get("c/kernel")!.dataSync() // [1, 1, 2, 3]
    const B = params.get("c/bias")!.dataSync()
    const W = params.get("d/kernel")!.dataSync() // [60, 2]
    for (let i = 0; i < n; i++) {
      const A = new Float64Array(20 * 3)
      for (let p = 0; p < 20; p++) {
        for (let c = 0; c < 3; c++) {
          const v = xData[(i * 20 + p) * 2] * K[c] + xData[(i * 20 + p) * 2 + 1] * K[3 + c] + B[c]
          A[p * 3 + c] = Math.max(0, v)
        }
      }
      const alpha = [0, 1, 2].map((c) => {
        let s = 0
        for (let p = 0; p < 20; p++) s += W[(p * 3 + c) * 2 + labels[i]]
        return s / 20
      })
      const cam = Array.from({ length: 20 }, (_, p) => Math.max(0, alpha[0] * A[p * 3] + alpha[1] * A[p * 3 + 1] + alpha[2] * A[p * 3 + 2]))
      const peak = Math.max(...cam)
      const got = result.layers[0].cams.subarray(i * 20, (i + 1) * 20)
      for (let p = 0; p < 20; p++) {
        const expected = peak > 0 ? cam[p] / peak : 0
        assert.isBelow(Math.abs(got[p] - expected), 1e-5, `image ${i} cell ${p}: expected ${expected}, got ${got[p]}`)
      }
    }
    // "predicted" targets are the argmax of the logits
    const predicted = GradCam.computeBatch(spec, params, x, [layer], "predicted")
    const logits = Forward.logitsWith(spec, params, x)
    assert.deepStrictEqual(Array.from(predicted.targets), Array.from(tf.tidy(() => tf.argMax(logits, 1)).dataSync()))
    logits.dispose()
    x.dispose()
    Forward.disposeParams(params)
  })

  it("peaks where the class evidence is and ignores a channel the score does not use", () => {
    // Channel 0 carries the signal in a 2×2 patch; channel 1 is noise everywhere that the dense layer ignores.
    const H = 12
    const spec = decode({
      inputShape: [H, H, 2],
      layers: [
        { _tag: "conv2d", name: "conv", filters: 2, kernelSize: 3, padding: "same", activation: "relu" },
        { _tag: "flatten" }, { _tag: "dense", name: "out", units: 2, activation: "softmax" }
      ]
    })
    // conv: filter f copies channel f (3×3 box blur), no bias; dense: class 0 = +sum of channel 0, class 1 = -that
    const params = paramsFor(spec, (name, i, shape) => {
      if (name === "conv/kernel") return i % 2 === Math.floor(i / 2) % 2 ? 1 / 9 : 0 // [3, 3, 2, 2]: in == out
      if (name === "out/kernel") return Math.floor(i / 2) % 2 === 0 ? (i % 2 === 0 ? 1 : -1) : 0 // feature (p, c) → row p*2+c
      return 0 * shape.length
    })
    const rng = Random.make(3)
    const images = (row: number, col: number, n: number) => {
      const data = new Float32Array(n * H * H * 2)
      for (let i = 0; i < n; i++) {
        for (let p = 0; p < H * H; p++) data[(i * H * H + p) * 2 + 1] = 3 * rng.next()
        for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) data[(i * H * H + (row + dy) * H + col + dx) * 2] = 1 + rng.next()
      }
      return tf.tensor(data, [n, H, H, 2])
    }
    const layer = GradCam.convLayers(spec)[0]
    for (const [row, col] of [[5, 5], [0, 9]]) {
      const x = images(row, col, 6)
      const r = GradCam.computeBatch(spec, params, x, [layer], "predicted")
      x.dispose()
      assert.deepStrictEqual(Array.from(r.targets), [0, 0, 0, 0, 0, 0], "the patch makes class 0 win")
      const avg = GradCam.average(r.layers[0].cams, H * H)
      const p = GradCam.peak(avg, H)
      assert.isTrue(p.row >= row && p.row <= row + 1 && p.col >= col && p.col <= col + 1, `peak at (${p.row}, ${p.col}), patch at (${row}, ${col})`)
      // the noise channel (alpha = 0) contributes nothing: cells beyond the blur of the patch are exactly 0
      assert.strictEqual(avg[0 * H + (col > 6 ? 0 : H - 1)], 0)
      if (row === 5) {
        assert.isAbove(GradCam.centreRatio(avg, H, H), 3)
        const up = GradCam.upsample(avg, H, H, 48, 48)
        const q = GradCam.peak(up, 48)
        assert.isTrue(q.row >= 20 && q.row < 28 && q.col >= 20 && q.col < 28, `upsampled peak at (${q.row}, ${q.col})`)
      } else {
        assert.isBelow(GradCam.centreRatio(avg, H, H), 0.5)
      }
    }
    Forward.disposeParams(params)
  })

  it("upsamples with half-pixel centres and keeps constant maps constant", () => {
    const up = GradCam.upsample([0, 1], 1, 2, 1, 4)
    assert.deepStrictEqual(Array.from(up), [0, 0.25, 0.75, 1])
    assert.deepStrictEqual(Array.from(GradCam.upsample([0.5, 0.5, 0.5, 0.5], 2, 2, 3, 5)), Array(15).fill(0.5))
    assert.strictEqual(GradCam.centreRatio([1, 1, 1, 1, 1, 1, 1, 1, 1], 3, 3), 1)
    assert.isNaN(GradCam.centreRatio([0, 0, 0, 0], 2, 2))
  })

  it("averages selected maps and rescales the mean to a maximum of 1", () => {
    const cams = Float32Array.of(1, 0, 0, 1, 1, 0)
    assert.deepStrictEqual(Array.from(GradCam.average(cams, 2)), [1, 0.5])
    assert.deepStrictEqual(Array.from(GradCam.average(cams, 2, [1, 2])), [1, 1])
    assert.deepStrictEqual(Array.from(GradCam.average(cams, 2, [])), [0, 0])
  })

  it("explains the pre-softmax score: a final softmax is dropped", () => {
    const spec = decode({ inputShape: [4, 4, 1], layers: [{ _tag: "conv2d", filters: 1, kernelSize: 3 }, { _tag: "flatten" }, { _tag: "dense", units: 3, activation: "softmax" }] })
    const s = GradCam.scoreSpec(spec)
    assert.strictEqual((s.layers[2] as { activation: string }).activation, "linear")
    assert.strictEqual((spec.layers[2] as { activation: string }).activation, "softmax")
  })
})
