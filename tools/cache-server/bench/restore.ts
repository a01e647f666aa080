/**
 * What sharing through growlab-cache costs and saves, measured on the real `smoke` pipeline:
 *   npx tsx tools/cache-server/bench/restore.ts [repeats=3]
 * Copy A trains smoke against a server (read-write); copy B, emptied before each repeat (no artifacts/, no .nx/cache),
 * restores it (read-only) from the fs server, then from an S3 server on a throwaway Ceph RGW holding the same entries,
 * then from its own local Nx cache (no server) for comparison. Also a 64 MiB entry PUT and GET over loopback.
 * Prints wall times (`nx run pipelines:smoke`, Nx start-up included), bytes on disk and over the wire, and the load.
 */
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { makeWorkspaceCopy, type WorkspaceCopy } from "../../../test/workspaceCopy.js"
import { startCeph } from "../test/support/CephS3.js"
import { send } from "../test/support/http.js"
import { addToken, type Running, startServer } from "../test/support/processes.js"

const repeats = Number(process.argv[2] ?? 3)
const dir = mkdtempSync(join(tmpdir(), "growlab-cache-bench-"))
const tokens = join(dir, "tokens.json")
const ci = addToken(tokens, "ci", "read-write")
const laptop = addToken(tokens, "laptop", "read")

