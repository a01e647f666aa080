/** Content hashes: canonical JSON (sorted keys) and file digests, used for params hashes and manifests. */
import { createHash } from "node:crypto"

/** JSON with object keys sorted recursively, so equal values always serialise equally. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

export const hashJson = (value: unknown): string => sha256(canonicalJson(value))
