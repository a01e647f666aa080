/**
 * The Slurm executor's job runner (tools/pipeline/slurm.mjs) on a real single-host Slurm cluster
 * (scripts/slurm-cluster.sh: munged, MariaDB, slurmdbd, slurmctld, slurmd on this machine). The cluster is started
 * here unless it is already running, and then stopped by PID. Without root, or when apt cannot install Slurm, the
 * cluster tests are skipped with the reason in their title; under CI=true they fail instead.
 * The sbatch arguments, the env settings and the batch script are checked without a cluster.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import { setTimeout as sleep } from "node:timers/promises"
import { batchScript, listJobs, runSlurmJob, sbatchArgs, slurmConfigFromEnv } from "../slurm.mjs"
import { makeWorkspaceCopy, takeExecuted, type WorkspaceCopy } from "../../../test/workspaceCopy.js"

const repo = join(import.meta.dirname, "../../..")
const clusterScript = join(repo, "scripts/slurm-cluster.sh")
const work = mkdtempSync(join(tmpdir(), "growlab-slurm-test-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A stream that keeps what it is given and calls `onText` with everything so far after each write. */
class Collect extends Writable {
  text = ""
  onText: ((text: string) => void) | undefined
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void) {
    this.text += chunk.toString("utf8")
    this.onText?.(this.text)
    done()
  }
}

describe("sbatch arguments, settings and batch script (no cluster)", () => {
  it("maps cpus, memory, gpus and time to sbatch options, then partition, account, qos and the extra args last", () => {
    const args = sbatchArgs({
      resources: { cpus: 4, memoryMiB: 8192, gpus: 2, timeMinutes: 90.5 },
      config: { partition: "gpu", account: "proj42", qos: "long", extraArgs: ["--constraint=avx512", "--exclusive"] },
      jobName: "study--large-2", cwd: "/shared/growlab", stdoutPath: "/shared/o.out", stderrPath: "/shared/o.err"
    })
    expect(args).toEqual([
      "--parsable", "--job-name=study--large-2", "--chdir=/shared/growlab", "--output=/shared/o.out",
      "--error=/shared/o.err", "--export=ALL", "--no-requeue", "--nodes=1", "--ntasks=1", "--cpus-per-task=4",
      "--mem=8192M", "--gres=gpu:2", "--time=91", "--partition=gpu", "--account=proj42", "--qos=long",
      "--constraint=avx512", "--exclusive"
    ])
    const minimal = sbatchArgs({ resources: { cpus: 1, gpus: 0 }, jobName: "x", cwd: "/w", stdoutPath: "/o", stderrPath: "/e" })
    expect(minimal.filter((a) => /^--(mem|gres|time|partition|account|qos)=/.test(a))).toEqual([])
    expect(minimal).toContain("--cpus-per-task=1")
  })

  it("refuses resources that are not positive integers, naming the job", () => {
    const build = (resources: { cpus: number; memoryMiB?: number; gpus?: number; timeMinutes?: number }) => () =>
      sbatchArgs({ resources, jobName: "smoke--small", cwd: "/w", stdoutPath: "/o", stderrPath: "/e" })
    expect(build({ cpus: 0 })).toThrow(/smoke--small: cpus must be a positive integer, got 0/)
    expect(build({ cpus: 1.5 })).toThrow(/cpus must be a positive integer/)
    expect(build({ cpus: 1, memoryMiB: -5 })).toThrow(/memoryMiB must be a positive integer/)
    expect(build({ cpus: 1, gpus: 0.5 })).toThrow(/gpus must be a positive integer/)
    expect(build({ cpus: 1, timeMinutes: 0 })).toThrow(/timeMinutes must be a positive number/)
  })

  it("reads GROWLAB_SLURM_* settings; extra args as a JSON array or words; a bad poll interval is an error", () => {
    expect(slurmConfigFromEnv({})).toEqual({})
    expect(slurmConfigFromEnv({
      GROWLAB_SLURM_PARTITION: "cpu", GROWLAB_SLURM_ACCOUNT: "acct", GROWLAB_SLURM_QOS: "normal",
      GROWLAB_SLURM_EXTRA_ARGS: "--exclusive  --constraint=zen4", GROWLAB_SLURM_POLL_SECONDS: "2.5",
      GROWLAB_SLURM_LOG_DIR: "/shared/logs"
    })).toEqual({
      partition: "cpu", account: "acct", qos: "normal", extraArgs: ["--exclusive", "--constraint=zen4"],
      pollSeconds: 2.5, logDir: "/shared/logs"
    })
    expect(slurmConfigFromEnv({ GROWLAB_SLURM_EXTRA_ARGS: '["--comment=a b", "--exclusive"]' }).extraArgs)
      .toEqual(["--comment=a b", "--exclusive"])
    expect(() => slurmConfigFromEnv({ GROWLAB_SLURM_EXTRA_ARGS: '["--x", 3]' })).toThrow(/JSON array of strings/)
    expect(() => slurmConfigFromEnv({ GROWLAB_SLURM_POLL_SECONDS: "0" })).toThrow(/positive number of seconds/)
  })

  it("the batch script enters cwd and execs the command with every argument intact; a missing cwd fails loudly", () => {
    const odd = join(work, `it's a "dir" $HOME`)
    mkdirSync(odd, { recursive: true })
    const script = join(work, "job.sh")
    const argv = ["-e", "console.log(JSON.stringify([process.cwd(), ...process.argv.slice(1)]))", "a b", "it's", "$HOME", "\"q\""]
    writeFileSync(script, batchScript(odd, process.execPath, argv))
    const out = execFileSync("sh", [script], { cwd: tmpdir(), encoding: "utf8" })
    expect(JSON.parse(out)).toEqual([odd, "a b", "it's", "$HOME", "\"q\""])
    writeFileSync(script, batchScript(join(work, "no such dir"), "true", []))
    const missing = spawnSync("sh", [script], { encoding: "utf8" })
    expect(missing.status).toBe(97)
    expect(missing.stderr).toMatch(/cannot enter .*no such dir.*is it on the shared filesystem/)
  })
})

