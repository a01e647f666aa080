#!/usr/bin/env node
// @ts-check
/**
 * Derives the CI-sized `study-quick` pipeline from the full `study` pipeline, so the two cannot drift apart: the same
 * stages, wiring, operators and reports, on real data subsets, with shorter training, two seeds and the large-2 /
 * x1.5 targets only (large-1 is the same code path with other widths). A test checks the committed file is what this
 * script writes.
 *
 *   node scripts/derive-quick.mjs           # rewrite pipelines/study-quick.pipeline.json
 *   node scripts/derive-quick.mjs --check   # exit 1 when the committed file is out of date
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const SOURCE = join(root, "pipelines/study.pipeline.json")
const TARGET = join(root, "pipelines/study-quick.pipeline.json")

/** Real data subsets per dataset (stratified, seeded by the dataset stage). */
const SUBSETS = { cifar10: { train: 500, test: 200 }, "fashion-mnist": { train: 2000, test: 500 } }
const SEEDS = [1, 2]
const TARGETS = new Set(["large2", "wide96"])

/** @param {any} pf the full pipeline */
export const deriveQuick = (pf) => {
  const out = structuredClone(pf)
  // the study pins 2 threads per stage (how its published numbers were made); the quick profile takes the defaults
  // (1 thread per stage, so stages run side by side)
  delete out.resources
  out.description = "CI-sized variant of the study, derived by scripts/derive-quick.mjs (do not edit by hand): real data " +
    "subsets (CIFAR-10 500/200, Fashion-MNIST 2,000/500), 1 epoch (2 for the long runs), seeds 1-2, the large-2 and x1.5 " +
    "targets. Full study: " + pf.description
  for (const stage of Object.values(out.stages)) {
    const s = /** @type {any} */ (stage)
    if (s.kind === "dataset") s.params.subset = SUBSETS[/** @type {keyof typeof SUBSETS} */ (s.params.dataset)]
    if (s.kind === "train" && typeof s.params?.epochs === "number") s.params.epochs = s.params.epochs > 10 ? 2 : 1
    if (s.kind === "gradcam") s.params.images = 64
    if (s.matrix?.seed) s.matrix.seed = SEEDS
    if (s.matrix?.target) s.matrix.target = s.matrix.target.filter((/** @type {any} */ v) => TARGETS.has(v.id))
  }
  return out
}

export const render = (/** @type {any} */ pf) => `${JSON.stringify(pf, null, 2)}\n`

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const text = render(deriveQuick(JSON.parse(readFileSync(SOURCE, "utf8"))))
  if (process.argv.includes("--check")) {
    const current = readFileSync(TARGET, "utf8")
    if (current !== text) {
      console.error("pipelines/study-quick.pipeline.json is out of date: run node scripts/derive-quick.mjs")
      process.exit(1)
    }
    console.log("pipelines/study-quick.pipeline.json is up to date")
  } else {
    writeFileSync(`${TARGET}.tmp`, text)
    renameSync(`${TARGET}.tmp`, TARGET)
    console.log(`wrote ${TARGET}`)
  }
}
