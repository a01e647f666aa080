/**
 * Reads a request body of a declared length into memory. A body that ends early (the client went away, or a
 * proxy cut it) or runs long fails with `BodyError`, so nothing partial is ever stored.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { BodyError } from "../CacheError.js"

export const readBody = (request: HttpServerRequest.HttpServerRequest, key: string, expected: number): Effect.Effect<Uint8Array, BodyError> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let received = 0
    const error = (actual: string) => new BodyError({ key, field: "body", expected: `${expected} bytes (Content-Length)`, actual })
    return request.stream.pipe(
      Stream.runForEach((chunk) => {
        received += chunk.length
        if (received > expected) return Effect.fail(error(`more than ${expected} bytes`))
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.mapError((e) => e._tag === "BodyError" ? e : error(`the connection ended after ${received} bytes`)),
      Effect.flatMap(() => received === expected ? Effect.succeed(Buffer.concat(chunks, received)) : Effect.fail(error(`${received} bytes`)))
    )
  })
