/**
 * Characterization: every method of the `expand` stage as the study's pipelines use it (experiments 2–4), on a fixed
 * seeded small CNN grown into large-1, large-2 and (envelope only: tiled methods need integer multiples) wide-96,
 * must write byte-identical grown models, expansion tables and figures (fixtures/characterization.json, recorded
 * before the growth-operator registry; see support/characterize.ts for what is compared where).
 */
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import { expandStage } from "../src/ExpandStage.js"
import { type Case, describeCharacterization, specs } from "./support/characterize.js"

const snr10 = { scheme: "snr", snrDb: 10 }
const scaled = (distribution: string) => ({ scheme: "scaled", distribution })
const methods: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ["symmetric", { method: "symmetric" }],
  ["noisy-symmetric", { method: "noisy-symmetric", noise: snr10 }],
  ["diagonal", { method: "diagonal", oneAxis: "symmetric" }],
  ["diagonal-random", { method: "diagonal", oneAxis: "random" }],
  ["noisy-diagonal", { method: "noisy-diagonal", oneAxis: "symmetric", noise: snr10 }],
  ["noisy-diagonal-random", { method: "noisy-diagonal", oneAxis: "random", noise: snr10 }],
  ["scaled-noisy-symmetric-normal", { method: "noisy-symmetric", noise: scaled("normal") }],
  ["scaled-noisy-symmetric-uniform", { method: "noisy-symmetric", noise: scaled("uniform") }],
  ["scaled-noisy-diagonal-normal", { method: "noisy-diagonal", oneAxis: "symmetric", noise: scaled("normal") }],
  ["scaled-noisy-diagonal-uniform", { method: "noisy-diagonal", oneAxis: "symmetric", noise: scaled("uniform") }],
  ["envelope-zeros", { method: "envelope", fill: "zeros" }],
  ["envelope-scaled-noise", { method: "envelope", fill: "scaled-noise", noise: scaled("normal") }],
  ["envelope-scaled-noise-default", { method: "envelope", fill: "scaled-noise" }],
  ["envelope-snr", { method: "envelope", fill: "scaled-noise", noise: snr10 }]
]

const cases: Array<Case> = []
for (const target of ["large1", "large2", "wide96"] as const) {
  for (const [id, params] of methods) {
    if (target === "wide96" && params.method !== "envelope") continue
    cases.push({
      id: `grow--target=${target}--method=${id}`, stage: expandStage, sourceSeed: 7,
      params: { target: encodeModelSpec(specs[target]), ...params, seed: 2, probeSize: 64 }
    })
  }
}

describeCharacterization("expand stage characterization (byte-identical outputs)", new URL("./fixtures/characterization.json", import.meta.url), cases)
