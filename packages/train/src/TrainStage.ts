/**
 * Stage kind `train`: trains a model declared in the params (`spec`) or given as a model artifact (`init`, e.g. a
 * grown model), optionally distilling from a `teacher` model, and writes the trained model and its per-epoch metrics.
 *
 * Inputs: `train` (dataset), `validation` (dataset), `init` (model, optional), `teacher` (model, optional).
 * Outputs: `model` (model.arrow), `metrics` (metrics.arrow).
 * Params (defaults: the study's small-CNN schedule):
 *   spec?         ModelSpec (encoded form); default: the init model's spec (both given: they must be equal)
 *   epochs        10
 *   batchSize     32
 *   learningRate  1e-3     initial Adam learning rate
 *   lrDecay       0.5      learning-rate multiplier after each epoch (1 = constant)
 *   seed          0        weight init (without `init`), shuffling and dropout
 *   shuffle       true
 *   adam          { beta1 0.9, beta2 0.999, epsilon 1e-7 } (Keras's defaults)
 *   distill?      { teacherWeight a, labelWeight b, temperature T = 1 }: loss = a·KD + b·CE (formulas in Loss.ts);
 *                 needs the `teacher` input
 *   engine        "graph" (a whole step as one TensorFlow graph; falls back to "native" for BatchNormalization /
 *                 Dropout) | "native" (eager fused TensorFlow kernels) | "tfjs" (plain tfjs ops); same math
 *   precision     "fp32" | "bf16-mixed" (Keras's mixed_bfloat16: bfloat16 layers, float32 weights, Adam and loss;
 *                 graph engine only, Precision.ts)
 *   checkEvery    50       batches between loss read-backs (NaN check, progress)
 *   validationBatchSize 500
 * A NaN or infinite loss fails the stage with a StageFailure before anything is written.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import { StageFailure } from "@growlab/core/Errors"
import { canonicalJson } from "@growlab/core/Hash"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { ModelSpec, countParams, encodeModelSpec, forwardFlops, inferShapes, inputSize, shapeText } from "@growlab/core/ModelSpec"
import * as Stage from "@growlab/core/Stage"
import * as StageInputs from "@growlab/core/StageInputs"
import * as Init from "./Init.js"
import * as Precision from "./Precision.js"
import * as Trainer from "./Trainer.js"
import { toTensors, type Tensors } from "./internal/tensors.js"

const PositiveInt = Schema.Int.pipe(Schema.positive())
const Positive = Schema.Number.pipe(Schema.positive())

export const Distill = Schema.Struct({
  teacherWeight: Schema.Number.pipe(Schema.nonNegative()),
  labelWeight: Schema.Number.pipe(Schema.nonNegative()),
  temperature: Schema.optionalWith(Positive, { default: () => 1 })
})

export const Adam = Schema.Struct({
  beta1: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.9 }),
  beta2: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.999 }),
  epsilon: Schema.optionalWith(Positive, { default: () => 1e-7 })
})

export const Params = Schema.Struct({
  spec: Schema.optional(ModelSpec),
  epochs: Schema.optionalWith(PositiveInt, { default: () => 10 }),
  batchSize: Schema.optionalWith(PositiveInt, { default: () => 32 }),
  learningRate: Schema.optionalWith(Positive, { default: () => 1e-3 }),
  lrDecay: Schema.optionalWith(Positive, { default: () => 0.5 }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  shuffle: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  adam: Schema.optionalWith(Adam, { default: () => ({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }) }),
  distill: Schema.optional(Distill),
  engine: Schema.optionalWith(Schema.Literal("graph", "native", "tfjs"), { default: () => "graph" as const }),
  precision: Schema.optionalWith(Precision.Precision, { default: () => "fp32" as const }),
  checkEvery: Schema.optionalWith(PositiveInt, { default: () => 50 }),
  validationBatchSize: Schema.optionalWith(PositiveInt, { default: () => 500 })
})
export type Params = typeof Params.Type

const topology = (spec: ModelSpec): string => canonicalJson({ ...encodeModelSpec(spec), name: undefined })

export const trainStage = Stage.make<Params>({
  kind: "train",
  description: "Train a model (from a spec or an init model) with Adam and per-epoch learning-rate decay; optional distillation from a teacher",
  params: Params,
  inputs: {
    train: StageInputs.datasetInput("training examples"),
    validation: StageInputs.datasetInput("examples evaluated after each epoch"),
    init: StageInputs.optionalModelInput("initial weights and spec (e.g. a grown model)"),
    teacher: StageInputs.optionalModelInput("teacher whose logits are distilled (needs params.distill)")
  },
  outputs: {
    model: { description: "the trained model", kind: "model", file: "model.arrow" },
    metrics: { description: "per-epoch loss, accuracy and learning rate (each epoch's seconds go to the manifest's measurements)", kind: "metrics", file: "metrics.arrow" }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      const fail = (reason: string, field?: string, expected?: string, actual?: string) =>
        Effect.fail(new StageFailure({ stage: ctx.stage, reason, field, expected, actual }))
      const backend = yield* Backend.ensureNative
      const trainSet = yield* DatasetArtifact.read(ctx.input("train"))
      const validationSet = yield* DatasetArtifact.read(ctx.input("validation"))
      const initPath = ctx.optionalInput("init")
      const init = initPath ? yield* ModelArtifact.read(initPath) : undefined
      const teacherPath = ctx.optionalInput("teacher")
      const teacher = teacherPath ? yield* ModelArtifact.read(teacherPath) : undefined

      const spec = params.spec ?? init?.spec
      if (!spec) return yield* fail("no model: give params.spec or an init model", "params.spec", "a model spec or the init input", "neither")
      if (params.spec && init && topology(params.spec) !== topology(init.spec)) {
        return yield* fail("params.spec differs from the init model's spec", "params.spec", topology(init.spec), topology(params.spec))
      }
      if (params.distill && !teacher) return yield* fail("params.distill needs a teacher model", "inputs.teacher", "a model artifact", "none")
      if (teacher && !params.distill) return yield* fail("a teacher model was given without params.distill", "params.distill", "{ teacherWeight, labelWeight }", "none")
      if (params.distill && params.distill.teacherWeight + params.distill.labelWeight === 0) {
        return yield* fail("distillation weights are both 0", "params.distill", "teacherWeight + labelWeight > 0", "0")
      }
      const shapes = inferShapes(spec)
      const outputs = shapes[shapes.length - 1].outputShape
      const classes = outputs.length === 1 ? outputs[0] : -1
      for (const [name, d] of [["train", trainSet], ["validation", validationSet]] as const) {
        if (DatasetArtifact.exampleSize(d) !== inputSize(spec)) {
          return yield* fail(`${name} examples do not fit the model input`, `inputs.${name}.shape`, `${shapeText(spec.inputShape)} (or the same size)`, shapeText(d.shape))
        }
        const maxLabel = d.labels.reduce((m, l) => Math.max(m, l), 0)
        if (maxLabel >= classes) return yield* fail(`${name} labels exceed the model's outputs`, `inputs.${name}.label`, `< ${classes}`, String(maxLabel))
      }
      if (teacher) {
        const t = inferShapes(teacher.spec)
        const tOut = t[t.length - 1].outputShape
        if (tOut.join(",") !== outputs.join(",") || inputSize(teacher.spec) !== inputSize(spec)) {
          return yield* fail("teacher does not match the student", "inputs.teacher", `input size ${inputSize(spec)}, outputs ${shapeText(outputs)}`,
            `input size ${inputSize(teacher.spec)}, outputs ${shapeText(tOut)}`)
        }
      }
      const start = init ?? Init.initialize(spec, params.seed)

      const tensors = (d: DatasetArtifact.Dataset) =>
        Effect.acquireRelease(Effect.sync(() => toTensors(d, spec.inputShape)), (t: Tensors) => Effect.sync(() => tf.dispose([t.x, t.y])))
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const train = yield* tensors(trainSet)
        const validation = yield* tensors(validationSet)
        return yield* Trainer.train(start, { train, validation, teacher }, {
          epochs: params.epochs, batchSize: params.batchSize, learningRate: params.learningRate, lrDecay: params.lrDecay,
          seed: params.seed, shuffle: params.shuffle, adam: params.adam, distill: params.distill, engine: params.engine, precision: params.precision,
          checkEvery: params.checkEvery, validationBatchSize: params.validationBatchSize, progress: true,
          onEpoch: (m) => ctx.log(`epoch ${m.epoch}/${params.epochs}: loss ${m.trainLoss.toFixed(4)} acc ${m.trainAccuracy.toFixed(4)} ` +
            `val_loss ${m.valLoss.toFixed(4)} val_acc ${m.valAccuracy.toFixed(4)} (${m.seconds.toFixed(1)} s, lr ${m.learningRate})`)
        })
      })).pipe(Effect.mapError((e) => e._tag === "PrecisionUnsupported"
        ? new StageFailure({ stage: ctx.stage, reason: e.message, field: `params.${e.field}`, expected: e.expected, actual: e.actual })
        : new StageFailure({ stage: ctx.stage, reason: e.message, field: e.quantity, expected: "a finite number", actual: String(e.value) })))

      const forward = forwardFlops(spec)
      const speeds = [...result.imagesPerSecond].sort((a, b) => a - b)
      const info = {
        seed: params.seed,
        spec: spec.name ?? null,
        paramCount: countParams(spec),
        forwardFlopsPerExample: forward,
        flopsPerExample: 3 * forward,
        trainExamples: trainSet.labels.length,
        validationExamples: validationSet.labels.length,
        epochs: params.epochs,
        batchSize: params.batchSize,
        learningRate: params.learningRate,
        lrDecay: params.lrDecay,
        shuffle: params.shuffle,
        optimizer: { name: "adam", ...params.adam },
        loss: params.distill ? { kind: "distillation", ...params.distill } : { kind: "crossEntropy" },
        init: init ? "artifact" : "glorot-uniform",
        engine: result.engine,
        precision: params.precision,
        backend: backend.backend,
        tfVersion: backend.tfVersion
      }
      yield* ModelArtifact.write(ctx.output("model"), {
        ...result.model,
        info: { trainedBy: "train", seed: params.seed, epochs: params.epochs, init: start.info }
      })
      yield* MetricsArtifact.write(ctx.output("metrics"), { epochs: result.epochs, info })
      const last = result.epochs[result.epochs.length - 1]
      ctx.record("finalValAccuracy", last.valAccuracy)
      ctx.record("finalValLoss", last.valLoss)
      ctx.measure("epochSeconds", MetricsArtifact.measurementsOf({ epochs: result.epochs, info }).epochSeconds)
      ctx.measure("imagesPerSecond", result.imagesPerSecond)
      ctx.measure("medianImagesPerSecond", speeds[Math.floor(speeds.length / 2)])
    })
})
