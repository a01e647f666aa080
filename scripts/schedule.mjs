// @ts-check
// Planning a pipeline past one machine: how long its stage instances take on N workers (each runs one instance at a
// time), by list scheduling over the real DAG. An instance starts once every upstream instance is done and a worker is
// free; among the ready ones the one with the longest remaining path to a sink goes first (critical path first, the
// classic HLFET heuristic). Also: the critical path (the longest chain: no number of workers finishes sooner) and the
// seconds per instance from a times file. Used by scripts/stage-time.mjs --workers; tested in test/stageTimeWorkers.test.ts.
import { readFileSync } from "node:fs"

/** @typedef {{ id: string, upstream: ReadonlyArray<string> }} Node */
/**
 * @typedef {object} Simulation
 * @property {number} workers
 * @property {number} makespan seconds from the first start to the last finish
 * @property {number} busy the sum of all instances' seconds
 * @property {number} utilization busy / (workers × makespan)
 * @property {number} maxParallel the most instances running at once
 * @property {Array<{ id: string, worker: number, start: number, end: number }>} schedule in start order
 */

/**
 * Instances in an order where every one comes after its upstream (Kahn); throws on a cycle or an unknown upstream.
 * @param {ReadonlyArray<Node>} nodes
 * @returns {Array<Node>}
 */
export const topoOrder = (nodes) => {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const indegree = new Map(nodes.map((n) => [n.id, 0]))
  /** @type {Map<string, Array<string>>} */
  const down = new Map(nodes.map((n) => [n.id, []]))
  for (const n of nodes) {
    for (const u of n.upstream) {
      if (!byId.has(u)) throw new Error(`${n.id}: upstream ${u} is not an instance of this pipeline`)
      indegree.set(n.id, (indegree.get(n.id) ?? 0) + 1)
      down.get(u)?.push(n.id)
    }
  }
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id)
  /** @type {Array<Node>} */
  const order = []
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]
    order.push(/** @type {Node} */ (byId.get(id)))
    for (const d of down.get(id) ?? []) {
      const k = (indegree.get(d) ?? 0) - 1
      indegree.set(d, k)
      if (k === 0) queue.push(d)
    }
  }
  if (order.length !== nodes.length) throw new Error("the pipeline graph has a cycle")
  return order
}

/**
 * Per instance, the longest path from its start to the end of any sink below it, its own seconds included
 * (the list-scheduling priority), and the next instance on that path.
 * @param {ReadonlyArray<Node>} nodes
 * @param {(id: string) => number} seconds
 */
export const bottomLevels = (nodes, seconds) => {
  const order = topoOrder(nodes)
  /** @type {Map<string, Array<string>>} */
  const down = new Map(nodes.map((n) => [n.id, []]))
  for (const n of nodes) for (const u of n.upstream) down.get(u)?.push(n.id)
  /** @type {Map<string, number>} */
  const level = new Map()
  /** @type {Map<string, string | undefined>} */
  const next = new Map()
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i].id
    let best = -Infinity
    /** @type {string | undefined} */
    let bestNext
    for (const d of down.get(id) ?? []) {
      const l = /** @type {number} */ (level.get(d))
      if (l > best || (l === best && bestNext !== undefined && d < bestNext)) {
        best = l
        bestNext = d
      }
    }
    level.set(id, seconds(id) + Math.max(0, best))
    next.set(id, bestNext)
  }
  return { level, next }
}

/**
 * The critical path: the chain of instances with the most seconds in all, source to sink.
 * @param {ReadonlyArray<Node>} nodes
 * @param {(id: string) => number} seconds
 * @returns {{ seconds: number, path: Array<{ id: string, seconds: number }> }}
 */
export const criticalPath = (nodes, seconds) => {
  const { level, next } = bottomLevels(nodes, seconds)
  /** @type {string | undefined} */
  let start
  for (const n of nodes) {
    if (n.upstream.length > 0) continue
    const l = /** @type {number} */ (level.get(n.id))
    if (start === undefined || l > /** @type {number} */ (level.get(start))) start = n.id
  }
  /** @type {Array<{ id: string, seconds: number }>} */
  const path = []
  for (let id = start; id !== undefined; id = next.get(id)) path.push({ id, seconds: seconds(id) })
  return { seconds: start === undefined ? 0 : /** @type {number} */ (level.get(start)), path }
}

