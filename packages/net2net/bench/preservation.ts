/**
 * Function preservation of Net2Net on a *trained* small CNN (the numbers in packages/net2net/README.md).
 *
 * Trains the original study's small CNN on the first `trainImages` CIFAR-10 training images (Adam, LR 1e-3 ×0.5 per
 * epoch, batch 32), then widens it to large-1, large-2 and the ×1.5 (96) variant — exact, and with noise ratio 0.05
 * for seeds 0, 1, 2 — and deepens it, measuring max |Δlogits| on the first 1,000 test images and 1,000 seeded random
 * inputs. Prints a Markdown table.
 *
 *   npx tsx packages/net2net/bench/preservation.ts [trainImages=10000] [epochs=2]
 */
import * as Effect from "effect/Effect"
import * as Backend from "@growlab/core/Backend"
import * as tf from "@tensorflow/tfjs"
import * as Init from "@growlab/train/Init"
import * as Trainer from "@growlab/train/Trainer"
import * as Net2Deeper from "../src/Net2Deeper.js"
import * as Net2Wider from "../src/Net2Wider.js"
import * as Preservation from "@growlab/train/Preservation"
import { cifarRecords, cifarTest, cnnLarge1, cnnLarge2, cnnSmall, cnnWide96 } from "../test/fixtures.js"

Backend.ensureNativeSync()
const trainImages = Number(process.argv[2] ?? 10_000)
const epochs = Number(process.argv[3] ?? 2)
const PROBE = 1000

const tensors = (d: ReturnType<typeof cifarTest>) => ({
  x: tf.tensor(Float32Array.from(d.images), [d.labels.length, 32, 32, 3], "float32"),
  y: tf.tensor(Int32Array.from(d.labels), [d.labels.length], "int32")
})

const program = Effect.gen(function*() {
  const trainSet = tensors(cifarRecords("data_batch_1.bin", trainImages))
  const testData = cifarTest(PROBE)
  const testSet = tensors(testData)
  const started = performance.now()
  const trained = yield* Trainer.train(Init.initialize(cnnSmall, 0), { train: trainSet, validation: testSet },
    { epochs, batchSize: 32, learningRate: 1e-3, lrDecay: 0.5, seed: 0 })
  tf.dispose([trainSet.x, trainSet.y, testSet.x, testSet.y])
  const last = trained.epochs[trained.epochs.length - 1]
  console.log(`small CNN: ${trainImages} images × ${epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
    `val accuracy ${(100 * last.valAccuracy).toFixed(1)}% on ${PROBE} test images`)
  const small = trained.model
  const row = (label: string, p: Preservation.Preservation) =>
    console.log(`| ${label} | ${p.random.maxAbsDiff.toExponential(2)} | ${p.real!.maxAbsDiff.toExponential(2)} | ` +
      `${Math.max(p.random.maxAbsLogits, p.real!.maxAbsLogits).toFixed(2)} | ${p.relative.toExponential(2)} | ${p.preserved ? "yes" : "no"} |`)
  console.log(`\n| transform | max abs Δ random (${PROBE}) | max abs Δ real (${PROBE}) | max abs logits | relative | ≤ 1e-5 |`)
  console.log("|---|---|---|---|---|---|")
  const probe = (grown: typeof small) => Preservation.measureOn(small, grown, { size: PROBE, seed: 1, dataset: testData })
  for (const [name, target] of [["large-1", cnnLarge1], ["large-2", cnnLarge2], ["96 (×1.5)", cnnWide96]] as const) {
    const exact = yield* Net2Wider.widen(small, target, { seed: 0 })
    row(`net2wider small → ${name}`, probe(exact.model))
    for (const seed of [0, 1, 2]) {
      const noisy = yield* Net2Wider.widen(small, target, { seed, noise: { ratio: 0.05 } })
      const snr = noisy.layers.filter((l) => l.snrDb !== null).map((l) => `${l.layer} ${l.snrDb!.toFixed(1)}`).join(", ")
      row(`net2wider-noise 0.05 small → ${name}, seed ${seed} (SNR dB: ${snr})`, probe(noisy.model))
    }
  }
  for (const [after, kernelSize] of [["conv2d_3", 3], ["conv2d_5", 3], ["dense_7", 1]] as const) {
    const deeper = yield* Net2Deeper.deepen(small, { after, kernelSize })
    row(`net2deeper after ${after} (${deeper.inserted.kind}${deeper.inserted.kernelSize ? ` ${kernelSize}×${kernelSize}` : ""}, relu)`, probe(deeper.model))
  }
})

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
