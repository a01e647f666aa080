/**
 * Small synthetic artifacts for report tests: metrics written with core's MetricsArtifact (the report is under test,
 * not training), an expansion table in the documented `expansion.arrow` layout, and a Grad-CAM artifact.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { Float64, Int32, Schema as ArrowSchema, Table, Utf8, vectorFromArray } from "apache-arrow"
import { writeFileAtomic, writeTable, writeJsonAtomic } from "@growlab/core/ArtifactStore"
import * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import * as Png from "@growlab/core/Png"
import * as Random from "@growlab/core/Random"
import type { InputArtifact } from "@growlab/core/Stage"
import * as GradcamArtifact from "@growlab/gradcam/GradcamArtifact"

export interface CurveSpec {
  /** Validation accuracy the curve approaches, its value after epoch 1, and the seconds per epoch. */
  readonly plateau: number
  readonly first: number
  readonly seconds: number
  /** Exact final validation accuracy to force (overrides the last epoch), for tests with known statistics. */
  readonly finalValAccuracy?: number
}

/** A plausible learning curve: accuracy rises from `first` towards `plateau`; loss falls; a little seeded noise. */
export const metricsOf = (c: CurveSpec, epochs: number, seed: number): MetricsArtifact.Metrics => {
  const rng = Random.make(seed, 17)
  const out: Array<MetricsArtifact.EpochMetrics> = []
  for (let e = 1; e <= epochs; e++) {
    const progress = 1 - Math.exp(-(e - 1) / 3)
    const valAccuracy = e === epochs && c.finalValAccuracy !== undefined
      ? c.finalValAccuracy
      : c.first + (c.plateau - c.first) * progress + 0.004 * rng.normal()
    out.push({
      epoch: e,
      trainAccuracy: Math.min(0.99, valAccuracy + 0.02 * e),
      trainLoss: 1.8 * Math.exp(-e / 6) + 0.3,
      valAccuracy,
      valLoss: 2.2 - 1.6 * valAccuracy + 0.01 * rng.normal(),
      seconds: c.seconds * (1 + 0.05 * rng.normal()),
      learningRate: 1e-3 * 0.5 ** (e - 1)
    })
  }
  return { epochs: out, info: { seed } }
}

/** A run as the runner binds it: its metrics artifact, and its epochs' seconds as the run's manifest measurements. */
export const writeRun = (dir: string, name: string, vars: InputArtifact["vars"], m: MetricsArtifact.Metrics) =>
  Effect.gen(function*() {
    const path = `${dir}/${name}/metrics.arrow`
    yield* MetricsArtifact.write(path, m)
    return { path, stage: name, vars, measurements: MetricsArtifact.measurementsOf(m) } satisfies InputArtifact
  })

/**
 * An `expansion.arrow` of `method` in the layout @growlab/expand documents, with one noisy layer, plus an 8×8 heatmap
 * `conv2-kernel.png` (its pixels depend on the length of `method`). With `seed`: the artifact of that repeat (its own
 * stage and vars); `figures` (name → PNG bytes) replaces the heatmap.
 */
export const writeExpansion = (dir: string, method: string, snrDb: number | null, maxAbsDiff: number, options: { readonly seed?: number; readonly figures?: Readonly<Record<string, Uint8Array>> } = {}) =>
  Effect.gen(function*() {
    const f64 = (xs: Array<number | null>) => vectorFromArray(xs, new Float64())
    const utf8 = (xs: Array<string>) => vectorFromArray(xs, new Utf8())
    const noise = snrDb === null ? null : 1 / 10 ** (snrDb / 10)
    const t = new Table({
      layer: utf8(["conv2", "dense1"]), source_layer: utf8(["conv2", "dense1"]), kind: utf8(["conv2d", "dense"]),
      growth: utf8(["both", "output"]), operator: utf8([method, method]), note: utf8(["", ""]),
      in_units_source: vectorFromArray([32, 1024], new Int32()), in_units_target: vectorFromArray([32, 2048], new Int32()),
      out_units_source: vectorFromArray([64, 64], new Int32()), out_units_target: vectorFromArray([128, 128], new Int32()),
      in_multiplier: f64([1, 2]), out_multiplier: f64([2, 2]),
      snr_db: f64([snrDb, null]), signal_energy: f64([1, null]), noise_energy: f64([noise, null]),
      noise_mean: f64([0, null]), noise_std: f64([0.01, null]), quarter_max_abs_diff: f64([null, null])
    })
    const summary = { method, preserved: maxAbsDiff < 1e-4, random: { count: 8, maxAbsDiff, maxAbsLogits: 3, relativeDiff: maxAbsDiff / 3 }, real: null }
    const meta = new Map([["growlab.kind", "expansion"], ["growlab.schemaVersion", "1"], ["growlab.method", method], ["growlab.summary", JSON.stringify(summary)]])
    const stage = `grow--method=${method}${options.seed === undefined ? "" : `--seed=${options.seed}`}`
    const path = `${dir}/${stage}/expansion.arrow`
    yield* writeTable(path, new Table(new ArrowSchema(t.schema.fields, meta), t.batches))
    const pixels = new Uint8Array(8 * 8 * 3)
    for (let i = 0; i < 64; i++) pixels.set(Png.diverging(Math.sin(i + method.length)), i * 3)
    const figures = options.figures ?? { "conv2-kernel.png": Png.encode(8, 8, pixels, 3) }
    for (const [name, png] of Object.entries(figures)) yield* writeFileAtomic(`${dir}/${stage}/figures/${name}`, png)
    const vars: InputArtifact["vars"] = options.seed === undefined ? { method } : { method, seed: options.seed }
    return { path, stage, vars } satisfies InputArtifact
  })

