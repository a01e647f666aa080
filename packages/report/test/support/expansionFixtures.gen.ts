/**
 * Writes packages/report/test/fixtures/expansions/: real `expansion.arrow` artifacts (and figures) of the `expand` and
 * `net2wider` stages on a tiny seeded CNN, so the report is tested on what the growth stages really write, not only
 * on hand-made tables. Recorded once (`npx tsx packages/report/test/support/expansionFixtures.gen.ts`); the report's
 * characterization test reads them as they are.
 */
import { cpSync, mkdirSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { ensureNativeSync } from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import * as Random from "@growlab/core/Random"
import { runStage } from "@growlab/core/StageContext"
import { expandStage } from "../../../expand/src/ExpandStage.js"
import type { Stage } from "@growlab/core/Stage"
import { randomModel, spec } from "../../../expand/test/support/fixtures.js"
import { net2widerStage } from "../../../net2net/src/Net2WiderStage.js"

const out = fileURLToPath(new URL("../fixtures/expansions/", import.meta.url))

const tiny = (c1: number, c2: number, d: number, name: string) => spec({
  name, inputShape: [8, 8, 3],
  layers: [
    { _tag: "rescaling", scale: 1 / 255 }, { _tag: "conv2d", filters: c1, kernelSize: 3, activation: "relu" }, { _tag: "maxPooling2d", poolSize: 2 },
    { _tag: "conv2d", filters: c2, kernelSize: 3, padding: "same", activation: "relu" }, { _tag: "flatten" },
    { _tag: "dense", units: d, activation: "relu" }, { _tag: "dense", units: 3 }
  ]
})

const cases = [
  { stage: "grow--method=noisy-diagonal--seed=1", kind: expandStage, seed: 1, target: tiny(4, 8, 12, "tiny-large"), params: { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 10 } } },
  { stage: "grow--method=noisy-diagonal--seed=2", kind: expandStage, seed: 2, target: tiny(4, 8, 12, "tiny-large"), params: { method: "noisy-diagonal", noise: { scheme: "snr", snrDb: 10 } } },
  { stage: "grow--method=envelope--seed=1", kind: expandStage, seed: 1, target: tiny(4, 6, 9, "tiny-wide"), params: { method: "envelope", fill: "scaled-noise" } },
  { stage: "grow--method=net2wider--seed=1", kind: net2widerStage, seed: 1, target: tiny(4, 6, 9, "tiny-wide"), params: { noise: { ratio: 0.05 } } }
] as const

const program = Effect.gen(function*() {
  ensureNativeSync()
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "growlab-report-fixtures-" })
  rmSync(out, { recursive: true, force: true })
  for (const c of cases) {
    const model = `${dir}/small-${c.seed}.arrow`
    yield* ModelArtifact.write(model, randomModel(tiny(4, 4, 6, "tiny-small"), c.seed))
    const rng = Random.make(c.seed, 3)
    const images = Uint8Array.from({ length: 16 * 8 * 8 * 3 }, () => rng.int(256))
    const probe = `${dir}/probe.arrow`
    yield* DatasetArtifact.write(probe, {
      dataset: "cifar10", split: "test", shape: [8, 8, 3], classNames: ["a", "b", "c"], images, labels: new Uint8Array(16),
      sourceIndex: Int32Array.from({ length: 16 }, (_, i) => i), sourceChecksum: "synthetic", transforms: []
    })
    const outDir = `${dir}/${c.stage}`
    yield* runStage(c.kind as Stage, { target: encodeModelSpec(c.target), seed: c.seed, probeSize: 16, ...c.params }, { outDir, stage: c.stage, inputs: { model, probe }, log: () => {} })
    mkdirSync(`${out}/${c.stage}`, { recursive: true })
    cpSync(`${outDir}/expansion.arrow`, `${out}/${c.stage}/expansion.arrow`)
    if (c.kind === expandStage) cpSync(`${outDir}/figures`, `${out}/${c.stage}/figures`, { recursive: true })
  }
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer))).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
