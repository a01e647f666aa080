/**
 * bf16-mixed training (Precision.ts, src/graph): the fp32 step graphs are byte-identical to those built before mixed
 * precision existed; the bf16 graph keeps weights, Adam's slots, the loss and the logits in float32 and computes the
 * layers in bfloat16; it trains on real CIFAR-10; its forward pass is within a bfloat16 tolerance of the float32 one;
 * its rewrites (ReLU after pooling, weight gradients as forward convolutions, bias gradients by Sum) compute the
 * same gradients; nothing leaks; engines other than graph refuse it with an error naming the param.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import { decodeModelSpec, type ModelSpec } from "@growlab/core/ModelSpec"
import { runStage } from "@growlab/core/StageContext"
import * as Forward from "../src/Forward.js"
import * as Init from "../src/Init.js"
import * as Precision from "../src/Precision.js"
import * as Trainer from "../src/Trainer.js"
import { Params, trainStage } from "../src/TrainStage.js"
import * as Zoo from "../src/Zoo.js"
import { makeGraphStep, type GraphStep, type GraphStepOptions } from "../src/graph/GraphTrainer.js"
import { DT, type Attr, type NodeDef } from "../src/graph/Proto.js"
import { buildTrainStep, defaultStepOptions, savedModelDir } from "../src/graph/TrainStepGraph.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTest, cifarTrain } from "./support/cifar.js"
import { maxAbs, maxAbsDiff } from "./support/compare.js"
import { digests, mixedSpec } from "./support/stepGraphCases.js"

Backend.ensureNativeSync()

const bf16: GraphStepOptions = { precision: "bf16-mixed" }
const params = (s: ModelSpec, seed: number): Map<string, tf.Tensor> => Forward.paramsOf(Init.initialize(s, seed))
const dispose = Forward.disposeParams

/** A graph step's result, disposing the step afterwards. */
const using = <A>(step: GraphStep, f: (s: GraphStep) => A): A => {
  try {
    return f(step)
  } finally {
    step.dispose()
  }
}

/** How many values of `a` that differ from `start` are bfloat16 numbers (low 16 bits zero), and how many differ. */
const bf16Moved = (a: Float32Array, start: Float32Array): { readonly moved: number; readonly representable: number } => {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length)
  let moved = 0
  let representable = 0
  a.forEach((v, i) => {
    if (v === start[i]) return
    moved++
    if ((bits[i] & 0xffff) === 0) representable++
  })
  return { moved, representable }
}

const typeAttr = (n: NodeDef, key: string): number | undefined => {
  const a: Attr | undefined = n.attrs[key]
  return a?.kind === "type" ? a.value : undefined
}

