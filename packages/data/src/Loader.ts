/**
 * Finding and loading a dataset. Where the files are read from, first match wins:
 *   1. the `dataDir` option (the dataset stage's `dataDir` param);
 *   2. the `GROWLAB_DATA_DIR` setting (tests and CI: `../shared/datasets`);
 *   3. the user cache, `$XDG_CACHE_HOME/growlab/datasets` or `~/.cache/growlab/datasets`; when the files are absent
 *      there, they are downloaded from the canonical addresses (or `GROWLAB_DATA_MIRROR`) with a progress bar and the
 *      published MD5 checked. A relative folder resolves against the repository root (the nearest folder above the
 *      working directory whose package.json has `workspaces`), so `../shared/datasets` means the same from any cwd.
 * An explicit folder (1, 2) must hold the files: nothing is downloaded into it. A folder holds a dataset in the
 * publishers' layout (`cifar-10-batches-bin/…` or `cifar-10-binary.tar.gz`; `fashion-mnist/*.gz`).
 *
 * Every file read is validated (magic numbers, sizes, record counts, labels) and its SHA-256 compared with the
 * table in Sources.ts before a `Dataset` is returned.
 */
import { homedir } from "node:os"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { writeFileAtomic } from "@growlab/core/ArtifactStore"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import type { ArtifactError } from "@growlab/core/Errors"
import * as Cifar10 from "./Cifar10.js"
import { downloadFile, urlOf } from "./Download.js"
import { SourceNotFound, type LoadError } from "./Errors.js"
import * as FashionMnist from "./FashionMnist.js"
import { archiveReader, dirReader, verifySha256, type Reader } from "./internal/files.js"
import {
  CIFAR10_ARCHIVE, CIFAR10_META, cifar10, fashionDownloads, requiredFiles, splits, type DatasetName, type Split
} from "./Sources.js"

export interface LoadOptions {
  /** Folder holding the dataset (relative: to the repository root). Overrides GROWLAB_DATA_DIR. */
  readonly dataDir?: string | undefined
  /** Cache folder (default `$XDG_CACHE_HOME/growlab/datasets` or `~/.cache/growlab/datasets`). */
  readonly cacheDir?: string | undefined
  /** Download into the cache when the files are absent (default true). */
  readonly download?: boolean | undefined
  /** Base URL replacing the canonical addresses (`<mirror>/<path in the cache layout>`); default GROWLAB_DATA_MIRROR. */
  readonly mirror?: string | undefined
  /** No progress bar. */
  readonly quiet?: boolean | undefined
}

/** Everything `locate` / `load` can fail with (ArtifactError: a file could not be written into the cache). */
export type LoaderError = LoadError | ArtifactError

export interface Location {
  readonly dataset: DatasetName
  /** A folder in the publishers' layout, or the official CIFAR-10 archive. */
  readonly kind: "dir" | "archive"
  readonly path: string
  /** Which setting chose it. */
  readonly origin: "dataDir" | "GROWLAB_DATA_DIR" | "cache"
}

const setting = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((v) => v.trim() !== "")),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/** The repository root: the nearest folder at or above the working directory whose package.json has `workspaces`. */
export const repoRoot = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const cwd = path.resolve(".")
  let dir = cwd
  while (true) {
    const text = yield* fs.readFileString(path.join(dir, "package.json")).pipe(Effect.orElseSucceed(() => ""))
    if (/"workspaces"\s*:/.test(text)) return dir
    const parent = path.dirname(dir)
    if (parent === dir) return cwd
    dir = parent
  }
})

/** Resolves a folder setting: absolute as is, relative against the repository root. */
export const resolveDir = (dir: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    return path.isAbsolute(dir) ? dir : path.resolve(yield* repoRoot, dir)
  })

/** The cache folder for downloads. */
export const cacheDir = (options: LoadOptions = {}) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    if (options.cacheDir) return yield* resolveDir(options.cacheDir)
    const xdg = yield* setting("XDG_CACHE_HOME")
    return path.join(Option.getOrElse(xdg, () => path.join(homedir(), ".cache")), "growlab", "datasets")
  })

type Found = { readonly kind: "dir" | "archive"; readonly path: string } | { readonly kind: "missing"; readonly missing: ReadonlyArray<string> }

const exists = (fs: FileSystem.FileSystem, file: string) => fs.exists(file).pipe(Effect.orElseSucceed(() => false))

/** Looks for a dataset in one folder (without reading the files). */
export const find = (dataset: DatasetName, dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const missing: Array<string> = []
    for (const f of requiredFiles(dataset)) if (!(yield* exists(fs, path.join(dir, f)))) missing.push(f)
    if (missing.length === 0) return { kind: "dir", path: dir } as Found
    if (dataset === "cifar10" && (yield* exists(fs, path.join(dir, CIFAR10_ARCHIVE)))) return { kind: "archive", path: path.join(dir, CIFAR10_ARCHIVE) } as Found
    return { kind: "missing", missing: dataset === "cifar10" ? [...missing, `(or ${CIFAR10_ARCHIVE})`] : missing } as Found
  })

