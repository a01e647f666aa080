import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec } from "@growlab/core/ModelSpec"
import * as Forward from "../src/Forward.js"
import * as Init from "../src/Init.js"
import * as Loss from "../src/Loss.js"
import * as Layers from "../src/Layers.js"
import * as Trainer from "../src/Trainer.js"
import * as Zoo from "../src/Zoo.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTest, cifarTrain } from "./support/cifar.js"
import { maxAbs, maxAbsDiff, sameBits } from "./support/compare.js"

Backend.ensureNativeSync()

const train = toTensors(cifarTrain(256))
const validation = toTensors(cifarTest(128))
const options: Trainer.Options = { epochs: 2, batchSize: 32, learningRate: 1e-3, lrDecay: 0.5, seed: 1 }

const weightDiff = (a: ModelArtifact.Model, b: ModelArtifact.Model | ((name: string) => Float32Array)): number =>
  Math.max(...a.weights.map((w) => maxAbsDiff(w.values, typeof b === "function" ? b(w.name) : b.weights.find((v) => v.name === w.name)!.values)))

const withoutSeconds = (r: Trainer.Result) => r.epochs.map(({ seconds: _, ...rest }) => rest)

describe("trainer", () => {
  it.effect("is deterministic for a seed (init, shuffling) and differs across seeds", () =>
    Effect.gen(function*() {
      const run = (seed: number) => Trainer.train(Init.initialize(Zoo.cnnSmall, seed), { train, validation }, { ...options, seed })
      const a = yield* run(3)
      const b = yield* run(3)
      const c = yield* run(4)
      assert.isTrue(a.model.weights.every((w, i) => sameBits(w.values, b.model.weights[i].values)))
      assert.deepStrictEqual(withoutSeconds(a), withoutSeconds(b))
      assert.isAbove(weightDiff(a.model, c.model), 1e-3)
      assert.notDeepEqual(withoutSeconds(a), withoutSeconds(c))
      // learning rate 1e-3 then ×0.5; the loss goes down on this subset
      assert.deepStrictEqual(a.epochs.map((e) => e.learningRate), [1e-3, 5e-4])
      assert.isBelow(a.epochs[1].trainLoss, a.epochs[0].trainLoss)
    }))

  it.effect("keeps tf.memory().numTensors flat across epochs and leaves nothing behind", () =>
    Effect.gen(function*() {
      const counts: Array<number> = []
      const before = tf.memory().numTensors
      yield* Trainer.train(Init.initialize(Zoo.cnnSmall, 1), { train, validation }, { ...options, epochs: 3, onEpoch: () => counts.push(tf.memory().numTensors) })
      assert.strictEqual(counts.length, 3)
      assert.deepStrictEqual(counts, [counts[0], counts[0], counts[0]])
      assert.strictEqual(tf.memory().numTensors, before)
    }))

  it.effect("the graph and native engines train to the same numbers as the tfjs engine and as tf.LayersModel.fit", () =>
    Effect.gen(function*() {
      const init = Init.initialize(Zoo.cnnSmall, 7)
      const fixed = { ...options, shuffle: false }
      const graph = yield* Trainer.train(init, { train, validation }, { ...fixed })
      const native = yield* Trainer.train(init, { train, validation }, { ...fixed, engine: "native" })
      const tfjs = yield* Trainer.train(init, { train, validation }, { ...fixed, engine: "tfjs" })
      // the default engine is the whole-step graph; it follows the same loss curve (its fused Adam rounds differently,
      // and ReLU / max-pool switches amplify rounding over an epoch, so the tolerance is relative, as for distillation)
      assert.strictEqual(graph.engine, "graph")
      graph.epochs.forEach((e, i) => {
        assert.closeTo(e.trainLoss, tfjs.epochs[i].trainLoss, 1e-3 * e.trainLoss)
        assert.closeTo(e.valLoss, tfjs.epochs[i].valLoss, 2e-3 * e.valLoss)
      })
      assert.isBelow(weightDiff(graph.model, tfjs.model), 0.1 * weightDiff(tfjs.model, init))
      // the reference: a Keras-style model with the same initial weights, compiled with tfjs Adam, fitted epoch by epoch
      const model = Layers.fromArtifact(init)
      const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-7)
      model.compile({ optimizer, loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) })
      const oneHot = tf.oneHot(train.y as tf.Tensor1D, 10)
      const fitLosses: Array<number> = []
      for (let epoch = 1; epoch <= fixed.epochs; epoch++) {
        ;(optimizer as unknown as { learningRate: number }).learningRate = Trainer.learningRateAt(fixed, epoch)
        const h = yield* Effect.promise(() => model.fit(train.x, oneHot, { batchSize: 32, epochs: 1, shuffle: false, verbose: 0 }))
        fitLosses.push(h.history.loss[0] as number)
      }
      const fitted = Layers.weightsOf(Zoo.cnnSmall, model)
      const moved = weightDiff(native.model, init)
      assert.isAbove(moved, 5e-3)
      // float tolerance: 1% of how far training moved the weights
      assert.isBelow(weightDiff(native.model, tfjs.model), 0.01 * moved)
      assert.isBelow(weightDiff(native.model, (n) => fitted.get(n)!), 0.01 * moved)
      native.epochs.forEach((e, i) => {
        assert.closeTo(e.trainLoss, tfjs.epochs[i].trainLoss, 1e-5)
        assert.closeTo(e.trainLoss, fitLosses[i], 1e-5)
        assert.closeTo(e.valLoss, tfjs.epochs[i].valLoss, 1e-4)
        assert.strictEqual(e.trainAccuracy, tfjs.epochs[i].trainAccuracy)
      })
      tf.dispose(oneHot)
      model.dispose()
      optimizer.dispose()
    }))

  it.effect("distillation: both engines take the same step and follow the same loss curve", () =>
    Effect.gen(function*() {
      const teacher = (yield* Trainer.train(Init.initialize(Zoo.cnnSmall, 5), { train, validation }, { ...options, epochs: 1 })).model
      const student = Init.initialize(Zoo.cnnLarge1, 6)
      const distill = { teacherWeight: 3, labelWeight: 1, temperature: 2 }
      // the same objective and gradients from the same weights on the same batch
      const batch = tf.tidy(() => {
        const x = tf.slice(train.x, 0, 32)
        const logits = Forward.logits(teacher, x)
        const { probs, entropy } = Loss.teacherTargets(logits, distill.temperature)
        return { x, y: tf.slice(train.y, 0, 32), teacher: { logits, probs, entropy } }
      })
      const sessions = (["native", "tfjs"] as const).map((engine) => Trainer.makeSession(student, { engine, learningRate: 1e-3, distill }))
      const [a, b] = sessions.map((s) => s.gradients(batch))
      assert.closeTo(a.value.dataSync()[0], b.value.dataSync()[0], 1e-5)
      a.grads.forEach((g, i) => {
        const scale = maxAbs(b.grads[i])
        assert.isAbove(scale, 0)
        assert.isBelow(maxAbsDiff(g, b.grads[i]), 1e-5 * scale)
      })
      tf.dispose([a.value, b.value, a.correct, b.correct, ...a.grads, ...b.grads])
      sessions.forEach((s) => s.dispose())
      tf.dispose([batch.x, batch.y, batch.teacher.logits, batch.teacher.probs, batch.teacher.entropy])
      // a whole epoch: ReLU and max-pool switch on tiny weight differences, so trajectories drift apart slowly;
      // the loss curves still agree closely
      const run = (engine: Trainer.Engine) => Trainer.train(student, { train, validation, teacher }, { ...options, shuffle: false, distill, engine })
      const native = yield* run("native")
      const tfjs = yield* run("tfjs")
      const graph = yield* run("graph")
      assert.strictEqual(graph.engine, "graph")
      for (const other of [native, graph]) {
        other.epochs.forEach((e, i) => {
          assert.closeTo(e.trainLoss, tfjs.epochs[i].trainLoss, 1e-3 * e.trainLoss)
          assert.closeTo(e.valLoss, tfjs.epochs[i].valLoss, 1e-3 * e.valLoss)
        })
      }
      // distillation pulls the student towards the teacher: its KD to the teacher ends lower than without it
      const plain = yield* Trainer.train(student, { train, validation }, { ...options, shuffle: false })
      const kdTo = (m: ModelArtifact.Model) =>
        tf.tidy(() => Loss.distillation(Forward.logits(m, train.x), Forward.logits(teacher, train.x), 2).dataSync()[0])
      assert.isBelow(kdTo(native.model), 0.8 * kdTo(plain.model))
    }))

  it.effect("trains BatchNormalization (moving statistics by Keras's momentum rule) and Dropout, the same on both engines", () =>
    Effect.gen(function*() {
      const spec = Schema.decodeUnknownSync(ModelSpec)({
        inputShape: [32, 32, 3],
        layers: [
          { _tag: "rescaling", scale: 1 / 255 }, { _tag: "conv2d", filters: 8, kernelSize: 3 }, { _tag: "batchNormalization", momentum: 0.9 },
          { _tag: "activation", activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 }, { _tag: "flatten" },
          { _tag: "dropout", rate: 0.25 }, { _tag: "dense", units: 10 }
        ]
      })
      const init = Init.initialize(spec, 8)
      const small = { x: tf.slice(train.x, 0, 64), y: tf.slice(train.y, 0, 64) }
      const run = (engine: Trainer.Engine) => Trainer.train(init, { train: small, validation }, { ...options, epochs: 1, engine })
      const native = yield* run("native")
      const tfjs = yield* run("tfjs")
      assert.closeTo(native.epochs[0].trainLoss, tfjs.epochs[0].trainLoss, 1e-4)
      assert.closeTo(native.epochs[0].valLoss, tfjs.epochs[0].valLoss, 1e-3)
      const stat = (m: ModelArtifact.Model, name: string) => m.weights.find((w) => w.name === name)!.values
      // one step on one batch of 64: moving ← 0.9·moving + 0.1·batch statistic (mean 0, variance 1 initially), the
      // statistics of the conv output under the initial weights (the step's forward pass precedes its update)
      const one = yield* Trainer.train(init, { train: small, validation }, { ...options, epochs: 1, batchSize: 64 })
      const expected = tf.tidy(() => {
        const params = Forward.paramsOf(init)
        const z = Forward.apply(spec, params, small.x, { to: 2 })
        const { mean, variance } = tf.moments(z, [0, 1, 2])
        const out = { mean: mean.mul(0.1).dataSync() as Float32Array, variance: variance.mul(0.1).add(0.9).dataSync() as Float32Array }
        Forward.disposeParams(params)
        return out
      })
      const movingMean = stat(one.model, "batchNormalization_2/movingMean")
      assert.isAbove(maxAbs(movingMean), 1e-3)
      assert.isBelow(maxAbsDiff(movingMean, expected.mean), 1e-6)
      assert.isBelow(maxAbsDiff(stat(one.model, "batchNormalization_2/movingVariance"), expected.variance), 1e-6)
      // and the engines keep them alike over an epoch
      const m = stat(native.model, "batchNormalization_2/movingMean")
      assert.isBelow(maxAbsDiff(m, stat(tfjs.model, "batchNormalization_2/movingMean")), 0.01 * maxAbs(m))
      tf.dispose([small.x, small.y])
    }))

  it.effect("a NaN in the inputs stops training with TrainingDiverged and frees every tensor", () =>
    Effect.gen(function*() {
      // an MLP: NaN propagates through Dense layers (TensorFlow's MaxPool skips NaN, so a CNN would turn a NaN image
      // into finite values; divergence of the weights themselves is caught either way, see the stage test)
      const before = tf.memory().numTensors
      const x = tf.tidy(() => {
        const clean = tf.randomUniform([256, 1024], 0, 255, "float32", 4)
        const poison = tf.cast(tf.reshape(tf.oneHot(tf.tensor1d([70], "int32"), 256), [256, 1]), "bool")
        return tf.where(tf.tile(poison, [1, 1024]), tf.fill([256, 1024], Number.NaN), clean)
      })
      const data = { x, y: train.y }
      const flat = { x: tf.tidy(() => tf.slice(tf.reshape(validation.x, [128, -1]), [0, 0], [128, 1024])), y: validation.y }
      const run = (engine: Trainer.Engine) =>
        Trainer.train(Init.initialize(Zoo.mlpSmall, 1), { train: data, validation: flat }, { ...options, shuffle: false, checkEvery: 2, engine }).pipe(Effect.flip)
      const error = yield* run("native")
      assert.strictEqual(error._tag, "TrainingDiverged")
      assert.strictEqual(error.epoch, 1)
      // row 70 is in batch 3 (rows 64–95); the loss is read every 2 batches
      assert.strictEqual(error.batch, 4)
      assert.isTrue(Number.isNaN(error.value))
      // the graph step's fused ReLU maps a NaN input to 0, so the bad batch's own loss stays finite, but its NaN
      // gradient poisons the weights and the next losses: divergence is still caught within the epoch
      const graphError = yield* run("graph")
      assert.strictEqual(graphError._tag, "TrainingDiverged")
      assert.strictEqual(graphError.epoch, 1)
      assert.isAtLeast(graphError.batch, 4)
      assert.isTrue(Number.isNaN(graphError.value))
      tf.dispose([x, flat.x])
      assert.strictEqual(tf.memory().numTensors, before)
    }))
})
