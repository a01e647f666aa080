// @ts-check
// The Slurm executor's job runner: runs one command as one Slurm batch job with a stage's resources, streams the job's
// output while it runs, returns its exit status and final state, and cancels it when asked. Plain ESM with node:
// builtins only: it is loaded by the stage task launcher, which must start in milliseconds.
//
// How (measured on the single-host test cluster, see docs/cluster.md): `sbatch --parsable` submits a batch script
// that enters `cwd` and `exec`s the command; the job id comes back at once; its stdout and stderr go to two files in
// `logDir` (on the shared filesystem) that are tailed into the given streams every 250 ms; its state is polled with
// `scontrol show job` (from every 0.25 s, backing off to `pollSeconds`), falling back to `sacct` once the controller
// has forgotten it (MinJobAge); on abort, `scancel <id>` (the command gets SIGTERM, then SIGKILL after the cluster's
// KillWait) and it waits until `squeue` no longer lists the job. Jobs are submitted with `--no-requeue`, so a preempted
// or failed node ends the job (PREEMPTED, NODE_FAIL) instead of rerunning it behind the launcher's back.
//
// Settings from the environment (slurmConfigFromEnv):
//   GROWLAB_SLURM_PARTITION    --partition
//   GROWLAB_SLURM_ACCOUNT      --account
//   GROWLAB_SLURM_QOS          --qos
//   GROWLAB_SLURM_EXTRA_ARGS   more sbatch arguments, appended last (so they override): a JSON array of strings,
//                              or words separated by spaces (no quoting), e.g. "--constraint=avx512 --exclusive"
//   GROWLAB_SLURM_POLL_SECONDS the longest wait between two job-state queries (default 5; it starts at 0.25)
//   GROWLAB_SLURM_LOG_DIR      where the job's output files go while it runs (default <cwd>/.growlab/slurm); must be on
//                              the filesystem the compute nodes share; the files are deleted once streamed
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, readSync, openSync, closeSync, fstatSync, rmSync } from "node:fs"
import { constants } from "node:os"
import { isAbsolute, join, resolve } from "node:path"

/** @typedef {{ cpus: number, memoryMiB?: number, gpus?: number, timeMinutes?: number }} Resources */
/**
 * @typedef {{ partition?: string, account?: string, qos?: string, extraArgs?: ReadonlyArray<string>,
 *   pollSeconds?: number, logDir?: string }} SlurmConfig
 */
/**
 * Final Slurm job states, plus UNKNOWN when neither `scontrol` nor `sacct` could say (the result then fails).
 * @typedef {"COMPLETED" | "FAILED" | "TIMEOUT" | "PREEMPTED" | "CANCELLED" | "NODE_FAIL" | "OUT_OF_MEMORY" |
 *   "BOOT_FAIL" | "DEADLINE" | "UNKNOWN" | string} SlurmState
 */
/**
 * @typedef {object} SlurmJobResult
 * @property {string | null} jobId the Slurm job id (null when nothing was submitted: aborted before submission)
 * @property {SlurmState} state the job's final state
 * @property {number} exitCode what the task should exit with: the command's own exit code when it exited; 128 + the
 *   signal number when a signal killed it; never 0 unless the state is COMPLETED (1 when Slurm reports no code)
 * @property {NodeJS.Signals | null} signal the signal that ended the command, when one did (e.g. SIGSEGV)
 * @property {string | null} message one line naming the job id and state, for every result but COMPLETED with 0
 *   (also written to `stderr`)
 */
/**
 * @typedef {object} RunSlurmJobOptions
 * @property {string} command the program (absolute, or found on the job's PATH)
 * @property {ReadonlyArray<string>} [args]
 * @property {string} cwd the job's working directory: absolute, on the shared filesystem
 * @property {NodeJS.ProcessEnv} [env] the job's environment, passed through whole (`--export=ALL`); default process.env
 * @property {Resources} resources
 * @property {SlurmConfig} [config]
 * @property {string} jobName `--job-name`
 * @property {NodeJS.WritableStream} [stdout] where the job's stdout goes (default process.stdout)
 * @property {NodeJS.WritableStream} [stderr] where the job's stderr goes, and this runner's own `[slurm]` lines
 *   (default process.stderr)
 * @property {AbortSignal} [signal] when it fires: cancel the job, wait until squeue no longer lists it, resolve
 */

