/**
 * Graph-mode training: one TensorFlow session run per training step (forward, backward and Adam in one graph; see
 * TrainStepGraph.ts), through the SavedModel session interface tfjs-node binds (TF_LoadSessionFromSavedModel /
 * TF_SessionRun). Versus the eager path (≈ 300 tfjs→TF dispatches per step) this is one call per step, and TF's
 * graph optimizer (Grappler: Conv2D+BiasAdd+Relu fusion, oneDNN layouts) and inter-op parallelism apply.
 *
 * The same math as an eager step with `tf.variableGrads` over `Forward.apply(spec, params, x, {training: true})`
 * (the objective of Loss.ts) and `tf.train.adam(lr, β1, β2, ε)`: same losses and weights within float rounding
 * (see test/GraphTrainer.test.ts and README.md for the measured differences per variant).
 *
 * Data never goes through JavaScript: x, y and the state are TensorFlow-resident tensors (the session shares their
 * buffers). Requires the 'tensorflow' backend (tfjs-node).
 *
 * `precision: "bf16-mixed"` builds the bfloat16 step graph (Keras's mixed_bfloat16; README.md "Mixed precision"):
 * the same interface, float32 weights and slots in and out; only the layers' arithmetic is bfloat16.
 */
import * as tf from "@tensorflow/tfjs"
import type { ModelSpec } from "@growlab/core/ModelSpec"
import * as StepGraph from "./TrainStepGraph.js"

export { supports, unsupportedReason, type Precision, type StepLoss, type Variant } from "./TrainStepGraph.js"

export interface GraphStepOptions {
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
  /** "ce" (default) or distillation `{kd: {teacherWeight, labelWeight, temperature}}` (Loss.ts's a·KD + b·CE). */
  readonly loss?: StepGraph.StepLoss
  /**
   * "stateful" (default, fastest): weights and Adam slots are resource variables inside the session, updated in place
   * by the fused ResourceApplyAdam (tf.train.adam's formula with ε_t = ε·sqrt(1−β2^t); float rounding differs).
   * "flat" / "stateless": weights and slots fed and fetched each step (as three flat vectors / one tensor per weight)
   * with Adam in tf.train.adam's exact op sequence (bit-for-bit tf.train.adam's update for the same gradients).
   */
  readonly variant?: StepGraph.Variant
  /** Compute relu(maxpool(z)) where a ReLU layer precedes a max-pool (same values and gradients). Default: true in bf16-mixed only. */
  readonly reorderReluPool?: boolean
  /** Small VALID stride-1 conv weight gradients as forward convolutions (TrainStepGraph.ts). Default: true in bf16-mixed only. */
  readonly filterGradAsConv?: boolean
  /**
   * "fp32" (default) or "bf16-mixed": layers compute in bfloat16 (Keras's `mixed_bfloat16`), while the weights
   * (`weights()`, `setWeights`), Adam's slots, the loss and the logits of `predict` stay float32.
   */
  readonly precision?: StepGraph.Precision
  /** Where step graphs are cached (default $GROWLAB_GRAPH_CACHE or <tmpdir>/growlab-graphs). */
  readonly cacheDir?: string
}

/** Teacher targets of the batch's rows (Loss.teacherTargets): probabilities [n, k] and entropies [n]. */
export interface TeacherBatch {
  readonly probs: tf.Tensor
  readonly entropy: tf.Tensor
}

export interface GraphStep {
  readonly spec: ModelSpec
  /** Trainable weight names in spec order (without BatchNormalization's moving statistics, which `weights()` includes). */
  readonly weightNames: ReadonlyArray<string>
  readonly variant: StepGraph.Variant
  readonly precision: StepGraph.Precision
  /** Number of steps taken (Adam's t). */
  readonly steps: number
  /**
   * One training step on x (float32 [n, ...inputShape], raw inputs) and y (int32 [n]) at learning rate `lr`;
   * any n ≥ 1 (the last, smaller batch of an epoch included). `teacher` is required when distilling.
   */
  step(x: tf.Tensor, y: tf.Tensor, lr: number, teacher?: TeacherBatch): void
  /**
   * The objective and the number of correct argmax predictions of the last step's batch (before its update), as
   * scalar tensors owned by this GraphStep: valid until the next step (tf.clone them to keep).
   */
  last(): { readonly loss: tf.Scalar; readonly correct: tf.Scalar }
  /** The last step's objective, read back (a device sync: call rarely). NaN before the first step. */
  loss(): number
  /** Copies of the current weights (moving statistics included), by name in spec order (the caller owns them). */
  weights(): Map<string, tf.Tensor>
  /**
   * Replaces the weights, moving statistics included (copied). `resetOptimizer` (default false) also zeroes Adam's
   * slots and t.
   */
  setWeights(weights: ReadonlyMap<string, tf.Tensor>, resetOptimizer?: boolean): void
  /** Logits of x (inference mode) with the current weights; the caller owns the result. */
  predict(x: tf.Tensor): tf.Tensor
  /**
   * Profiling: runs part of the step graph on a batch without updating anything: "forward" fetches the objective
   * (forward pass and loss), "gradients" the objective and every weight's float32 gradient (forward and backward).
   * Returns the fetched tensors (the caller disposes them).
   */
  probe(phase: "forward" | "gradients", x: tf.Tensor, y: tf.Tensor, teacher?: TeacherBatch): Array<tf.Tensor>
  dispose(): void
}

