/**
 * The step graphs whose fp32 bytes are pinned by test/fixtures/fp32-step-graphs.json (sha256 of saved_model.pb,
 * computed before mixed precision existed): every variant, both objectives and the ReLU/pool reorder, on the zoo's
 * CNNs and MLP and on a spec with every layer kind the graph path supports. Regenerate (only when an fp32 graph is
 * meant to change) with `npx tsx packages/train/test/support/stepGraphCases.ts > packages/train/test/fixtures/fp32-step-graphs.json`.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import { decodeModelSpec, type ModelSpec } from "@growlab/core/ModelSpec"
import * as Zoo from "../../src/Zoo.js"
import { buildTrainStep, defaultStepOptions, type StepGraphOptions } from "../../src/graph/TrainStepGraph.js"

/** Every layer kind and option the graph path supports, on a small input (GraphTrainer.test.ts trains it too). */
export const mixedSpec: ModelSpec = Effect.runSync(decodeModelSpec({
  name: "mixed",
  inputShape: [12, 12, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 127.5, offset: -1 },
    { _tag: "conv2d", filters: 8, kernelSize: 3, padding: "same", activation: "relu" },
    { _tag: "maxPooling2d", poolSize: 2, strides: 1 },
    { _tag: "conv2d", filters: 6, kernelSize: 3, strides: 2, padding: "same", activation: "tanh" },
    { _tag: "maxPooling2d", poolSize: 2, strides: 1 },
    { _tag: "conv2d", filters: 5, kernelSize: 2, activation: "sigmoid", useBias: false },
    { _tag: "flatten" },
    { _tag: "dropout", rate: 0 },
    { _tag: "dense", units: 16, activation: "linear" },
    { _tag: "activation", activation: "relu" },
    { _tag: "dense", units: 12, activation: "softmax", useBias: false },
    { _tag: "dense", units: 4 }
  ]
}))

const specs: Record<string, ModelSpec> = { "cnn-small": Zoo.cnnSmall, "cnn-large-2": Zoo.cnnLarge2, "mlp-small": Zoo.mlpSmall, mixed: mixedSpec }
const kd = { kd: { teacherWeight: 3, labelWeight: 1, temperature: 2 } } as const

/** Case name → options (spec name first). */
export const cases: ReadonlyArray<{ readonly name: string; readonly spec: ModelSpec; readonly options: StepGraphOptions }> =
  Object.entries(specs).flatMap(([specName, spec]) => [
    ...(["stateful", "flat", "stateless"] as const).map((variant) => ({ name: `${specName}/${variant}/ce`, spec, options: { ...defaultStepOptions, variant } })),
    { name: `${specName}/stateful/kd`, spec, options: { ...defaultStepOptions, loss: kd } },
    { name: `${specName}/flat/kd`, spec, options: { ...defaultStepOptions, variant: "flat" as const, loss: kd } },
    { name: `${specName}/stateful/ce/reorderReluPool`, spec, options: { ...defaultStepOptions, reorderReluPool: true } }
  ])

export const digest = (spec: ModelSpec, options: StepGraphOptions): string =>
  createHash("sha256").update(buildTrainStep(spec, options).savedModel).digest("hex")

export const digests = (): Record<string, string> => Object.fromEntries(cases.map((c) => [c.name, digest(c.spec, c.options)]))

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(digests(), null, 2))
