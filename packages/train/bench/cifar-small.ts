/**
 * The study's small-CNN run end to end: full CIFAR-10 train (50,000), 10 epochs, Adam 1e-3 ×0.5 per epoch,
 * batch 32, validated on the 10,000 test images after each epoch. The study reports 63.21% validation accuracy.
 *
 *   npx tsx packages/train/bench/cifar-small.ts [--epochs 10] [--seed 1] [--engine native|graph|tfjs]
 *       [--precision fp32|bf16-mixed] [--out file.json] [--limit n]
 *
 * `--precision bf16-mixed` needs `--engine graph` (Precision.ts); validation is float32 either way.
 *
 * Prints one line per epoch (train/val loss and accuracy, seconds, training images/s) and a JSON summary.
 */
import { writeFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import { countParams, forwardFlops } from "@growlab/core/ModelSpec"
import * as Init from "../src/Init.js"
import type { Precision } from "../src/Precision.js"
import * as Trainer from "../src/Trainer.js"
import * as Zoo from "../src/Zoo.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTest, cifarTrain } from "../test/support/cifar.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}

const info = Backend.ensureNativeSync()
const epochs = Number(arg("epochs", "10"))
const seed = Number(arg("seed", "1"))
const engine = arg("engine", "native") as Trainer.Engine
const precision = arg("precision", "fp32") as Precision
const out = arg("out", "")
const spec = Zoo.cnnSmall

console.log(`backend ${info.backend} TF ${info.tfVersion} tfjs ${info.tfjsVersion}; TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS ?? "default"} ` +
  `TF_NUM_INTEROP_THREADS=${process.env.TF_NUM_INTEROP_THREADS ?? "default"} TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS ?? "default"}; engine ${engine}, precision ${precision}`)
const t0 = performance.now()
const limit = arg("limit", "")
const train = toTensors(cifarTrain(limit ? Number(limit) : undefined))
const validation = toTensors(cifarTest(limit ? Number(limit) : undefined))
console.log(`data: ${train.x.shape[0]} train, ${validation.x.shape[0]} test in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
  `model ${spec.name}: ${countParams(spec)} params, ${(3 * forwardFlops(spec) / 1e6).toFixed(1)} MFLOP/img to train`)

const result = await Effect.runPromise(Trainer.train<Precision>(Init.initialize(spec, seed), { train, validation }, {
  epochs, batchSize: 32, learningRate: 1e-3, lrDecay: 0.5, seed, engine, precision, progress: true,
  onEpoch: (m) => console.log(
    `epoch ${String(m.epoch).padStart(2)}  lr ${m.learningRate.toExponential(3)}  train loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAccuracy).toFixed(2)}%  ` +
    `val loss ${m.valLoss.toFixed(4)} acc ${(100 * m.valAccuracy).toFixed(2)}%  ${m.seconds.toFixed(1)} s`)
}))
result.epochs.forEach((m, i) => console.log(`epoch ${m.epoch}: ${result.imagesPerSecond[i].toFixed(0)} img/s (training steps only)`))
const sorted = [...result.imagesPerSecond].sort((a, b) => a - b)
const summary = {
  spec: spec.name, seed, engine: result.engine, precision, epochs: result.epochs,
  imagesPerSecond: result.imagesPerSecond, medianImagesPerSecond: sorted[Math.floor(sorted.length / 2)],
  finalValAccuracy: result.epochs.at(-1)?.valAccuracy, bestValAccuracy: Math.max(...result.epochs.map((e) => e.valAccuracy)),
  wallSeconds: (performance.now() - t0) / 1000
}
console.log(JSON.stringify(summary))
if (out) writeFileSync(out, JSON.stringify(summary, null, 2) + "\n")
tf.dispose([train.x, train.y, validation.x, validation.y])
