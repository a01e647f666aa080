/**
 * Training throughput of the graph-mode step (one TF session run per step) against eager tfjs and Keras, on the
 * study's small CNN and large-2 CNN, batch 32 and 128, CIFAR-shaped random data (uint8-range floats), Adam 1e-3.
 *
 *   npx tsx packages/train/bench/graph-vs-keras.ts [--models small,large2] [--batches 32,128] [--rounds 5]
 *       [--seconds 2] [--engines stateful,flat,stateless,native,fit,keras] [--python .growlab/venv/bin/python]
 *
 * Engines:
 *   stateful  GraphTrainer, default "stateful" variant: in-session resource variables, ResourceApplyAdam
 *   flat      GraphTrainer, "flat" variant: weights/slots as 3 flat vectors fed and fetched each step, exact tfjs Adam
 *   stateless GraphTrainer, "stateless" variant: one tensor per weight and slot
 *   native    the eager engine (Trainer.makeSession(..., {engine: "native"}).step), when it loads
 *   fit       tfjs-layers model.fit (the eager baseline of docs/ENVIRONMENT)
 *   keras     Keras 3 model.fit in a Python worker (tensorflow-cpu in the venv), graph mode (jit off on CPU)
 * Each graph/native step includes the batch gather from a permutation (as the Trainer does); fit and keras slice
 * batches internally. Keras is timed from on_train_batch_end timestamps (steady state inside one fit call), the JS
 * engines over whole windows of steps. Every round runs every engine once, in rotated order, so machine load hits
 * all of them alike; the table gives the median (and best) of the rounds. Threads: whatever TF_NUM_INTRAOP_THREADS /
 * TF_NUM_INTEROP_THREADS / TF_ENABLE_ONEDNN_OPTS say (inherited by the Python worker).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import { inferShapes, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Zoo from "../src/Zoo.js"
import { makeGraphStep } from "../src/graph/GraphTrainer.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}

const info = Backend.ensureNativeSync()
const models = arg("models", "small,large2").split(",")
const batches = arg("batches", "32,128").split(",").map(Number)
const rounds = Number(arg("rounds", "5"))
const seconds = Number(arg("seconds", "2"))
const engines = arg("engines", "stateful,flat,native,fit,keras").split(",")
const python = arg("python", process.env.GROWLAB_PYTHON ?? path.resolve(".growlab/venv/bin/python"))
const N = 2048
const LR = 1e-3

const specs: Record<string, ModelSpec> = { small: Zoo.cnnSmall, large2: Zoo.cnnLarge2 }

console.log(`backend ${info.backend} TF ${info.tfVersion} tfjs ${info.tfjsVersion}; cores ${os.cpus().length}; ` +
  `TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS ?? "default"} TF_NUM_INTEROP_THREADS=${process.env.TF_NUM_INTEROP_THREADS ?? "default"} ` +
  `TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS ?? "default"}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`)

// -------------------------------------------------------------------------------------------------------------
// Engines: each measures training images/s over a window of about `seconds`.

/** A measurement window: wall-clock images/s and images per CPU-second of the process (all threads). */
interface Sample {
  readonly ips: number
  readonly cpu: number
}