interface NodeBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number
  deleteSavedModel(id: number): void
  runSavedModel(id: number, inputs: ReadonlyArray<tf.Tensor>, infos: ReadonlyArray<{ name: string; tfDtype: string }>, outputs: ReadonlyArray<string>): Array<tf.Tensor>
}

const nodeBackend = (): NodeBackend => {
  if (tf.getBackend() !== "tensorflow") throw new Error(`graph training needs the 'tensorflow' backend (tfjs-node), not '${tf.getBackend()}'`)
  return tf.backend() as unknown as NodeBackend
}

interface Info { readonly name: string; readonly tfDtype: string }
const info = (name: string, dtype = "DT_FLOAT"): Info => ({ name: `${name}:0`, tfDtype: dtype })

/** Where a variant keeps weights and Adam slots, and how they are fed to / taken from the session. */
interface Store {
  /** Step feeds after the scalars and teacher targets, and step fetches after loss and correct. */
  readonly feedInfos: ReadonlyArray<Info>
  readonly fetches: ReadonlyArray<string>
  readonly predictInfos: ReadonlyArray<Info>
  feeds(): ReadonlyArray<tf.Tensor>
  predictFeeds(): ReadonlyArray<tf.Tensor>
  /** Takes the step's state outputs (kept tensors). */
  absorb(outs: ReadonlyArray<tf.Tensor>): void
  /** Sets every weight (validated float32 tensors of layout.all, spec order); zeroes the slots when `fresh`. */
  set(weights: ReadonlyArray<tf.Tensor>, fresh: boolean): void
  get(): Map<string, tf.Tensor>
  dispose(): void
}

const flatStore = (layout: StepGraph.WeightLayout): Store => {
  let w: tf.Tensor | undefined
  let m: tf.Tensor | undefined
  let v: tf.Tensor | undefined
  const zeros = () => tf.keep(tf.zeros([layout.flatSize]))
  return {
    feedInfos: [info("w"), info("m"), info("v")],
    fetches: ["out/w:0", "out/m:0", "out/v:0"],
    predictInfos: [info("x"), info("w")],
    feeds: () => [w!, m!, v!],
    predictFeeds: () => [w!],
    absorb: (outs) => {
      tf.dispose([w!, m!, v!])
      ;[w, m, v] = outs
    },
    set: (weights, fresh) => {
      const packed = tf.keep(tf.tidy(() => {
        const parts: Array<tf.Tensor> = []
        layout.segments.forEach((seg, i) => {
          parts.push(tf.reshape(weights[i], [-1]))
          const end = i + 1 < layout.segments.length ? layout.segments[i + 1].offset : layout.flatSize
          if (end > seg.offset + seg.size) parts.push(tf.zeros([end - seg.offset - seg.size]))
        })
        return tf.concat(parts, 0)
      }))
      w?.dispose()
      w = packed
      if (fresh || !m || !v) {
        tf.dispose([m, v].filter((t): t is tf.Tensor => t !== undefined))
        m = zeros()
        v = zeros()
      }
    },
    get: () => new Map(layout.segments.map((seg) => [seg.name, tf.tidy(() => tf.reshape(tf.slice(w!, seg.offset, seg.size), seg.shape as Array<number>))])),
    dispose: () => {
      tf.dispose([w, m, v].filter((t): t is tf.Tensor => t !== undefined))
      w = m = v = undefined
    }
  }
}

