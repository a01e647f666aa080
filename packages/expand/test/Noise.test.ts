/** Noise schemes: SNR definition against hand values, SNR targets reached, scaled-noise statistics. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Expander from "../src/Expander.js"
import * as Noise from "../src/Noise.js"
import { mlp, randomModel, weight } from "./support/fixtures.js"

describe("SNR", () => {
  it("is 10·log10(Σsignal² / Σnoise²): hand values", () => {
    // Σ signal² = 9 + 16 = 25, Σ noise² = 0.09 + 0.16 = 0.25 → ratio 100 → 20 dB
    assert.closeTo(Noise.snrDb(Noise.energy([3, 4]), Noise.energy([0.3, 0.4]))!, 20, 1e-12)
    // 4 / 2 → 10·log10(2) = 3.0103 dB
    assert.closeTo(Noise.snrDb(Noise.energy([1, 1, 1, 1]), Noise.energy([1, -1]))!, 3.0103, 1e-4)
    assert.isNull(Noise.snrDb(25, 0))
  })

  it.effect("the recorded per-layer SNR is the definition applied to (noisy kernel − noise-free kernel)", () =>
    Effect.gen(function*() {
      const source = randomModel(mlp(8, [8, 8, 4]), 1)
      const target = mlp(8, [16, 16, 4])
      const clean = yield* Expander.grow(source, target, { method: "symmetric", seed: 5 })
      const noisy = yield* Expander.grow(source, target, { method: "noisy-symmetric", noise: { scheme: "snr", snrDb: 6 }, seed: 5 })
      for (const name of ["dense_1", "dense_2"]) {
        const a = weight(clean.model, `${name}/kernel`)
        const b = weight(noisy.model, `${name}/kernel`)
        const eta = b.map((v, j) => v - a[j])
        const record = noisy.layers.find((l) => l.layer === name)!
        assert.closeTo(record.snrDb!, 10 * Math.log10(Noise.energy(a) / Noise.energy(eta)), 1e-4)
      }
    }))
})

describe("snr scheme", () => {
  const source = randomModel(mlp(64, [256, 256, 10]), 2)
  for (const k of [2, 3]) {
    for (const snrDb of [0, 10, 20]) {
      it.effect(`reaches the target (${snrDb} dB, k=${k}) within 0.1 dB on a 256×256 layer`, () =>
        Effect.gen(function*() {
          const e = yield* Expander.grow(source, mlp(64, [256 * k, 256 * k, 10]), { method: "noisy-symmetric", noise: { scheme: "snr", snrDb }, seed: 9 })
          assert.closeTo(e.layers[1].snrDb!, snrDb, 0.1)
          assert.closeTo(e.layers[1].noiseMean!, 0, 0.01 * e.layers[1].noiseStd!)
        }))
    }
  }
})

describe("scaled scheme", () => {
  const source = randomModel(mlp(64, [256, 256, 10]), 3, 0.3)
  const W = weight(source, "dense_1/kernel")
  const src = Noise.moments(W)
  /** The independent draws, read back from the kernel: copy 0 of each input unit minus W/2 (k = 2). */
  const freeDraws = (kernel: Float32Array) => {
    const out: Array<number> = []
    for (let v = 0; v < 256; v++) for (let o = 0; o < 512; o++) out.push(kernel[v * 512 + o] - W[v * 256 + (o % 256)] / 2)
    return out
  }
  const withinOneStd = (xs: ReadonlyArray<number>, m: Noise.Moments) => xs.filter((x) => Math.abs(x - m.mean) <= m.std).length / xs.length

  it("the fixture kernel is not centred (so the 0.02·std mean check tells scaled noise from centred noise)", () => {
    assert.isAbove(Math.abs(src.mean), 0.1 * src.std)
  })

  for (const method of ["noisy-symmetric", "noisy-diagonal"] as const) {
    it.effect(`${method}, normal: the noise has the source kernel's mean and std`, () =>
      Effect.gen(function*() {
        const e = yield* Expander.grow(source, mlp(64, [512, 512, 10]), { method, noise: { scheme: "scaled", distribution: "normal" }, seed: 4 })
        const base = method === "noisy-symmetric" ? W.map((w) => w / 2) : W
        const draws: Array<number> = []
        const kernel = weight(e.model, "dense_1/kernel")
        for (let v = 0; v < 256; v++) for (let o = 0; o < 512; o++) {
          const b = method === "noisy-symmetric" || o < 256 ? base[v * 256 + (o % 256)] : 0
          draws.push(kernel[v * 512 + o] - b)
        }
        const m = Noise.moments(draws)
        assert.closeTo(m.mean, src.mean, 0.02 * src.std)
        assert.closeTo(m.std, src.std, 0.02 * src.std)
        assert.closeTo(withinOneStd(draws, m), 0.6827, 0.01)
        assert.closeTo(e.layers[1].noiseMean!, m.mean, 1e-6)
      }))
  }

  it.effect("uniform: same mean and std, bounded by mean ± √3·std, flat (57.7% within one std)", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(source, mlp(64, [512, 512, 10]), { method: "noisy-symmetric", noise: { scheme: "scaled", distribution: "uniform" }, seed: 4 })
      const draws = freeDraws(weight(e.model, "dense_1/kernel"))
      const m = Noise.moments(draws)
      assert.closeTo(m.mean, src.mean, 0.02 * src.std)
      assert.closeTo(m.std, src.std, 0.02 * src.std)
      const half = Math.sqrt(3) * src.std
      assert.isTrue(draws.every((x) => x >= src.mean - half - 1e-6 && x <= src.mean + half + 1e-6))
      assert.closeTo(withinOneStd(draws, m), 1 / Math.sqrt(3), 0.01)
    }))

  it.effect("envelope scaled-noise fill draws with the source kernel's mean and std", () =>
    Effect.gen(function*() {
      const e = yield* Expander.grow(source, mlp(64, [512, 512, 10]), { method: "envelope", fill: "scaled-noise", seed: 4 })
      const kernel = weight(e.model, "dense_1/kernel")
      const fill: Array<number> = []
      for (let i = 0; i < 512; i++) for (let o = 0; o < 512; o++) {
        const centre = i >= 128 && i < 384 && o >= 128 && o < 384
        if (centre) assert.strictEqual(kernel[i * 512 + o], W[(i - 128) * 256 + (o - 128)])
        else fill.push(kernel[i * 512 + o])
      }
      const m = Noise.moments(fill)
      assert.closeTo(m.mean, src.mean, 0.02 * src.std)
      assert.closeTo(m.std, src.std, 0.02 * src.std)
    }))
})