interface Engine {
  readonly name: string
  measure(): Promise<Sample>
  dispose(): void
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** Glorot-uniform kernels, zero biases (Keras's defaults). */
const initWeights = (spec: ModelSpec): Map<string, tf.Tensor> => {
  const m = new Map<string, tf.Tensor>()
  let seed = 1
  for (const l of inferShapes(spec)) {
    for (const w of l.weights) {
      if (w.param === "kernel") {
        const rf = w.shape.slice(0, -2).reduce((a, b) => a * b, 1)
        const fanIn = w.shape[w.shape.length - 2] * rf
        const fanOut = w.shape[w.shape.length - 1] * rf
        const lim = Math.sqrt(6 / (fanIn + fanOut))
        m.set(w.name, tf.randomUniform(w.shape as Array<number>, -lim, lim, "float32", seed++))
      } else {
        m.set(w.name, tf.zeros(w.shape as Array<number>))
      }
    }
  }
  return m
}

/** Runs `step(b)` for batches b = 0, 1, ... for about `seconds` (after 3 warm steps). */
const timeSteps = (batch: number, step: (b: number) => void, sync: () => void): Sample => {
  for (let b = 0; b < 3; b++) step(b)
  sync()
  const cpu0 = cpuSeconds()
  const start = performance.now()
  let steps = 0
  while (performance.now() - start < seconds * 1000 || steps < 5) {
    step(3 + steps)
    steps++
    if (steps % 10 === 0) sync()
  }
  sync()
  return { ips: (steps * batch) / ((performance.now() - start) / 1000), cpu: (steps * batch) / (cpuSeconds() - cpu0) }
}

const data = (spec: ModelSpec) => ({
  x: tf.randomUniform([N, ...spec.inputShape], 0, 255, "float32", 11),
  y: tf.randomUniform([N], 0, 10, "int32", 12),
  perm: tf.tensor1d(Int32Array.from(tf.util.createShuffledIndices(N)), "int32")
})

const graphEngine = (name: string, spec: ModelSpec, batch: number, variant: "flat" | "stateless" | "stateful"): Engine => {
  const init = initWeights(spec)
  const gs = makeGraphStep(spec, init, { variant })
  tf.dispose([...init.values()])
  const d = data(spec)
  const per = Math.floor(N / batch)
  const step = (b: number) => tf.tidy(() => {
    const idx = tf.slice(d.perm, (b % per) * batch, batch)
    gs.step(tf.gather(d.x, idx), tf.gather(d.y, idx), LR)
  })
  return {
    name,
    measure: async () => timeSteps(batch, step, () => gs.loss()),
    dispose: () => {
      gs.dispose()
      tf.dispose([d.x, d.y, d.perm])
    }
  }
}

/** The eager engine of Trainer.ts (if it loads: it is being written alongside). */
const nativeEngine = async (spec: ModelSpec, batch: number): Promise<Engine | string> => {
  try {
    const Trainer = await import("../src/Trainer.js")
    const init = initWeights(spec)
    const shapes = inferShapes(spec).flatMap((l) => l.weights)
    const model = {
      spec,
      weights: shapes.map((w) => ({ name: w.name, layer: w.layer, param: w.param, shape: w.shape, values: init.get(w.name)!.dataSync() as Float32Array })),
      info: {}
    }
    const session = Trainer.makeSession(model as never, { engine: "native", learningRate: LR })
    tf.dispose([...init.values()])
    const d = data(spec)
    const per = Math.floor(N / batch)
    let last: tf.Tensor | undefined
    const step = (b: number) => {
      const r = tf.tidy(() => {
        const idx = tf.slice(d.perm, (b % per) * batch, batch)
        const { loss, correct } = session.step({ x: tf.gather(d.x, idx), y: tf.gather(d.y, idx) })
        correct.dispose()
        return loss
      })
      last?.dispose()
      last = r
    }
    return {
      name: "native",
      measure: async () => timeSteps(batch, step, () => last?.dataSync()),
      dispose: () => {
        last?.dispose()
        session.dispose()
        tf.dispose([d.x, d.y, d.perm])
      }
    }
  } catch (e) {
    return `native engine unavailable: ${(e as Error).message.split("\n")[0]}`
  }
}

/** tf.LayersModel of the spec (the study's CNNs: rescaling, conv2d, maxPooling2d, flatten, dense). */
const layersModel = (spec: ModelSpec): tf.LayersModel => {
  const m = tf.sequential()
  spec.layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape: spec.inputShape as Array<number> } : {}
    switch (l._tag) {
      case "rescaling": m.add(tf.layers.rescaling({ scale: l.scale, offset: l.offset, ...first })); break
      case "conv2d": m.add(tf.layers.conv2d({ filters: l.filters, kernelSize: l.kernelSize, strides: l.strides, padding: l.padding, activation: l.activation, ...first })); break
      case "maxPooling2d": m.add(tf.layers.maxPooling2d({ poolSize: l.poolSize, strides: l.strides, ...first })); break
      case "flatten": m.add(tf.layers.flatten(first)); break
      // the last layer's logits get a softmax: tfjs's sparseCategoricalCrossentropy takes probabilities
      case "dense": m.add(tf.layers.dense({ units: l.units, activation: i === spec.layers.length - 1 && l.activation === "linear" ? "softmax" : l.activation, ...first })); break
      default: throw new Error(`fit engine: layer ${l._tag} not mapped`)
    }
  })
  m.compile({ optimizer: tf.train.adam(LR, 0.9, 0.999, 1e-7), loss: "sparseCategoricalCrossentropy" })
  return m
}

