/** Plain node:http requests for what a well-behaved HTTP client cannot send: no Content-Length, a cut-off body. */
import { request } from "node:http"
import { connect } from "node:net"

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: Buffer
}

export const send = (options: {
  readonly port: number
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: Buffer
}): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    // agent: false — a fresh connection each time (a kept-alive one may have been closed while the test blocked)
    const req = request({ host: "127.0.0.1", port: options.port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on("error", reject)
    req.end(options.body)
  })

/**
 * Sends a PUT whose headers promise `declared` bytes, writes only `sent` of them, and closes the connection, as a
 * client that crashes (or a proxy that gives up) in the middle of an upload. Resolves when the socket is closed,
 * also when the server is the one that went away.
 */
export const truncatedPut = (port: number, path: string, authorization: string, declared: number, sent: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let connected = false
    const socket = connect(port, "127.0.0.1", () => {
      connected = true
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`)
      socket.write(Buffer.alloc(sent, 7), () => setTimeout(() => socket.destroy(), 100))
    })
    socket.on("error", (e) => { if (!connected) reject(e) })
    socket.on("close", () => resolve())
  })
