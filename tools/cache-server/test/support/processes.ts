/**
 * `growlab-cache serve` and `relay` as real processes, for the end-to-end test and the restore bench: started with
 * `node tools/cache-server/bin.mjs …` on port 0, ready when their "listening on" line appears, stopped by PID.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { send } from "./http.js"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..")
export const bin = join(repoRoot, "tools/cache-server/bin.mjs")

export interface Running {
  readonly url: string
  readonly pid: number
  /** Everything it printed so far. */
  readonly log: () => string
  /** Resolves on the first log line matching `pattern` (after `from` characters of log). */
  readonly waitFor: (pattern: RegExp, from?: number) => Promise<string>
  /**
   * Resolves once everything it logged before this call has been read: it sends a request with a fresh key and waits
   * for that request's own log line (lines arrive in order). Needed after a synchronous child process (spawnSync)
   * kept this process from reading the pipe.
   */
  readonly flush: () => Promise<void>
  /** SIGTERM (or the signal given) by PID; resolves when it has exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  readonly exited: Promise<number | null>
}

const start = (args: Array<string>, env: Record<string, string> = {}): Promise<Running> => {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const waiters: Array<{ pattern: RegExp; from: number; resolve: (line: string) => void }> = []
  const check = () => {
    for (const w of [...waiters]) {
      const m = output.slice(w.from).split("\n").find((l) => w.pattern.test(l))
      if (m !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  }
  const onData = (d: Buffer) => { output += String(d); check() }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
  const waitFor = (pattern: RegExp, from = 0) =>
    Promise.race([
      new Promise<string>((r) => { waiters.push({ pattern, from, resolve: r }); check() }),
      exited.then((code) => { throw new Error(`growlab-cache ${args[0]} exited (${code}) before printing ${pattern}:\n${output}`) })
    ])
  return waitFor(/listening on /).then((line): Running => {
    const url = /listening on (\S+?),? /.exec(line)![1]!
    const flush = async () => {
      const marker = `flush${randomBytes(6).toString("hex")}`
      const seen = waitFor(new RegExp(`GET ${marker}[ :]`))
      await send({ port: Number(new URL(url).port), method: "GET", path: `/v1/cache/${marker}` })
      await seen
    }
    const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal)
      await exited
    }
    return { url, pid: child.pid!, log: () => output, waitFor, exited, flush, stop }
  })
}

export const startServer = (store: Array<string>, tokensFile: string, extra: Array<string> = [], env: Record<string, string> = {}) =>
  start(["serve", ...store, "--tokens", tokensFile, "--port", "0", ...extra], env)

export const startRelay = (upstream: string, extra: Array<string> = []) =>
  start(["relay", "--upstream", upstream, "--port", "0", ...extra])

/** `growlab-cache token`: adds a token to the file and returns it. */
export const addToken = (tokensFile: string, name: string, scope: "read" | "read-write"): string =>
  execFileSync(process.execPath, [bin, "token", "--tokens", tokensFile, "--name", name, "--scope", scope], { cwd: repoRoot, encoding: "utf8" }).trim()