const fitEngine = (spec: ModelSpec, batch: number): Engine => {
  const model = layersModel(spec)
  const d = data(spec)
  const yf = tf.cast(d.y, "float32")
  const steps = Math.max(5, Math.round(seconds * 800 / batch))
  const n = Math.min(N, steps * batch)
  const xs = tf.slice(d.x, 0, n)
  const ys = tf.slice(yf, 0, n)
  let warmed = false
  return {
    name: "fit",
    measure: async () => {
      if (!warmed) {
        await model.fit(tf.slice(xs, 0, batch * 3), tf.slice(ys, 0, batch * 3), { batchSize: batch, epochs: 1, verbose: 0, shuffle: false })
        warmed = true
      }
      const cpu0 = cpuSeconds()
      const start = performance.now()
      await model.fit(xs, ys, { batchSize: batch, epochs: 1, verbose: 0, shuffle: false })
      return { ips: n / ((performance.now() - start) / 1000), cpu: n / (cpuSeconds() - cpu0) }
    },
    dispose: () => {
      model.dispose()
      tf.dispose([d.x, d.y, d.perm, yf, xs, ys])
    }
  }
}

const KERAS_WORKER = String.raw`
import os, sys, time, json
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf, keras
model_name, batch, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c2, c3, d = (128, 128, 128) if model_name == "large2" else (64, 64, 64)
model = keras.Sequential([
    keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
    keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(c2, 3, activation="relu"), keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(c3, 3, activation="relu"), keras.layers.Flatten(),
    keras.layers.Dense(d, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
steps = max(8, int(seconds * 2500 / batch))
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (steps * batch, 32, 32, 3)).astype("float32")
y = rng.integers(0, 10, steps * batch).astype("int32")
class T(keras.callbacks.Callback):
    def on_train_batch_end(self, b, logs=None):
        self.t.append(time.perf_counter()); self.c.append(time.process_time())
def window():
    cb = T(); cb.t = []; cb.c = []
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[cb])
    k = 2  # skip the first batches of the fit call
    n = (len(cb.t) - 1 - k) * batch
    return {"ips": n / (cb.t[-1] - cb.t[k]), "cpu": n / (cb.c[-1] - cb.c[k])}
window()
print(json.dumps({"ready": True, "jit": str(getattr(model, "jit_compile", None)), "keras": keras.__version__, "tf": tf.__version__}), flush=True)
for line in sys.stdin:
    if line.strip() == "quit": break
    print(json.dumps(window()), flush=True)
`

