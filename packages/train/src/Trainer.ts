/**
 * The training engine: mini-batch Adam on a model spec, with a custom training step (no `model.fit`).
 *
 * - Weights are `tf.variable`s; a step is `tf.variableGrads` over `Forward.apply(spec, variables, x, {training})`
 *   followed by an Adam update, all inside `tf.tidy`.
 * - Data stays on the device: x (float32 [n, ...]) and y (int32 [n]) are single tensors; each epoch draws a
 *   permutation from the seed, uploads it once as an int32 tensor, and each batch is `gather(x, slice(perm))`.
 * - The loss is read back only every `checkEvery` batches (sums stay on the device in between): a NaN or ±Inf
 *   there stops training with `TrainingDiverged` (the sums propagate a non-finite value from any batch).
 * - Learning rate of epoch e (1-based): learningRate · lrDecay^(e−1) (the study: 1e-3, ×0.5 after each epoch).
 * - Adam with Keras's defaults (β1 0.9, β2 0.999, ε 1e-7) and tfjs's update formula (ε added to sqrt(v̂)).
 * - Epoch train loss / accuracy are the means over the epoch's batches weighted by batch size (as Keras reports
 *   them, i.e. measured while the weights change); validation runs after the epoch in inference mode.
 *
 * Three engines compute the same math:
 * - "graph" (default on the 'tensorflow' backend): a whole step — forward, loss, backward, Adam — runs as ONE
 *   TensorFlow graph execution (a SavedModel written by src/graph/, weights, Adam slots and BatchNormalization's
 *   moving statistics living in the session); ≥ 1.0× Keras's throughput. Specs it cannot express (Dropout) fall
 *   back to "native".
 * - "native": eager fused TensorFlow kernels with hand-written gradients, a flat Adam in native ops (internal/native.ts).
 * - "tfjs": tfjs ops and `tf.train.adam`, any backend.
 * Tests check graph == native == tfjs == a tf.LayersModel trained by `model.fit` (losses within float tolerance).
 */
