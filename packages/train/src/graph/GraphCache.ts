/**
 * Where built step graphs live on disk: one directory per distinct saved_model.pb, named by its hash (content
 * addressed, so never stale), written atomically.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The cache key of a built step graph: a hash of its saved_model.pb (content-addressed, so never stale). */
const cacheKey = (savedModel: Uint8Array): string => createHash("sha256").update(savedModel).digest("hex").slice(0, 32)

export const defaultCacheDir = (): string => process.env.GROWLAB_GRAPH_CACHE ?? path.join(os.tmpdir(), "growlab-graphs")

/** The directory of a built step graph's SavedModel in `cacheDir`, written (atomically) when absent. */
export const writeSavedModel = (savedModel: Uint8Array, cacheDir: string = defaultCacheDir()): string => {
  const dir = path.join(cacheDir, cacheKey(savedModel))
  if (fs.existsSync(path.join(dir, "saved_model.pb"))) return dir
  fs.mkdirSync(cacheDir, { recursive: true })
  const tmp = fs.mkdtempSync(path.join(cacheDir, ".tmp-"))
  fs.writeFileSync(path.join(tmp, "saved_model.pb"), savedModel)
  try {
    fs.renameSync(tmp, dir)
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true })
    if (!fs.existsSync(path.join(dir, "saved_model.pb"))) throw e
  }
  return dir
}
