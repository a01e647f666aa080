// @ts-check
/**
 * Nx plugin: turns every `pipelines/<name>.pipeline.json` into cached Nx tasks.
 *
 * Each stage instance becomes its own inferred project `<pipeline>--<instance>` (so one stage's hash never depends on
 * another's configuration) with a `run` target whose cache key is exactly: the instance's kind and resolved params
 * (in the command, as the params hash), the source of the stage's package and its workspace dependencies, the runner
 * (this folder), the native TensorFlow version, and the upstream artifacts (not their manifests). The `pipelines` project gets one target per
 * pipeline that runs the whole graph: `npx nx run pipelines:<name>`.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/**
 * The graph code is TypeScript (shared with the runner). It is bundled once per content hash of its sources into
 * node_modules/.growlab/ with esbuild (what tsx itself uses), so loading it costs ~0.1 s instead of a TypeScript
 * loader start; any edit to those sources produces a new bundle.
 */
const GRAPH_SOURCES = [
  "src/plugin-entry.ts", "src/PipelineGraph.ts", "src/PipelineFile.ts", "src/PipelineError.ts", "src/Registry.ts", "../../packages/core/src/Hash.ts"
]

/** @type {Promise<any> | undefined} */
let graphModule
const loadGraphModule = () => {
  graphModule ??= (async () => {
    const hash = createHash("sha256")
    for (const f of GRAPH_SOURCES) hash.update(f).update(readFileSync(join(here, f)))
    const dir = join(here, "../../node_modules/.growlab")
    const bundle = join(dir, `pipeline-graph-${hash.digest("hex").slice(0, 16)}.mjs`)
    if (!existsSync(bundle)) {
      const esbuild = await import("esbuild")
      mkdirSync(dir, { recursive: true })
      const tmp = `${bundle}.tmp-${process.pid}`
      await esbuild.build({
        entryPoints: [join(here, "src/plugin-entry.ts")], bundle: true, platform: "node", format: "esm",
        target: "node20", outfile: tmp, logLevel: "silent"
      })
      renameSync(tmp, bundle)
    }
    return import(pathToFileURL(bundle).href)
  })()
  return graphModule
}

const ARTIFACTS = process.env.GROWLAB_ARTIFACTS ?? "artifacts"

/**
 * @param {string} workspaceRoot
 * @param {string} file  pipeline file relative to the workspace root
 */
const nodesForFile = async (workspaceRoot, file) => {
  const { resolve, registry, runPromiseExit } = await loadGraphModule()
  const text = readFileSync(join(workspaceRoot, file), "utf8")
  const exit = await runPromiseExit(resolve(file, text))
  if (exit._tag === "Failure") {
    const cause = /** @type {any} */ (exit.cause)
    const error = cause.error ?? cause.defect ?? cause
    throw new Error(`growlab pipeline: ${error?.message ?? String(error)}`)
  }
  const graph = exit.value
  const runner = relative(workspaceRoot, join(here, "growlab.mjs"))
  /** @type {Record<string, any>} */
  const projects = {}
  for (const inst of graph.instances) {
    const pkg = registry[inst.kind].package
    const root = `${ARTIFACTS}/${graph.pipeline}/${inst.id}`
    projects[root] = {
      name: inst.project,
      root,
      // edges of the experiment DAG in `nx graph` (the task order itself comes from `dependsOn`)
      implicitDependencies: inst.upstream.map((/** @type {string} */ id) => `${graph.pipeline}--${id}`),
      tags: ["growlab:stage", `pipeline:${graph.pipeline}`, `kind:${inst.kind}`],
      metadata: { description: `${inst.kind} stage of pipeline ${graph.pipeline}`, growlab: { file, instance: inst.id, vars: inst.vars } },
      targets: {
        run: {
          executor: "nx:run-commands",
          options: {
            command: `node ${runner} run ${file} ${inst.id} --params-hash ${inst.paramsHash}`,
            cwd: "{workspaceRoot}"
          },
          cache: true,
          inputs: [
            { input: "production", projects: [pkg] },
            { input: "production", projects: [pkg], dependencies: true },
            { input: "production", projects: ["@growlab/pipeline"] },
            { runtime: "node tools/tf-version.mjs" },
            { env: "GROWLAB_ALLOW_JS_BACKEND" },
            // upstream artifacts, except their manifest (its wall time differs run to run): an upstream rerun that
            // writes byte-identical artifacts does not rerun this stage
            { dependentTasksOutputFiles: "**/!(manifest.json)", transitive: false }
          ],
          outputs: [`{workspaceRoot}/${root}`],
          dependsOn: inst.upstream.length ? [{ target: "run", projects: inst.upstream.map((/** @type {string} */ id) => `${graph.pipeline}--${id}`) }] : []
        }
      }
    }
  }
  projects["pipelines"] = {
    name: "pipelines",
    root: "pipelines",
    targets: {
      [graph.pipeline]: {
        executor: "nx:noop",
        cache: false,
        metadata: { description: graph.description || `pipeline ${graph.pipeline}` },
        dependsOn: [{ target: "run", projects: graph.instances.map((/** @type {any} */ i) => i.project) }]
      }
    }
  }
  return { projects }
}

/** @type {import("nx/src/project-graph/plugins").CreateNodesV2} */
export const createNodesV2 = [
  "pipelines/*.pipeline.json",
  async (files, _options, context) => {
    const out = []
    for (const file of files) out.push([file, await nodesForFile(context.workspaceRoot, file)])
    return /** @type {any} */ (out)
  }
]
