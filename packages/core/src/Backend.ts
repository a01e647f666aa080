/**
 * The compute backend. growlab trains on the native TensorFlow backend of @tensorflow/tfjs-node; the pure-JS
 * backend is ~100x slower, so it is never used silently: only with GROWLAB_ALLOW_JS_BACKEND=1, for debugging.
 *
 * Packages import tensors and layers from "@tensorflow/tfjs" (the same instance tfjs-node registers its backend on);
 * every program calls `ensureNative` (or `ensureNativeSync`) first.
 */
import { createRequire } from "node:module"
import * as Effect from "effect/Effect"
import * as tf from "@tensorflow/tfjs"
import { BackendError } from "./Errors.js"

const require = createRequire(import.meta.url)

export interface BackendInfo {
  readonly backend: string
  readonly tfVersion: string
  readonly tfjsVersion: string
  readonly threads: string
}

const FIX = "Run `npm run setup` (it builds @tensorflow/tfjs-node against a local TensorFlow; see docs/setup.md), " +
  "or set GROWLAB_ALLOW_JS_BACKEND=1 to accept the ~100x slower pure-JS backend for debugging only."

let cached: BackendInfo | undefined

/** Loads tfjs-node, selects the 'tensorflow' backend and checks it; throws a BackendError otherwise. */
export const ensureNativeSync = (): BackendInfo => {
  if (cached) return cached
  let loadError: string | undefined
  let tfVersion = "none"
  try {
    const node = require("@tensorflow/tfjs-node") as { version: Record<string, string> }
    tfVersion = node.version["tfjs-node"] ? (node.version["tf-native"] ?? nativeVersion()) : "unknown"
  } catch (e) {
    loadError = (e as Error).message.split("\n")[0]
  }
  if (tf.getBackend() !== "tensorflow" && tf.findBackend("tensorflow")) {
    tf.setBackend("tensorflow")
  }
  const backend = tf.getBackend()
  if (backend !== "tensorflow") {
    if (process.env.GROWLAB_ALLOW_JS_BACKEND === "1") {
      process.stderr.write(`[growlab] WARNING: using the pure-JS '${backend}' backend (GROWLAB_ALLOW_JS_BACKEND=1): ~100x slower.\n`)
    } else {
      throw new BackendError({
        expected: "tensorflow",
        actual: loadError ? `${backend} (@tensorflow/tfjs-node failed to load: ${loadError})` : backend,
        fix: FIX
      })
    }
  }
  cached = {
    backend,
    tfVersion,
    tfjsVersion: tf.version.tfjs,
    threads: process.env.TF_NUM_INTRAOP_THREADS ?? "default"
  }
  return cached
}

const nativeVersion = (): string => {
  try {
    const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding
    return binding?.TF_Version ?? "unknown"
  } catch {
    return "unknown"
  }
}

/** Effect form of `ensureNativeSync`. */
export const ensureNative: Effect.Effect<BackendInfo, BackendError> = Effect.try({
  try: ensureNativeSync,
  catch: (e) => e instanceof BackendError ? e : new BackendError({ expected: "tensorflow", actual: String(e), fix: FIX })
})

export { tf }