import * as tf from "@tensorflow/tfjs"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as ModelArtifact from "@growlab/core/ModelArtifact"
import type { EpochMetrics } from "@growlab/core/MetricsArtifact"
import { inferShapes, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Progress from "@growlab/core/Progress"
import * as Random from "@growlab/core/Random"
import * as Evaluation from "./Evaluation.js"
import * as Forward from "./Forward.js"
import * as Loss from "./Loss.js"
import * as FlatAdam from "./internal/adam.js"
import * as BatchOps from "./internal/batchOps.js"
import * as Native from "./internal/native.js"
import * as GraphTrainer from "./graph/GraphTrainer.js"
import * as Precision from "./Precision.js"

/** Training produced a non-finite loss. */
export class TrainingDiverged extends Schema.TaggedError<TrainingDiverged>()("TrainingDiverged", {
  epoch: Schema.Number,
  /** Number of batches of the epoch done when the value was read (the bad batch is at most `checkEvery` earlier). */
  batch: Schema.Number,
  quantity: Schema.String,
  value: Schema.Number,
  learningRate: Schema.Number
}) {
  override get message(): string {
    return `${this.quantity} is ${this.value} at epoch ${this.epoch}, batch ${this.batch} (learning rate ${this.learningRate}); ` +
      "lower the learning rate or check the inputs for NaN"
  }
}

export type Engine = "graph" | "native" | "tfjs"

export interface AdamConfig {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

export const defaultAdam: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }

export interface Options<P extends Precision.Precision = "fp32"> {
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  /** Multiplier of the learning rate after each epoch. */
  readonly lrDecay: number
  /** Seeds the shuffling and the dropout masks (weight init is `Init.initialize(spec, seed)`, done by the caller). */
  readonly seed: number
  /** Shuffle the training data every epoch (default true). */
  readonly shuffle?: boolean
  readonly adam?: Partial<AdamConfig>
  /** Distil from the teacher's logits (needs `teacher` data). */
  readonly distill?: Loss.Distill
  /** Default "native" on the 'tensorflow' backend, else "tfjs". */
  readonly engine?: Engine
  /** Default "fp32"; "bf16-mixed" needs the graph engine (Precision.ts): `Options<Precision>` to choose at run time. */
  readonly precision?: P
  /** Batches between loss read-backs (NaN check and progress). Default 50. */
  readonly checkEvery?: number
  /** Batch size of the validation pass (does not change the numbers). Default 500. */
  readonly validationBatchSize?: number
  /** Show a progress bar per epoch on stderr. Default false. */
  readonly progress?: boolean
  readonly onEpoch?: (metrics: EpochMetrics) => void
}

/** Tensors the caller owns: x float32 [n, ...inputShape] (raw pixel values), y int32 [n]. */
export interface Data {
  readonly x: tf.Tensor
  readonly y: tf.Tensor
}

/** Errors of `train` in precision P: PrecisionUnsupported only where P admits a precision other than "fp32". */
export type TrainError<P extends Precision.Precision> = TrainingDiverged | (P extends "fp32" ? never : Precision.PrecisionUnsupported)

/** Learning rate during epoch `epoch` (1-based). */
export const learningRateAt = (options: Pick<Options, "learningRate" | "lrDecay">, epoch: number): number =>
  options.learningRate * Math.pow(options.lrDecay, epoch - 1)

/**
 * The engine that will run: "graph" unless asked otherwise; "native" when the spec has layers the graph step cannot
 * express in `precision` (Dropout); "tfjs" whenever the 'tensorflow' backend is not active.
 */
export const resolveEngine = (engine?: Engine, spec?: ModelSpec, precision: Precision.Precision = "fp32"): Engine => {
  const wanted = engine ?? "graph"
  if (wanted === "tfjs" || !Native.available()) return "tfjs"
  return wanted === "graph" && (spec === undefined || GraphTrainer.supports(spec, { precision })) ? "graph" : "native"
}

/** Why the engine that runs is not "graph" (for PrecisionUnsupported). */
const precisionReason = (engine: Engine | undefined, spec: ModelSpec, precision: Precision.Precision): string =>
  !Native.available() ? "the 'tensorflow' backend is not active"
    : engine !== undefined && engine !== "graph" ? `the engine option is "${engine}"`
    : `the graph step cannot express the spec: ${GraphTrainer.unsupportedReason(spec, { precision }) ?? "unknown"}`

// ---------------------------------------------------------------------------------------------------------------
// Session: the variables, the optimizer and one training step.

/** One batch: x, y, and the teacher's targets for those rows when distilling. */
export interface Batch {
  readonly x: tf.Tensor
  readonly y: tf.Tensor
  readonly teacher?: { readonly logits: tf.Tensor; readonly probs: tf.Tensor; readonly entropy: tf.Tensor }
}

export interface SessionOptions {
  readonly engine?: Engine
  /** Default "fp32"; "bf16-mixed" only on the graph engine (throws PrecisionUnsupported otherwise). */
  readonly precision?: Precision.Precision
  readonly adam?: Partial<AdamConfig>
  readonly distill?: Loss.Distill
  /** Seeds the dropout masks (one seed per step drawn from it). */
  readonly seed?: number
  readonly learningRate: number
}

export interface Session {
  readonly spec: ModelSpec
  readonly engine: Engine
  /** Weight name (`<layer>/<param>`) → variable, in the spec's order. */
  readonly variables: ReadonlyMap<string, tf.Variable>
  learningRate: number
  /** The training objective of a batch (layers in training mode), without gradients or any update. */
  readonly loss: (batch: Batch) => tf.Scalar
  /**
   * Gradients of the objective with respect to the trainable variables (in the trainables' order), its value and the
   * batch's number of correct predictions; updates the BatchNormalization moving statistics, as a step does.
   */
  readonly gradients: (batch: Batch) => { readonly value: tf.Scalar; readonly grads: ReadonlyArray<tf.Tensor>; readonly correct: tf.Scalar }
  /** Applies one Adam update. */
  readonly applyGradients: (grads: ReadonlyArray<tf.Tensor>) => void
  /** One training step; returns the batch's objective and its number of correct predictions (caller disposes). */
  readonly step: (batch: Batch) => { readonly loss: tf.Scalar; readonly correct: tf.Scalar }
  /** Per-example losses and predictions in inference mode. */
  readonly predict: (data: Data, batchSize?: number) => Evaluation.Predictions
  /** The current weights as a model artifact (copies). */
  readonly snapshot: (info: Record<string, unknown>) => ModelArtifact.Model
  readonly dispose: () => void
}

let sessionCounter = 0

const TRAINABLE = new Set(["kernel", "bias", "gamma", "beta"])

export const makeSession = (model: ModelArtifact.Model, options: SessionOptions): Session => {
  const engine = resolveEngine(options.engine, model.spec, options.precision)
  if (engine === "graph") return makeGraphSession(model, options)
  const unsupported = Precision.check(options.precision ?? "fp32", engine, precisionReason(options.engine, model.spec, options.precision ?? "fp32"))
  if (unsupported) throw unsupported
  const native = engine === "native"
  const kernels = native ? "native" as const : "tfjs" as const
  const spec = model.spec
  const adamConfig: AdamConfig = { ...defaultAdam, ...options.adam }
  const prefix = `growlab_train_${process.pid}_${sessionCounter++}`
  const layers = inferShapes(spec)
  const byName = new Map(model.weights.map((w) => [w.name, w]))
  const variables = new Map<string, tf.Variable>()
  const trainables: Array<tf.Variable> = []
  for (const w of layers.flatMap((l) => l.weights)) {
    const source = byName.get(w.name)
    if (!source) throw new Error(`model has no weight ${w.name}`)
    const trainable = TRAINABLE.has(w.param)
    const initial = tf.tensor(source.values, w.shape as Array<number>, "float32")
    const v = tf.variable(initial, trainable, `${prefix}/${w.name}`)
    initial.dispose()
    variables.set(w.name, v)
    if (trainable) trainables.push(v)
  }
  const bnMomentum = new Map(layers.flatMap((l) => l.layer._tag === "batchNormalization" ? [[l.name, l.layer.momentum] as const] : []))
  const dropoutRng = Random.make(options.seed ?? 0, 1001)
  const hasDropout = spec.layers.some((l) => l._tag === "dropout" && l.rate > 0)

  const flatAdam = native ? FlatAdam.make(trainables, adamConfig) : undefined
  const tfAdam = native ? undefined : tf.train.adam(options.learningRate, adamConfig.beta1, adamConfig.beta2, adamConfig.epsilon)

  const objective = (logits: tf.Tensor, batch: Batch): tf.Scalar => {
    const d = options.distill
    if (d && !batch.teacher) throw new Error("distillation needs the teacher's targets in every batch")
    if (native) {
      return d ? Native.distillation(logits, batch.y, batch.teacher!.probs, batch.teacher!.entropy, d) : Native.crossEntropy(logits, batch.y)
    }
    return Loss.objective(logits, batch.y, d, batch.teacher?.logits)
  }

  /** Training-mode forward pass; `updateStats` moves the BatchNormalization statistics (a real step does). */
  const forward = (x: tf.Tensor, updateStats: boolean): tf.Tensor =>
    Forward.apply(spec, variables, x, {
      training: true,
      kernels,
      dropoutSeed: hasDropout ? dropoutRng.int(2 ** 31) : undefined,
      onBatchStats: bnMomentum.size === 0 || !updateStats ? undefined : (layer, mean, variance) => {
        const momentum = bnMomentum.get(layer)!
        for (const [param, stat] of [["movingMean", mean], ["movingVariance", variance]] as const) {
          const v = variables.get(`${layer}/${param}`)!
          v.assign(tf.add(tf.mul(v, momentum), tf.mul(stat, 1 - momentum)))
        }
      }
    })

  const correctOf = (logits: tf.Tensor, y: tf.Tensor): tf.Scalar =>
    (native ? Native.correctCount(logits, y) : tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), "int32"))) as tf.Scalar

  const gradients = (batch: Batch) => {
    let correct: tf.Scalar | undefined
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(batch.x, true)
      correct = tf.keep(correctOf(logits, batch.y))
      return objective(logits, batch)
    }, trainables)
    const list = trainables.map((v) => grads[v.name])
    // `correct` was kept to leave the forward scope; re-own it in the caller's scope so its tidy disposes it
    const owned = tf.clone(correct!) as tf.Scalar
    correct!.dispose()
    return { value, grads: list, correct: owned }
  }

  const session: Session = {
    spec,
    engine,
    variables,
    learningRate: options.learningRate,
    loss: (batch) => tf.tidy(() => objective(forward(batch.x, false), batch)),
    gradients,
    applyGradients: (grads) =>
      tf.tidy(() => {
        if (flatAdam) {
          flatAdam.apply(grads, session.learningRate)
        } else {
          (tfAdam as unknown as { learningRate: number }).learningRate = session.learningRate
          tfAdam!.applyGradients(Object.fromEntries(trainables.map((v, i) => [v.name, grads[i]])) as Record<string, tf.Variable>)
        }
      }),
    step: (batch) =>
      tf.tidy(() => {
        const { value, grads, correct } = gradients(batch)
        session.applyGradients(grads)
        return { loss: value, correct }
      }),
    predict: (data, batchSize) => Evaluation.predict(spec, variables, data.x, data.y, { batchSize, kernels }),
    snapshot: (info) => ({
      spec,
      weights: layers.flatMap((l) => l.weights).map((w) => ({
        name: w.name, layer: w.layer, param: w.param, shape: w.shape,
        values: Float32Array.from(variables.get(w.name)!.dataSync() as Float32Array)
      })),
      info
    }),
    dispose: () => {
      flatAdam?.dispose()
      tfAdam?.dispose()
      for (const v of variables.values()) v.dispose()
    }
  }
  return session
}