const layoutHint = (dataset: DatasetName): string =>
  dataset === "cifar10"
    ? "cifar-10-batches-bin/{data_batch_1..5.bin,test_batch.bin,batches.meta.txt} or cifar-10-binary.tar.gz"
    : "fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"

/** Unpacks the official archive in the cache into `cifar-10-batches-bin/`, checking every member first. */
const extractCifar = (archive: string, dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const reader = yield* archiveReader("cifar10", archive)
    const meta = yield* reader.read(CIFAR10_META)
    yield* Cifar10.decodeMeta(reader.label(CIFAR10_META), meta)
    const batches = [...cifar10.train.batches, ...cifar10.test.batches]
    const contents: Array<[string, Uint8Array]> = [[CIFAR10_META, meta]]
    for (const source of batches) {
      const bytes = yield* reader.read(source.path)
      yield* Cifar10.validateBatch(reader.label(source.path), bytes)
      yield* verifySha256(reader.label(source.path), source, bytes)
      contents.push([source.path, bytes])
    }
    for (const [p, bytes] of contents) yield* writeFileAtomic(path.join(dir, p), bytes)
    yield* fs.remove(archive).pipe(Effect.ignore)
  })

/** Downloads what is missing in the cache (CIFAR-10: the archive, then unpacked; Fashion-MNIST: the four files). */
const fetchIntoCache = (dataset: DatasetName, dir: string, options: LoadOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const mirror = options.mirror ?? Option.getOrUndefined(yield* setting("GROWLAB_DATA_MIRROR"))
    const downloads = dataset === "cifar10" ? [cifar10.download] : fashionDownloads
    const byHand = downloads.length === 1
      ? `download ${urlOf(downloads[0], mirror)} by hand and save it as ${path.join(dir, downloads[0].path)}`
      : `download ${downloads.map((d) => urlOf(d, mirror)).join(", ")} by hand into ${path.dirname(path.join(dir, downloads[0].path))}`
    const fix = `Without network: ${byHand}; or set GROWLAB_DATA_DIR (or the stage's dataDir param) to a folder holding ${layoutHint(dataset)}.`
    for (const d of downloads) {
      const dest = path.join(dir, d.path)
      if (yield* exists(fs, dest)) continue
      yield* downloadFile(dataset, d, dest, { mirror, quiet: options.quiet, fix })
    }
    if (dataset === "cifar10") yield* extractCifar(path.join(dir, CIFAR10_ARCHIVE), dir)
  })

/** Decides where a dataset is read from, downloading into the cache when needed. */
export const locate = (dataset: DatasetName, options: LoadOptions = {}): Effect.Effect<Location, LoaderError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const env = options.dataDir === undefined ? yield* setting("GROWLAB_DATA_DIR") : Option.none<string>()
    const explicit = options.dataDir ?? Option.getOrUndefined(env)
    if (explicit !== undefined) {
      const origin = options.dataDir !== undefined ? "dataDir" : "GROWLAB_DATA_DIR"
      const dir = yield* resolveDir(explicit)
      const found = yield* find(dataset, dir)
      if (found.kind !== "missing") return { dataset, kind: found.kind, path: found.path, origin } satisfies Location
      return yield* Effect.fail(new SourceNotFound({
        dataset, dir, missing: found.missing,
        fix: `Put the published files there (${layoutHint(dataset)}), or unset ${origin} to use the cache (${yield* cacheDir(options)}), which downloads them.`
      }))
    }
    const dir = yield* cacheDir(options)
    const found = yield* find(dataset, dir)
    if (found.kind === "dir") return { dataset, kind: "dir", path: dir, origin: "cache" } satisfies Location
    if (options.download === false && found.kind === "missing") {
      return yield* Effect.fail(new SourceNotFound({ dataset, dir, missing: found.missing, fix: `Downloads are off: put the files there (${layoutHint(dataset)}) or set GROWLAB_DATA_DIR.` }))
    }
    yield* fetchIntoCache(dataset, dir, options)
    return { dataset, kind: "dir", path: dir, origin: "cache" } satisfies Location
  })

/** A reader over a location; an archive is unpacked once per reader. */
export const open = (location: Location) =>
  location.kind === "archive" ? archiveReader(location.dataset, location.path) : dirReader(location.dataset, location.path)

/** Reads one split through a reader. */
export const readSplit = (dataset: DatasetName, reader: Reader, split: Split): Effect.Effect<Dataset, LoadError> =>
  dataset === "cifar10" ? Cifar10.readSplit(reader, split) : FashionMnist.readSplit(reader, split)


/** Locates and loads one split. */
export const loadSplit = (dataset: DatasetName, split: Split, options: LoadOptions = {}): Effect.Effect<Dataset, LoaderError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const location = yield* locate(dataset, options)
    return yield* readSplit(dataset, yield* open(location), split)
  })

/** Locates and loads both splits (an archive is unpacked once). */
export const load = (
  dataset: DatasetName,
  options: LoadOptions = {}
): Effect.Effect<{ readonly train: Dataset; readonly test: Dataset; readonly location: Location }, LoaderError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const location = yield* locate(dataset, options)
    const reader = yield* open(location)
    const [train, test] = yield* Effect.forEach(splits, (s) => readSplit(dataset, reader, s))
    return { train, test, location }
  })