const SLURM_CLIENTS = "the Slurm executor needs Slurm's client commands (sbatch, scontrol, squeue, scancel, sacct) on this host; see docs/cluster.md"
/** States in which a job is still queued, running or being cleaned up: keep polling. */
const ACTIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
  "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "POWER_UP_NODE"])
/**
 * Pending reasons with which Slurm keeps a job queued until an administrator changes the cluster (its default
 * EnforcePartLimits=NO accepts such jobs): the job cannot run as asked, so it is cancelled and the run fails.
 */
const NEVER_RUNS = /^(BadConstraints|PartitionConfig|PartitionNodeLimit|PartitionTimeLimit|InvalidAccount|InvalidQOS|DependencyNeverSatisfied|(QOS|Assoc)Max\w*PerJob\w*)$/
const TAIL_MS = 250
const FIRST_POLL_S = 0.25
/** How long the controller may stay unreachable before the runner gives up on a job. */
const UNREACHABLE_S = 120

/**
 * Reads the GROWLAB_SLURM_* settings (see the top of this file).
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {SlurmConfig}
 */
export function slurmConfigFromEnv(env = process.env) {
  /** @type {SlurmConfig} */
  const config = {}
  const str = (/** @type {string} */ key) => {
    const v = env[key]?.trim()
    return v ? v : undefined
  }
  const partition = str("GROWLAB_SLURM_PARTITION")
  const account = str("GROWLAB_SLURM_ACCOUNT")
  const qos = str("GROWLAB_SLURM_QOS")
  if (partition) config.partition = partition
  if (account) config.account = account
  if (qos) config.qos = qos
  const extra = str("GROWLAB_SLURM_EXTRA_ARGS")
  if (extra) {
    if (extra.startsWith("[")) {
      /** @type {unknown} */
      let parsed
      try {
        parsed = JSON.parse(extra)
      } catch (e) {
        throw new Error(`GROWLAB_SLURM_EXTRA_ARGS is not valid JSON (${e instanceof Error ? e.message : e}): ${extra}`)
      }
      if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
        throw new Error(`GROWLAB_SLURM_EXTRA_ARGS must be a JSON array of strings, got: ${extra}`)
      }
      config.extraArgs = parsed
    } else {
      config.extraArgs = extra.split(/\s+/)
    }
  }
  const poll = str("GROWLAB_SLURM_POLL_SECONDS")
  if (poll) {
    const n = Number(poll)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`GROWLAB_SLURM_POLL_SECONDS must be a positive number of seconds, got: ${poll}`)
    config.pollSeconds = n
  }
  const logDir = str("GROWLAB_SLURM_LOG_DIR")
  if (logDir) config.logDir = logDir
  return config
}

/**
 * The sbatch arguments for one job (everything but the script, which goes to sbatch's stdin). `extraArgs` come last,
 * so an option there overrides the one built here.
 * @param {{ resources: Resources, config?: SlurmConfig, jobName: string, cwd: string, stdoutPath: string,
 *   stderrPath: string }} job
 * @returns {Array<string>}
 */
export function sbatchArgs({ resources, config = {}, jobName, cwd, stdoutPath, stderrPath }) {
  const { cpus, memoryMiB, gpus, timeMinutes } = resources
  const positiveInt = (/** @type {string} */ what, /** @type {unknown} */ v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new Error(`Slurm resources for ${jobName}: ${what} must be a positive integer, got ${JSON.stringify(v)}`)
    }
    return v
  }
  const args = [
    "--parsable",
    `--job-name=${jobName.replace(/[\r\n]/g, " ")}`,
    `--chdir=${cwd}`,
    `--output=${stdoutPath}`,
    `--error=${stderrPath}`,
    "--export=ALL",
    "--no-requeue",
    "--nodes=1",
    "--ntasks=1",
    `--cpus-per-task=${positiveInt("cpus", cpus)}`
  ]
  if (memoryMiB !== undefined) args.push(`--mem=${positiveInt("memoryMiB", memoryMiB)}M`)
  if (gpus !== undefined && gpus !== 0) args.push(`--gres=gpu:${positiveInt("gpus", gpus)}`)
  if (timeMinutes !== undefined) {
    if (typeof timeMinutes !== "number" || !(timeMinutes > 0)) {
      throw new Error(`Slurm resources for ${jobName}: timeMinutes must be a positive number, got ${JSON.stringify(timeMinutes)}`)
    }
    // Slurm's time limits have a resolution of one minute
    args.push(`--time=${Math.ceil(timeMinutes)}`)
  }
  if (config.partition) args.push(`--partition=${config.partition}`)
  if (config.account) args.push(`--account=${config.account}`)
  if (config.qos) args.push(`--qos=${config.qos}`)
  args.push(...(config.extraArgs ?? []))
  return args
}

