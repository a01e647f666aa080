// @ts-check
/**
 * CPU slots of this machine, shared by every stage task that runs here, so `nx run ... --parallel=K` never runs more
 * TensorFlow threads than there are cores: a stage holds as many slots as it has threads while it runs, and waits for
 * them otherwise. One file per slot (`<dir>/cpu-<i>`, created with O_EXCL, holding the owner's pid); a slot whose
 * owner is gone (killed hard) is taken back. The pool has `os.availableParallelism()` slots (GROWLAB_CPU_SLOTS sets
 * another number; 0 turns the pool off). Plain Node: it runs in the task launcher.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"

/** @param {NodeJS.ProcessEnv} env */
export const poolSize = (env = process.env) => {
  const n = env.GROWLAB_CPU_SLOTS
  return n !== undefined && /^\d+$/.test(n) ? Number(n) : availableParallelism()
}

/** @param {NodeJS.ProcessEnv} env */
export const poolDir = (env = process.env) => env.GROWLAB_CPU_SLOTS_DIR ?? join(tmpdir(), "growlab-cpu-slots")

/** @param {number} pid */
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === "EPERM"
  }
}

/**
 * Tries to take slot `file`; takes it back from a dead owner.
 * @param {string} file
 * @returns {boolean}
 */
const take = (file) => {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx")
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return true
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e
      let owner = NaN
      try { owner = Number(readFileSync(file, "utf8")) } catch { /* being written or released: try later */ }
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) return false
      try { unlinkSync(file) } catch { /* someone else took it back first */ }
    }
  }
  return false
}

/**
 * Waits until `count` slots are free and takes them all at once (never a part, so two waiting stages cannot deadlock).
 * Returns a release function (also run on process exit). `onWait` is called once if it has to wait.
 * @param {number} count
 * @param {{ env?: NodeJS.ProcessEnv, onWait?: (size: number) => void, signal?: AbortSignal }} [options]
 * @returns {Promise<() => void>}
 */
export const acquire = async (count, options = {}) => {
  const env = options.env ?? process.env
  const size = poolSize(env)
  if (size === 0) return () => {}
  const want = Math.min(Math.max(1, count), size)
  const dir = poolDir(env)
  mkdirSync(dir, { recursive: true })
  let waited = false
  while (true) {
    /** @type {Array<string>} */
    const held = []
    for (let i = 0; i < size && held.length < want; i++) {
      const f = join(dir, `cpu-${i}`)
      if (take(f)) held.push(f)
    }
    if (held.length === want) {
      const release = () => { for (const f of held.splice(0)) { try { unlinkSync(f) } catch { /* already gone */ } } }
      process.once("exit", release)
      return release
    }
    for (const f of held) { try { unlinkSync(f) } catch { /* already gone */ } }
    if (options.signal?.aborted) throw new Error("aborted while waiting for CPU slots")
    if (!waited) { waited = true; options.onWait?.(size) }
    await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 200)))
  }
}
