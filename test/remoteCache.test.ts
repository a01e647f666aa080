/**
 * A team shares trained stages through `growlab-cache serve` (real server processes, two or more throwaway
 * workspace copies, the real `smoke` pipeline): CI (a read-write token) trains and uploads, a laptop (a read-only
 * token) restores with no stage executed, byte for byte; the server refuses writes it must refuse and never serves
 * what it did not verify; through `growlab-cache relay`, a refused token or a dead server leaves Nx to finish locally.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startCeph } from "../tools/cache-server/test/support/CephS3.js"
import { send, truncatedPut } from "../tools/cache-server/test/support/http.js"
import { addToken, type Running, startRelay, startServer } from "../tools/cache-server/test/support/processes.js"
import { editJson, failedTasks, hashTree, makeWorkspaceCopy, nativeCrash, nxFailure, runNx, takeExecuted, type WorkspaceCopy } from "./workspaceCopy.js"

const ALL = ["smoke/data", "smoke/grow", "smoke/large", "smoke/report", "smoke/small"]

const copies: Array<WorkspaceCopy> = []
const processes: Array<Running> = []
const tempDirs: Array<string> = []
let stopCeph: (() => Promise<void>) | undefined
let tokens = ""
let ci = ""
let laptop = ""
let serverDir = ""
let server: Running

const temp = (what: string) => {
  const d = mkdtempSync(join(tmpdir(), `growlab-remote-${what}-`))
  tempDirs.push(d)
  return d
}

const copy = () => {
  const ws = makeWorkspaceCopy()
  copies.push(ws)
  return ws
}

const keep = async (p: Promise<Running>) => {
  const r = await p
  processes.push(r)
  return r
}

/** `nx run pipelines:smoke` in the copy against a remote cache (runNx reruns once after a native TF crash). */
const smokeWith = (ws: WorkspaceCopy, url: string, token: string) => {
  process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER = url
  process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN = token
  try {
    return runNx(ws, "pipelines:smoke")
  } finally {
    delete process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER
    delete process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN
  }
}

const portOf = (r: Running) => Number(new URL(r.url).port)
const entries = (dir: string) => readdirSync(join(dir, "entries")).sort()
const lines = (log: string, pattern: RegExp) => log.split("\n").filter((l) => pattern.test(l))

