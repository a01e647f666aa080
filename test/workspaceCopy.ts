/**
 * A throwaway copy of the workspace for end-to-end tests: every tracked or unignored file, a node_modules made of
 * links to the real one (workspace packages re-linked to the copy, so source edits in the copy take effect), and an
 * empty Nx cache.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

export interface WorkspaceCopy {
  readonly dir: string
  readonly runLog: string
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
    const target = ["pipeline"].includes(entry) ? join(dir, "tools", entry) : join(dir, "packages", entry)
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
  return {
    dir,
    runLog,
    exec: (cmd, args, env = {}) => {
      const r = spawnSync(cmd, args as Array<string>, {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_ISOLATE_PLUGINS: "false", NX_TUI: "false", GROWLAB_RUN_LOG: runLog, ...env },
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

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g

/**
 * Explains a failed `nx run … --output-style=static`: the output of each task Nx lists under "Failed tasks" (its
 * own block, which the end of a long log no longer holds), then the log's tail.
 */
export const nxFailure = (what: string, r: { code: number; output: string }, tail = 3000): string => {
  const text = r.output.replace(ansi, "")
  const failed = [...(text.split("Failed tasks:")[1] ?? "").matchAll(/^\s*- (\S+)$/gm)].map((m) => m[1]!)
  const blocks = failed.map((task) => {
    const start = text.lastIndexOf(`> nx run ${task}`)
    if (start < 0) return `${task}: no output of its own in the log`
    const end = text.indexOf("\n> nx run ", start + 1)
    const block = text.slice(start, end < 0 ? undefined : end).trimEnd()
    return block.length > 8000 ? `${block.slice(0, 1000)}\n…\n${block.slice(-7000)}` : block
  })
  return [`${what} failed (exit code ${r.code})`, ...blocks.map((b) => `── failed task ──\n${b}`), `── end of the log ──\n${text.slice(-tail)}`].join("\n")
}
