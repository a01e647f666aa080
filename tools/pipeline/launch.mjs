#!/usr/bin/env node
// @ts-check
/**
 * The task launcher: what every Nx stage task runs.
 *
 *   node tools/pipeline/launch.mjs <pipeline-file> <instance> --static-key <key> [growlab run options]
 *
 * It starts the stage process (`growlab run ...`) and
 *   - forwards SIGINT / SIGTERM / SIGHUP to it, waits for it to clean up, and exits 128 + the signal's number;
 *   - when the stage process dies of a native fatal signal (SIGSEGV, SIGABRT — a TensorFlow CHECK failure —, SIGBUS,
 *     SIGILL, SIGFPE; about once in 1,000 TensorFlow processes here, README "Known limitations"), says so and runs it
 *     once more; a second crash removes whatever artifact folder the crashed run left and fails the task, so no
 *     artifact of a crashed process is ever cached;
 *   - after a successful exit checks that the stage's manifest and every output it lists are in place (sizes), and
 *     fails the task otherwise: a task never succeeds without its artifacts.
 * Plain Node (no TypeScript, no Effect): it starts in milliseconds.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync, statSync } from "node:fs"
import { constants } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const [file, instance] = args
if (!file || !instance) {
  console.error("usage: launch.mjs <pipeline-file> <instance> [--static-key KEY] [growlab run options]")
  process.exit(2)
}
const pipeline = (file.split("/").pop() ?? file).replace(/\.pipeline\.json$/, "")
const artifacts = resolve(process.env.GROWLAB_ARTIFACTS ?? "artifacts")
const finalDir = join(artifacts, pipeline, instance)
const label = `${pipeline}/${instance}`

/** Fatal signals of native code (not the ones a person or a scheduler sends). */
const NATIVE = new Set(["SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE"])
const FORWARDED = /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])

/** @type {import("node:child_process").ChildProcess | undefined} */
let child
/** @type {NodeJS.Signals | undefined} */
let received
for (const s of FORWARDED) {
  process.on(s, () => {
    if (received) return
    received = s
    child?.kill(s)
  })
}

/**
 * One run of the stage process.
 * @param {number} attempt
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
const runOnce = (attempt) =>
  new Promise((done) => {
    child = spawn(process.execPath, [join(here, "growlab.mjs"), "run", ...args], {
      stdio: "inherit",
      env: { ...process.env, GROWLAB_RUN_ATTEMPT: String(attempt) }
    })
    child.on("error", (e) => {
      console.error(`[growlab] ${label}: could not start the stage process: ${e.message}`)
      done({ code: 1, signal: null })
    })
    child.on("exit", (code, signal) => done({ code, signal }))
  })

/** @param {NodeJS.Signals} s */
const signalExit = (s) => 128 + (constants.signals[s] ?? 0)

/** Checks the artifact folder against its manifest's list of outputs (existence and size); returns the problem. */
const checkArtifacts = () => {
  const manifestFile = join(finalDir, "manifest.json")
  if (!existsSync(manifestFile)) return `${manifestFile} is missing`
  /** @type {{ outputs?: Record<string, Array<{ file: string, bytes: number }>> }} */
  let manifest
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8"))
  } catch (e) {
    return `${manifestFile} is not JSON (${/** @type {Error} */ (e).message})`
  }
  for (const d of Object.values(manifest.outputs ?? {}).flat()) {
    const f = join(finalDir, d.file)
    const size = existsSync(f) ? statSync(f).size : -1
    if (size !== d.bytes) return `${f}: expected ${d.bytes} bytes (manifest.json), got ${size < 0 ? "no such file" : `${size} bytes`}`
  }
  return undefined
}

let attempt = 1
let result = await runOnce(attempt)
while (!received && result.signal && NATIVE.has(result.signal) && attempt < 2) {
  console.error(`[growlab] ${label}: the stage process died of ${result.signal} (a native TensorFlow crash; README "Known limitations"); running it once more`)
  attempt++
  result = await runOnce(attempt)
}
if (received) {
  process.exit(signalExit(received))
}
if (result.signal) {
  const native = NATIVE.has(result.signal)
  if (native) {
    // the crashed process may have moved its artifact into place before dying: never leave it for a cache to keep
    rmSync(finalDir, { recursive: true, force: true })
    console.error(`[growlab] ${label}: the stage process died of ${result.signal} again; its artifact folder is removed and the task fails (rerun it)`)
  } else {
    console.error(`[growlab] ${label}: the stage process was killed by ${result.signal}`)
  }
  process.exit(signalExit(result.signal))
}
if (result.code === 0) {
  const problem = checkArtifacts()
  if (problem) {
    console.error(`[growlab] ${label}: the stage exited 0 but its artifacts are not in place: ${problem}`)
    process.exit(1)
  }
}
process.exit(result.code ?? 1)
