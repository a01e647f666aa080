/**
 * sha256 digests of entry bodies, and their HTTP form: the `Repr-Digest` header of RFC 9530
 * (`Repr-Digest: sha-256=:<base64>:`), which the server sends with every entry and the relay checks.
 */
import { createHash } from "node:crypto"
import * as Option from "effect/Option"

/** Lower-case hex sha256 of the bytes. */
export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

export const isSha256Hex = (s: string): boolean => /^[0-9a-f]{64}$/.test(s)

export const reprDigestHeader = "repr-digest"

/** `sha-256=:<base64>:` for a hex digest. */
export const toReprDigest = (hex: string): string => `sha-256=:${Buffer.from(hex, "hex").toString("base64")}:`

/** The hex sha256 named by a `Repr-Digest` header value (other algorithms in the list are ignored). */
export const fromReprDigest = (header: string | undefined): Option.Option<string> => {
  const m = header === undefined ? null : /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]+={0,2}):/.exec(header)
  if (m === null) return Option.none()
  const bytes = Buffer.from(m[1]!, "base64")
  return bytes.length === 32 ? Option.some(bytes.toString("hex")) : Option.none()
}
