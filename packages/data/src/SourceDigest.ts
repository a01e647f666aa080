/**
 * The content of the dataset files a `dataset` stage would read with given settings, as one digest: the external
 * input of its cache key. It follows the loader's choice of folder (the stage's `dataDir`, else GROWLAB_DATA_DIR,
 * else the download cache) without downloading anything:
 *   - a folder in the publishers' layout: the SHA-256 of every split file, and the class names of CIFAR-10's
 *     `batches.meta.txt` as the loader reads them (copies differ in trailing blank lines, the loader does not care);
 *   - the official CIFAR-10 archive: its SHA-256;
 *   - nothing yet in the download cache: the published digests, which a download is verified against (so the key
 *     does not change when the download happens);
 *   - nothing at an explicit folder: "missing" with the folder (the stage fails; fixing the folder changes the key).
 * A flipped byte in any file changes the digest, so a cached result is never served for data it was not made from.
 * File digests are remembered by (path, size, mtime, inode) in `node_modules/.growlab/dataset-digests.json`, so a
 * graph build rereads nothing unchanged (≈ 180 MB for CIFAR-10 otherwise).
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import { hashJson, sha256 } from "@growlab/core/Hash"
import { cacheDir, find, repoRoot, resolveDir } from "./Loader.js"
import { CIFAR10_CLASSES, CIFAR10_META, requiredFiles, splitFiles, splits, type DatasetName } from "./Sources.js"

interface Remembered {
  readonly size: number
  readonly mtimeMs: number
  readonly ino: number
  readonly sha256: string
}

const memoFile = (root: string, path: Path.Path) => path.join(root, "node_modules", ".growlab", "dataset-digests.json")

/** The SHA-256 of a file, from the memo when its size, mtime and inode are unchanged. */
const fileDigest = (file: string, memo: Map<string, Remembered>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file)
    const stat = {
      size: Number(info.size),
      mtimeMs: Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() }),
      ino: Option.getOrElse(info.ino, () => 0)
    }
    const known = memo.get(file)
    if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs && known.ino === stat.ino) return known.sha256
    const digest = sha256(yield* fs.readFile(file))
    memo.set(file, { ...stat, sha256: digest })
    return digest
  })

const classNamesOf = (text: string): string => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "").join("\n")

/** What the stage reads for `dataset` with the given `dataDir` param, as the JSON its digest is made of. */
export const sourceListing = (dataset: DatasetName, options: { readonly dataDir?: string | undefined } = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = yield* repoRoot
    const memoPath = memoFile(root, path)
    const memoText = yield* fs.readFileString(memoPath).pipe(Effect.orElseSucceed(() => "{}"))
    const memo = new Map<string, Remembered>(Object.entries(yield* Effect.try(() => JSON.parse(memoText) as Record<string, Remembered>).pipe(Effect.orElseSucceed(() => ({})))))
    const before = JSON.stringify(Object.fromEntries(memo))
    const env = options.dataDir === undefined
      ? Option.filter(yield* Config.option(Config.string("GROWLAB_DATA_DIR")).pipe(Effect.orElseSucceed(() => Option.none<string>())), (v) => v.trim() !== "")
      : Option.none<string>()
    const explicit = options.dataDir ?? Option.getOrUndefined(env)
    const dir = explicit !== undefined ? yield* resolveDir(explicit) : yield* cacheDir()
    const found = yield* find(dataset, dir)
    const files = splits.flatMap((s) => splitFiles(dataset, s))
    let listing: unknown
    if (found.kind === "dir") {
      const digests: Record<string, string> = {}
      for (const f of files) digests[f.path] = yield* fileDigest(path.join(dir, f.path), memo)
      const meta = dataset === "cifar10"
        ? { [CIFAR10_META]: classNamesOf(yield* fs.readFileString(path.join(dir, CIFAR10_META)).pipe(Effect.orElseSucceed(() => ""))) }
        : {}
      listing = { dataset, files: digests, ...meta }
    } else if (found.kind === "archive") {
      listing = { dataset, archive: yield* fileDigest(found.path, memo) }
    } else if (explicit === undefined) {
      // a download into the cache is verified against these digests before anything reads it
      listing = {
        dataset,
        files: Object.fromEntries(files.map((f) => [f.path, f.sha256])),
        ...(dataset === "cifar10" ? { [CIFAR10_META]: CIFAR10_CLASSES.join("\n") } : {})
      }
    } else {
      listing = { dataset, missing: dir, files: requiredFiles(dataset) }
    }
    if (JSON.stringify(Object.fromEntries(memo)) !== before) {
      const tmp = `${memoPath}.tmp-${process.pid}`
      yield* fs.makeDirectory(path.dirname(memoPath), { recursive: true }).pipe(
        Effect.zipRight(fs.writeFileString(tmp, JSON.stringify(Object.fromEntries(memo)))),
        Effect.zipRight(fs.rename(tmp, memoPath)),
        Effect.ignore
      )
    }
    return listing
  })

/** The digest of `sourceListing`: what enters the dataset stage's cache key. */
export const sourceDigest = (dataset: DatasetName, options: { readonly dataDir?: string | undefined } = {}) =>
  Effect.map(sourceListing(dataset, options), hashJson)