// ---- the real cluster -------------------------------------------------------------------------------------------

const unavailable = ((): string | undefined => {
  if (process.getuid?.() !== 0) return "not root: starting a Slurm cluster needs root (apt-get, munged, slurmd)"
  const r = spawnSync(clusterScript, ["install"], { encoding: "utf8" })
  return r.status === 0 ? undefined : `apt cannot install Slurm: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`
})()
const skip = unavailable !== undefined && process.env.CI !== "true"
if (skip) console.warn(`[Slurm.test] skipping the cluster tests: ${unavailable}`)

const tag = `growlab-test-${process.pid}`
const names: Array<string> = []
const name = (what: string) => {
  names.push(`${tag}-${what}`)
  return `${tag}-${what}`
}
const queued = (jobName: string) => execFileSync("squeue", ["-h", "-n", jobName, "-o", "%i %T"], { encoding: "utf8" }).trim()
const nodeCpus = () => Number(execFileSync("sinfo", ["-h", "-N", "-o", "%c"], { encoding: "utf8" }).trim().split("\n")[0])
const sh = (script: string) => ({ command: "sh", args: ["-c", script] })
const fast = { pollSeconds: 1 }

describe.skipIf(skip)(`Slurm jobs on a real single-host cluster${skip ? ` (skipped: ${unavailable})` : ""}`, () => {
  let startedHere = false
  let since: Date
  const submitted: Array<string> = []

  // a cluster that cannot run fails every test here (a failing hook alone would leave them counted as skipped)
  let problem = unavailable === undefined ? undefined : `${unavailable} (CI=true: the Slurm tests must run, not skip)`
  beforeAll(() => {
    if (problem) return
    if (spawnSync(clusterScript, ["status"], { encoding: "utf8" }).status !== 0) {
      const r = spawnSync(clusterScript, ["start"], { encoding: "utf8" })
      startedHere = true // even a failed start may have started some daemons: afterAll stops what it recorded
      if (r.status !== 0) {
        problem = `scripts/slurm-cluster.sh start failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" | ")}`
        return
      }
    }
    since = new Date()
  }, 240_000)
  beforeEach(() => {
    if (problem) throw new Error(problem)
  })

  afterAll(() => {
    if (!problem) for (const n of names) if (queued(n) !== "") spawnSync("scancel", ["-n", n])
    if (startedHere) execFileSync(clusterScript, ["stop"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  }, 120_000)

  it("streams the job's output while it runs (the job waits for the test to see its first line) and returns 0", async () => {
    const cwd = join(work, "stream")
    mkdirSync(cwd)
    const stdout = new Collect()
    const stderr = new Collect()
    stdout.onText = (text) => { if (text.includes("first line") && !existsSync(join(cwd, "go"))) writeFileSync(join(cwd, "go"), "") }
    // the job can only finish if its first line reached this process while it was still running
    const r = await runSlurmJob({
      ...sh("echo first line; i=0; while [ ! -e go ]; do i=$((i+1)); [ $i -gt 600 ] && { echo never released >&2; exit 1; }; sleep 0.1; done; echo second line; echo to stderr >&2"),
      cwd, resources: { cpus: 1 }, config: fast, jobName: name("stream"), stdout, stderr
    })
    expect(r).toMatchObject({ state: "COMPLETED", exitCode: 0, signal: null, message: null })
    submitted.push(r.jobId!)
    expect(stdout.text).toBe("first line\nsecond line\n")
    expect(stderr.text).toContain("to stderr\n")
    expect(stderr.text).toContain(`[slurm] job ${r.jobId} submitted: ${tag}-stream (--cpus-per-task=1)`)
    expect(readdirSync(join(cwd, ".growlab/slurm"))).toEqual([]) // the output files are gone once streamed
  })

  it("a failing command: its exit code, its stderr and a one-line message naming the job id and state", async () => {
    const stderr = new Collect()
    const r = await runSlurmJob({ ...sh("echo boom on stderr >&2; exit 3"), cwd: work, resources: { cpus: 1 }, config: fast,
      jobName: name("fail"), stdout: new Collect(), stderr })
    submitted.push(r.jobId!)
    expect(r).toMatchObject({ state: "FAILED", exitCode: 3, signal: null })
    expect(r.message).toBe(`Slurm job ${r.jobId} (${tag}-fail) FAILED: exit code 3`)
    expect(stderr.text).toContain("boom on stderr\n")
    expect(stderr.text).toContain(`[slurm] job ${r.jobId} (${tag}-fail) FAILED: exit code 3\n`)
  })

  it("a command killed by a signal (a native crash): 128 + the signal, and the signal's name", async () => {
    const r = await runSlurmJob({ ...sh("kill -SEGV $$"), cwd: work, resources: { cpus: 1 }, config: fast,
      jobName: name("segv"), stdout: new Collect(), stderr: new Collect() })
    submitted.push(r.jobId!)
    expect(r).toMatchObject({ state: "FAILED", exitCode: 139, signal: "SIGSEGV" })
  })

  it("the job sees the given env (TF threads included) and runs in the given cwd", async () => {
    const cwd = join(work, "cwd with space")
    mkdirSync(cwd)
    const stdout = new Collect()
    const value = `a b 'c' "d" $HOME \\n`
    const r = await runSlurmJob({
      command: process.execPath,
      args: ["-e", "console.log(JSON.stringify({ cwd: process.cwd(), v: process.env.GROWLAB_TEST_VALUE, intra: process.env.TF_NUM_INTRAOP_THREADS, inter: process.env.TF_NUM_INTEROP_THREADS, job: process.env.SLURM_JOB_ID, cpus: process.env.SLURM_CPUS_PER_TASK }))"],
      cwd, env: { ...process.env, GROWLAB_TEST_VALUE: value, TF_NUM_INTRAOP_THREADS: "2", TF_NUM_INTEROP_THREADS: "2" },
      resources: { cpus: 2 }, config: fast, jobName: name("env"), stdout, stderr: new Collect()
    })
    submitted.push(r.jobId!)
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(stdout.text)).toEqual({ cwd, v: value, intra: "2", inter: "2", job: r.jobId, cpus: "2" })
  })

  it("rejects what sbatch refuses (an unknown partition), quoting sbatch", async () => {
    await expect(runSlurmJob({ ...sh("true"), cwd: work, resources: { cpus: 1 }, config: { partition: "no-such-partition" },
      jobName: name("nopart"), stdout: new Collect(), stderr: new Collect() }))
      .rejects.toThrow(/sbatch refused .*-nopart \(exit 1\): .*invalid partition.*--partition=no-such-partition/s)
  })

  it("rejects a job Slurm accepts but would keep pending forever (more CPUs than the node has), cancelling it first", async () => {
    const jobName = name("toolarge")
    const stderr = new Collect()
    await expect(runSlurmJob({ ...sh("true"), cwd: work, resources: { cpus: nodeCpus() + 100 }, config: fast, jobName,
      stdout: new Collect(), stderr })).rejects.toThrow(
      new RegExp(`Slurm will not run ${jobName} as asked: job \\d+ stayed pending with reason PartitionConfig, so it was cancelled`))
    expect(stderr.text).toMatch(/\[slurm\] cancelling job \d+ \(Slurm will not run it as asked: PartitionConfig\)/)
    expect(queued(jobName)).toBe("")
  })

  it("an abort cancels the job (the command gets SIGTERM first) and squeue no longer lists it", async () => {
    const controller = new AbortController()
    const stdout = new Collect()
    stdout.onText = (text) => { if (text.includes("started")) controller.abort() }
    const jobName = name("abort")
    const r = await runSlurmJob({ ...sh("trap 'echo got TERM; exit 143' TERM; echo started; while true; do sleep 0.1; done"),
      cwd: work, resources: { cpus: 1 }, config: fast, jobName, stdout, stderr: new Collect(), signal: controller.signal })
    submitted.push(r.jobId!)
    expect(r.state).toBe("CANCELLED")
    expect(r.exitCode).not.toBe(0)
    expect(r.message).toMatch(new RegExp(`^Slurm job ${r.jobId} \\(${jobName}\\) CANCELLED: cancelled because the run was interrupted`))
    expect(stdout.text).toContain("got TERM")
    expect(queued(jobName)).toBe("")
    expect(execFileSync("squeue", ["-h", "-j", r.jobId!], { encoding: "utf8" }).trim()).toBe("")
  })

  it("an abort before submission submits nothing", async () => {
    const controller = new AbortController()
    controller.abort()
    const r = await runSlurmJob({ ...sh("true"), cwd: work, resources: { cpus: 1 }, jobName: name("preaborted"),
      stdout: new Collect(), stderr: new Collect(), signal: controller.signal })
    expect(r).toMatchObject({ jobId: null, state: "CANCELLED", exitCode: 130 })
  })

  it("a job preempted by a higher-priority partition's job fails with PREEMPTED, non-zero", async () => {
    const cpus = nodeCpus()
    const victimOut = new Collect()
    let urgent: ReturnType<typeof runSlurmJob> | undefined
    const jobName = name("victim")
    // the victim takes every CPU; once it runs, a job of the `urgent` partition (higher priority tier) needs them
    victimOut.onText = (text) => {
      if (text.includes("victim started") && !urgent) {
        urgent = runSlurmJob({ ...sh("echo urgent ran"), cwd: work, resources: { cpus }, config: { ...fast, partition: "urgent" },
          jobName: name("urgent"), stdout: new Collect(), stderr: new Collect() })
      }
    }
    const victim = await runSlurmJob({ ...sh("echo victim started; exec sleep 300"), cwd: work, resources: { cpus },
      config: fast, jobName, stdout: victimOut, stderr: new Collect() })
    submitted.push(victim.jobId!)
    expect(victim.state).toBe("PREEMPTED")
    expect(victim.exitCode).not.toBe(0)
    expect(victim.message).toMatch(new RegExp(`^Slurm job ${victim.jobId} \\(${jobName}\\) PREEMPTED: `))
    expect(urgent).toBeDefined()
    const u = await urgent!
    submitted.push(u.jobId!)
    expect(u).toMatchObject({ state: "COMPLETED", exitCode: 0 })
    expect(queued(jobName)).toBe("")
  })

  it("listJobs: every job submitted since a time, none from a time after them, then exactly the new one", async () => {
    const jobs = await listJobs({ since })
    expect(jobs.map((j) => j.jobId)).toEqual(expect.arrayContaining(submitted))
    const byId = new Map(jobs.map((j) => [j.jobId, j]))
    expect(byId.get(submitted[1])).toMatchObject({ name: `${tag}-fail`, state: "FAILED", exitCode: "3:0" })
    expect(jobs.some((j) => j.name.startsWith("growlab-sacct-marker"))).toBe(false)

    await sleep(1100) // `since` has whole seconds: start from the next one
    const later = new Date()
    expect(await listJobs({ since: later })).toEqual([]) // what a fully cached rerun must show
    const r = await runSlurmJob({ ...sh("true"), cwd: work, resources: { cpus: 1 }, config: fast, jobName: name("counted"),
      stdout: new Collect(), stderr: new Collect() })
    const after = await listJobs({ since: later })
    expect(after.map((j) => [j.jobId, j.name, j.state])).toEqual([[r.jobId, `${tag}-counted`, "COMPLETED"]])
    expect(await listJobs({ since, name: `${tag}-no-such-job`, flush: false })).toEqual([])
  })

  it("a job over its --time ends TIMEOUT, mapped to a non-zero exit with the job id and state", async () => {
    const stdout = new Collect()
    const jobName = name("timeout")
    const r = await runSlurmJob({ command: process.execPath, args: ["-e", "console.log('running'); setInterval(() => {}, 1000)"],
      cwd: work, resources: { cpus: 1, timeMinutes: 1 }, config: { pollSeconds: 2 }, jobName, stdout, stderr: new Collect() })
    expect(r.state).toBe("TIMEOUT")
    expect(r.exitCode).not.toBe(0)
    expect(r.message).toMatch(new RegExp(`^Slurm job ${r.jobId} \\(${jobName}\\) TIMEOUT: it ran past its time limit \\(--time=1\\)`))
    expect(stdout.text).toBe("running\n")
    expect(queued(jobName)).toBe("")
  }, 240_000)

  // ---------------------------------------------------------------------------------------------------------------
  // Whole pipelines through the Slurm executor (GROWLAB_EXECUTOR=slurm), Nx still orchestrating and caching.
  describe("nx run pipelines:smoke with GROWLAB_EXECUTOR=slurm", () => {
    let local: WorkspaceCopy
    let cluster: WorkspaceCopy
    const slurm = { GROWLAB_EXECUTOR: "slurm", GROWLAB_SLURM_POLL_SECONDS: "1" }
    const outputsOf = (ws: WorkspaceCopy) => {
      // every file a stage wrote except its manifest (host, wall time and job facts differ by design)
      const out: Record<string, string> = {}
      const walk = (dir: string, rel: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.name.startsWith(".")) continue
          if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`)
          else if (e.name !== "manifest.json") out[`${rel}${e.name}`] = createHash("sha256").update(readFileSync(join(dir, e.name))).digest("hex")
        }
      }
      walk(join(ws.dir, "artifacts/smoke"), "")
      return out
    }
    const nxIn = (ws: WorkspaceCopy, env: Record<string, string>, ...args: Array<string>) =>
      ws.exec("npx", ["nx", ...args, "--output-style=static"], env)

    beforeAll(() => {
      if (problem) return
      local = makeWorkspaceCopy()
      cluster = makeWorkspaceCopy()
    })
    afterAll(() => {
      local?.cleanup()
      cluster?.cleanup()
    })

    it("runs every stage as a Slurm job, byte-identical to a local run; a cached rerun submits no job", async () => {
      const a = nxIn(local, {}, "run", "pipelines:smoke")
      expect(a.code, a.output.slice(-3000)).toBe(0)
      const start = new Date()
      const b = nxIn(cluster, slurm, "run", "pipelines:smoke")
      expect(b.code, b.output.slice(-3000)).toBe(0)
      expect(takeExecuted(cluster)).toEqual(["smoke/data", "smoke/grow", "smoke/large", "smoke/report", "smoke/small"])
      expect(b.output).toMatch(/\[slurm\] job \d+ submitted: growlab-smoke-small \(--cpus-per-task=1/)
      // every artifact byte for byte as the local run wrote it (same threads: the stages' cpus), but the report files
      // that show the seconds each run measured: the HTML and Markdown, the time table, and the runs and compute
      // tables, whose CSVs must still agree in every column but the seconds
      const measured = new Set(["report/report.html", "report/summary.md", "report/tables/time.arrow", "report/tables/time.csv", "report/tables/runs.arrow", "report/tables/runs.csv", "report/tables/compute.arrow", "report/tables/compute.csv"])
      const results = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).filter(([f]) => !measured.has(f)))
      expect(results(outputsOf(cluster))).toEqual(results(outputsOf(local)))
      expect(Object.keys(outputsOf(cluster)).filter((f) => measured.has(f)).sort()).toEqual([...measured].sort())
      const withoutSeconds = (ws: WorkspaceCopy, table: string) => {
        const [header, ...rows] = readFileSync(join(ws.dir, "artifacts/smoke/report/tables", table), "utf8").trim().split("\n").map((l) => l.split(","))
        const keep = header.map((c, i) => [c, i] as const).filter(([c]) => !c.includes("seconds")).map(([, i]) => i)
        return [header, ...rows].map((r) => keep.map((i) => r[i]))
      }
      for (const table of ["runs.csv", "compute.csv"]) {
        expect(withoutSeconds(cluster, table)[0], table).toContain("epochs")
        expect(withoutSeconds(cluster, table), table).toEqual(withoutSeconds(local, table))
      }
      const jobs = (await listJobs({ since: start })).filter((j) => j.name.startsWith("growlab-smoke-"))
      expect(jobs.map((j) => j.name).sort()).toEqual(["growlab-smoke-data", "growlab-smoke-grow", "growlab-smoke-large", "growlab-smoke-report", "growlab-smoke-small"])
      expect(jobs.every((j) => j.state === "COMPLETED")).toBe(true)
      // nothing changed: Nx restores everything, no job is submitted
      await sleep(1100)
      const again = new Date()
      const c = nxIn(cluster, slurm, "run", "pipelines:smoke")
      expect(c.code, c.output.slice(-3000)).toBe(0)
      expect(takeExecuted(cluster)).toEqual([])
      expect((await listJobs({ since: again })).filter((j) => j.name.startsWith("growlab-smoke-"))).toEqual([])
      // an emptied Nx cache: the launcher finds each artifact already made with its key here and submits nothing
      rmSync(join(cluster.dir, ".nx/cache"), { recursive: true, force: true })
      await sleep(1100)
      const empty = new Date()
      const d = nxIn(cluster, slurm, "run", "pipelines:smoke")
      expect(d.code, d.output.slice(-3000)).toBe(0)
      expect((await listJobs({ since: empty })).filter((j) => j.name.startsWith("growlab-smoke-"))).toEqual([])
    }, 900_000)

    it("a failing stage fails its Nx task with the stage's own error and leaves no artifact", () => {
      const file = join(cluster.dir, "pipelines/smoke.pipeline.json")
      const p = JSON.parse(readFileSync(file, "utf8"))
      p.stages.boom = { kind: "train", inputs: { train: "data.train", validation: "data.test", init: "small.model" }, params: { epochs: 1, learningRate: 1e30, seed: 1 } }
      writeFileSync(file, JSON.stringify(p, null, 2))
      const r = nxIn(cluster, slurm, "run", "smoke--boom:run")
      expect(r.code).not.toBe(0)
      expect(r.output).toMatch(/training loss is (NaN|-?Infinity)/)
      expect(r.output).toMatch(/\[slurm\] job \d+ \(growlab-smoke-boom\) FAILED: exit code 1/)
      expect(existsSync(join(cluster.dir, "artifacts/smoke/boom"))).toBe(false)
      expect(readdirSync(join(cluster.dir, "artifacts/smoke")).filter((d) => d.startsWith(".tmp-"))).toEqual([])
    }, 600_000)

    it("interrupting Nx cancels the running job: no orphan in squeue, no artifact", async () => {
      const file = join(cluster.dir, "pipelines/smoke.pipeline.json")
      const p = JSON.parse(readFileSync(file, "utf8"))
      p.stages.small.params.epochs = 400
      p.stages.small.params.seed = 9
      writeFileSync(file, JSON.stringify(p, null, 2))
      const child = spawn("npx", ["nx", "run", "smoke--small:run", "--output-style=static"], {
        cwd: cluster.dir, detached: true,
        env: cluster.env(slurm)
      })
      let output = ""
      child.stdout!.on("data", (d) => { output += String(d) })
      child.stderr!.on("data", (d) => { output += String(d) })
      let ended: number | null | undefined
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { ended = code; resolve(code) }))
      // training: the job runs and the stage has made its temp folder (Nx shows the task's output only at its end)
      const until = Date.now() + 300_000
      const tmp = () => readdirSync(join(cluster.dir, "artifacts/smoke")).some((d) => d.startsWith(".tmp-small@"))
      let jobId = ""
      while (!(jobId !== "" && tmp())) {
        if (Date.now() > until || ended !== undefined) throw new Error(`the job never started training (nx ${ended === undefined ? "still running" : `exited ${ended}`}):\n${output.slice(-2000)}`)
        await sleep(200)
        jobId = execFileSync("squeue", ["-h", "-n", "growlab-smoke-small", "-t", "RUNNING", "-o", "%i"], { encoding: "utf8" }).trim()
      }
      await sleep(3000)
      process.kill(-child.pid!, "SIGINT")
      expect(await exited).not.toBe(0)
      const gone = Date.now() + 120_000
      while (execFileSync("squeue", ["-h", "-j", jobId, "-o", "%i"], { encoding: "utf8" }).trim() !== "") {
        if (Date.now() > gone) throw new Error(`job ${jobId} is still queued after the interrupt`)
        await sleep(500)
      }
      expect(JSON.parse(readFileSync(join(cluster.dir, "artifacts/smoke/small/manifest.json"), "utf8")).params.epochs).not.toBe(400)
      expect(readdirSync(join(cluster.dir, "artifacts/smoke")).filter((d) => d.startsWith(".tmp-"))).toEqual([])
    }, 600_000)
  })

})
