/**
 * HTTPS: the server with its own certificate (--tls-cert/--tls-key), and the relay trusting a private CA (--ca), as
 * real processes with a self-signed certificate made by openssl.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { request } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { send } from "./support/http.js"
import { addToken, type Running, startRelay, startServer } from "./support/processes.js"

const dir = mkdtempSync(join(tmpdir(), "growlab-cache-tls-"))
const cert = join(dir, "cert.pem")
const key = join(dir, "key.pem")
const tokens = join(dir, "tokens.json")
const running: Array<Running> = []
let server: Running
let ci = ""

const httpsGet = (url: string, token: string, ca: Buffer | undefined) =>
  new Promise<number>((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ...(ca ? { ca } : {}), agent: false }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", reject)
    req.end()
  })

describe("TLS", () => {
  beforeAll(async () => {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
      "-keyout", key, "-out", cert, "-subj", "/CN=growlab-cache test", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" })
    ci = addToken(tokens, "ci", "read-write")
    server = await startServer(["--dir", join(dir, "store")], tokens, ["--tls-cert", cert, "--tls-key", key])
    running.push(server)
  })
  afterAll(async () => {
    for (const r of running) await r.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("serves HTTPS with its certificate, which a client trusting the CA accepts and one without it refuses", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(await httpsGet(`${server.url}/v1/cache/1`, ci, readFileSync(cert))).toBe(404)
    await expect(httpsGet(`${server.url}/v1/cache/1`, ci, undefined)).rejects.toThrow(/self.signed|certificate/i)
  })

  it("a relay given the CA (--ca) stores and restores through HTTPS; without it every request falls back", async () => {
    const trusting = await startRelay(server.url, ["--ca", cert])
    const plain = await startRelay(server.url)
    running.push(trusting, plain)
    const port = (r: Running) => Number(new URL(r.url).port)
    const auth = { authorization: `Bearer ${ci}` }
    const body = Buffer.from("outputs over TLS")
    expect((await send({ port: port(plain), method: "PUT", path: "/v1/cache/77", headers: auth, body })).status).toBe(403)
    expect(await httpsGet(`${server.url}/v1/cache/77`, ci, readFileSync(cert))).toBe(404)
    expect((await send({ port: port(trusting), method: "PUT", path: "/v1/cache/77", headers: auth, body })).status).toBe(200)
    const back = await send({ port: port(trusting), method: "GET", path: "/v1/cache/77", headers: auth })
    expect(back.status).toBe(200)
    expect(back.body.toString()).toBe("outputs over TLS")
    expect((await send({ port: port(plain), method: "GET", path: "/v1/cache/77", headers: auth })).status).toBe(404)
    await plain.flush()
    expect(plain.log()).toMatch(/fallback, the Nx run goes on locally: (upstream unreachable|no usable answer from upstream)/)
  })
})
