/**
 * A throwaway copy of the workspace for end-to-end tests: every tracked or unignored file, a node_modules made of
 * links to the real one (workspace packages re-linked to the copy, so source edits in the copy take effect), and an
 * empty Nx cache.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

export interface WorkspaceCopy {
  readonly dir: string
  readonly runLog: string
  /** The environment commands in the copy run with: Nx without daemon, cloud or TUI, the growlab run log, then `extra`. */
  readonly env: (extra?: Record<string, string>) => NodeJS.ProcessEnv
  /** Runs a command in the copy with the growlab run log enabled; returns exit code and combined output. */
  readonly exec: (cmd: string, args: ReadonlyArray<string>, env?: Record<string, string>) => { code: number; output: string }
  readonly cleanup: () => void
}

export const makeWorkspaceCopy = (): WorkspaceCopy => {
  const dir = mkdtempSync(join(tmpdir(), "growlab-e2e-"))
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repoRoot, encoding: "utf8" })
    .split("\0").filter((f) => f.length > 0)
  for (const f of files) {
    const src = join(repoRoot, f)
    const dst = join(dir, f)
    mkdirSync(dirname(dst), { recursive: true })
    try { cpSync(src, dst) } catch { /* deleted in the working tree */ }
  }
  const nm = join(dir, "node_modules")
  mkdirSync(nm)
  for (const entry of readdirSync(join(repoRoot, "node_modules"))) {
    if (entry === "@growlab" || entry === ".cache") continue
    symlinkSync(join(repoRoot, "node_modules", entry), join(nm, entry))
  }
  mkdirSync(join(nm, "@growlab"))
  for (const entry of readdirSync(join(repoRoot, "node_modules", "@growlab"))) {
    const target = ["pipeline", "cache-server"].includes(entry) ? join(dir, "tools", entry) : join(dir, "packages", entry)
    symlinkSync(target, join(nm, "@growlab", entry))
  }
  // packages whose dependencies npm could not hoist keep a node_modules of their own
  for (const group of ["packages", "tools"]) {
    for (const pkg of readdirSync(join(repoRoot, group))) {
      const own = join(repoRoot, group, pkg, "node_modules")
      if (existsSync(own)) symlinkSync(own, join(dir, group, pkg, "node_modules"))
    }
  }
  const runLog = join(dir, "runs.log")
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
    ({ ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_ISOLATE_PLUGINS: "false", NX_TUI: "false", GROWLAB_RUN_LOG: runLog, ...extra })
  return {
    dir,
    runLog,
    env,
    exec: (cmd, args, extra = {}) => {
      const r = spawnSync(cmd, args as Array<string>, {
        cwd: dir,
        encoding: "utf8",
        env: env(extra),
        maxBuffer: 64 * 1024 * 1024
      })
      return { code: r.status ?? 1, output: `${r.stdout ?? ""}${r.stderr ?? ""}` }
    },
    // GROWLAB_KEEP_E2E=1 keeps the copy (and its artifacts) for inspection
    cleanup: () => {
      if (process.env.GROWLAB_KEEP_E2E === "1") console.log(`kept the workspace copy at ${dir}`)
      else rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The stages the copy executed (not restored from a cache) since the last call, sorted; empties the run log. */
export const takeExecuted = (ws: WorkspaceCopy): Array<string> => {
  if (!existsSync(ws.runLog)) return []
  const lines = readFileSync(ws.runLog, "utf8").split("\n").filter(Boolean).sort()
  rmSync(ws.runLog)
  return lines
}

/** Parses a JSON file of the copy, lets `edit` change it, and writes it back. */
export const editJson = (ws: WorkspaceCopy, file: string, edit: (v: any) => void): void => {
  const path = join(ws.dir, file)
  const v = JSON.parse(readFileSync(path, "utf8"))
  edit(v)
  writeFileSync(path, JSON.stringify(v, null, 2))
}

/** Every file under `dir`: its path relative to `dir` → its sha256. */
export const hashTree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`)
      else out[`${rel}${e.name}`] = createHash("sha256").update(readFileSync(join(d, e.name))).digest("hex")
    }
  }
  walk(dir, "")
  return out
}

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g

/** The tasks Nx lists under "Failed tasks", each with its own block of the log (null when it printed none). */
export const failedTasks = (output: string): Array<{ task: string; block: string | null }> => {
  const text = output.replace(ansi, "")
  const failed = [...(text.split("Failed tasks:")[1] ?? "").matchAll(/^\s*- (\S+)$/gm)].map((m) => m[1]!)
  return failed.map((task) => {
    const start = text.lastIndexOf(`> nx run ${task}`)
    if (start < 0) return { task, block: null }
    const end = text.indexOf("\n> nx run ", start + 1)
    return { task, block: text.slice(start, end < 0 ? undefined : end).trimEnd() }
  })
}

/**
 * Explains a failed `nx run … --output-style=static`: the output of each task Nx lists under "Failed tasks" (its
 * own block, which the end of a long log no longer holds), then the log's tail.
 */
export const nxFailure = (what: string, r: { code: number; output: string }, tail = 3000): string => {
  const blocks = failedTasks(r.output).map(({ task, block }) =>
    block === null ? `${task}: no output of its own in the log`
      : block.length > 8000 ? `${block.slice(0, 1000)}\n…\n${block.slice(-7000)}` : block)
  return [`${what} failed (exit code ${r.code})`, ...blocks.map((b) => `── failed task ──\n${b}`), `── end of the log ──\n${r.output.replace(ansi, "").slice(-tail)}`].join("\n")
}

/**
 * How a stage process dies when the native TensorFlow runtime crashes under it: the shell's report of a fatal
 * signal, or a TensorFlow CHECK failure (which aborts). Seen about once in 1,000 TensorFlow stage processes here
 * (README, "Known limitations"); a stage's artifact is written atomically, so such a crash never leaves one behind.
 */
export const nativeCrash = /^(Segmentation fault|Aborted|Bus error|Illegal instruction)( \(core dumped\))?\s*$|^F\d{4} [\d:. ]+\d+ \S+\] Check failed: /m

/** The run-log line of an Nx stage task (`<pipeline>--<instance>:run` → `<pipeline>/<instance>`). */
const runLogLine = (task: string): string => task.replace(/:run$/, "").replace("--", "/")

/**
 * `nx run <target>` in the copy; throws with each failed task's output unless it succeeds. When every failed task
 * died of a native crash (and nothing else failed), it says so on stderr and runs the target once more: Nx restores
 * every finished task from its cache and reruns only the crashed ones and what depends on them. The crashed tasks'
 * first lines in the run log are dropped, so counts of executed stages stay exact.
 */
export const runNx = (
  ws: WorkspaceCopy,
  target: string,
  warn: (message: string) => void = (m) => { process.stderr.write(m) }
): { code: number; output: string } => {
  const run = () => ws.exec("npx", ["nx", "run", target, "--output-style=static"])
  const first = run()
  if (first.code === 0) return first
  const failed = failedTasks(first.output)
  if (failed.length === 0 || !failed.every(({ block }) => block !== null && nativeCrash.test(block))) {
    throw new Error(nxFailure(`nx run ${target}`, first))
  }
  warn(`[e2e] nx run ${target}: ${failed.map((f) => f.task).join(", ")} died of a native TensorFlow crash:\n` +
    failed.map((f) => f.block!.split("\n").filter((l) => nativeCrash.test(l)).join("\n")).join("\n") + "\n[e2e] running it once more\n")
  if (existsSync(ws.runLog)) {
    const lines = readFileSync(ws.runLog, "utf8").split("\n").filter(Boolean)
    for (const { task } of failed) {
      const i = lines.lastIndexOf(runLogLine(task))
      if (i >= 0) lines.splice(i, 1)
    }
    writeFileSync(ws.runLog, lines.map((l) => `${l}\n`).join(""))
  }
  const second = run()
  if (second.code !== 0) throw new Error(nxFailure(`nx run ${target} (run again after a native crash)`, second))
  return second
}
