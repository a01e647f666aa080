/**
 * Characterization of the training path, recorded before TrainStepGraph was split into graph building, backward
 * pass, optimizers and cache, and before the trainer's epoch loop stopped branching on the engine
 * (fixtures/characterization.json):
 * - sha256 of saved_model.pb of every step-graph case of support/stepGraphCases.ts in fp32 and in bf16-mixed, and of
 *   bf16-mixed with its two rewrites switched off — graph bytes depend on the builder code alone;
 * - sha256 of the trained weights and the metrics (less the seconds) of two epochs on 256 CIFAR-10 images with each
 *   engine (graph fp32 and bf16-mixed, native, tfjs) and with distillation — these depend on the numerics
 *   environment too (CPU, threads, oneDNN), so they are compared under the recorded one only.
 * GROWLAB_WRITE_CHARACTERIZATION=1 records the fixture (that run fails on purpose).
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import * as Backend from "@growlab/core/Backend"
import { canonicalJson, sha256 } from "@growlab/core/Hash"
import * as Init from "../src/Init.js"
import * as Trainer from "../src/Trainer.js"
import * as Zoo from "../src/Zoo.js"
import { toTensors } from "../src/internal/tensors.js"
import { cifarTest, cifarTrain } from "./support/cifar.js"
import { cases, digest } from "./support/stepGraphCases.js"

const backend = Backend.ensureNativeSync()

const FIXTURE = fileURLToPath(new URL("./fixtures/characterization.json", import.meta.url))
const recording = process.env.GROWLAB_WRITE_CHARACTERIZATION === "1"
/** What the training bits depend on beside the code (coarser than tools/pipeline/src/Numerics.ts, which train cannot import). */
const numericsId = canonicalJson({
  cpu: os.cpus()[0]?.model ?? os.arch(), cores: os.availableParallelism(), tf: backend.tfVersion, threads: backend.threads,
  onednn: process.env.TF_ENABLE_ONEDNN_OPTS ?? "default", isa: process.env.ONEDNN_MAX_CPU_ISA ?? process.env.DNNL_MAX_CPU_ISA ?? "native"
})

interface Fixture {
  readonly numerics: string
  readonly graphs: Record<string, string>
  readonly training: Record<string, string>
}

const graphCases = cases.flatMap((c) => [
  { name: `fp32/${c.name}`, spec: c.spec, options: { ...c.options, precision: "fp32" as const } },
  { name: `bf16/${c.name}`, spec: c.spec, options: { ...c.options, precision: "bf16-mixed" as const } },
  { name: `bf16-plain/${c.name}`, spec: c.spec, options: { ...c.options, precision: "bf16-mixed" as const, reorderReluPool: false, filterGradAsConv: false } }
])

const train = toTensors(cifarTrain(256))
const validation = toTensors(cifarTest(128))
const base: Trainer.Options = { epochs: 2, batchSize: 32, learningRate: 1e-3, lrDecay: 0.5, seed: 1 }
const teacher = Init.initialize(Zoo.cnnSmall, 11)
const trainings: ReadonlyArray<{ readonly name: string; readonly options: Trainer.Options<"fp32" | "bf16-mixed">; readonly teacher?: boolean }> = [
  { name: "graph", options: base },
  { name: "graph-bf16", options: { ...base, precision: "bf16-mixed" } },
  { name: "native", options: { ...base, engine: "native" } },
  { name: "tfjs", options: { ...base, engine: "tfjs" } },
  { name: "graph-distill", options: { ...base, distill: { teacherWeight: 3, labelWeight: 1, temperature: 2 } }, teacher: true },
  { name: "native-distill", options: { ...base, engine: "native", distill: { teacherWeight: 3, labelWeight: 1, temperature: 2 } }, teacher: true }
]

const resultDigest = (r: Trainer.Result): string =>
  sha256(canonicalJson({
    weights: r.model.weights.map((w) => [w.name, Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength).toString("base64")]),
    epochs: r.epochs.map(({ seconds: _, ...rest }) => rest),
    engine: r.engine
  }))

describe("training path characterization", () => {
  const want = recording ? undefined : JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture
  const got: { graphs: Record<string, string>; training: Record<string, string> } = { graphs: {}, training: {} }

  it(`step graphs: saved_model.pb of ${graphCases.length} cases (fp32, bf16-mixed, bf16-mixed without its rewrites)`, () => {
    for (const c of graphCases) got.graphs[c.name] = digest(c.spec, c.options)
    if (want) assert.deepStrictEqual(got.graphs, want.graphs)
  })

  for (const t of trainings) {
    it.effect(`training with ${t.name}: weights and metrics`, () =>
      Effect.gen(function*() {
        const r = yield* Trainer.train(Init.initialize(Zoo.cnnSmall, 3), { train, validation, ...(t.teacher ? { teacher } : {}) }, t.options)
        got.training[t.name] = resultDigest(r)
        if (want && want.numerics === numericsId) assert.strictEqual(got.training[t.name], want.training[t.name])
        if (want) assert.property(want.training, t.name)
      }))
  }

  if (recording) {
    it("writes the fixture (a recording run fails on purpose)", () => {
      writeFileSync(FIXTURE, JSON.stringify({ numerics: numericsId, ...got } satisfies Fixture, null, 2) + "\n")
      assert.fail(`recorded ${Object.keys(got.graphs).length} graphs and ${Object.keys(got.training).length} trainings; run again without GROWLAB_WRITE_CHARACTERIZATION`)
    })
  }
})
