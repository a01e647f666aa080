/**
 * Downloads a published file into the cache with a progress bar, checking the published MD5 as the bytes stream in.
 * The bytes go to a temp file beside the target that is renamed into place only when the digest matches, so a
 * failed or interrupted download leaves nothing behind.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as HttpClient from "@effect/platform/HttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Progress from "@growlab/core/Progress"
import { ChecksumMismatch, DownloadFailed } from "./Errors.js"
import type { Download } from "./Sources.js"

export interface DownloadOptions {
  /** Base URL that replaces the canonical address: the file is fetched from `<mirror>/<download.path>`. */
  readonly mirror?: string | undefined
  readonly quiet?: boolean | undefined
  /** What to tell the user when the download fails (where to put the files by hand). */
  readonly fix: string
}

export const urlOf = (download: Download, mirror?: string): string =>
  mirror ? `${mirror.replace(/\/+$/, "")}/${download.path}` : download.url

/** The innermost cause of a fetch failure (e.g. `ECONNREFUSED`, `ENOTFOUND`), for the error message. */
const describe = (e: unknown): string => {
  const parts: Array<string> = []
  let cur: unknown = e
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { message?: string; code?: string; cause?: unknown }
    const text = c.code ? `${c.code}${c.message && !c.message.includes(c.code) ? ` ${c.message}` : ""}` : c.message
    if (text && !parts.includes(text)) parts.push(text)
    cur = c.cause
  }
  return parts.join(": ") || String(e)
}

/** Fetches `download` to `dest` (absolute), verifying its MD5. */
export const downloadFile = (dataset: string, download: Download, dest: string, options: DownloadOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const url = urlOf(download, options.mirror)
    const fail = (reason: string) => new DownloadFailed({ dataset, url, file: dest, reason, fix: options.fix })
    yield* fs.makeDirectory(path.dirname(dest), { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
    const tmp = `${dest}.download-${process.pid}-${Date.now()}`
    const work = Effect.gen(function*() {
      const response = yield* client.get(url).pipe(Effect.mapError((e) => fail(describe(e))))
      const total = Number(response.headers["content-length"] ?? 0)
      const bar = Progress.bar(`download ${path.basename(dest)}`, Math.ceil(total / 1024), { unit: " KiB", quiet: options.quiet === true })
      const md5 = createHash("md5")
      let bytes = 0
      let ticked = 0
      yield* response.stream.pipe(
        Stream.tap((chunk) =>
          Effect.sync(() => {
            md5.update(chunk)
            bytes += chunk.length
            const kib = Math.floor(bytes / 1024)
            if (kib > ticked) { bar.tick(kib - ticked); ticked = kib }
          })),
        Stream.run(fs.sink(tmp)),
        Effect.mapError((e) => fail(describe(e)))
      )
      if (total > 0 && bytes !== total) return yield* Effect.fail(fail(`connection closed after ${bytes} of ${total} bytes`))
      const actual = md5.digest("hex")
      if (actual !== download.md5) {
        return yield* Effect.fail(new ChecksumMismatch({ file: url, algorithm: "md5", expected: download.md5, actual }))
      }
      bar.done()
      yield* fs.rename(tmp, dest).pipe(Effect.mapError((e) => fail(e.message)))
      return dest
    })
    return yield* work.pipe(Effect.onError(() => fs.remove(tmp, { force: true }).pipe(Effect.ignore)))
  }).pipe(Effect.provide(FetchHttpClient.layer))
