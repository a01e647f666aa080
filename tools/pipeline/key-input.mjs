#!/usr/bin/env node
// @ts-check
/**
 * Prints one environment part of the stage cache key, for Nx `runtime` inputs (src/StageKey.ts):
 *   node tools/pipeline/key-input.mjs numerics [--cpus N]    the effective numerics of a TensorFlow stage process
 *   node tools/pipeline/key-input.mjs dataset <name> [dir]   the digest of the dataset files a dataset stage reads
 * Each line is `<sha256> <the JSON it is the digest of>`, so `nx show target inputs` / task details show the values.
 */
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { loadGraphModule } from "./bundle.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "../..")
const [what, ...rest] = process.argv.slice(2)
const m = await loadGraphModule()
if (what === "numerics") {
  const i = rest.indexOf("--cpus")
  const cpus = i >= 0 ? Number(rest[i + 1]) : undefined
  console.log(m.numericsLine(root, process.env, cpus !== undefined && cpus > 0 ? cpus : undefined))
} else if (what === "dataset" && rest[0]) {
  console.log(await m.datasetLine(rest[0], rest[1]))
} else {
  console.error("usage: key-input.mjs numerics [--cpus N] | dataset <name> [dataDir]")
  process.exit(2)
}