const graphOnly = (what: string) => (): never => {
  throw new Error(`the graph engine runs whole steps only: use engine "native" or "tfjs" for ${what}`)
}

/** A session whose step is one TensorFlow graph execution (src/graph/); weights live in the TF session. */
const makeGraphSession = (model: ModelArtifact.Model, options: SessionOptions): Session => {
  const spec = model.spec
  const adam: AdamConfig = { ...defaultAdam, ...options.adam }
  const layers = inferShapes(spec)
  const hasBatchNorm = spec.layers.some((l) => l._tag === "batchNormalization")
  const init = Forward.paramsOf(model)
  let step: GraphTrainer.GraphStep
  try {
    step = GraphTrainer.makeGraphStep(spec, init, {
      beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon, precision: options.precision ?? "fp32",
      loss: options.distill
        ? { kd: { teacherWeight: options.distill.teacherWeight, labelWeight: options.distill.labelWeight, temperature: options.distill.temperature } }
        : "ce"
    })
  } finally {
    Forward.disposeParams(init)
  }
  const withWeights = <A>(f: (weights: Forward.Params) => A): A => {
    const weights = step.weights()
    try {
      return f(weights)
    } finally {
      Forward.disposeParams(weights)
    }
  }
  const session: Session = {
    spec,
    engine: "graph",
    variables: new Map(),
    learningRate: options.learningRate,
    // (the step graph's predict is inference mode; with BatchNormalization the training-mode objective differs, so it
    // runs eagerly on a copy of the weights)
    loss: hasBatchNorm
      ? (batch) => withWeights((w) => tf.tidy(() =>
        Loss.objective(Forward.apply(spec, w, batch.x, { training: true, kernels: "native" }), batch.y, options.distill, batch.teacher?.logits)))
      : (batch) => tf.tidy(() => Loss.objective(step.predict(batch.x), batch.y, options.distill, batch.teacher?.logits)),
    gradients: graphOnly("gradients"),
    applyGradients: graphOnly("applyGradients"),
    step: (batch) => {
      step.step(batch.x, batch.y, session.learningRate, batch.teacher && { probs: batch.teacher.probs, entropy: batch.teacher.entropy })
      const last = step.last()
      return { loss: tf.clone(last.loss), correct: tf.clone(last.correct) }
    },
    predict: (data, batchSize) => withWeights((w) => Evaluation.predict(spec, w, data.x, data.y, { batchSize, kernels: "native" })),
    snapshot: (info) => withWeights((w) => ({
      spec,
      weights: layers.flatMap((l) => l.weights).map((s) => ({
        name: s.name, layer: s.layer, param: s.param, shape: s.shape,
        values: Float32Array.from(w.get(s.name)!.dataSync() as Float32Array)
      })),
      info
    })),
    dispose: () => step.dispose()
  }
  return session
}