const sizeOf = (d: string): { bytes: number; files: number } => {
  let bytes = 0, files = 0
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    if (e.isDirectory()) { const s = sizeOf(p); bytes += s.bytes; files += s.files } else { bytes += statSync(p).size; files++ }
  }
  return { bytes, files }
}
const digestTree = (d: string): string => {
  const h = createHash("sha256")
  const walk = (x: string) => {
    for (const e of readdirSync(x, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(x, e.name)
      if (e.isDirectory()) walk(p); else h.update(p.slice(d.length)).update(readFileSync(p))
    }
  }
  walk(d)
  return h.digest("hex")
}
const executedCount = (ws: WorkspaceCopy) => {
  if (!existsSync(ws.runLog)) return 0
  const n = readFileSync(ws.runLog, "utf8").split("\n").filter(Boolean).length
  rmSync(ws.runLog)
  return n
}
const smoke = (ws: WorkspaceCopy, remote: { url: string; token: string } | null) => {
  const t0 = performance.now()
  const r = ws.exec("npx", ["nx", "run", "pipelines:smoke", "--output-style=static"],
    remote ? { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: remote.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: remote.token } : {})
  const seconds = (performance.now() - t0) / 1000
  if (r.code !== 0) throw new Error(`nx run pipelines:smoke failed:\n${r.output.slice(-3000)}`)
  return { seconds, executed: executedCount(ws) }
}
const wireBytes = (log: string, method: "GET" | "PUT", who: string) =>
  log.split("\n").map((l) => new RegExp(`${method} \\d+ 200 (\\d+)B \\d+ms ${who}`).exec(l)).reduce((s, m) => s + (m ? Number(m[1]) : 0), 0)
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`

const processes: Array<Running> = []
let stopCeph: (() => Promise<void>) | undefined
const copies: Array<WorkspaceCopy> = []
try {
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (2 cores)`)
  const fsServer = await startServer(["--dir", join(dir, "store")], tokens)
  processes.push(fsServer)
  const a = makeWorkspaceCopy(); copies.push(a)
  const trained = smoke(a, { url: fsServer.url, token: ci })
  await fsServer.flush()
  const artifacts = sizeOf(join(a.dir, "artifacts/smoke"))
  const stored = sizeOf(join(dir, "store/entries"))
  const uploaded = wireBytes(fsServer.log(), "PUT", "ci")
  console.log(`A: trained and uploaded smoke in ${trained.seconds.toFixed(1)} s (${trained.executed} stages executed)`)
  console.log(`artifacts: ${artifacts.files} files, ${mb(artifacts.bytes)}; uploaded ${stored.files} entries, ${mb(uploaded)} (tar.gz), ` +
    `${mb(stored.bytes)} on the server's disk; tar.gz / artifacts = ${(uploaded / artifacts.bytes).toFixed(3)}`)
  const reference = digestTree(join(a.dir, "artifacts/smoke"))

  const ceph = await startCeph()
  stopCeph = ceph.stop
  const s3Server = await startServer(["--s3-bucket", ceph.s3.bucket, "--s3-endpoint", ceph.s3.endpoint, "--s3-path-style"], tokens, [],
    { AWS_ACCESS_KEY_ID: ceph.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: ceph.s3.secretAccessKey })
  processes.push(s3Server)
  for (const key of readdirSync(join(dir, "store/entries"))) {
    const got = await send({ port: Number(new URL(fsServer.url).port), method: "GET", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${laptop}` } })
    await send({ port: Number(new URL(s3Server.url).port), method: "PUT", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${ci}` }, body: got.body })
  }

  const b = makeWorkspaceCopy(); copies.push(b)
  const empty = () => { rmSync(join(b.dir, "artifacts"), { recursive: true, force: true }); rmSync(join(b.dir, ".nx/cache"), { recursive: true, force: true }) }
  const rows: Array<[string, Array<number>, string]> = []
  for (const [name, server] of [["fs server", fsServer], ["S3 server (Ceph RGW)", s3Server]] as const) {
    const times: Array<number> = []
    let bytes = 0
    for (let i = 0; i < repeats; i++) {
      empty()
      const before = server.log().length
      const r = smoke(b, { url: server.url, token: laptop })
      await server.flush()
      bytes = wireBytes(server.log().slice(before), "GET", "laptop")
      if (r.executed !== 0 || digestTree(join(b.dir, "artifacts/smoke")) !== reference) throw new Error(`${name}: restore was not exact`)
      times.push(r.seconds)
    }
    rows.push([`restore from the ${name} into an empty copy`, times, `${mb(bytes)} downloaded, 0 stages executed, byte-identical`])
  }
  const local: Array<number> = []
  for (let i = 0; i < repeats; i++) {
    rmSync(join(b.dir, "artifacts"), { recursive: true, force: true })
    const r = smoke(b, null)
    if (r.executed !== 0) throw new Error("local restore executed stages")
    local.push(r.seconds)
  }
  rows.push(["restore from the copy's own .nx/cache (no server)", local, "0 stages executed"])
  const noop: Array<number> = []
  for (let i = 0; i < repeats; i++) noop.push(smoke(b, null).seconds)
  rows.push(["nothing to do (artifacts present)", noop, "Nx start-up and hashing only"])
  rows.push(["train from scratch (copy A, 5 stages)", [trained.seconds], `${trained.executed} stages executed`])

  // one large entry over loopback: the server's own cost (read, sha256 on upload and on every read)
  const big = randomBytes(64 * 1024 * 1024)
  const port = Number(new URL(fsServer.url).port)
  const t0 = performance.now()
  const put = await send({ port, method: "PUT", path: "/v1/cache/9999999999", headers: { authorization: `Bearer ${ci}` }, body: big })
  const putS = (performance.now() - t0) / 1000
  const gets: Array<number> = []
  for (let i = 0; i < repeats; i++) {
    const t1 = performance.now()
    const got = await send({ port, method: "GET", path: "/v1/cache/9999999999", headers: { authorization: `Bearer ${laptop}` } })
    gets.push((performance.now() - t1) / 1000)
    if (got.body.length !== big.length || put.status !== 200) throw new Error("64 MiB round trip failed")
  }

  console.log(`\n| what | wall time, median of ${repeats} (all) | notes |\n|---|---|---|`)
  for (const [what, times, notes] of rows) console.log(`| ${what} | ${median(times).toFixed(1)} s (${times.map((t) => t.toFixed(1)).join(", ")}) | ${notes} |`)
  console.log(`| PUT of one 64 MiB entry over loopback (fs) | ${putS.toFixed(2)} s | ${(64 * 1.048576 / putS).toFixed(0)} MB/s incl. sha256 and fsync |`)
  console.log(`| GET of that entry over loopback (fs) | ${median(gets).toFixed(2)} s (${gets.map((t) => t.toFixed(2)).join(", ")}) | ${(64 * 1.048576 / median(gets)).toFixed(0)} MB/s incl. sha256 check |`)
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
} finally {
  for (const p of processes) await p.stop()
  await stopCeph?.()
  for (const c of copies) c.cleanup()
  rmSync(dir, { recursive: true, force: true })
}
