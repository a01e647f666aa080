/**
 * A real S3-compatible server for the tests: a throwaway single-host Ceph cluster (Debian's ceph-mon, ceph-osd,
 * radosgw 16.2) — one monitor, one OSD on the in-memory object store, and the RADOS Gateway, Ceph's S3 front end,
 * on free loopback ports in a temp directory. It starts in ≈ 10–20 s and is stopped by PID (SIGTERM, then SIGKILL).
 * `.ci/run` installs the three packages when they are missing (root, apt-get).
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, existsSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface CephS3 {
  readonly endpoint: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** the PIDs of ceph-mon, ceph-osd and radosgw */
  readonly pids: ReadonlyArray<number>
  readonly dir: string
}

export const CephS3 = Context.GenericTag<CephS3>("test/CephS3")

export const binaries = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool"]

export const missingBinaries = (): Array<string> =>
  binaries.filter((b) => !["/usr/bin", "/usr/sbin", "/usr/local/bin"].some((d) => existsSync(join(d, b))))

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `attempt` until it returns a value, for at most `seconds`. */
const until = async <A>(what: string, seconds: number, attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  let last = ""
  while (Date.now() < deadline) {
    try {
      const v = await attempt()
      if (v !== undefined) return v
    } catch (e) { last = String(e) }
    await sleep(300)
  }
  throw new Error(`ceph: ${what} not ready after ${seconds}s ${last}`)
}

const stop = async (children: ReadonlyArray<ChildProcess>) => {
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue
    const exited = new Promise<void>((r) => child.once("exit", () => r()))
    process.kill(child.pid, "SIGTERM")
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])
    if (!done && child.exitCode === null) {
      process.kill(child.pid, "SIGKILL")
      await exited
    }
  }
}

const start = async (): Promise<{ readonly s3: CephS3; readonly children: Array<ChildProcess> }> => {
  const missing = missingBinaries()
  if (missing.length > 0) {
    throw new Error(`Ceph is not installed (missing ${missing.join(", ")}): ` +
      "`apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw` (as .ci/run does)")
  }
  const dir = mkdtempSync(join(tmpdir(), "growlab-ceph-"))
  for (const d of ["mon", "osd", "rgw"]) mkdirSync(join(dir, d))
  const [monPort, rgwPort] = [await freePort(), await freePort()]
  const fsid = randomUUID()
  const conf = join(dir, "ceph.conf")
  writeFileSync(conf, [
    "[global]", `fsid = ${fsid}`, `mon host = v2:127.0.0.1:${monPort}`, "public addr = 127.0.0.1", "ms bind ipv6 = false",
    "auth cluster required = cephx", "auth service required = cephx", "auth client required = cephx",
    `keyring = ${dir}/keyring`, `run dir = ${dir}`, `log file = ${dir}/$name.log`, `admin socket = ${dir}/$name.asok`,
    "osd pool default size = 1", "osd pool default min size = 1", "osd pool default pg num = 8", "osd pool default pgp num = 8",
    "mon allow pool size one = true", "mon max pg per osd = 1000", "mon warn on pool no redundancy = false",
    "mon data avail warn = 1", "mon data avail crit = 0",
    "osd objectstore = memstore", "memstore device bytes = 1073741824", `osd data = ${dir}/osd`, "osd crush chooseleaf type = 0",
    "[mon.a]", `mon data = ${dir}/mon`,
    "[osd.0]", `keyring = ${dir}/osd/keyring`,
    "[client.rgw]", `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`, `rgw data = ${dir}/rgw`
  ].join("\n") + "\n")
  const c = ["--conf", conf]
  const run = (cmd: string, args: Array<string>) => execFileSync(cmd, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  const children: Array<ChildProcess> = []
  const daemon = (cmd: string, args: Array<string>) => {
    const child = spawn(cmd, [...c, "-f", ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    child.stderr!.on("data", (d) => { err = (err + String(d)).slice(-2000) })
    child.once("exit", (code, signal) => { if (code !== 0 && signal === null) appendFileSync(join(dir, "exits.log"), `${cmd} exited ${code}: ${err}\n`) })
    children.push(child)
  }
  try {
    run("ceph-authtool", ["--create-keyring", `${dir}/keyring`, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"])
    run("ceph-authtool", [`${dir}/keyring`, "--gen-key", "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *"])
    run("monmaptool", ["--create", "--add", "a", `v2:127.0.0.1:${monPort}`, "--fsid", fsid, `${dir}/monmap`])
    run("ceph-mon", [...c, "-i", "a", "--mkfs", "--monmap", `${dir}/monmap`, "--keyring", `${dir}/keyring`])
    daemon("ceph-mon", ["-i", "a"])
    await until("ceph-mon", 60, async () => run("ceph", [...c, "osd", "create"]).trim() === "0" ? true : undefined)
    run("ceph-osd", [...c, "-i", "0", "--no-mon-config", "--mkfs", "--mkkey", "--osd-uuid", randomUUID()])
    run("ceph", [...c, "auth", "add", "osd.0", "osd", "allow *", "mon", "allow profile osd", "-i", `${dir}/osd/keyring`])
    daemon("ceph-osd", ["-i", "0"])
    appendFileSync(`${dir}/keyring`, run("ceph", [...c, "auth", "get-or-create", "client.rgw", "mon", "allow rw", "osd", "allow rwx"]))
    daemon("radosgw", ["-n", "client.rgw"])
    const endpoint = `http://127.0.0.1:${rgwPort}`
    await until("radosgw", 120, async () => (await fetch(endpoint)).status === 200 ? true : undefined)
    const accessKeyId = `GROWLAB${randomBytes(6).toString("hex").toUpperCase()}`
    const secretAccessKey = randomBytes(20).toString("hex")
    run("radosgw-admin", [...c, "-n", "client.admin", "user", "create", "--uid=growlab", "--display-name=growlab",
      `--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`])
    const bucket = "growlab-cache"
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } })
    await until("bucket", 60, async () => (await client.send(new CreateBucketCommand({ Bucket: bucket })), true))
    client.destroy()
    return { s3: { endpoint, bucket, accessKeyId, secretAccessKey, pids: children.map((ch) => ch.pid!), dir }, children }
  } catch (e) {
    await stop(children)
    const exits = existsSync(join(dir, "exits.log")) ? readFileSync(join(dir, "exits.log"), "utf8") : ""
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`${(e instanceof Error ? e.message : String(e)).slice(0, 3000)}${exits ? `\n${exits.slice(-3000)}` : ""}`)
  }
}

/** A running cluster for the scope's lifetime. */
export const layer: Layer.Layer<CephS3> = Layer.scoped(
  CephS3,
  Effect.acquireRelease(
    Effect.promise(() => start()),
    ({ children, s3 }) => Effect.promise(async () => {
      await stop(children)
      rmSync(s3.dir, { recursive: true, force: true })
    })
  ).pipe(Effect.map(({ s3 }) => s3))
)

/** For tests outside Effect (the end-to-end test): start, and a function that stops it. */
export const startCeph = async (): Promise<{ readonly s3: CephS3; readonly stop: () => Promise<void> }> => {
  const { s3, children } = await start()
  return { s3, stop: async () => { await stop(children); rmSync(s3.dir, { recursive: true, force: true }) } }
}
