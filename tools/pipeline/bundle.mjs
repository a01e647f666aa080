// @ts-check
/**
 * The pipeline graph and cache-key code is TypeScript (shared with the runner). The Nx plugin and the key-input
 * script load it as one ESM bundle in node_modules/.growlab/, built with esbuild once per content hash of the
 * sources it is made of (and rebuilt after any edit to them), so loading costs ≈ 0.1 s instead of a TypeScript
 * loader's start. Only esbuild itself stays external.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "../..")
const dir = join(root, "node_modules/.growlab")
const inputsFile = join(dir, "pipeline-graph.inputs.json")

/** @param {ReadonlyArray<string>} files */
const digest = (files) => {
  const hash = createHash("sha256")
  for (const f of files) hash.update(f).update("\0").update(existsSync(join(root, f)) ? readFileSync(join(root, f)) : "missing")
  return hash.digest("hex").slice(0, 16)
}

/** @type {Promise<any> | undefined} */
let loaded
export const loadGraphModule = () => {
  loaded ??= (async () => {
    // the inputs of the last build name the files to check; any change to one of them means a new bundle
    /** @type {Array<string>} */
    let inputs = []
    try { inputs = JSON.parse(readFileSync(inputsFile, "utf8")) } catch { /* first build */ }
    const known = inputs.length > 0 ? join(dir, `pipeline-graph-${digest(inputs)}.mjs`) : undefined
    if (known && existsSync(known)) return import(pathToFileURL(known).href)
    const esbuild = await import("esbuild")
    mkdirSync(dir, { recursive: true })
    const result = await esbuild.build({
      entryPoints: [join(here, "src/plugin-entry.ts")], bundle: true, platform: "node", format: "esm", target: "node20",
      write: false, metafile: true, logLevel: "silent", absWorkingDir: root, external: ["esbuild"],
      // CommonJS dependencies bundled into ESM call require() for Node built-ins
      banner: { js: "import { createRequire as __growlabRequire } from 'node:module'; const require = __growlabRequire(import.meta.url);" }
    })
    const files = Object.keys(result.metafile.inputs).sort()
    const bundle = join(dir, `pipeline-graph-${digest(files)}.mjs`)
    const tmp = `${bundle}.tmp-${process.pid}`
    writeFileSync(tmp, result.outputFiles[0].contents)
    renameSync(tmp, bundle)
    writeFileSync(`${inputsFile}.tmp-${process.pid}`, JSON.stringify(files))
    renameSync(`${inputsFile}.tmp-${process.pid}`, inputsFile)
    return import(pathToFileURL(bundle).href)
  })()
  return loaded
}