/** @param {string} s */
const shQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * The batch script: enter `cwd` (failing loudly instead of Slurm's silent fallback to /tmp), then become the command,
 * so the job's exit code and signal are the command's own.
 * @param {string} cwd
 * @param {string} command
 * @param {ReadonlyArray<string>} args
 */
export function batchScript(cwd, command, args) {
  return [
    "#!/bin/sh",
    `cd ${shQuote(cwd)} || { echo "[slurm] job $SLURM_JOB_ID: cannot enter ${cwd.replace(/["`$\\]/g, "\\$&")} on $(hostname): is it on the shared filesystem?" >&2; exit 97; }`,
    `exec ${[command, ...args].map(shQuote).join(" ")}`,
    ""
  ].join("\n")
}

/**
 * Runs a Slurm client command; resolves with its exit code and output, rejects only when it cannot be started.
 * @param {string} cmd
 * @param {ReadonlyArray<string>} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, input?: string }} [opts]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
function client(cmd, args, { env, cwd, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d) => { stdout += d })
    child.stderr.setEncoding("utf8").on("data", (d) => { stderr += d })
    child.on("error", (e) => {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code
      reject(code === "ENOENT" ? new Error(`${cmd} not found: ${SLURM_CLIENTS}`) : e)
    })
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }))
    child.stdin.on("error", () => {}) // a client that exits before reading its input
    child.stdin.end(input ?? "")
  })
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** @param {number} n */
const signalName = (n) => /** @type {NodeJS.Signals | null} */ (
  Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? null)

/**
 * Fields of `scontrol show job -o` output.
 * @param {string} line
 */
const scontrolFields = (line) => {
  /** @type {Record<string, string>} */
  const f = {}
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z:]+)=(\S*)/g)) f[m[1]] ??= m[2]
  return f
}