/** A Grad-CAM artifact with a centred importance map per layer, a placement figure and an index. */
export const writeGradcam = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const gauss = (h: number, w: number) => Float32Array.from({ length: h * w }, (_, i) => {
      const y = Math.floor(i / w) - (h - 1) / 2
      const x = (i % w) - (w - 1) / 2
      return Math.exp(-(x * x + y * y) / (0.1 * h * w))
    })
    const rows = [["conv1", 1, 30], ["conv2", 3, 13], ["conv3", 5, 4]].map(([layer, index, s]) => ({
      layer: layer as string, layerIndex: index as number, classIndex: -1, className: "all", images: 64, h: s as number, w: s as number,
      map: gauss(s as number, s as number), inputH: 32, inputW: 32, centreRatio: 2.5
    }))
    const path = `${dir}/gradcam/gradcam.arrow`
    yield* GradcamArtifact.write(path, { rows, info: { target: "predicted", seed: 0, images: 64 } })
    yield* fs.makeDirectory(`${dir}/gradcam/figures`, { recursive: true })
    const pixels = new Uint8Array(16 * 8 * 3)
    for (let i = 0; i < 128; i++) pixels.set(i % 16 < 8 ? [44, 160, 44] : [230, 230, 230], i * 3)
    yield* writeFileAtomic(`${dir}/gradcam/figures/placement-conv2.png`, Png.encode(16, 8, pixels, 3))
    yield* writeJsonAtomic(`${dir}/gradcam/figures/index.json`, {
      figures: [{ file: "placement-conv2.png", kind: "placement", layer: "conv2", methods: ["symmetric"], caption: "conv2 placement" }]
    })
    return { path, stage: "gradcam", vars: {} } satisfies InputArtifact
  })

/** A stage instance folder as the runner leaves it: `manifest.json` (core Manifest) and `metrics.arrow`. */
export const writeInstance = (
  artifacts: string,
  pipeline: string,
  stage: string,
  params: Record<string, unknown>,
  vars: Record<string, string | number | boolean>,
  m: MetricsArtifact.Metrics | undefined,
  kind = "train"
) =>
  Effect.gen(function*() {
    const dir = `${artifacts}/${pipeline}/${stage}`
    if (m) yield* MetricsArtifact.write(`${dir}/metrics.arrow`, m)
    const zero = "0".repeat(64)
    yield* writeJsonAtomic(`${dir}/manifest.json`, {
      schemaVersion: 2, pipeline, stage, kind, vars, paramsHash: zero, params, key: zero, staticKey: zero,
      keyParts: { kind, params: zero, wiring: zero, code: zero, packages: zero, numerics: null, data: null, upstream: zero },
      inputs: {}, outputs: m ? { metrics: [{ file: "metrics.arrow", sha256: zero, bytes: 1 }] } : {},
      backend: { backend: "tensorflow", tfVersion: "2.21.0", tfjsVersion: "4.22.0" }, info: {},
      measurements: m ? MetricsArtifact.measurementsOf(m) : {}, resources: { cpus: 1, memoryMiB: 4096, gpus: 0, timeMinutes: 720 },
      host: "test", wallSeconds: 1
    })
  })

/** A growth method of the study-sized fixture: its name, how far above scratch it ends, how far it starts. */
interface StudyMethod {
  readonly method: string
  readonly lift: number
  readonly start: number
}

const STUDY_METHODS: ReadonlyArray<StudyMethod> = [
  { method: "symmetric", lift: 0.016, start: 0.064 }, { method: "noisy-symmetric", lift: 0.02, start: 0.066 },
  { method: "scaled-noisy-symmetric-normal", lift: 0.026, start: 0.063 }, { method: "scaled-noisy-symmetric-uniform", lift: 0.025, start: 0.065 },
  { method: "diagonal", lift: 0.023, start: 0.065 }, { method: "noisy-diagonal", lift: 0.028, start: 0.067 },
  { method: "scaled-noisy-diagonal-normal", lift: 0.026, start: 0.066 }, { method: "diagonal-random", lift: 0.026, start: 0.055 },
  { method: "envelope-zeros", lift: 0.018, start: 0.07 }, { method: "envelope-scaled-noise", lift: 0.022, start: 0.073 },
  { method: "net2wider", lift: 0.015, start: 0.064 }, { method: "small-continued", lift: 0.009, start: 0.073 }
]

