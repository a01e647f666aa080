/**
 * The code a stage kind runs, as a cache-key part: the stage's module bundled with everything it imports from the
 * workspace (esbuild, third-party packages left external), hashed; plus the versions of the third-party packages that
 * code loads, resolved through package-lock.json (the packages it imports and their dependencies, transitively).
 *
 * Why a bundle: it is exactly the import closure of the stage's entry (no CLI, no unrelated module of the same
 * package), and esbuild drops comments and formatting, so a comment or a re-indent changes no key while any change to
 * code that runs does. Building the bundle takes ≈ 0.1–0.4 s; the result is kept in
 * `node_modules/.growlab/closures/<kind>.json` with the digest of every file that went in (sources, the package.json
 * files and tsconfigs that steer resolution) and reused while they are all unchanged.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, posix, relative, sep } from "node:path"
import * as Effect from "effect/Effect"
import { KeyError } from "./KeyError.js"
import type { KindEntry } from "./Registry.js"

export interface Closure {
  readonly kind: string
  /** sha256 of the bundled stage code. */
  readonly code: string
  /** Workspace files the bundle was built from (relative to the root), with their sha256. */
  readonly files: ReadonlyArray<{ readonly file: string; readonly sha256: string }>
  /** Third-party packages the code imports directly, by the workspace file that imports them. */
  readonly externals: ReadonlyArray<{ readonly from: string; readonly name: string }>
}

export interface Packages {
  /** `name@version` of every third-party package the code loads, transitively, sorted. */
  readonly list: ReadonlyArray<string>
  readonly hash: string
}

const CACHE_FORMAT = 2

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")
const toPosix = (p: string): string => p.split(sep).join(posix.sep)

/** The package name of a bare import (`effect/Effect` → `effect`, `@effect/platform/FileSystem` → `@effect/platform`). */
export const packageName = (specifier: string): string => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

const isBare = (specifier: string): boolean => !/^(\.|\/|node:)/.test(specifier) && !/^[a-z]+:/.test(specifier)

/** Files whose change can change how the closure resolves, beside the sources themselves. */
const steeringFiles = (root: string, sources: ReadonlyArray<string>): Array<string> => {
  const out = new Set<string>(["tsconfig.json", "tsconfig.base.json"].filter((f) => existsSync(join(root, f))))
  for (const s of sources) {
    const m = /^(packages|tools)\/([^/]+)\//.exec(s)
    if (m) out.add(`${m[1]}/${m[2]}/package.json`)
  }
  return [...out].sort()
}

/** File digests, remembered by size and mtime within a process (a long-lived Nx daemon sees edits). */
const fileDigests = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly sha256: string }>()
const digestOf = (root: string, file: string): string | undefined => {
  const full = join(root, file)
  if (!existsSync(full)) return undefined
  const st = statSync(full)
  const known = fileDigests.get(full)
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256
  const d = sha256(readFileSync(full))
  fileDigests.set(full, { size: st.size, mtimeMs: st.mtimeMs, sha256: d })
  return d
}

const cachePath = (root: string, kind: string): string => join(root, "node_modules", ".growlab", "closures", `${kind}.json`)

interface CacheEntry {
  readonly format: number
  readonly esbuild: string
  readonly module: string
  readonly closure: Closure
  /**
   * The names in each folder that holds a source of the closure: a file added beside them (an operator dropped into
   * `operators/`, which a registry imports by pattern) changes no listed file, but may change the bundle.
   */
  readonly folders: Readonly<Record<string, string>>
}

/** A digest of each folder's sorted listing (names only). */
const folderListings = (root: string, files: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const dir of [...new Set(files.map((f) => posix.dirname(f)))].sort()) {
    const full = join(root, dir)
    out[dir] = existsSync(full) ? sha256(readdirSync(full).sort().join("\n")) : "missing"
  }
  return out
}

const readCache = (root: string, kind: string, module: string, esbuildVersion: string): Closure | undefined => {
  const file = cachePath(root, kind)
  if (!existsSync(file)) return undefined
  let entry: CacheEntry
  try {
    entry = JSON.parse(readFileSync(file, "utf8")) as CacheEntry
  } catch {
    return undefined
  }
  if (entry.format !== CACHE_FORMAT || entry.esbuild !== esbuildVersion || entry.module !== module) return undefined
  for (const f of entry.closure.files) if (digestOf(root, f.file) !== f.sha256) return undefined
  const now = folderListings(root, Object.keys(entry.folders ?? {}).map((d) => `${d}/x`))
  for (const [dir, digest] of Object.entries(entry.folders ?? {})) if (now[dir] !== digest) return undefined
  return entry.closure
}

const writeCache = (root: string, kind: string, entry: CacheEntry): void => {
  const file = cachePath(root, kind)
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  writeFileSync(tmp, JSON.stringify(entry))
  renameSync(tmp, file)
}

type Esbuild = typeof import("esbuild")

const loadEsbuild = (root: string) =>
  Effect.try({
    try: () => createRequire(join(root, "package.json"))("esbuild") as Esbuild,
    catch: (e) => new KeyError({ part: "code", reason: `esbuild could not be loaded (run npm run setup): ${(e as Error).message}` })
  })