// ---------------------------------------------------------------------------------------------------------------
// The epoch loop.

export interface Result {
  readonly model: ModelArtifact.Model
  readonly epochs: ReadonlyArray<EpochMetrics>
  /** Training images per second of each epoch (training steps only, without validation). */
  readonly imagesPerSecond: ReadonlyArray<number>
  readonly engine: Engine
}

export interface Inputs {
  readonly train: Data
  readonly validation: Data
  /** The teacher model (needed when `options.distill` is set). */
  readonly teacher?: ModelArtifact.Model
}

/** The teacher's logits and soft targets for every training example (computed once; the teacher is fixed). */
interface TeacherData {
  readonly logits: tf.Tensor
  readonly probs: tf.Tensor
  readonly entropy: tf.Tensor
}

const teacherData = (teacher: ModelArtifact.Model, x: tf.Tensor, distill: Loss.Distill, ops: BatchOps.BatchOps): TeacherData => {
  const logits = Forward.logits(teacher, x, 500, { kernels: ops.kernels })
  const { probs, entropy } = Loss.teacherTargets(logits, distill.temperature)
  return { logits, probs, entropy }
}

/** Resumes on the next turn of the event loop (setImmediate), where signal handlers run; interruptible meanwhile. */
const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Trains `init` (its spec and weights) on `inputs.train`, validating on `inputs.validation` after every epoch.
 * Fails with TrainingDiverged on a non-finite loss; every tensor it made is disposed however it ends.
 */