/**
 * List scheduling on `workers` identical workers: critical path first, ties by id. Deterministic.
 * @param {ReadonlyArray<Node>} nodes
 * @param {(id: string) => number} seconds
 * @param {number} workers
 * @returns {Simulation}
 */
export const simulate = (nodes, seconds, workers) => {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers must be a positive integer, got ${workers}`)
  const { level } = bottomLevels(nodes, seconds)
  /** @type {Map<string, Array<string>>} */
  const down = new Map(nodes.map((n) => [n.id, []]))
  const waiting = new Map(nodes.map((n) => [n.id, n.upstream.length]))
  for (const n of nodes) for (const u of n.upstream) down.get(u)?.push(n.id)
  const priority = (/** @type {string} */ a, /** @type {string} */ b) =>
    /** @type {number} */ (level.get(b)) - /** @type {number} */ (level.get(a)) || (a < b ? -1 : a > b ? 1 : 0)
  let ready = nodes.filter((n) => n.upstream.length === 0).map((n) => n.id).sort(priority)
  const free = Array.from({ length: workers }, (_, i) => i)
  /** @type {Array<{ id: string, worker: number, start: number, end: number }>} */
  const running = []
  /** @type {Simulation["schedule"]} */
  const schedule = []
  let now = 0
  let maxParallel = 0
  let busy = 0
  while (ready.length > 0 || running.length > 0) {
    while (ready.length > 0 && free.length > 0) {
      const id = /** @type {string} */ (ready.shift())
      const worker = /** @type {number} */ (free.shift())
      const s = seconds(id)
      busy += s
      const job = { id, worker, start: now, end: now + s }
      running.push(job)
      schedule.push(job)
    }
    maxParallel = Math.max(maxParallel, running.length)
    // advance to the next finish; every instance finishing then frees its worker and may make others ready
    now = Math.min(...running.map((r) => r.end))
    const done = running.filter((r) => r.end === now)
    for (const r of done) {
      running.splice(running.indexOf(r), 1)
      free.push(r.worker)
      for (const d of down.get(r.id) ?? []) {
        const k = /** @type {number} */ (waiting.get(d)) - 1
        waiting.set(d, k)
        if (k === 0) ready.push(d)
      }
    }
    free.sort((a, b) => a - b)
    ready = ready.sort(priority)
  }
  const makespan = schedule.reduce((m, r) => Math.max(m, r.end), 0)
  return { workers, makespan, busy, utilization: makespan > 0 ? busy / (workers * makespan) : 1, maxParallel, schedule }
}

/** `*` matches any characters (none included); everything else literally. @param {string} pattern */
const globToRegExp = (pattern) =>
  new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)

/**
 * A times file: `{ "times": { "<instance id or pattern>": seconds | { "seconds": n, "source": "..." } } }` (other
 * top-level keys are notes), or just the `times` object. `*` in a key matches any characters; an exact id wins over
 * patterns; among patterns the first in the file that matches wins.
 * @param {string} file
 * @returns {{ file: string, lookup: (id: string) => number | undefined, entries: number }}
 */
export const readTimesFile = (file) => {
  /** @type {any} */
  let json
  try {
    json = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new Error(`times file ${file}: ${e instanceof Error ? e.message : e}`)
  }
  const times = json && typeof json === "object" && json.times && typeof json.times === "object" ? json.times : json
  /** @type {Map<string, number>} */
  const exact = new Map()
  /** @type {Array<[RegExp, number]>} */
  const patterns = []
  for (const [key, value] of Object.entries(times)) {
    if (key === "about" || key === "sources") continue
    const seconds = typeof value === "number" ? value : value && typeof value === "object" ? value.seconds : undefined
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      throw new Error(`times file ${file}: "${key}" needs a number of seconds ≥ 0 (or { "seconds": n }), got ${JSON.stringify(value)}`)
    }
    if (key.includes("*")) patterns.push([globToRegExp(key), seconds])
    else exact.set(key, seconds)
  }
  return {
    file,
    entries: exact.size + patterns.length,
    lookup: (id) => exact.get(id) ?? patterns.find(([re]) => re.test(id))?.[1]
  }
}

/** Seconds as "1,693 s", "28 min 13 s" or "2 h 3 min". @param {number} s */
export const duration = (s) => {
  const r = Math.round(s)
  if (r < 60) return `${r} s`
  if (r < 3600) return `${Math.floor(r / 60)} min ${r % 60} s`
  return `${Math.floor(r / 3600)} h ${Math.round((r % 3600) / 60)} min`
}