const bundle = (root: string, entry: KindEntry, esbuild: Esbuild) =>
  Effect.tryPromise({
    try: () => esbuild.build({
      stdin: { contents: `export { ${entry.export} } from ${JSON.stringify(entry.module)}`, resolveDir: root, loader: "ts", sourcefile: "<stage entry>" },
      absWorkingDir: root,
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      target: "node20",
      legalComments: "none",
      logLevel: "silent",
      plugins: [{
        name: "third-party-external",
        setup: (build) => {
          // workspace packages are bundled (their code is the stage's); every other bare import stays external
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@growlab/") || !isBare(args.path) ? undefined : { path: args.path, external: true })
        }
      }]
    }),
    catch: (e) => new KeyError({ part: "code", reason: `bundling ${entry.module} failed: ${(e as Error).message.split("\n").slice(0, 6).join(" ")}` })
  })

/** The closure of one stage kind (from the cache when every file that went into it is unchanged). */
export const closureOf = (root: string, kind: string, entry: KindEntry) =>
  Effect.gen(function*() {
    const esbuild = yield* loadEsbuild(root)
    const cached = readCache(root, kind, entry.module, esbuild.version)
    if (cached) return cached
    const result = yield* bundle(root, entry, esbuild)
    const text = result.outputFiles[0].text
    const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("<")).map(toPosix).sort()
    const externals: Array<{ from: string; name: string }> = []
    for (const [file, input] of Object.entries(result.metafile.inputs)) {
      for (const imp of input.imports) {
        if (imp.external && isBare(imp.path)) externals.push({ from: toPosix(file), name: packageName(imp.path) })
      }
    }
    // packages loaded through createRequire (`require("@tensorflow/tfjs-node")`), which esbuild cannot follow
    for (const m of text.matchAll(/\b(?:__)?require\d*\(\s*"([^"]+)"\s*\)/g)) {
      if (isBare(m[1])) externals.push({ from: "<bundle>", name: packageName(m[1]) })
    }
    const files = [...inputs, ...steeringFiles(root, inputs)].map((file) => ({ file, sha256: digestOf(root, file) ?? "missing" }))
    const seen = new Set<string>()
    const closure: Closure = {
      kind,
      code: sha256(text),
      files,
      externals: externals.filter((x) => { const k = `${x.from}\0${x.name}`; return seen.has(k) ? false : (seen.add(k), true) })
        .sort((a, b) => (a.from + a.name < b.from + b.name ? -1 : 1))
    }
    yield* Effect.try({
      try: () => writeCache(root, kind, { format: CACHE_FORMAT, esbuild: esbuild.version, module: entry.module, closure, folders: folderListings(root, inputs) }),
      catch: (e) => new KeyError({ part: "code", reason: `cannot write ${relative(root, cachePath(root, kind))}: ${(e as Error).message}` })
    })
    return closure
  })

interface LockPackage {
  readonly version?: string
  readonly link?: boolean
  readonly resolved?: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

/** package-lock.json's `packages` table, read once per process per root. */
const lockCache = new Map<string, { digest: string; packages: Record<string, LockPackage> }>()
const readLock = (root: string) =>
  Effect.try({
    try: () => {
      const text = readFileSync(join(root, "package-lock.json"), "utf8")
      const digest = sha256(text)
      const known = lockCache.get(root)
      if (known?.digest === digest) return known.packages
      const packages = (JSON.parse(text) as { packages?: Record<string, LockPackage> }).packages ?? {}
      lockCache.set(root, { digest, packages })
      return packages
    },
    catch: (e) => new KeyError({ part: "packages", reason: `package-lock.json could not be read: ${(e as Error).message}` })
  })

/** Node's lookup of `name` from a folder: `<dir>/node_modules/<name>`, then each parent's, as lockfile keys. */
const resolveInLock = (lock: Record<string, LockPackage>, fromDir: string, name: string): string | undefined => {
  let dir = fromDir
  while (true) {
    const key = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`
    if (lock[key]) return key
    if (dir === "") return undefined
    const parent = posix.dirname(dir)
    dir = parent === "." ? "" : parent
  }
}

/**
 * Versions of the third-party packages a closure loads: each external import resolved from the importing file's
 * folder the way Node does, then the dependencies of each package, transitively (optional ones when installed).
 */
export const packagesOf = (root: string, closures: ReadonlyArray<Closure>) =>
  Effect.gen(function*() {
    const lock = yield* readLock(root)
    const found = new Set<string>()
    const missing = new Set<string>()
    const queue: Array<string> = []
    const visit = (fromDir: string, name: string, required: boolean) => {
      const key = resolveInLock(lock, fromDir, name)
      if (!key) { if (required) missing.add(name); return }
      if (found.has(key)) return
      found.add(key)
      queue.push(key)
    }
    for (const c of closures) {
      for (const x of c.externals) visit(x.from === "<bundle>" ? "" : posix.dirname(x.from), x.name, true)
    }
    while (queue.length > 0) {
      const key = queue.pop()!
      const pkg = lock[key]
      for (const name of Object.keys(pkg.dependencies ?? {})) visit(key, name, true)
      for (const name of Object.keys({ ...pkg.optionalDependencies, ...pkg.peerDependencies })) visit(key, name, false)
    }
    if (missing.size > 0) {
      return yield* Effect.fail(new KeyError({ part: "packages", reason: `package-lock.json has no entry for ${[...missing].sort().join(", ")} (run npm install to bring it in sync)` }))
    }
    const list = [...new Set([...found].map((key) => {
      const pkg = lock[key]
      return `${key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length)}@${pkg.version ?? (pkg.link ? "link" : "unknown")}`
    }))].sort()
    return { list, hash: sha256(list.join("\n")) } satisfies Packages
  })
