#!/usr/bin/env node
// @ts-check
/**
 * The task launcher: what every Nx stage task runs.
 *
 *   node tools/pipeline/launch.mjs <pipeline-file> <instance> [--profile <profile>] --static-key <key> [growlab run options]
 *
 * It reads the instance's resources from its pipeline file, sets its TensorFlow threads (TF_NUM_INTRAOP_THREADS /
 * TF_NUM_INTEROP_THREADS = its cpus, unless the environment already sets them), and
 *   - locally: waits for that many of this machine's CPU slots (cpu-slots.mjs), so `--parallel=K` never runs more
 *     threads than there are cores, then starts the stage process (`growlab run ...`);
 *   - with GROWLAB_EXECUTOR=slurm: first checks here whether the artifact on disk already is this key's (then no job
 *     is submitted), else runs the stage process as one Slurm job with the stage's resources (slurm.mjs, settings
 *     GROWLAB_SLURM_*), streaming its output; the job's node must compute the numerics the key was built with here;
 * and
 *   - forwards SIGINT / SIGTERM / SIGHUP to it (cancels the Slurm job), waits for it to clean up, and exits 128 + the
 *     signal's number;
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
import { loadGraphModule } from "./bundle.mjs"
import { acquire } from "./cpu-slots.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "../..")
const args = process.argv.slice(2)
const [file, instance] = args
if (!file || !instance) {
  console.error("usage: launch.mjs <pipeline-file> <instance> [--static-key KEY] [growlab run options]")
  process.exit(2)
}
const profileAt = args.indexOf("--profile")
const pipeline = (file.split("/").pop() ?? file).replace(/\.pipeline\.json$/, "") + (profileAt >= 0 ? `-${args[profileAt + 1]}` : "")
const artifacts = resolve(process.env.GROWLAB_ARTIFACTS ?? "artifacts")
const finalDir = join(artifacts, pipeline, instance)
const label = `${pipeline}/${instance}`

/** Fatal signals of native code (not the ones a person or a scheduler sends). */
const NATIVE = new Set(["SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE"])
const FORWARDED = /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])

/** @param {NodeJS.Signals} s */
const signalExit = (s) => 128 + (constants.signals[s] ?? 0)

/** @type {import("node:child_process").ChildProcess | undefined} */
let child
/** @type {NodeJS.Signals | undefined} */
let received
const abort = new AbortController()
for (const s of FORWARDED) {
  process.on(s, () => {
    if (received) return
    received = s
    child?.kill(s)
    abort.abort()
  })
}

const m = await loadGraphModule()
/** @type {{ resources: { cpus: number, memoryMiB: number, gpus: number, timeMinutes: number }, usesTf: boolean, threads: number, numerics?: string }} */
let plan
try {
  plan = await m.launchPlan(root, file, readFileSync(resolve(file), "utf8"), instance, process.env, profileAt >= 0 ? args[profileAt + 1] : undefined)
} catch (e) {
  console.error(`growlab: ${/** @type {Error} */ (e).message}`)
  process.exit(1)
}
const threads = plan.threads
/** The stage process's environment: its TensorFlow threads are its cpus unless the environment says otherwise. */
const stageEnv = {
  ...process.env,
  ...(plan.usesTf ? { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: process.env.TF_NUM_INTEROP_THREADS ?? String(plan.resources.cpus) } : {})
}
const runArgs = [join(here, "growlab.mjs"), "run", ...args, ...(plan.numerics ? ["--expect-numerics", plan.numerics] : [])]
const executor = process.env.GROWLAB_EXECUTOR ?? "local"
if (executor !== "local" && executor !== "slurm") {
  console.error(`growlab: GROWLAB_EXECUTOR: expected local or slurm, got ${JSON.stringify(executor)}`)
  process.exit(2)
}

/**
 * One local run of the stage process.
 * @param {number} attempt
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
const runLocal = (attempt) =>
  new Promise((done) => {
    child = spawn(process.execPath, runArgs, { stdio: "inherit", env: { ...stageEnv, GROWLAB_RUN_ATTEMPT: String(attempt) } })
    child.on("error", (e) => {
      console.error(`[growlab] ${label}: could not start the stage process: ${e.message}`)
      done({ code: 1, signal: null })
    })
    child.on("exit", (code, signal) => done({ code, signal }))
  })

/**
 * One run of the stage process as a Slurm job (on the filesystem this host shares with the compute nodes).
 * @param {number} attempt
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
const runSlurm = async (attempt) => {
  const { runSlurmJob, slurmConfigFromEnv } = await import("./slurm.mjs")
  try {
    const r = await runSlurmJob({
      command: process.execPath, args: runArgs, cwd: process.cwd(), env: { ...stageEnv, GROWLAB_RUN_ATTEMPT: String(attempt) },
      resources: plan.resources, config: slurmConfigFromEnv(process.env), jobName: `growlab-${pipeline}-${instance}`.slice(0, 200),
      signal: abort.signal
    })
    // only a failed job whose command died of a signal is a crash; TIMEOUT / PREEMPTED / CANCELLED report SIGTERM
    if (r.state === "FAILED" && r.signal) return { code: null, signal: r.signal }
    return { code: r.exitCode, signal: null }
  } catch (e) {
    console.error(`growlab: ${/** @type {Error} */ (e).message}`)
    return { code: 1, signal: null }
  }
}

/**
 * Locally: whether the artifact on disk already is this key's (growlab run --keep-only exits 0 then, 3 when the stage
 * must run). Used before submitting a Slurm job, so that a run with nothing to do submits none.
 */
const keptHere = () =>
  new Promise((done) => {
    const c = spawn(process.execPath, [...runArgs, "--keep-only"], { stdio: ["ignore", "inherit", "inherit"], env: stageEnv })
    c.on("error", () => done(false))
    c.on("exit", (code) => done(code === 0))
  })

/** @param {number} attempt */
const runOnce = (attempt) => (executor === "slurm" ? runSlurm(attempt) : runLocal(attempt))

if (executor === "slurm" && await keptHere()) process.exit(0)
const release = executor === "local"
  ? await acquire(threads, {
    signal: abort.signal,
    onWait: (size) => console.error(`[growlab] ${label}: waiting for ${Math.min(threads, size)} of this machine's ${size} CPU slots (other stages are running)`)
  }).catch(() => process.exit(signalExit(received ?? "SIGTERM")))
  : () => {}


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
release()
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
