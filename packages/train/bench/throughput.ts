/**
 * Training throughput (images/second of a full training step: batch gather, forward, backward, Adam) for the study's
 * small and large-2 CNNs at batch 32 and 128, in steady state (after warm-up), median of several runs; a breakdown
 * of where a step's time goes; and, when python can import tensorflow, the same models in Keras (`model.fit`,
 * graph mode) in float32 and under the `mixed_bfloat16` policy, measured in the same run, with the ratios to both at
 * the end of each line (`N.NNx Keras`, `N.NNx Keras-bf16`): the median over runs of each run's ratio to the Keras runs
 * right after it (steadier than the ratio of the medians when other processes come and go; that one is printed
 * below each line).
 * --models: small, large2 (the study's CNNs; Keras builds them in the worker below) and resnet20 (CIFAR ResNet-20,
 *            widths 16/32/64: BatchNormalization, projection shortcuts; Keras builds it from the spec with
 *            packages/train/python/keras_spec.py). A precision the graph engine cannot run on a model is skipped
 *            with the reason.
 *
 *   npm run bench:train -- [--runs 5] [--steps 30] [--models small,large2] [--batches 32,128]
 *                          [--engines graph,native,tfjs,fit] [--precisions fp32,bf16-mixed] [--no-keras] [--sweep]
 *                          [--json out.json]
 *
 * --engines: graph (the default training engine: one TensorFlow graph run per step), native (eager fused kernels),
 *            tfjs (the same step in plain tfjs ops and tf.train.adam), fit (a tf.LayersModel trained by model.fit: what
 *            tfjs users get). Default: graph,native. The first one's speed gets the ratios to Keras; each engine that
 *            can be timed by phase prints its breakdown (the graph engine's by running parts of its step graph:
 *            forward = the loss alone, backward = loss and gradients minus forward, Adam = the whole step minus both).
 * --precisions: one line per precision; "bf16-mixed" (Precision.ts) runs on the graph engine only (the others are
 *            fp32-only and left out of its line), beside Keras `mixed_bfloat16`. Default: fp32,bf16-mixed.
 * --graph-options: JSON of GraphTrainer options for the graph engine's step (e.g. '{"reorderReluPool":false,
 *            "filterGradAsConv":false}' times the bf16 graph without its rewrites); the step then runs on a GraphStep
 *            directly (the same call the Trainer's graph session makes).
 * --sweep:   reruns the small CNN at b32 in child processes under TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS /
 *            TF_ENABLE_ONEDNN_OPTS variants (TensorFlow reads them once, at load).
 * Runs interleave (ours, then Keras, run after run) so that load from other processes hits all alike.
 * Python for Keras: $GROWLAB_PYTHON, else .growlab/venv/bin/python3, else python3.
 */