const perWeightStore = (names: ReadonlyArray<string>): Store => {
  // state[3i] = w, state[3i + 1] = m, state[3i + 2] = v
  let state: Array<tf.Tensor> = []
  return {
    feedInfos: names.flatMap((n) => [info(`w/${n}`), info(`m/${n}`), info(`v/${n}`)]),
    fetches: names.flatMap((n) => [`out/w/${n}:0`, `out/m/${n}:0`, `out/v/${n}:0`]),
    predictInfos: [info("x"), ...names.map((n) => info(`w/${n}`))],
    feeds: () => state,
    predictFeeds: () => names.map((_, i) => state[3 * i]),
    absorb: (outs) => {
      tf.dispose(state)
      state = [...outs]
    },
    set: (weights, fresh) => {
      const next: Array<tf.Tensor> = []
      weights.forEach((src, i) => {
        next.push(tf.keep(tf.clone(src)))
        if (fresh || state.length === 0) next.push(tf.keep(tf.zerosLike(src)), tf.keep(tf.zerosLike(src)))
        else next.push(state[3 * i + 1], state[3 * i + 2])
      })
      const old = state
      state = next
      old.forEach((t, i) => {
        if (i % 3 === 0 || fresh) t.dispose()
      })
    },
    get: () => new Map(names.map((n, i) => [n, tf.clone(state[3 * i])])),
    dispose: () => {
      tf.dispose(state)
      state = []
    }
  }
}

/** `names`: every weight (assign_w, read); `trainable`: flags of those with Adam slots (assign_m, assign_v). */
const statefulStore = (be: NodeBackend, session: number, names: ReadonlyArray<string>, trainable: ReadonlyArray<boolean>): Store => {
  const slotNames = names.filter((_, i) => trainable[i])
  const assign = (kind: "w" | "m" | "v", values: ReadonlyArray<tf.Tensor>): void => {
    tf.dispose(be.runSavedModel(session, values, (kind === "w" ? names : slotNames).map((n) => info(`set/${kind}/${n}`)), [`out/assigned/${kind}:0`]))
  }
  return {
    feedInfos: [],
    fetches: [],
    predictInfos: [info("x")],
    feeds: () => [],
    predictFeeds: () => [],
    absorb: () => {},
    set: (weights, fresh) => {
      assign("w", weights)
      if (fresh) {
        const zeros = weights.filter((_, i) => trainable[i]).map((t) => tf.zerosLike(t))
        assign("m", zeros)
        assign("v", zeros)
        tf.dispose(zeros)
      }
    },
    get: () => {
      const outs = be.runSavedModel(session, [], [], names.map((n) => `out/w/${n}:0`))
      return new Map(names.map((n, i) => [n, outs[i]]))
    },
    dispose: () => {}
  }
}