describe("mixed precision (bf16-mixed)", () => {
  it("leaves every fp32 step graph byte-identical to before mixed precision (sha256 of saved_model.pb, 24 cases)", () => {
    const expected = JSON.parse(readFileSync(new URL("./fixtures/fp32-step-graphs.json", import.meta.url), "utf8")) as Record<string, string>
    assert.deepStrictEqual(digests(), expected)
    // and "fp32" spelled out is the same graph as the default
    assert.strictEqual(
      Buffer.compare(Buffer.from(buildTrainStep(Zoo.cnnSmall, { ...defaultStepOptions, precision: "fp32" }).savedModel), Buffer.from(buildTrainStep(Zoo.cnnSmall, { ...defaultStepOptions, precision: undefined }).savedModel)),
      0)
  })

  it("bf16 graph: float32 variables, Adam, loss and logits; bfloat16 layers; one cast per weight, gradient and boundary", () => {
    const graph = buildTrainStep(Zoo.cnnSmall, { ...defaultStepOptions, precision: "bf16-mixed" })
    const byName = new Map(graph.nodes.map((n) => [n.name, n]))
    const ofOp = (op: string) => graph.nodes.filter((n) => n.op === op)
    const weights = graph.weights.length
    // master weights and both Adam slots are float32 resource variables, updated by a float32 ResourceApplyAdam
    assert.strictEqual(ofOp("VarHandleOp").length, 3 * weights)
    for (const v of ofOp("VarHandleOp")) assert.strictEqual(typeAttr(v, "dtype"), DT.float, v.name)
    assert.strictEqual(ofOp("ResourceApplyAdam").length, weights)
    for (const a of ofOp("ResourceApplyAdam")) {
      assert.strictEqual(typeAttr(a, "T"), DT.float)
      const grad = byName.get(a.inputs[9])!
      assert.deepStrictEqual([grad.op, typeAttr(grad, "SrcT"), typeAttr(grad, "DstT")], ["Cast", DT.bfloat16, DT.float], a.name)
    }
    // the layers compute in bfloat16
    for (const op of ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul", "BiasAdd", "MaxPool", "MaxPoolGrad", "Relu", "ReluGrad"]) {
      const nodes = ofOp(op)
      assert.isAbove(nodes.length, 0, op)
      for (const n of nodes) assert.strictEqual(typeAttr(n, "T"), DT.bfloat16, n.name)
    }
    // softmax cross-entropy on float32 logits cast from the bfloat16 ones
    const [sce] = ofOp("SparseSoftmaxCrossEntropyWithLogits")
    assert.strictEqual(typeAttr(sce, "T"), DT.float)
    assert.deepStrictEqual([typeAttr(byName.get(sce.inputs[0])!, "SrcT"), typeAttr(byName.get(sce.inputs[0])!, "DstT")], [DT.bfloat16, DT.float])
    // casts down: every weight once (shared by forward and backward), the input once, dLogits once;
    // casts up: every gradient, the logits
    const casts = ofOp("Cast")
    const count = (from: number, to: number) => casts.filter((c) => typeAttr(c, "SrcT") === from && typeAttr(c, "DstT") === to).length
    assert.strictEqual(count(DT.float, DT.bfloat16), weights + 2)
    assert.strictEqual(count(DT.bfloat16, DT.float), weights + 1)
    // a bfloat16 BiasAddGrad only where oneDNN fuses it into Conv2DBackpropFilter (same dz input)
    for (const b of ofOp("BiasAddGrad")) {
      assert.isTrue(ofOp("Conv2DBackpropFilter").some((f) => f.inputs[2] === b.inputs[0]), b.name)
    }
  })

  it("the bf16 SavedModel's signatures take and give float32 weights and Adam slots (as TensorFlow reads the file)", async () => {
    const dir = savedModelDir(Zoo.cnnSmall, { ...defaultStepOptions, precision: "bf16-mixed" })
    const node = createRequire(import.meta.url)("@tensorflow/tfjs-node") as typeof import("@tensorflow/tfjs-node")
    const [meta] = await node.node.getMetaGraphsFromSavedModel(dir)
    const sigs = meta.signatureDefs
    for (const kind of ["w", "m", "v"]) {
      const inputs = Object.values(sigs[`assign_${kind}`].inputs)
      assert.strictEqual(inputs.length, 10)
      for (const i of inputs) assert.strictEqual(i.dtype, "float32")
    }
    for (const o of Object.values(sigs.read.outputs)) assert.strictEqual(o.dtype, "float32")
    assert.strictEqual(sigs.train_step.inputs.x.dtype, "float32")
    assert.strictEqual(sigs.train_step.outputs.loss.dtype, "float32")
    assert.strictEqual(sigs.predict.outputs.logits.dtype, "float32")
  })

  it.effect("trains the small CNN on real CIFAR-10 (loss falls), keeps float32 master weights in the model artifact, leaks nothing", () =>
    Effect.gen(function*() {
      const train = toTensors(cifarTrain(1024))
      const validation = toTensors(cifarTest(256))
      const before = tf.memory().numTensors
      const init = Init.initialize(Zoo.cnnSmall, 1)
      const run = (precision: Precision.Precision) => Trainer.train<Precision.Precision>(init, { train, validation }, {
        epochs: 3, batchSize: 32, learningRate: 1e-3, lrDecay: 0.5, seed: 1, precision
      })
      const result = yield* run("bf16-mixed")
      assert.strictEqual(tf.memory().numTensors, before)
      const reference = yield* run("fp32")
      tf.dispose([train.x, train.y, validation.x, validation.y])
      assert.strictEqual(result.engine, "graph")
      const losses = result.epochs.map((e) => e.trainLoss)
      // observed (1,024 images, seed 1): train loss 2.289, 2.144, 1.992 (fp32: 2.292, 2.160, 2.013); validation
      // accuracy 0.164, 0.215, 0.238 (fp32 0.246; chance 0.1)
      assert.isBelow(losses[0], Math.log(10))
      assert.isBelow(losses[2], losses[0] - 0.2)
      assert.isAbove(result.epochs[2].valAccuracy, 0.2)
      assert.isBelow(Math.abs(losses[2] - reference.epochs[2].trainLoss), 0.1)
      // master weights: float32 values that moved from the init, almost none of them bfloat16 numbers (a bfloat16
      // master copy would make every one a bfloat16 number; by chance 1 in 65,536 is)
      for (const w of result.model.weights) {
        assert.instanceOf(w.values, Float32Array)
        const start = init.weights.find((v) => v.name === w.name)!.values
        const { moved, representable } = bf16Moved(w.values, start)
        assert.isAbove(moved, 0.5 * w.values.length, w.name)
        assert.isAtMost(representable, 1 + 0.001 * moved, w.name)
      }
    }))

  it("master weights move by updates below bfloat16 resolution (Adam's first step moves each weight by lr)", () => {
    const init = params(Zoo.cnnSmall, 2)
    const x = tf.tidy(() => tf.floor(tf.randomUniform([32, 32, 32, 3], 0, 256, "float32", 5)))
    const y = tf.randomUniform([32], 0, 10, "int32", 6)
    const lr = 1e-6 // bfloat16 spacing near |w| = 0.05 is 2.4e-4: a bfloat16 master weight could not move by lr
    const after = using(makeGraphStep(Zoo.cnnSmall, init, bf16), (gs) => {
      gs.step(x, y, lr)
      return gs.weights()
    })
    // Adam's first step is lr·m̂/(√v̂ + ε) = lr·sign(g) wherever |g| ≫ ε (0 where a unit is dead: g = 0), up to
    // the float32 rounding of w + Δ (≤ 3 % of lr for |w| ≤ 0.3)
    for (const [name, w0] of init) {
      const d = tf.tidy(() => tf.abs(tf.sub(after.get(name)!, w0)))
      assert.isAtLeast(maxAbs(d), 0.95 * lr, name)
      assert.isAtMost(maxAbs(d), 1.05 * lr, name)
      d.dispose()
    }
    // every first-layer kernel weight has a gradient, so every one of them moved (observed: all by ≥ 0.946·lr)
    const first = tf.tidy(() => tf.min(tf.abs(tf.sub(after.get("conv2d_1/kernel")!, init.get("conv2d_1/kernel")!))).dataSync()[0])
    assert.isAtLeast(first, 0.5 * lr)
    dispose(init)
    dispose(after)
    tf.dispose([x, y])
  })

  it("logits of the bf16 forward are within bfloat16 tolerance of float32 (same weights, real images)", () => {
    const data = toTensors(cifarTrain(512))
    for (const spec of [Zoo.cnnSmall, Zoo.cnnLarge2]) {
      const init = params(spec, 1)
      // train a little in float32 so that the logits are not tiny
      const weights = using(makeGraphStep(spec, init), (gs) => {
        for (let i = 0; i < 30; i++) tf.tidy(() => gs.step(tf.slice(data.x, (i % 16) * 32, 32), tf.slice(data.y, (i % 16) * 32, 32), 1e-3))
        return gs.weights()
      })
      const x = tf.slice(data.x, 0, 256)
      const [l32, l16] = [undefined, bf16].map((o) => using(makeGraphStep(spec, weights, o), (gs) => gs.predict(x)))
      // bfloat16 keeps 8 significant bits (relative rounding ≤ 2^-9 per value); through 5 layers the logits
      // differ by ≤ 1.1 % of max(1, max |logits|) (observed, 4 spec/seed pairs); the tolerance is 3 %
      const scale = Math.max(1, maxAbs(l32))
      assert.isBelow(maxAbsDiff(l32, l16) / scale, 0.03, spec.name)
      assert.isAbove(maxAbsDiff(l32, l16), 0, "bf16 really computes in bfloat16")
      const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(l32, 1), tf.argMax(l16, 1)), "float32")).dataSync()[0])
      assert.isAtLeast(agree, 0.97, spec.name)
      tf.dispose([x, l32, l16])
      dispose(init)
      dispose(weights)
    }
    tf.dispose([data.x, data.y])
  })

  it("the bf16 rewrites compute the same gradients: weight gradient as a forward conv (exact in float32), ReLU after pooling, bias by Sum", () => {
    const data = toTensors(cifarTrain(64))
    const cases: Array<[ModelSpec, tf.Tensor, tf.Tensor]> = [
      [Zoo.cnnSmall, tf.slice(data.x, 0, 32), tf.slice(data.y, 0, 32)],
      [mixedSpec, tf.tidy(() => tf.floor(tf.randomUniform([16, 12, 12, 3], 0, 256, "float32", 7))), tf.randomUniform([16], 0, 4, "int32", 8)]
    ]
    for (const [spec, x, y] of cases) {
      const init = params(spec, 3)
      const grads = (o: GraphStepOptions) => using(makeGraphStep(spec, init, o), (gs) => gs.probe("gradients", x, y))
      const names = buildTrainStep(spec, defaultStepOptions).weights.map((w) => w.name)
      const compare = (a: Array<tf.Tensor>, b: Array<tf.Tensor>, tolerance: number, what: string) => {
        names.forEach((n, i) => assert.isAtMost(maxAbsDiff(a[i + 1], b[i + 1]) / Math.max(maxAbs(b[i + 1]), 1e-12), tolerance, `${spec.name} ${n} ${what}`))
      }
      // float32: the forward-conv weight gradient is Conv2DBackpropFilter's up to summation order (observed 8.6e-7)
      const [plain32, conv32] = [grads({}), grads({ filterGradAsConv: true })]
      compare(conv32, plain32, 1e-5, "fp32 filterGradAsConv")
      // bfloat16: with and without the rewrites, within one bfloat16 rounding of the largest gradient (observed ≤ 4e-4)
      const [plain16, rewritten16] = [grads({ ...bf16, filterGradAsConv: false, reorderReluPool: false }), grads(bf16)]
      compare(rewritten16, plain16, 2 ** -8, "bf16 rewrites")
      assert.isAbove(Math.max(...names.map((_, i) => maxAbsDiff(plain32[i + 1], plain16[i + 1]))), 0, "bf16 gradients differ from fp32")
      tf.dispose([...plain32, ...conv32, ...plain16, ...rewritten16, x, y])
      dispose(init)
    }
    tf.dispose([data.x, data.y])
  })

  it("every supported layer kind trains in bf16 (loss falls on a fixed batch) and a step leaks no tensor", () => {
    const init = params(mixedSpec, 4)
    const x = tf.tidy(() => tf.floor(tf.randomUniform([24, 12, 12, 3], 0, 256, "float32", 9)))
    const y = tf.randomUniform([24], 0, 4, "int32", 10)
    const curve = (options: GraphStepOptions) => using(makeGraphStep(mixedSpec, init, options), (gs) => {
      gs.step(x, y, 1e-2)
      const first = gs.loss()
      const before = tf.memory().numTensors
      for (let i = 0; i < 30; i++) tf.tidy(() => gs.step(x, y, 1e-2))
      assert.strictEqual(tf.memory().numTensors, before)
      return { precision: gs.precision, first, last: gs.loss() }
    })
    const [b16, f32] = [curve(bf16), curve({})]
    // observed: 1.379 → 0.898 (fp32: 1.379 → 0.900)
    assert.strictEqual(b16.precision, "bf16-mixed")
    assert.isBelow(b16.last, 0.75 * b16.first)
    assert.isBelow(Math.abs(b16.last - f32.last), 0.05)
    dispose(init)
    tf.dispose([x, y])
  })

  it.effect("engines other than graph refuse bf16-mixed with PrecisionUnsupported naming the param", () =>
    Effect.gen(function*() {
      const train = toTensors(cifarTrain(64))
      const validation = toTensors(cifarTest(32))
      const options: Trainer.Options<Precision.Precision> = { epochs: 1, batchSize: 32, learningRate: 1e-3, lrDecay: 1, seed: 1, precision: "bf16-mixed" }
      const native = yield* Effect.flip(Trainer.train(Init.initialize(Zoo.cnnSmall, 1), { train, validation }, { ...options, engine: "native" }))
      assert.instanceOf(native, Precision.PrecisionUnsupported)
      assert.include(native, { field: "precision", actual: `"bf16-mixed"`, engine: "native", reason: `the engine option is "native"` })
      const dropout = yield* decodeModelSpec({
        inputShape: [32, 32, 3], layers: [{ _tag: "flatten" }, { _tag: "dropout", rate: 0.5 }, { _tag: "dense", units: 10 }]
      })
      const fallback = yield* Effect.flip(Trainer.train(Init.initialize(dropout, 1), { train, validation }, options))
      assert.instanceOf(fallback, Precision.PrecisionUnsupported)
      if (fallback._tag === "PrecisionUnsupported") {
        assert.strictEqual(fallback.engine, "native")
        assert.include(fallback.reason, "dropout")
      }
      assert.throws(() => Trainer.makeSession(Init.initialize(Zoo.cnnSmall, 1), { engine: "tfjs", precision: "bf16-mixed", learningRate: 1e-3 }), /precision "bf16-mixed" needs engine "graph"/)
      tf.dispose([train.x, train.y, validation.x, validation.y])
    }))

  it.scoped("the train stage: precision defaults to fp32, is recorded in the metrics info, and fails naming params.precision", () =>
    Effect.gen(function*() {
      assert.strictEqual(Schema.decodeUnknownSync(Params)({}).precision, "fp32")
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-mixed-precision-" })
      yield* DatasetArtifact.write(`${dir}/train.arrow`, cifarTrain(128))
      yield* DatasetArtifact.write(`${dir}/test.arrow`, cifarTest(64))
      const inputs = { train: `${dir}/train.arrow`, validation: `${dir}/test.arrow` }
      yield* runStage(trainStage, { spec: Zoo.cnnSmallEncoded, epochs: 1, precision: "bf16-mixed" }, { outDir: `${dir}/bf16`, inputs, log: () => {} })
      const metrics = yield* MetricsArtifact.read(`${dir}/bf16/metrics.arrow`)
      assert.strictEqual(metrics.info.precision, "bf16-mixed")
      assert.strictEqual(metrics.info.engine, "graph")
      const failure = yield* Effect.flip(runStage(trainStage, { spec: Zoo.cnnSmallEncoded, epochs: 1, precision: "bf16-mixed", engine: "native" }, { outDir: `${dir}/native`, inputs, log: () => {} }))
      assert.include(JSON.stringify(failure), "params.precision")
      assert.isFalse(yield* fs.exists(`${dir}/native/metrics.arrow`))
    }).pipe(Effect.provide(NodeContext.layer)))
})
