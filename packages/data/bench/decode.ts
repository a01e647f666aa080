/**
 * `npm run bench:data`: decode time of both datasets (read + validate + SHA-256 + layout), and load-to-tensor time of
 * the full CIFAR-10 train split from its Arrow artifact. Data from GROWLAB_DATA_DIR (default ../shared/datasets);
 * `--repeat N` (default 3) runs each measurement N times and prints each run and the median.
 * Each line gives wall time and the process's CPU time (user + sys): on a shared machine the wall time grows with
 * other processes' load, the CPU time of this single-threaded work much less (TensorFlow ops may use several threads).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir, cpus } from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { NodeContext } from "@effect/platform-node"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as tf from "@tensorflow/tfjs"
import * as Loader from "../src/Loader.js"
import * as Tensors from "../src/Tensors.js"
import * as Transforms from "../src/Transforms.js"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const repeat = arg("--repeat", 3)
const dataDir = process.env.GROWLAB_DATA_DIR ?? "../shared/datasets"

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
interface Sample { readonly wall: number; readonly cpu: number }
const fmt = (xs: ReadonlyArray<Sample>) =>
  `wall median ${median(xs.map((x) => x.wall)).toFixed(3)} s, cpu median ${median(xs.map((x) => x.cpu)).toFixed(3)} s  ` +
  `(wall runs: ${xs.map((x) => x.wall.toFixed(3)).join(", ")})`

/** A stopwatch over wall time and this process's CPU time. */
const clock = () => {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  return (): Sample => {
    const c = process.cpuUsage(c0)
    return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 }
  }
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const stop = clock()
    const value = yield* effect
    return { value, sample: stop() }
  })

const program = Effect.gen(function*() {
  const info = Backend.ensureNativeSync()
  console.log(`growlab data bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), backend ${info.backend} (TF ${info.tfVersion}), data ${yield* Loader.resolveDir(dataDir)}`)

  for (const dataset of ["cifar10", "fashion-mnist"] as const) {
    const runs: Array<Sample> = []
    let examples = 0
    for (let r = 0; r < repeat; r++) {
      const { value, sample } = yield* timed(Loader.load(dataset, { dataDir }))
      runs.push(sample)
      examples = value.train.labels.length + value.test.labels.length
    }
    console.log(`decode ${dataset.padEnd(13)} ${examples} images (train + test): ${fmt(runs)}`)
  }

  const dir = mkdtempSync(path.join(tmpdir(), "growlab-bench-"))
  try {
    const train = yield* Loader.loadSplit("cifar10", "train", { dataDir })
    const file = path.join(dir, "train.arrow")
    const write = yield* timed(DatasetArtifact.write(file, train))
    console.log(`write CIFAR-10 train Arrow artifact: ${write.sample.wall.toFixed(3)} s (${(statSync(file).size / 1e6).toFixed(1)} MB)`)

    const read: Array<Sample> = [], convert: Array<Sample> = [], handoff: Array<Sample> = [], total: Array<Sample> = []
    for (let r = 0; r < repeat; r++) {
      const before = tf.memory().numTensors
      const all = clock()
      let step = clock()
      const dataset = yield* DatasetArtifact.read(file)
      read.push(step())
      step = clock()
      const t = Tensors.toTensors(dataset)
      convert.push(step())
      step = clock()
      tf.tidy(() => tf.max(t.x).dataSync()) // first use: TensorFlow takes the values (in place, or one copy)
      handoff.push(step())
      total.push(all())
      Tensors.disposeTensors(t)
      if (tf.memory().numTensors !== before) throw new Error("tensor leak")
    }
    console.log(`load-to-tensor CIFAR-10 train [50000, 32, 32, 3] float32 from Arrow: ${fmt(total)}`)
    console.log(`  read Arrow file ${fmt(read)}`)
    console.log(`  toTensors (uint8 -> float32, one pass) ${fmt(convert)}`)
    console.log(`  first op (TensorFlow takes the values) ${fmt(handoff)}`)

    const test = yield* Loader.loadSplit("cifar10", "test", { dataDir })
    const noise = yield* timed(Transforms.addNoise(test, 0.1, 0))
    console.log(`noise sigma 0.1 on CIFAR-10 test (10000 images, 30.7M pixels): wall ${noise.sample.wall.toFixed(3)} s, cpu ${noise.sample.cpu.toFixed(3)} s`)

    const batch = 128
    const order = Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 50_000)
    const stop = clock()
    let batches = 0
    for (let start = 0; start + batch <= 50_000; start += batch) {
      const b = Tensors.gatherBatch(train, order.slice(start, start + batch))
      tf.tidy(() => tf.max(b.x).dataSync())
      Tensors.disposeTensors(b)
      batches++
    }
    const epoch = stop()
    console.log(`gatherBatch (shuffled, ${batch} images, incl. hand-off): ${(epoch.wall * 1000 / batches).toFixed(2)} ms per batch, ` +
      `one epoch of ${batches} batches: wall ${epoch.wall.toFixed(2)} s, cpu ${epoch.cpu.toFixed(2)} s`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

Effect.runPromise(program.pipe(Effect.provide(NodeContext.layer))).catch((e) => {
  console.error(String((e as Error).message ?? e))
  process.exit(1)
})