/** Loads (building and caching if needed) the training step graph of `spec` and initializes it with `init`. */
export const makeGraphStep = (spec: ModelSpec, init: ReadonlyMap<string, tf.Tensor>, options: GraphStepOptions = {}): GraphStep => {
  const be = nodeBackend()
  const stepOptions: StepGraph.StepGraphOptions = {
    variant: options.variant ?? StepGraph.defaultStepOptions.variant,
    beta1: options.beta1 ?? StepGraph.defaultStepOptions.beta1,
    beta2: options.beta2 ?? StepGraph.defaultStepOptions.beta2,
    epsilon: options.epsilon ?? StepGraph.defaultStepOptions.epsilon,
    loss: options.loss ?? "ce",
    precision: options.precision ?? "fp32",
    ...(options.reorderReluPool === undefined ? {} : { reorderReluPool: options.reorderReluPool }),
    ...(options.filterGradAsConv === undefined ? {} : { filterGradAsConv: options.filterGradAsConv })
  }
  const stateful = stepOptions.variant === "stateful"
  const distill = stepOptions.loss !== "ce"
  const built = StepGraph.buildTrainStep(spec, stepOptions)
  const dir = StepGraph.writeSavedModel(built.savedModel, options.cacheDir)
  const layout = StepGraph.weightLayout(spec)
  const names = layout.weights.map((w) => w.name)
  const allNames = layout.all.map((w) => w.name)
  // A fresh session per GraphStep (tf.node.loadSavedModel would share one session, and its variables, per path).
  const session = be.loadSavedModelMetaGraph(dir, StepGraph.TAG)
  const store = stepOptions.variant === "flat" ? flatStore(layout) : stateful ? statefulStore(be, session, allNames, layout.all.map((w) => !StepGraph.isStatistic(w))) : perWeightStore(names)

  // Feeds: x, y, lr, then c1 = 1 − β1^t, c2 = 1 − β2^t (stateless, flat) or β1^t, β2^t, ε_t (stateful), then the
  // teacher targets when distilling, then the store's state. Fetches: loss, correct, then the store's state.
  const feedInfos = [info("x"), info("y", "DT_INT32"), info("lr"),
    ...(stateful ? [info("b1p"), info("b2p"), info("eps")] : [info("c1"), info("c2")]),
    ...(distill ? [info("probs"), info("entropy")] : []), ...store.feedInfos]
  const fetches = ["out/loss:0", "out/correct:0", ...store.fetches]

  const b1 = Math.fround(stepOptions.beta1)
  const b2 = Math.fround(stepOptions.beta2)
  // β^t as tf.train.adam accumulates it: float32, multiplied by β after each step (starts at β).
  let acc1 = b1
  let acc2 = b2
  let t = 0
  let lastLoss: tf.Scalar | undefined
  let lastCorrect: tf.Scalar | undefined
  let disposed = false
  let initialized = false

  const setWeights = (weights: ReadonlyMap<string, tf.Tensor>, resetOptimizer = false): void => {
    const fresh = resetOptimizer || !initialized
    tf.tidy(() => {
      const values = layout.all.map((w) => {
        const src = weights.get(w.name)
        if (!src) throw new Error(`missing weight ${w.name}`)
        if (src.shape.length !== w.shape.length || src.shape.some((d, i) => d !== w.shape[i])) {
          throw new Error(`weight ${w.name}: shape [${src.shape.join(", ")}], expected [${w.shape.join(", ")}]`)
        }
        return src.dtype === "float32" ? src : tf.cast(src, "float32")
      })
      store.set(values, fresh)
    })
    initialized = true
    if (fresh) {
      acc1 = b1
      acc2 = b2
      t = 0
    }
  }

  const alive = (): void => {
    if (disposed) throw new Error("GraphStep is disposed")
  }

  try {
    setWeights(init, true)
  } catch (e) {
    store.dispose()
    be.deleteSavedModel(session)
    throw e
  }

  return {
    spec,
    weightNames: names,
    variant: stepOptions.variant,
    precision: stepOptions.precision ?? "fp32",
    get steps() {
      return t
    },
    step: (x, y, lr, teacher) => {
      alive()
      if (distill && !teacher) throw new Error("distillation needs the teacher's targets (probs, entropy) for every batch")
      const scalars = stateful
        ? [tf.scalar(lr), tf.scalar(acc1), tf.scalar(acc2), tf.scalar(stepOptions.epsilon * Math.sqrt(1 - acc2))]
        // tf.train.adam: c = 1 − β^t, a float32 op on the float32 β^t.
        : [tf.scalar(lr), tf.scalar(Math.fround(1 - acc1)), tf.scalar(Math.fround(1 - acc2))]
      const xf = x.dtype === "float32" ? x : tf.cast(x, "float32")
      const yi = y.dtype === "int32" ? y : tf.cast(y, "int32")
      let outs: Array<tf.Tensor>
      try {
        outs = be.runSavedModel(session, [xf, yi, ...scalars, ...(distill ? [teacher!.probs, teacher!.entropy] : []), ...store.feeds()], feedInfos, fetches)
      } finally {
        tf.dispose(scalars)
        if (xf !== x) xf.dispose()
        if (yi !== y) yi.dispose()
      }
      for (const o of outs) tf.keep(o)
      lastLoss?.dispose()
      lastCorrect?.dispose()
      lastLoss = outs[0] as tf.Scalar
      lastCorrect = outs[1] as tf.Scalar
      store.absorb(outs.slice(2))
      acc1 = Math.fround(acc1 * b1)
      acc2 = Math.fround(acc2 * b2)
      t++
    },
    last: () => {
      alive()
      if (!lastLoss || !lastCorrect) throw new Error("no step taken yet")
      return { loss: lastLoss, correct: lastCorrect }
    },
    loss: () => lastLoss ? lastLoss.dataSync()[0] : NaN,
    weights: () => {
      alive()
      return store.get()
    },
    setWeights: (weights, resetOptimizer) => {
      alive()
      setWeights(weights, resetOptimizer)
    },
    predict: (x) => {
      alive()
      return be.runSavedModel(session, [x, ...store.predictFeeds()], store.predictInfos, ["out/logits:0"])[0]
    },
    probe: (phase, x, y, teacher) => {
      alive()
      if (distill && !teacher) throw new Error("distillation needs the teacher's targets (probs, entropy) for every batch")
      const fetch = phase === "forward" ? [built.lossNode] : [built.lossNode, ...names.map((n) => built.gradientNodes.get(n)!)]
      const state = stateful ? [] : store.feeds()
      const stateInfos = stateful ? [] : store.feedInfos
      return be.runSavedModel(session, [x, y, ...(distill ? [teacher!.probs, teacher!.entropy] : []), ...state],
        [info("x"), info("y", "DT_INT32"), ...(distill ? [info("probs"), info("entropy")] : []), ...stateInfos], fetch)
    },
    dispose: () => {
      if (disposed) return
      disposed = true
      store.dispose()
      lastLoss?.dispose()
      lastCorrect?.dispose()
      lastLoss = lastCorrect = undefined
      be.deleteSavedModel(session)
    }
  }
}