export const train = <P extends Precision.Precision = "fp32">(init: ModelArtifact.Model, inputs: Inputs, options: Options<P>): Effect.Effect<Result, TrainError<P>> => {
  const engine = resolveEngine(options.engine, init.spec, options.precision)
  const unsupported = Precision.check(options.precision ?? "fp32", engine, precisionReason(options.engine, init.spec, options.precision ?? "fp32"))
  // (only fails when P admits a precision other than "fp32", where TrainError<P> includes PrecisionUnsupported)
  if (unsupported) return Effect.fail(unsupported as TrainError<P>)
  const ops = BatchOps.forEngine(engine)
  const n = inputs.train.x.shape[0]
  const checkEvery = Math.max(1, options.checkEvery ?? 50)
  const shuffleRng = Random.make(options.seed, 1000)
  let validationLabels: Int32Array = new Int32Array(0)
  const acquire = Effect.sync(() => {
    const session = makeSession(init, { engine, precision: options.precision, adam: options.adam, distill: options.distill, seed: options.seed, learningRate: options.learningRate })
    let teacher: TeacherData | undefined
    try {
      if (options.distill) {
        if (!inputs.teacher) throw new Error("distill is set but no teacher model was given")
        teacher = teacherData(inputs.teacher, inputs.train.x, options.distill, ops)
      }
    } catch (e) {
      session.dispose()
      throw e
    }
    validationLabels = Int32Array.from(inputs.validation.y.dataSync() as Int32Array)
    return { session, teacher }
  })
  const release = ({ session, teacher }: { session: Session; teacher?: TeacherData }) =>
    Effect.sync(() => {
      session.dispose()
      if (teacher) for (const t of [teacher.logits, teacher.probs, teacher.entropy]) t.dispose()
    })

  const runEpoch = (session: Session, teacher: TeacherData | undefined, epoch: number) => Effect.suspend(() => {
    const lr = learningRateAt(options, epoch)
    session.learningRate = lr
    const start = performance.now()
    const order = options.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : Random.permutation(shuffleRng, n)
    const perm = tf.tensor1d(order, "int32")
    const bar = Progress.bar(`epoch ${epoch}/${options.epochs}`, n, { unit: " img", quiet: options.progress !== true })
    let lossSum = 0
    let correctSum = 0
    let seen = 0
    let reported = 0
    let pending: { loss: tf.Tensor; correct: tf.Tensor } | undefined
    let pendingCount = 0
    const batches = Math.ceil(n / options.batchSize)
    const cleanup = Effect.sync(() => {
      perm.dispose()
      if (pending) {
        pending.loss.dispose()
        pending.correct.dispose()
      }
    })
    const loop = Effect.gen(function*() {
      for (let b = 0; b < batches; b++) {
        // back to the event loop before every batch: SIGINT / SIGTERM interrupt a training within one batch
        yield* yieldToEventLoop
        const begin = b * options.batchSize
        const size = Math.min(options.batchSize, n - begin)
        const next = tf.tidy(() => {
          const idx = ops.sliceRows(perm, begin, size)
          const batch: Batch = {
            x: ops.gather(inputs.train.x, idx),
            y: ops.gather(inputs.train.y, idx),
            teacher: teacher && {
              logits: ops.gather(teacher.logits, idx),
              probs: ops.gather(teacher.probs, idx),
              entropy: ops.gather(teacher.entropy, idx)
            }
          }
          const { loss, correct } = session.step(batch)
          const weighted = ops.weigh(loss, size)
          if (!pending) return { loss: weighted, correct }
          return { loss: ops.add(pending.loss, weighted), correct: ops.add(pending.correct, correct) }
        })
        if (pending) {
          pending.loss.dispose()
          pending.correct.dispose()
        }
        pending = next
        pendingCount += size
        if ((b + 1) % checkEvery === 0 || b === batches - 1) {
          const l = pending.loss.dataSync()[0]
          const c = pending.correct.dataSync()[0]
          pending.loss.dispose()
          pending.correct.dispose()
          pending = undefined
          if (!Number.isFinite(l)) {
            return new TrainingDiverged({ epoch, batch: b + 1, quantity: "training loss", value: l, learningRate: lr })
          }
          lossSum += l
          correctSum += c
          seen += pendingCount
          pendingCount = 0
          bar.tick(seen - reported, { loss: lossSum / seen, acc: correctSum / seen })
          reported = seen
        }
      }
      return undefined
    }).pipe(Effect.ensuring(cleanup))
    /** After the epoch's batches: validation, and the epoch's metrics. */
    const validate = () => {
      const trainSeconds = (performance.now() - start) / 1000
      const predictions = session.predict(inputs.validation, options.validationBatchSize ?? 500)
      const val = Evaluation.overallOf(predictions, validationLabels)
      const seconds = (performance.now() - start) / 1000
      const metrics: EpochMetrics = {
        epoch, trainLoss: lossSum / n, trainAccuracy: correctSum / n, valLoss: val.loss, valAccuracy: val.accuracy, seconds, learningRate: lr
      }
      bar.done({ loss: metrics.trainLoss, acc: metrics.trainAccuracy, val_loss: metrics.valLoss, val_acc: metrics.valAccuracy })
      if (!Number.isFinite(val.loss)) {
        return new TrainingDiverged({ epoch, batch: batches, quantity: "validation loss", value: val.loss, learningRate: lr })
      }
      return { metrics, imagesPerSecond: n / trainSeconds }
    }
    return Effect.map(loop, (diverged) => diverged ?? validate())
  })

  return Effect.acquireUseRelease(acquire, ({ session, teacher }) =>
    Effect.gen(function*() {
      const epochs: Array<EpochMetrics> = []
      const speeds: Array<number> = []
      for (let epoch = 1; epoch <= options.epochs; epoch++) {
        const r = yield* runEpoch(session, teacher, epoch)
        if (r instanceof TrainingDiverged) return yield* Effect.fail(r)
        epochs.push(r.metrics)
        speeds.push(r.imagesPerSecond)
        options.onEpoch?.(r.metrics)
      }
      const model = session.snapshot({ ...init.info, trainedEpochs: epochs.length, trainSeed: options.seed })
      return { model, epochs, imagesPerSecond: speeds, engine } satisfies Result
    }), release)
}
