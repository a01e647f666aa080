import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createServer, type Server } from "node:http"
import * as S3Store from "../src/S3Store.js"

/** An "S3 server" that accepts every PUT, If-None-Match or not, as some S3 clones do. */
const ignoringConditionalWrites = Effect.acquireRelease(
  Effect.async<{ readonly server: Server; readonly endpoint: string; readonly puts: Array<string | undefined> }>((resume) => {
    const puts: Array<string | undefined> = []
    const server = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        if (req.method === "PUT") puts.push(req.headers["if-none-match"] as string | undefined)
        res.writeHead(req.method === "DELETE" ? 204 : 200, { etag: "\"0\"" })
        res.end()
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, puts })))
  }),
  ({ server }) => Effect.async<void>((resume) => { server.close(() => resume(Effect.void)) })
)

describe("S3Store", () => {
  it.scoped("refuses to start on an endpoint that ignores If-None-Match (write-once could not hold)", () =>
    Effect.gen(function*() {
      const fake = yield* ignoringConditionalWrites
      const error = yield* S3Store.make({
        bucket: "b", prefix: "p/", endpoint: Option.some(fake.endpoint), region: "us-east-1", forcePathStyle: true,
        credentials: Option.some({ accessKeyId: "k", secretAccessKey: "s" })
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "check conditional writes")
      assert.include(error.reason, "cannot guarantee write-once")
      assert.deepStrictEqual(fake.puts, ["*", "*"])
    }))
})