import { spawn, spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { createInterface } from "node:readline"
import { existsSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as Schema from "effect/Schema"
import { encodeModelSpec, forwardFlops, ModelSpec } from "@growlab/core/ModelSpec"
import { resnet } from "@growlab/core/ResNet"
import * as Init from "../src/Init.js"
import * as Layers from "../src/Layers.js"
import type { Precision } from "../src/Precision.js"
import * as Trainer from "../src/Trainer.js"
import * as Zoo from "../src/Zoo.js"
import * as Forward from "../src/Forward.js"
import { makeGraphStep, supports, unsupportedReason, type GraphStepOptions } from "../src/graph/GraphTrainer.js"
import * as BatchOps from "../src/internal/batchOps.js"

const args = process.argv.slice(2)
const flag = (name: string): boolean => args.includes(`--${name}`)
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const runs = Number(opt("runs", "5"))
const steps = Number(opt("steps", "30"))
const models: Record<string, ModelSpec> = {
  small: Zoo.cnnSmall, large2: Zoo.cnnLarge2,
  // CIFAR ResNet-20 (3 blocks per stage, widths 16/32/64, BatchNormalization, projection shortcuts)
  resnet20: Schema.decodeUnknownSync(ModelSpec)(resnet({ blocks: 3, widths: [16, 32, 64] }))
}
const modelNames = opt("models", "small,large2").split(",")
const batches = opt("batches", "32,128").split(",").map(Number)
const engines = opt("engines", "graph,native").split(",") as Array<"graph" | "native" | "tfjs" | "fit">
const precisions = opt("precisions", "fp32,bf16-mixed").split(",") as Array<Precision>
const graphOptions = JSON.parse(opt("graph-options", "{}")) as GraphStepOptions
const customGraph = Object.keys(graphOptions).length > 0
/** Engines that run a precision on a spec (only the graph engine has bf16-mixed, where it supports the spec). */
const enginesFor = (precision: Precision, spec: ModelSpec) =>
  precision === "fp32" ? engines : supports(spec, { precision }) ? engines.filter((e) => e === "graph") : []
const env = (k: string): string => process.env[k] ?? "default"
const settings = `TF_NUM_INTRAOP_THREADS=${env("TF_NUM_INTRAOP_THREADS")} TF_NUM_INTEROP_THREADS=${env("TF_NUM_INTEROP_THREADS")} TF_ENABLE_ONEDNN_OPTS=${env("TF_ENABLE_ONEDNN_OPTS")}`

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

// ---------------------------------------------------------------------------------------------------------------
// growlab's step, exactly as the trainer's epoch loop runs it: slice of a shuffled index, gather, step, loss sums
// on the device read back every 50 batches.
const POOL = 4096

interface Runner {
  /** One timed run of `steps` training steps; images per second. */
  readonly run: () => Promise<number>
  readonly breakdown?: () => Record<string, number>
  readonly dispose: () => void
}

const data = (n: number) => ({
  x: tf.randomUniform([n, 32, 32, 3], 0, 255, "float32", 1),
  y: tf.randomUniform([n], 0, 10, "int32", 2)
})

/** The Trainer's graph session step (GraphStep.step, then copies of the batch's loss and correct count) with other options. */
const graphSession = (spec: ModelSpec, init: ReturnType<typeof Init.initialize>, options: GraphStepOptions): Trainer.Session => {
  const params = Forward.paramsOf(init)
  const gs = makeGraphStep(spec, params, options)
  Forward.disposeParams(params)
  const unsupported = (): never => {
    throw new Error("only step() is timed with --graph-options")
  }
  return {
    spec, engine: "graph", variables: new Map(), learningRate: 1e-3,
    loss: unsupported, gradients: unsupported, applyGradients: unsupported, predict: unsupported, snapshot: unsupported,
    step: (batch) => {
      gs.step(batch.x, batch.y, 1e-3)
      const last = gs.last()
      return { loss: tf.clone(last.loss), correct: tf.clone(last.correct) }
    },
    dispose: () => gs.dispose()
  }
}

const prepareEngine = (spec: ModelSpec, batch: number, engine: Trainer.Engine, precision: Precision): Runner => {
  const { x, y } = data(POOL)
  const init = Init.initialize(spec, 1)
  const session = engine === "graph" && customGraph ? graphSession(spec, init, { ...graphOptions, precision }) : Trainer.makeSession(init, { engine, precision, learningRate: 1e-3 })
  const ops = BatchOps.forEngine(engine)
  const order = Int32Array.from({ length: POOL }, (_, i) => (i * 2654435761) % POOL)
  const perm = tf.tensor1d(order, "int32")
  const perEpoch = Math.floor(POOL / batch)
  let b = 0
  let pending: tf.Tensor | undefined
  const batchAt = (i: number) => {
    const begin = (i % perEpoch) * batch
    const idx = ops.sliceRows(perm, begin, batch)
    return { x: ops.gather(x, idx), y: ops.gather(y, idx) }
  }
  const step = () => {
    const next = tf.tidy(() => {
      const { loss, correct } = session.step(batchAt(b))
      const weighted = ops.weigh(loss, batch)
      const sum = pending ? ops.add(pending, weighted) : weighted
      correct.dispose()
      return sum
    })
    pending?.dispose()
    pending = next
    b++
    if (b % 50 === 0) {
      if (!Number.isFinite(pending.dataSync()[0])) throw new Error("loss is not finite")
      pending.dispose()
      pending = undefined
    }
  }
  for (let i = 0; i < 8; i++) step()
  // where the time goes: each phase timed on its own over `steps` batches (TF eager runs ops synchronously on CPU)
  const phase = (f: (i: number) => void): number => {
    const t0 = performance.now()
    for (let i = 0; i < steps; i++) f(i)
    return (performance.now() - t0) / steps
  }
  return {
    run: async () => {
      const t0 = performance.now()
      for (let i = 0; i < steps; i++) step()
      pending?.dataSync()
      return (steps * batch) / ((performance.now() - t0) / 1000)
    },
    // the graph engine runs a whole step as one TF call: its phases are timed by running parts of the same step
    // graph (a GraphStep with the session's options): the loss alone (forward), the loss and all gradients (+ backward)
    breakdown: session.engine === "graph" ? () => {
      const params = Forward.paramsOf(init)
      const probe = makeGraphStep(spec, params, { ...graphOptions, precision })
      Forward.disposeParams(params)
      try {
        const dataMs = phase((i) => tf.tidy(() => { batchAt(i) }))
        const run = (which: "forward" | "gradients") => (i: number) => tf.tidy(() => {
          const { x: bx, y: by } = batchAt(i)
          const outs = probe.probe(which, bx, by)
          outs[0].dataSync()
          tf.dispose(outs)
        })
        for (let i = 0; i < 5; i++) { run("forward")(i); run("gradients")(i) }
        // the three parts alternate call by call (each call is synchronous: TF_SessionRun returns when the graph has
        // run) and the medians of the single calls are compared, so load from other processes hits them alike
        // (also the process's CPU time per call, all threads: less disturbed by other processes than wall time)
        const calls = { forward: [] as Array<number>, gradients: [] as Array<number>, step: [] as Array<number> }
        const cpu = { data: [] as Array<number>, forward: [] as Array<number>, gradients: [] as Array<number>, step: [] as Array<number> }
        const cpuMs = (): number => {
          const u = process.cpuUsage()
          return (u.user + u.system) / 1000
        }
        const time = (f: () => void, into: Array<number>, cpuInto: Array<number>): void => {
          const c0 = cpuMs()
          const t0 = performance.now()
          f()
          into.push(performance.now() - t0)
          cpuInto.push(cpuMs() - c0)
        }
        for (let i = 0; i < 3 * steps; i++) {
          time(() => tf.tidy(() => { batchAt(i) }), [], cpu.data)
          time(() => run("forward")(i), calls.forward, cpu.forward)
          time(() => run("gradients")(i), calls.gradients, cpu.gradients)
          time(() => step(), calls.step, cpu.step)
        }
        const [forwardMs, gradMs, stepMs] = [median(calls.forward), median(calls.gradients), median(calls.step)]
        // CPU time is additive across calls (means subtract), wall medians drop the calls another process preempted
        const [c0, c1, c2, c3] = [mean(cpu.data), mean(cpu.forward), mean(cpu.gradients), mean(cpu.step)]
        return {
          data: dataMs, forward: forwardMs - dataMs, backward: gradMs - forwardMs, Adam: stepMs - gradMs,
          "CPU data": c0, "CPU forward": c1 - c0, "CPU backward": c2 - c1, "CPU Adam": c3 - c2
        }
      } finally {
        probe.dispose()
      }
    } : () => {
      const dataMs = phase((i) => tf.tidy(() => { batchAt(i) }))
      const forwardMs = phase((i) => tf.tidy(() => { session.loss(batchAt(i)).dataSync() }))
      const gradMs = phase((i) => tf.tidy(() => { session.gradients(batchAt(i)).value.dataSync() }))
      let optimizerMs = 0
      for (let i = 0; i < steps; i++) {
        const grads = tf.tidy(() => session.gradients(batchAt(i)).grads.map((g) => tf.keep(g)))
        const t = performance.now()
        session.applyGradients(grads)
        optimizerMs += (performance.now() - t) / steps
        tf.dispose(grads)
      }
      return { data: dataMs, forward: forwardMs - dataMs, backward: gradMs - forwardMs, optimizer: optimizerMs }
    },
    dispose: () => {
      pending?.dispose()
      session.dispose()
      tf.dispose([x, y, perm])
    }
  }
}

/** tf.LayersModel + model.fit (the path tfjs users get), one epoch over steps·batch images per run. */
const prepareFit = async (spec: ModelSpec, batch: number): Promise<Runner> => {
  const n = steps * batch
  const { x, y } = data(n)
  const oneHot = tf.oneHot(y as tf.Tensor1D, 10)
  const model = Layers.fromArtifact(Init.initialize(spec, 1))
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-7)
  model.compile({ optimizer, loss: (t: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(t, p) })
  const warm = tf.tidy(() => [tf.slice(x, 0, 8 * batch), tf.slice(oneHot, 0, 8 * batch)])
  await model.fit(warm[0], warm[1], { batchSize: batch, epochs: 1, verbose: 0 })
  tf.dispose(warm)
  return {
    run: async () => {
      const t0 = performance.now()
      await model.fit(x, oneHot, { batchSize: batch, epochs: 1, verbose: 0, shuffle: true })
      return n / ((performance.now() - t0) / 1000)
    },
    dispose: () => {
      model.dispose()
      optimizer.dispose()
      tf.dispose([x, y, oneHot])
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keras in a python worker (same environment variables, hence the same thread settings), asked for one timed epoch
// at a time so that its runs interleave with ours and both see the same machine load.
const KERAS = String.raw`
import json, os, sys, time, traceback
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.environ["GROWLAB_KERAS_SPEC_DIR"])
import numpy as np, tensorflow as tf, keras
def cnn(c2, c3, d):
    L = keras.layers
    return keras.Sequential([keras.Input((32, 32, 3)), L.Rescaling(1 / 255), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(c2, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(c3, 3, activation="relu"), L.Flatten(),
        L.Dense(d, activation="relu"), L.Dense(10)])
specs = {"small": (64, 64, 64), "large2": (128, 128, 128)}
policies = {"fp32": "float32", "bf16-mixed": "mixed_bfloat16"}
class Timer(keras.callbacks.Callback):
    def on_train_batch_end(self, b, logs=None): self.t.append(time.perf_counter())
cache = {}
print(json.dumps({"ready": True, "tf": tf.__version__, "keras": keras.__version__}), flush=True)
for line in sys.stdin:
    r = json.loads(line)
    key = (r["model"], r["batch"], r["steps"], r["precision"])
    if key not in cache:
      try:
        n = r["steps"] * r["batch"]
        rng = np.random.default_rng(1)
        x = rng.uniform(0, 255, (n, 32, 32, 3)).astype("float32"); y = rng.integers(0, 10, n)
        # mixed_bfloat16: float32 variables, bfloat16 layer compute; the loss casts the logits to float32
        keras.config.set_dtype_policy(policies[r["precision"]])
        # the study's CNNs as written here; other models (ResNets) from the growlab spec by keras_spec.py
        if r["model"] in specs: m = cnn(*specs[r["model"]])
        else:
            import keras_spec
            m = keras_spec.build(r["spec"])
        keras.config.set_dtype_policy("float32")
        m.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, y, batch_size=r["batch"], epochs=1, verbose=0)
        cache[key] = (m, x, y)
      except Exception as e:
        keras.config.set_dtype_policy("float32")
        print(json.dumps({"error": "".join(traceback.format_exception_only(e)).strip()}), flush=True)
        continue
    m, x, y = cache[key]
    t = Timer(); t.t = []
    m.fit(x, y, batch_size=r["batch"], epochs=1, verbose=0, callbacks=[t])
    skip = 2
    print(json.dumps({"imagesPerSecond": (len(t.t) - 1 - skip) * r["batch"] / (t.t[-1] - t.t[skip]), "jit": str(m.jit_compile),
        "policy": m.layers[1].dtype_policy.name}), flush=True)
`

const python = (): string | undefined => {
  const candidates = [process.env.GROWLAB_PYTHON, ".growlab/venv/bin/python3", "python3"].filter((p): p is string => !!p && (p === "python3" || existsSync(p)))
  for (const p of candidates) {
    const r = spawnSync(p, ["-c", "import tensorflow, keras"], { stdio: "ignore", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" } })
    if (r.status === 0) return p
  }
  return undefined
}

interface KerasWorker {
  readonly version: string
  /** One timed epoch; `error` when the worker cannot build or train the model (e.g. keras_spec.py lacks a layer). */
  readonly epoch: (model: string, batch: number, precision: Precision) => Promise<{ imagesPerSecond: number; jit: string; policy: string; error?: string }>
  readonly close: () => void
}

const startKeras = async (py: string): Promise<KerasWorker> => {
  const specDir = join(dirname(fileURLToPath(import.meta.url)), "..", "python")
  const child = spawn(py, ["-u", "-c", KERAS], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3", GROWLAB_KERAS_SPEC_DIR: specDir }, stdio: ["pipe", "pipe", "ignore"] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const r = await lines.next()
      if (r.done) throw new Error("the Keras worker exited")
      if (r.value.startsWith("{")) return JSON.parse(r.value) as Record<string, unknown>
    }
  }
  const hello = await next()
  return {
    version: `TF ${hello.tf}, Keras ${hello.keras}`,
    epoch: async (model, batch, precision) => {
      child.stdin.write(JSON.stringify({ model, batch, steps, precision, spec: encodeModelSpec(models[model]) }) + "\n")
      return (await next()) as { imagesPerSecond: number; jit: string; policy: string; error?: string }
    },
    close: () => child.stdin.end()
  }
}

// ---------------------------------------------------------------------------------------------------------------
const sweep = () => {
  const variants: Array<Record<string, string>> = [
    {},
    { TF_NUM_INTRAOP_THREADS: "1" },
    { TF_NUM_INTRAOP_THREADS: "2" },
    { TF_NUM_INTRAOP_THREADS: "2", TF_NUM_INTEROP_THREADS: "1" },
    { TF_ENABLE_ONEDNN_OPTS: "0" },
    { TF_ENABLE_ONEDNN_OPTS: "1" }
  ]
  console.log(`sweep: small CNN b32, native engine, median of ${runs}×${steps} steps per variant`)
  for (const v of variants) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--models", "small", "--batches", "32", "--runs", String(runs), "--steps", String(steps), "--no-keras", "--quiet"], {
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TF_NUM_") && k !== "TF_ENABLE_ONEDNN_OPTS")), ...v },
      encoding: "utf8"
    })
    const line = r.stdout.split("\n").find((l) => l.includes("img/s")) ?? `failed: ${r.stderr.split("\n").slice(-3).join(" ")}`
    console.log(`  ${(Object.entries(v).map(([k, x]) => `${k}=${x}`).join(" ") || "defaults").padEnd(58)} ${line.trim()}`)
  }
}

const main = async () => {
  if (flag("sweep")) return sweep()
  const info = Backend.ensureNativeSync()
  const quiet = flag("quiet")
  const py = flag("no-keras") ? undefined : python()
  const kerasWorker = py ? await startKeras(py) : undefined
  if (!quiet) {
    console.log(`backend ${info.backend} (TF ${info.tfVersion}, tfjs ${info.tfjsVersion}), ${cpus().length} cores (${cpus()[0]?.model.trim()}); ${settings}`)
    if (customGraph) console.log(`graph engine options: ${JSON.stringify(graphOptions)}`)
    console.log(`steady state: ${runs} runs × ${steps} steps after warm-up, median img/s, all engines${kerasWorker ? " and Keras" : ""} interleaved run by run; ` +
      `random CIFAR-shaped data (values 0–255); load average ${loadavg()[0].toFixed(2)} (other processes distort timings)`)
  }
  const results: Array<Record<string, unknown>> = []
  /** A runner's key: the engine, with the precision unless fp32 (e.g. "graph", "graph:bf16-mixed"). */
  const key = (engine: string, precision: Precision): string => precision === "fp32" ? engine : `${engine}:${precision}`
  const kerasKey = (precision: Precision): string => precision === "fp32" ? "Keras" : "Keras-bf16"
  /** Keras fp32 and Keras mixed_bfloat16 are measured whenever Keras runs (every line ends with both ratios). */
  const kerasPrecisions: Array<Precision> = ["fp32", "bf16-mixed"]
  for (const name of modelNames) {
    for (const batch of batches) {
      const spec = models[name]
      const modelPrecisions = precisions.filter((p) => enginesFor(p, spec).length > 0)
      for (const p of precisions.filter((q) => !modelPrecisions.includes(q))) {
        console.log(`${(spec.name ?? name).padEnd(12)} b${String(batch).padEnd(4)} ${p.padEnd(10)} skipped: the graph engine cannot run it (${unsupportedReason(spec, { precision: p })})`)
      }
      const runners: Record<string, Runner> = {}
      for (const precision of modelPrecisions) {
        for (const engine of enginesFor(precision, spec)) {
          runners[key(engine, precision)] = engine === "fit" ? await prepareFit(spec, batch) : prepareEngine(spec, batch, engine, precision)
        }
      }
      const kerasInfo: Record<string, { jit: string; policy: string }> = {}
      // Keras for this model (its first epochs build and warm it up; a model the worker cannot build runs without it)
      let keras = kerasWorker
      if (keras) {
        for (const p of kerasPrecisions) {
          const r = await keras.epoch(name, batch, p)
          if (r.error) {
            console.log(`${(spec.name ?? name).padEnd(12)} b${String(batch).padEnd(4)} Keras ${p}: cannot build or train it (${r.error}); no Keras ratios`)
            keras = undefined
            break
          }
          kerasInfo[kerasKey(p)] = r
        }
      }
      const rates: Record<string, Array<number>> = Object.fromEntries([...Object.keys(runners), ...(keras ? kerasPrecisions.map(kerasKey) : [])].map((e) => [e, []]))
      for (let r = 0; r < runs; r++) {
        for (const [k, runner] of Object.entries(runners)) rates[k].push(await runner.run())
        if (keras) for (const p of kerasPrecisions) rates[kerasKey(p)].push((await keras.epoch(name, batch, p)).imagesPerSecond)
      }
      const breakdowns = Object.fromEntries(Object.entries(runners).flatMap(([k, runner]) => {
        const b = runner.breakdown?.()
        return b ? [[k, b]] : []
      }))
      for (const r of Object.values(runners)) r.dispose()
      const med = Object.fromEntries(Object.entries(rates).filter(([, v]) => v.length > 0).map(([k, v]) => [k, median(v)]))
      /** Median over runs of the per-run ratio a/b (runs interleave, so each pair saw the same load). */
      const paired = (a: string, b: string): number => median(rates[a].map((v, i) => v / rates[b][i]))
      const kerasParts = keras ? kerasPrecisions.map((p) => `${kerasKey(p)} ${fmt(med[kerasKey(p)])} img/s`) : []
      for (const precision of modelPrecisions) {
        const mainKey = key(enginesFor(precision, spec)[0], precision)
        const main = med[mainKey]
        const parts = enginesFor(precision, spec).map((e) => `${e} ${fmt(med[key(e, precision)])} img/s`)
        const gflops = (main * 3 * forwardFlops(spec)) / 1e9
        console.log(`${(spec.name ?? name).padEnd(12)} b${String(batch).padEnd(4)} ${precision.padEnd(10)} ${[...parts, ...kerasParts].join("  ")}  (${gflops.toFixed(0)} GFLOP/s)` +
          (keras ? kerasPrecisions.map((p) => `  ${paired(mainKey, kerasKey(p)).toFixed(2)}x ${kerasKey(p)}`).join("") : ""))
        if (!quiet) {
          if (keras) console.log(`    ratio of the medians: ${kerasPrecisions.map((p) => `${(main / med[kerasKey(p)]).toFixed(2)}x ${kerasKey(p)}`).join(", ")}`)
          for (const e of enginesFor(precision, spec)) {
            const bd = breakdowns[key(e, precision)]
            if (!bd) continue
            console.log(`    ${key(e, precision)} step ${(1000 * batch / med[key(e, precision)]).toFixed(1)} ms: ` +
              `${Object.entries(bd).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(", ")} (phases timed separately)`)
          }
        }
        results.push({
          model: spec.name, batch, precision, imagesPerSecond: Object.fromEntries(enginesFor(precision, spec).map((e) => [e, med[key(e, precision)]])),
          keras: keras ? Object.fromEntries(kerasPrecisions.map((p) => [kerasKey(p), med[kerasKey(p)]])) : undefined,
          ratios: keras ? Object.fromEntries(kerasPrecisions.map((p) => [kerasKey(p), { ofMedians: main / med[kerasKey(p)], paired: paired(mainKey, kerasKey(p)) }])) : undefined,
          runs: Object.fromEntries([...enginesFor(precision, spec).map((e) => key(e, precision)), ...(keras ? kerasPrecisions.map(kerasKey) : [])].map((k) => [k, rates[k]])),
          breakdown: Object.fromEntries(enginesFor(precision, spec).flatMap((e) => breakdowns[key(e, precision)] ? [[e, breakdowns[key(e, precision)]]] : [])),
          kerasSettings: keras ? kerasInfo : undefined
        })
      }
    }
  }
  if (!quiet) {
    if (kerasWorker) {
      const info = (results.find((r) => r.kerasSettings)?.kerasSettings ?? {}) as Record<string, { jit: string; policy: string }>
      console.log(`Keras: ${py} (${kerasWorker.version}, model.fit graph mode, jit_compile ${info.Keras?.jit ?? "?"}; dtype policies ` +
        `${Object.entries(info).map(([k, v]) => `${k} ${v.policy}`).join(", ")})`)
    }
    else console.log(flag("no-keras") ? "Keras: skipped (--no-keras)" : "Keras: not available (pip install tensorflow-cpu==2.21.0)")
  }
  if (!quiet) console.log(`load average at the end: ${loadavg()[0].toFixed(2)}`)
  kerasWorker?.close()
  const json = opt("json", "")
  if (json) writeFileSync(json, JSON.stringify({ backend: info, settings, runs, steps, results }, null, 2) + "\n")
}

await main()