/**
 * A study-sized report's inputs, like the combined report of experiments 2–5: 12 methods of 5 families plus scratch,
 * into 2 targets at 2 learning rates, 3 seeds of 10 epochs each (156 runs), with the compute facts the train stage
 * records, a small model per seed, a 20-epoch scratch reference per target, and 38 claims (28 comparisons, 10 published
 * figures), as many as the study's combined report checks. On target `one` the diagonal methods repeat their symmetric twins run for run (the fallback), as in the study.
 */
export const writeStudySized = (dir: string) =>
  Effect.gen(function*() {
    const small = { flopsPerExample: 4e5, trainExamples: 50_000, paramCount: 1e5 }
    const large = { flopsPerExample: 9e5, trainExamples: 50_000, paramCount: 4e5 }
    const curve = (first: number, plateau: number, epochs: number, seed: number, info: Record<string, unknown>): MetricsArtifact.Metrics => {
      const m = metricsOf({ plateau, first, seconds: 20 }, epochs, seed)
      return { ...m, info: { ...m.info, ...info } }
    }
    const runs: Array<InputArtifact> = []
    const sources: Array<InputArtifact> = []
    const reference: Array<InputArtifact> = []
    for (const seed of [1, 2, 3]) {
      sources.push(yield* writeRun(dir, `small--seed=${seed}`, { seed }, curve(0.5, 0.66, 10, 100 + seed, small)))
      for (const [t, target] of ["one", "two"].entries()) {
        reference.push(yield* writeRun(dir, `scratch50--target=${target}--seed=${seed}`, { method: "scratch-50", target, seed }, curve(0.55, 0.74 + 0.01 * t, 20, 200 + 10 * t + seed, large)))
        for (const learningRate of [0.001, 0.0001]) {
          const low = learningRate === 0.0001
          const base = (low ? 0.56 : 0.70) + 0.01 * t
          runs.push(yield* writeRun(dir, `scratch--target=${target}--lr=${learningRate}--seed=${seed}`, { method: "scratch", target, learningRate, seed },
            curve(base - 0.14, base, 10, 300 + 10 * t + seed + (low ? 5 : 0), large)))
          for (const m of STUDY_METHODS) {
            const twin = target === "one" && m.method.includes("diagonal") && !m.method.includes("random")
            const like = twin ? m.method.replace("diagonal", "symmetric") : m.method
            const spec = STUDY_METHODS.find((x) => x.method === like) ?? m
            const seedOf = 1000 + 100 * STUDY_METHODS.indexOf(spec) + 10 * t + seed + (low ? 5 : 0)
            const info = m.method === "small-continued" ? { ...small, init: "artifact" } : { ...large, init: "artifact" }
            const lift = low ? spec.lift - 0.012 : spec.lift
            runs.push(yield* writeRun(dir, `train--target=${target}--method=${m.method}--lr=${learningRate}--seed=${seed}`,
              m.method === "small-continued" ? { method: m.method, learningRate, seed } : { method: m.method, target, learningRate, seed },
              curve(base - 0.14 + spec.start, base + lift, 10, seedOf, info)))
          }
        }
      }
    }
    // small-continued has no target: keep one copy per learning rate and seed
    const seen = new Set<string>()
    const unique = runs.filter((r) => (seen.has(r.stage.replace(/--target=[^-]+/, "")) && r.vars.method === "small-continued" ? false : (seen.add(r.stage.replace(/--target=[^-]+/, "")), true)))
    const grown = STUDY_METHODS.filter((m) => m.method !== "small-continued")
    const comparisons = [
      ...grown.map((m) => ({ claim: `${m.method} (LR 1e-3) ends above scratch on target two`, metric: "val_accuracy", select: { method: m.method, target: "two", learningRate: 0.001 }, versus: { select: { method: "scratch", target: "two", learningRate: 0.001 } } })),
      ...grown.map((m) => ({ claim: `${m.method} (LR 1e-4) starts above scratch at LR 1e-4 on target one (first epoch)`, metric: "first_val_accuracy", select: { method: m.method, target: "one", learningRate: 0.0001 }, versus: { select: { method: "scratch", target: "one", learningRate: 0.0001 } } })),
      ...grown.slice(0, 6).map((m) => ({ claim: `${m.method} (LR 1e-3) beats the small CNN trained 10 more epochs (a control the study lacks)`, metric: "val_accuracy", select: { method: m.method, target: "two", learningRate: 0.001 }, versus: { select: { method: "small-continued", learningRate: 0.001 } } }))
    ]
    const published = STUDY_METHODS.slice(0, 10).map((m) => ({ claim: `${m.method} after 10 epochs (LR 1e-3, target two)`, metric: "val_accuracy", select: { method: m.method, target: "two", learningRate: 0.001 }, published: 0.64 }))
    const params = {
      title: "Study-sized report", reference: { var: "method", value: "scratch" }, matchOn: ["target"], curvesBy: ["target", "learningRate"],
      weightFigures: "none", claims: [...comparisons, ...published]
    }
    return { inputs: { runs: unique, reference, sources }, params }
  })
