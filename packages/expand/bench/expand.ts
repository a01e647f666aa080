/**
 * `npm run bench:expand`: expansion time of every method on the original study's CNNs (small → large-1, large-2),
 * figure rendering time, and the measured function preservation (max |Δlogits| on 256 seeded random images and the
 * first 256 real CIFAR-10 test images) with trained-like random weights. Expansion is timed alone (median of 15 runs
 * after 3 warm-ups): pure Float32Array math, no tensors.
 */
import * as Effect from "effect/Effect"
import { ensureNativeSync, tf } from "@growlab/core/Backend"
import * as Preservation from "@growlab/train/Preservation"
import * as Expander from "../src/Expander.js"
import * as Figures from "../src/Figures.js"
import * as Registry from "../src/Registry.js"
import { cifarTest, cnn, randomModel } from "../test/support/fixtures.js"

/** Every registered method with each of its descriptor's example params. */
const variants = Registry.methods.flatMap((d) => d.method.examples.map((example) => ({ method: d.name, ...example })))
const label = (v: Readonly<Record<string, unknown>>) => Object.entries(v).map(([k, x]) => k === "method" ? String(x) : `${k} ${JSON.stringify(x)}`).join(", ")

const info = ensureNativeSync()
const N = 256
const small = randomModel(cnn(64, 64, 64), 21)
const cifar = cifarTest(N)
const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x: number) => (x === 0 ? "0" : x.toExponential(2))

console.log(`backend ${info.backend} (TF ${info.tfVersion}), node ${process.version}, ${N} random + ${N} CIFAR-10 test images`)
console.log("| target | method | expand ms (median) | figures ms | max|logits| real | max|Δ| random | max|Δ| real | rel. real | preserves (exact) | preserved (measured) | SNR dB per noisy layer |")
console.log("|---|---|---|---|---|---|---|---|---|---|---|")
const tensorsBefore = tf.memory().numTensors
for (const [name, target] of [["large-1", cnn(128, 64, 128)], ["large-2", cnn(128, 128, 128)]] as const) {
  for (const v of variants) {
    const run = () => Effect.runSync(Expander.grow(small, target, { ...v, seed: 5 }))
    for (let i = 0; i < 3; i++) run()
    const times: Array<number> = []
    let e = run()
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now()
      e = run()
      times.push(performance.now() - t0)
    }
    const f0 = performance.now()
    Figures.render(e)
    const figMs = performance.now() - f0
    const p = Preservation.measureOn(small, e.model, { size: N, seed: 1, dataset: cifar })
    const r = p.random, c = p.real!
    const preserved = p.preserved
    const snr = e.layers.filter((l) => l.snrDb !== null).map((l) => `${l.layer} ${l.snrDb!.toFixed(2)}`).join(", ") || "—"
    console.log(`| ${name} | ${label(v)} | ${median(times).toFixed(2)} | ${figMs.toFixed(0)} | ${c.maxAbsLogits.toFixed(2)} | ${fmt(r.maxAbsDiff)} | ${fmt(c.maxAbsDiff)} | ${fmt(c.relativeDiff)} | ${e.plan.preservesFunction ? "yes" : "no"} | ${preserved ? "yes" : "no"} | ${snr} |`)
  }
}
if (tf.memory().numTensors !== tensorsBefore) throw new Error(`tensors leaked: ${tensorsBefore} → ${tf.memory().numTensors}`)