const kerasEngine = async (model: string, batch: number): Promise<Engine | string> => {
  if (!existsSync(python)) return `keras skipped: no python at ${python} (make the venv: see packages/train/src/graph/README)`
  const dir = mkdtempSync(path.join(os.tmpdir(), "growlab-keras-"))
  const script = path.join(dir, "worker.py")
  writeFileSync(script, KERAS_WORKER)
  const child: ChildProcessWithoutNullStreams = spawn(python, [script, model, String(batch), String(seconds)], { stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c) => { stderr += String(c) })
  const lines = readline.createInterface({ input: child.stdout })
  const queue: Array<(line: string) => void> = []
  const pending: Array<string> = []
  lines.on("line", (l) => {
    const waiter = queue.shift()
    if (waiter) waiter(l)
    else pending.push(l)
  })
  const next = () => new Promise<string>((resolve, reject) => {
    const p = pending.shift()
    if (p !== undefined) return resolve(p)
    queue.push(resolve)
    child.once("exit", (code) => reject(new Error(`keras worker exited ${code}: ${stderr.split("\n").filter((l) => l.includes("Error")).slice(-3).join(" | ")}`)))
  })
  try {
    const ready = JSON.parse(await next())
    console.log(`  keras worker: keras ${ready.keras}, tf ${ready.tf}, jit_compile ${ready.jit}`)
  } catch (e) {
    child.kill()
    return `keras unavailable: ${(e as Error).message}`
  }
  return {
    name: "keras",
    measure: async () => {
      child.stdin.write("go\n")
      return JSON.parse(await next()) as Sample
    },
    dispose: () => {
      child.stdin.write("quit\n")
      child.stdin.end()
    }
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

interface Row {
  model: string
  batch: number
  engine: string
  median: number
  best: number
  /** median over rounds of (this engine / keras) in the same round */
  pairedRatio?: number
  cpuMedian: number
  samples: Array<Sample>
}
const rows: Array<Row> = []

for (const modelName of models) {
  const spec = specs[modelName]
  if (!spec) throw new Error(`unknown model ${modelName} (small, large2)`)
  for (const batch of batches) {
    console.log(`\n${spec.name}, batch ${batch}:`)
    const list: Array<Engine> = []
    for (const e of engines) {
      const made: Engine | string =
        e === "flat" ? graphEngine("flat", spec, batch, "flat")
          : e === "stateless" ? graphEngine("stateless", spec, batch, "stateless")
          : e === "stateful" ? graphEngine("stateful", spec, batch, "stateful")
          : e === "native" ? await nativeEngine(spec, batch)
          : e === "fit" ? fitEngine(spec, batch)
          : e === "keras" ? await kerasEngine(modelName, batch)
          : `unknown engine ${e}`
      if (typeof made === "string") console.log(`  ${made}`)
      else list.push(made)
    }
    const samples = new Map<string, Array<Sample>>(list.map((e) => [e.name, []]))
    for (let r = 0; r < rounds; r++) {
      const order = list.map((_, i) => list[(i + r) % list.length])
      const line: Array<string> = []
      for (const e of order) {
        const sample = await e.measure()
        samples.get(e.name)!.push(sample)
        line.push(`${e.name} ${sample.ips.toFixed(0)}`)
      }
      console.log(`  round ${r + 1}: ${line.join(", ")}  (load ${os.loadavg()[0].toFixed(1)})`)
    }
    for (const e of list) e.dispose()
    const keras = samples.get("keras")
    for (const [name, s] of samples) {
      const ips = s.map((x) => x.ips)
      const row: Row = {
        model: spec.name!, batch, engine: name, median: median(ips), best: Math.max(...ips), cpuMedian: median(s.map((x) => x.cpu)), samples: s,
        pairedRatio: keras && name !== "keras" ? median(s.map((x, i) => x.ips / keras[i].ips)) : undefined
      }
      rows.push(row)
      const vs = row.pairedRatio !== undefined
        ? `  ${(row.median / median(keras!.map((x) => x.ips))).toFixed(2)}x Keras (paired per round ${row.pairedRatio.toFixed(2)}x, best vs best ${(row.best / Math.max(...keras!.map((x) => x.ips))).toFixed(2)}x)`
        : ""
      console.log(`  ${name.padEnd(9)} median ${row.median.toFixed(0).padStart(5)} img/s, best ${row.best.toFixed(0).padStart(5)}, ${row.cpuMedian.toFixed(0).padStart(5)} img per CPU-s${vs}`)
    }
  }
}

const engineNames = [...new Set(rows.map((r) => r.engine))]
console.log("\nimg/s, median of rounds (ratio: median img/s / Keras median img/s; paired: median of per-round ratios)")
console.log("| model | batch | " + engineNames.join(" | ") + " |")
console.log("|---|---|" + engineNames.map(() => "---").join("|") + "|")
for (const m of [...new Set(rows.map((r) => r.model))]) {
  for (const b of [...new Set(rows.map((r) => r.batch))]) {
    const keras = rows.find((r) => r.model === m && r.batch === b && r.engine === "keras")
    const cells = engineNames.map((e) => {
      const r = rows.find((x) => x.model === m && x.batch === b && x.engine === e)
      if (!r) return "—"
      return keras && e !== "keras" ? `${r.median.toFixed(0)} (${(r.median / keras.median).toFixed(2)}x Keras; paired ${r.pairedRatio!.toFixed(2)}x)` : r.median.toFixed(0)
    })
    console.log(`| ${m} | ${b} | ${cells.join(" | ")} |`)
  }
}
console.log(JSON.stringify({ loadAverage: os.loadavg(), rows }))