describe("remote cache (growlab-cache serve, nx run pipelines:smoke in workspace copies)", () => {
  let a: WorkspaceCopy
  let b: WorkspaceCopy

  beforeAll(async () => {
    tokens = join(temp("tokens"), "tokens.json")
    ci = addToken(tokens, "ci", "read-write")
    laptop = addToken(tokens, "laptop", "read")
    serverDir = temp("store")
    server = await keep(startServer(["--dir", serverDir], tokens))
  })

  afterAll(async () => {
    for (const p of processes) await p.stop()
    await stopCeph?.()
    for (const ws of copies) ws.cleanup()
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  })

  it("copy A trains and uploads with a read-write token; copy B restores with a read-only token: 0 stages executed, every artifact byte-identical", async () => {
    a = copy()
    smokeWith(a, server.url, ci)
    expect(takeExecuted(a)).toEqual(ALL)
    await server.flush()
    expect(entries(serverDir)).toHaveLength(5)
    expect(lines(server.log(), /INFO +PUT \d+ 200 \d+B \d+ms ci /)).toHaveLength(5)

    b = copy()
    expect(existsSync(join(b.dir, "artifacts"))).toBe(false)
    expect(existsSync(join(b.dir, ".nx/cache")) ? readdirSync(join(b.dir, ".nx/cache")) : []).toEqual([])
    const before = server.log().length
    smokeWith(b, server.url, laptop)
    expect(takeExecuted(b)).toEqual([])
    await server.flush()
    expect(lines(server.log().slice(before), /INFO +GET \d+ 200 \d+B \d+ms laptop$/)).toHaveLength(5)
    const fromA = hashTree(join(a.dir, "artifacts/smoke"))
    expect(Object.keys(fromA).length).toBeGreaterThan(10)
    expect(hashTree(join(b.dir, "artifacts/smoke"))).toEqual(fromA)
  })

  it("a read-only token cannot write: B's changed stages run locally, their uploads get 403, the server keeps its 5 entries", async () => {
    editJson(b, "pipelines/smoke.pipeline.json", (p) => { p.stages.large.params.learningRate = 0.0002 })
    const before = server.log().length
    smokeWith(b, server.url, laptop)
    expect(takeExecuted(b)).toEqual(["smoke/large", "smoke/report"])
    await server.flush()
    expect(lines(server.log().slice(before), /WARN +PUT \d+ 403 0B \d+ms laptop$/)).toHaveLength(2)
    expect(entries(serverDir)).toHaveLength(5)
  })

  it("an S3-backed server (Ceph RGW) holding the same entries restores a fresh copy with 0 stages executed", async () => {
    const ceph = await startCeph()
    stopCeph = ceph.stop
    const s3 = await keep(startServer(
      ["--s3-bucket", ceph.s3.bucket, "--s3-endpoint", ceph.s3.endpoint, "--s3-path-style", "--s3-prefix", "nx/"], tokens, [],
      { AWS_ACCESS_KEY_ID: ceph.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: ceph.s3.secretAccessKey }
    ))
    expect(s3.log()).toContain(`store: s3 s3://${ceph.s3.bucket}/nx/ at ${ceph.s3.endpoint}`)
    // moving a team's cache from a directory to a bucket: GET every entry from one server, PUT it to the other
    for (const key of entries(serverDir)) {
      const got = await send({ port: portOf(server), method: "GET", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${laptop}` } })
      expect(got.status).toBe(200)
      const put = await send({ port: portOf(s3), method: "PUT", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${ci}` }, body: got.body })
      expect(put.status).toBe(200)
    }
    const c = copy()
    smokeWith(c, s3.url, laptop)
    expect(takeExecuted(c)).toEqual([])
    expect(hashTree(join(c.dir, "artifacts/smoke"))).toEqual(hashTree(join(a.dir, "artifacts/smoke")))
  })

  it("an overwrite attempt is refused with 409 and the stored entry is unchanged", async () => {
    const key = entries(serverDir)[0]!
    const file = join(serverDir, "entries", key)
    const stored = readFileSync(file)
    const read = () => send({ port: portOf(server), method: "GET", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${laptop}` } })
    const body = (await read()).body
    const poisoned = Buffer.from(body)
    poisoned[poisoned.length - 1] ^= 0xff
    const overwrite = await send({ port: portOf(server), method: "PUT", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${ci}` }, body: poisoned })
    expect(overwrite.status).toBe(409)
    expect(Buffer.compare((await read()).body, body)).toBe(0)
    expect(Buffer.compare(readFileSync(file), stored)).toBe(0)
  })

  it("a truncated upload is never served; nor is one cut off by killing the server, which starts again with its entries intact", async () => {
    const port = portOf(server)
    await truncatedPut(port, "/v1/cache/1111111111", `Bearer ${ci}`, 100_000, 30_000)
    await server.waitFor(/PUT 1111111111[ :]/)
    expect((await send({ port, method: "GET", path: "/v1/cache/1111111111", headers: { authorization: `Bearer ${laptop}` } })).status).toBe(404)
    // an upload whose server dies (SIGKILL: no cleanup of its own) while the body is still arriving
    const cut = truncatedPut(port, "/v1/cache/2222222222", `Bearer ${ci}`, 100_000, 30_000)
    await server.stop("SIGKILL")
    await cut
    server = await keep(startServer(["--dir", serverDir], tokens))
    const again = portOf(server)
    expect((await send({ port: again, method: "GET", path: "/v1/cache/2222222222", headers: { authorization: `Bearer ${laptop}` } })).status).toBe(404)
    expect(readdirSync(join(serverDir, "tmp"))).toEqual([])
    expect(entries(serverDir)).toHaveLength(5)
    for (const key of entries(serverDir)) {
      expect((await send({ port: again, method: "GET", path: `/v1/cache/${key}`, headers: { authorization: `Bearer ${laptop}` } })).status).toBe(200)
    }
  })

  it("a wrong token is refused with 401: Nx talking to the server directly stops; through the relay it completes the run locally", async () => {
    const e = copy()
    const direct = (() => {
      process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER = server.url
      process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN = "not-a-token"
      try { return e.exec("npx", ["nx", "run", "pipelines:smoke", "--output-style=static"]) } finally {
        delete process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER
        delete process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN
      }
    })()
    expect(direct.code).not.toBe(0)
    expect(direct.output).toContain("Unauthorized: growlab-cache: missing or invalid bearer token")
    expect(takeExecuted(e)).toEqual([])

    const relay = await keep(startRelay(server.url))
    const before = server.log().length
    smokeWith(e, relay.url, "not-a-token")
    expect(takeExecuted(e)).toEqual(ALL)
    await server.flush()
    await relay.flush()
    const seen = server.log().slice(before)
    expect(lines(seen, /WARN +GET \d+ 401 0B \d+ms anonymous$/).length).toBeGreaterThanOrEqual(5)
    expect(lines(seen, /WARN +PUT \d+ 401 0B \d+ms anonymous$/)).toHaveLength(5)
    expect(lines(relay.log(), /fallback, the Nx run goes on locally: upstream answered 401/).length).toBeGreaterThanOrEqual(10)
    expect(entries(serverDir)).toHaveLength(5)
    expect(server.log()).not.toContain("not-a-token")
    expect(server.log()).not.toContain(ci)
    expect(server.log()).not.toContain(laptop)
  })

  it("killing the server in the middle of a run (after its first upload) leaves Nx, through the relay, to finish locally", async () => {
    const dir = temp("store-killed")
    const doomed = await keep(startServer(["--dir", dir], tokens))
    const relay = await keep(startRelay(doomed.url))
    const g = copy()
    const killed = doomed.waitFor(/PUT \d+ 200 /).then(() => doomed.stop("SIGKILL"))
    const run = await new Promise<{ code: number; output: string }>((resolve) => {
      const child = spawn("npx", ["nx", "run", "pipelines:smoke", "--output-style=static"], {
        cwd: g.dir,
        env: g.env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: relay.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: ci })
      })
      let output = ""
      child.stdout!.on("data", (d) => { output += String(d) })
      child.stderr!.on("data", (d) => { output += String(d) })
      child.on("close", (code) => resolve({ code: code ?? 1, output }))
    })
    await killed
    await relay.flush()
    const crashedOnly = run.code !== 0 && failedTasks(run.output).every(({ block }) => block !== null && nativeCrash.test(block))
    if (run.code !== 0 && !crashedOnly) throw new Error(nxFailure("nx run pipelines:smoke (server killed mid-run)", run))
    if (crashedOnly) {
      // a native TensorFlow crash (README, known limitations) is not what this test is about: finish the run as runNx does
      process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER = relay.url
      try { runNx(g, "pipelines:smoke") } finally { delete process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER }
    }
    expect(new Set(takeExecuted(g))).toEqual(new Set(ALL))
    for (const s of ["data", "small", "grow", "large", "report"]) {
      expect(existsSync(join(g.dir, "artifacts/smoke", s, "manifest.json")), s).toBe(true)
    }
    expect(entries(dir).length).toBeGreaterThanOrEqual(1)
    expect(entries(dir).length).toBeLessThan(5)
    expect(lines(relay.log(), /fallback, the Nx run goes on locally: (no usable answer from upstream|upstream unreachable)/).length).toBeGreaterThanOrEqual(1)
    expect(statSync(join(g.dir, "artifacts/smoke/report/report.html")).size).toBeGreaterThan(0)
  })
})