/** "3:0" → [3, 0] */
const parseExitCode = (/** @type {string | undefined} */ s) => {
  const m = /^(\d+):(\d+)$/.exec(s ?? "")
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

/**
 * The job's state now. `gone` when the controller no longer knows it (sacct then gives the final state).
 * @param {string} jobId
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ ok: true, state: string, exit: [number, number], reason: string, node: string }
 *   | { ok: false, gone: boolean, error: string }>}
 */
async function jobState(jobId, env) {
  const r = await client("scontrol", ["show", "job", "-o", jobId], { env })
  if (r.code === 0) {
    const f = scontrolFields(r.stdout)
    if (f.JobState) {
      const [code, sig] = parseExitCode(f.ExitCode)
      return { ok: true, state: f.JobState, exit: [code, sig], reason: f.Reason ?? "", node: f.NodeList ?? "" }
    }
  }
  const error = (r.stderr || r.stdout).trim()
  if (/invalid job id/i.test(error)) {
    const acct = await client("sacct", ["-X", "-n", "-P", "-j", jobId, "--format=State,ExitCode"], { env }).catch(() => undefined)
    const line = acct?.code === 0 ? acct.stdout.trim().split("\n")[0] : undefined
    if (line) {
      const [state, exitCode] = line.split("|")
      return { ok: true, state: state.split(" ")[0], exit: /** @type {[number, number]} */ (parseExitCode(exitCode)), reason: "", node: "" }
    }
    return { ok: false, gone: true, error: `${error}; sacct: ${acct ? (acct.stderr || "no record").trim() : "not available"}` }
  }
  return { ok: false, gone: false, error: error || `scontrol exited with ${r.code}` }
}

/** Whether squeue still lists the job (pending, running or completing). */
async function listedInQueue(/** @type {string} */ jobId, /** @type {NodeJS.ProcessEnv} */ env) {
  const r = await client("squeue", ["-h", "-j", jobId, "-o", "%i"], { env })
  if (r.code !== 0) return !/invalid job id/i.test(r.stderr) // unreachable controller: assume still there
  return r.stdout.trim() !== ""
}

/**
 * Follows a file that another host appends to: reopens it at each read (so a network filesystem's close-to-open
 * consistency shows what was written), copies what is new to `out`.
 */
class Tail {
  /** @param {string} path @param {NodeJS.WritableStream} out */
  constructor(path, out) {
    this.path = path
    this.out = out
    this.offset = 0
  }

  drain() {
    let fd
    try {
      fd = openSync(this.path, "r")
    } catch {
      return // not created yet (the job has not started)
    }
    try {
      const size = fstatSync(fd).size
      if (size < this.offset) this.offset = 0 // truncated: a fresh start
      while (this.offset < size) {
        const buf = Buffer.allocUnsafe(Math.min(size - this.offset, 1 << 20))
        const n = readSync(fd, buf, 0, buf.length, this.offset)
        if (n <= 0) break
        this.offset += n
        this.out.write(buf.subarray(0, n))
      }
    } finally {
      closeSync(fd)
    }
  }
}

/**
 * Runs `command args` as one Slurm job with these resources, in `cwd`, with `env`; streams its stdout and stderr to
 * the given streams while it runs; resolves with its exit code and signal, the job id and its final Slurm state.
 * Rejects when no job can run: sbatch is missing or refuses the job (e.g. an unknown partition), or Slurm accepts it
 * but keeps it pending for a reason that only an administrator can lift (e.g. PartitionConfig: more CPUs than any node
 * of the partition has); such a job is cancelled first, so nothing is left in the queue.
 * If `signal` fires: cancels the job (`scancel`; if the submission is under way, right after it), waits until
 * `squeue` no longer lists it, and resolves with its final state (CANCELLED, or whatever it reached first).
 * @param {RunSlurmJobOptions} options
 * @returns {Promise<SlurmJobResult>}
 */
export async function runSlurmJob({ command, args = [], cwd, env = process.env, resources, config = {}, jobName,
  stdout = process.stdout, stderr = process.stderr, signal }) {
  if (!isAbsolute(cwd)) throw new Error(`runSlurmJob: cwd must be an absolute path (on the shared filesystem), got ${cwd}`)
  const say = (/** @type {string} */ line) => { stderr.write(`[slurm] ${line}\n`) }
  if (signal?.aborted) {
    const message = `${jobName}: not submitted to Slurm: the run was interrupted first`
    say(message)
    return { jobId: null, state: "CANCELLED", exitCode: 130, signal: null, message }
  }
  const logDir = resolve(cwd, config.logDir ?? join(".growlab", "slurm"))
  mkdirSync(logDir, { recursive: true })
  const base = join(logDir, `job-${process.pid}-${randomBytes(6).toString("hex")}`)
  const outPath = `${base}.out`
  const errPath = `${base}.err`
  const sbatch = sbatchArgs({ resources, config, jobName, cwd, stdoutPath: outPath, stderrPath: errPath })

  // Submit. An abort during submission waits for it: killing sbatch mid-way could leave a job whose id nobody knows.
  const sub = await client("sbatch", sbatch, { env, cwd, input: batchScript(cwd, command, args) })
  const jobId = sub.code === 0 ? /^(\d+)/.exec(sub.stdout.trim())?.[1] : undefined
  if (!jobId) {
    throw new Error(`sbatch refused ${jobName} (exit ${sub.code}): ${(sub.stderr || sub.stdout).trim()}\n  sbatch ${sbatch.join(" ")}`)
  }
  say(`job ${jobId} submitted: ${jobName} (${sbatch.filter((a) => /^--(cpus-per-task|mem|gres|time|partition|account|qos)=/.test(a)).join(" ")})`)

  const tails = [new Tail(outPath, stdout), new Tail(errPath, stderr)]
  const maxPoll = Math.max(FIRST_POLL_S, config.pollSeconds ?? 5)
  let pollEvery = FIRST_POLL_S
  let nextPoll = Date.now() + pollEvery * 1000
  let lastOk = Date.now()
  let cancelled = false
  /** @type {string | undefined} the pending reason that made the runner give up on the job */
  let neverRuns
  let lastShown = ""
  /** @type {{ state: string, exit: [number, number] } | undefined} */
  let final
  /** @type {string | undefined} */
  let lostBecause

  const cancel = async (/** @type {string} */ why) => {
    cancelled = true
    say(`cancelling job ${jobId} (${why})`)
    const r = await client("scancel", [jobId], { env }).catch((e) => ({ code: 1, stdout: "", stderr: String(e) }))
    if (r.code !== 0 && !/already completing or completed|invalid job id/i.test(r.stderr)) say(`scancel ${jobId}: ${r.stderr.trim()}`)
    pollEvery = FIRST_POLL_S
    nextPoll = Date.now()
  }

  /** One step: copy new output, cancel if asked, now and then ask Slurm where the job is. Returns true when done. */
  const step = async () => {
    for (const t of tails) t.drain()
    if (signal?.aborted && !cancelled) await cancel("the run was interrupted")
    if (Date.now() < nextPoll) return false
    const s = await jobState(jobId, env)
    if (s.ok) {
      lastOk = Date.now()
      const shown = s.state === "PENDING" && s.reason !== "None" ? `job ${jobId} pending (${s.reason})`
        : s.state === "RUNNING" ? `job ${jobId} running on ${s.node}` : lastShown
      if (shown !== lastShown) say(shown)
      lastShown = shown
      if (s.state === "PENDING" && NEVER_RUNS.test(s.reason) && !cancelled) {
        neverRuns = s.reason
        await cancel(`Slurm will not run it as asked: ${s.reason}`)
        return false
      }
      if (!ACTIVE.has(s.state) && !(await listedInQueue(jobId, env))) {
        final = s
        return true
      }
    } else if (s.gone) {
      lostBecause = `Slurm no longer knows job ${jobId} and sacct has no record of it (${s.error})`
      return true
    } else if (Date.now() - lastOk > UNREACHABLE_S * 1000) {
      lostBecause = `the Slurm controller did not answer for ${UNREACHABLE_S} s (${s.error}); job ${jobId} may still be queued or running`
      return true
    }
    pollEvery = Math.min(maxPoll, pollEvery * 1.5)
    nextPoll = Date.now() + pollEvery * 1000
    return false
  }
  try {
    while (!(await step())) await sleep(TAIL_MS)
    for (const t of tails) t.drain()
  } catch (e) {
    // an unexpected failure here (a stream, a client): do not leave the job running behind the caller's back
    if (!cancelled) await client("scancel", [jobId], { env }).catch(() => undefined)
    throw e
  }
  // the output files are in the task's log now; keep them only if the job may still be writing them
  if (final || lostBecause?.startsWith("Slurm no longer knows")) for (const p of [outPath, errPath]) rmSync(p, { force: true })

  if (neverRuns) {
    throw new Error(`Slurm will not run ${jobName} as asked: job ${jobId} stayed pending with reason ${neverRuns}, so it was ` +
      `cancelled; check the stage's resources against the partition's limits (scontrol show partition; sinfo -N -l)\n  sbatch ${sbatch.join(" ")}`)
  }
  if (!final) {
    const message = `Slurm job ${jobId} (${jobName}) UNKNOWN: ${lostBecause}`
    say(message.replace(/^Slurm /, ""))
    return { jobId, state: "UNKNOWN", exitCode: 1, signal: null, message }
  }
  const [code, sig] = final.exit
  const state = final.state
  const exitCode = state === "COMPLETED" && code === 0 && sig === 0 ? 0 : code !== 0 ? code : sig !== 0 ? 128 + sig : 1
  const sigName = sig !== 0 ? signalName(sig) : null
  if (exitCode === 0) return { jobId, state, exitCode, signal: null, message: null }
  const how = sig !== 0 ? `killed by ${sigName ?? `signal ${sig}`}` : `exit code ${code}`
  const why = {
    FAILED: how,
    TIMEOUT: `it ran past its time limit (${resources.timeMinutes === undefined ? "the partition's default" : `--time=${Math.ceil(resources.timeMinutes)}`}) and Slurm stopped it; ${how}`,
    PREEMPTED: `a higher-priority job preempted it; ${how}; nothing is cached, the next run reruns this stage`,
    CANCELLED: cancelled ? `cancelled because the run was interrupted; ${how}` : `cancelled outside this run (scancel or an administrator); ${how}`,
    NODE_FAIL: `its node failed; ${how}; the next run reruns this stage`,
    OUT_OF_MEMORY: `it ran out of memory (${resources.memoryMiB === undefined ? "no --mem given" : `--mem=${resources.memoryMiB}M`}); ${how}`
  }[state] ?? how
  const message = `Slurm job ${jobId} (${jobName}) ${state}: ${why}`
  say(message.replace(/^Slurm /, ""))
  return { jobId, state, exitCode, signal: sigName, message }
}

/**
 * @typedef {object} SlurmJobRecord
 * @property {string} jobId
 * @property {string} name
 * @property {string} state e.g. COMPLETED, CANCELLED (sacct's "CANCELLED by <uid>" is shortened to CANCELLED)
 * @property {string} exitCode "code:signal"
 * @property {string} submit the submit time as sacct prints it (local time, to the second)
 * @property {string} partition
 */

const MARKER = "growlab-sacct-marker"

/** A Date as sacct's local time, to the second. @param {Date} d */
const sacctTime = (d) => {
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0")
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/**
 * The jobs submitted since `since` (whole seconds: a job submitted earlier in the same second counts), from Slurm's
 * job accounting (`sacct`, which needs slurmdbd). The controller sends job records to slurmdbd in batches (≈ 5 s
 * behind on the test cluster), so with `flush` (the default) it first submits a held marker job, waits until sacct
 * shows it (the records reach slurmdbd in order, so every job submitted before it is then visible too) and cancels it;
 * markers are never listed.
 * @param {{ since: Date, name?: string, allUsers?: boolean, flush?: boolean, env?: NodeJS.ProcessEnv,
 *   flushTimeoutSeconds?: number }} options
 * @returns {Promise<Array<SlurmJobRecord>>}
 */
export async function listJobs({ since, name, allUsers = false, flush = true, env = process.env, flushTimeoutSeconds = 60 }) {
  const sacct = (/** @type {ReadonlyArray<string>} */ args) => client("sacct", ["-X", "-n", "-P", ...args], { env })
  const check = (/** @type {{ code: number | null, stderr: string }} */ r) => {
    if (r.code !== 0) {
      throw new Error(`sacct cannot list jobs: ${r.stderr.trim()}. Job accounting needs slurmdbd ` +
        "(AccountingStorageType=accounting_storage/slurmdbd); scripts/slurm-cluster.sh sets it up; see docs/cluster.md")
    }
  }
  if (flush) {
    const sub = await client("sbatch", ["--parsable", "--hold", `--job-name=${MARKER}`, "--output=/dev/null", "--wrap", "true"], { env })
    const marker = sub.code === 0 ? /^(\d+)/.exec(sub.stdout.trim())?.[1] : undefined
    if (!marker) throw new Error(`listJobs: could not submit the held marker job: ${(sub.stderr || sub.stdout).trim()}`)
    try {
      const deadline = Date.now() + flushTimeoutSeconds * 1000
      for (;;) {
        const r = await sacct(["-j", marker, "--format=JobIDRaw"])
        check(r)
        if (r.stdout.trim() !== "") break
        if (Date.now() > deadline) {
          throw new Error(`listJobs: sacct did not show the marker job ${marker} within ${flushTimeoutSeconds} s: is slurmdbd running?`)
        }
        await sleep(250)
      }
    } finally {
      await client("scancel", [marker], { env })
    }
  }
  const from = sacctTime(since)
  const r = await sacct([...(allUsers ? ["-a"] : []), "-S", from, ...(name ? [`--name=${name}`] : []),
    "--format=JobIDRaw,State,ExitCode,Submit,Partition,JobName"])
  check(r)
  return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const [jobId, state, exitCode, submit, partition, ...rest] = l.split("|")
    return { jobId, name: rest.join("|"), state: state.split(" ")[0], exitCode, submit, partition }
  }).filter((j) => j.submit >= from && j.name !== MARKER)
}
