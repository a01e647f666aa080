/**
 * One log line per request: method, key, status, bytes, duration, and who asked (the token's name from the tokens
 * file, never the token or the Authorization header).
 */
import * as Effect from "effect/Effect"

export interface RequestLine {
  readonly method: string
  readonly key: string
  readonly status: number
  readonly bytes: number
  readonly started: number
  /** the token's name, `anonymous` (no valid token) or `relay` */
  readonly who: string
  readonly note?: string
  /** log as a warning whatever the status (the relay's fallbacks) */
  readonly warn?: boolean
}

/** A request's key as it may appear in a log line: printable ASCII, at most 140 characters. */
export const printable = (key: string): string => key.slice(0, 140).replace(/[^\x21-\x7e]/g, "?")

export const format = (l: RequestLine): string =>
  `${l.method} ${l.key} ${l.status} ${l.bytes}B ${Date.now() - l.started}ms ${l.who}${l.note ? ` ${l.note}` : ""}`

export const log = (l: RequestLine): Effect.Effect<void> =>
  l.status >= 500 ? Effect.logError(format(l))
    : l.warn === true || l.status === 401 || l.status === 403 || l.status === 413 ? Effect.logWarning(format(l))
    : Effect.logInfo(format(l))
