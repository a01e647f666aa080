// Shared by the study-bookkeeping scripts: the pipeline named on the command line, its resolved stage instances
// (`growlab graph --format json`) and where its artifacts are.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** Parses `<pipeline> [flags]` for `script` (exits 2 with a usage line or a missing-file error). */
export const pipelineFromArgs = (script, usageFlags = "") => {
  const [name, ...flags] = process.argv.slice(2)
  if (!name || name.startsWith("-")) {
    console.error(`usage: node scripts/${script} <pipeline>${usageFlags}   (e.g. study)`)
    process.exit(2)
  }
  // a pipeline file's name, or `<file's name>-<profile>` (study-quick: the study's quick profile)
  const file = join(root, "pipelines", `${name}.pipeline.json`)
  // the same folder the runner writes to: GROWLAB_ARTIFACTS (relative to the workspace root), else artifacts/
  const artifacts = resolve(root, process.env.GROWLAB_ARTIFACTS ?? "artifacts")
  const graph = spawnSync(process.execPath, [join(root, "tools/pipeline/growlab.mjs"), "graph", name, "--format", "json"], { cwd: root, encoding: "utf8", maxBuffer: 1 << 28 })
  if (graph.status !== 0) {
    console.error(`${script}: no pipeline ${name} (${(graph.stderr || graph.stdout).trim().split("\n").pop()})`)
    process.exit(2)
  }
  const instances = JSON.parse(graph.stdout)
  /** The instance's manifest when it is on disk with the params hash the pipeline file asks for now. */
  const currentManifest = (inst) => {
    const m = join(artifacts, name, inst.id, "manifest.json")
    if (!existsSync(m)) return undefined
    const manifest = JSON.parse(readFileSync(m, "utf8"))
    return manifest.paramsHash === inst.paramsHash ? manifest : undefined
  }
  return { name, flags, file, artifacts, instances, currentManifest }
}
