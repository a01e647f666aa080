// @ts-check
/**
 * Nx plugin: turns every `pipelines/<name>.pipeline.json` into cached Nx tasks.
 *
 * Each stage instance becomes its own inferred project `<pipeline>--<instance>` (so one stage's hash never depends on
 * another's configuration) with a `run` target. Its Nx hash covers exactly the stage's cache key
 * (src/StageKey.ts; README "Cache key"):
 *   - the static key (kind + resolved params, wiring, the bundled code closure, third-party package versions) is
 *     part of the task's command (`--static-key`), which Nx hashes; the runner recomputes it and refuses a mismatch;
 *   - TensorFlow stages: a `runtime` input printing the effective numerics environment (TF build, intra-op threads,
 *     oneDNN, CPU); dataset stages: a `runtime` input printing the digest of the dataset files;
 *   - the bound upstream artifacts: `dependentTasksOutputFiles` naming exactly the files of the bound outputs of the
 *     direct upstream tasks (never their manifests, whose timings differ run to run).
 * Nothing else (no lockfile bytes, no CLI source, no tsconfig formatting). The `pipelines` project gets one target per
 * pipeline that runs its whole graph: `npx nx run pipelines:<name>`.
 *
 * A pipeline file that does not resolve disables only itself: Nx prints a warning naming the file and field, the
 * other pipelines load, and `nx run pipelines:<name>` of the bad one fails with the same message.
 */
import { readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { loadGraphModule } from "./bundle.mjs"

const here = fileURLToPath(new URL(".", import.meta.url))
const ARTIFACTS = process.env.GROWLAB_ARTIFACTS ?? "artifacts"

/** @param {string} s */
const shellQuote = (s) => (/^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`)

/** @param {string} file */
const pipelineTargetName = (file) => (file.split("/").pop() ?? file).replace(/\.pipeline\.json$/, "").replace(/[^A-Za-z0-9_-]/g, "_")

/**
 * @param {string} workspaceRoot
 * @param {string} file  pipeline file relative to the workspace root
 */
const nodesForFile = async (workspaceRoot, file) => {
  try {
    return await nodesOf(workspaceRoot, file)
  } catch (e) {
    return disabled(workspaceRoot, file, `${file}: ${/** @type {Error} */ (e).message}`)
  }
}

/**
 * The nodes of a pipeline file that cannot be used: only a `pipelines:<name>` target that fails with the problem.
 * @param {string} workspaceRoot
 * @param {string} file
 * @param {string} message
 */
const disabled = (workspaceRoot, file, message) => {
  process.stderr.write(`\n[growlab] ${message}\n[growlab] pipeline ${file} is disabled until it is fixed; the other pipelines are unaffected.\n\n`)
  return {
    projects: {
      pipelines: {
        name: "pipelines",
        root: "pipelines",
        targets: {
          [pipelineTargetName(file)]: {
            executor: "nx:run-commands",
            cache: false,
            // `growlab check` reports the same problem with its file and field, and fails
            options: { command: `node ${relative(workspaceRoot, join(here, "growlab.mjs"))} check ${shellQuote(file)}`, cwd: "{workspaceRoot}" },
            metadata: { description: `pipeline ${file} is disabled: ${message}` }
          }
        }
      }
    }
  }
}

/**
 * @param {string} workspaceRoot
 * @param {string} file
 */
const nodesOf = async (workspaceRoot, file) => {
  const m = await loadGraphModule()
  const text = readFileSync(join(workspaceRoot, file), "utf8")
  const exit = await m.runResolve(file, text)
  if (!exit.ok) return disabled(workspaceRoot, file, exit.message)
  const graph = exit.graph
  const launcher = relative(workspaceRoot, join(here, "launch.mjs"))
  const keyInput = relative(workspaceRoot, join(here, "key-input.mjs"))
  /** @type {Record<string, any>} */
  const projects = {}
  const keys = await m.staticKeysOf(workspaceRoot, graph.instances)
  for (const inst of graph.instances) {
    const entry = m.kindEntry(inst.kind)
    const root = `${ARTIFACTS}/${graph.pipeline}/${inst.id}`
    const key = keys.get(inst.id)
    /** @type {Array<any>} */
    const inputs = []
    // the stage's threads are its cpus (unless TF_NUM_INTRAOP_THREADS is set): one runtime input per cpus value
    if (entry.usesTf) inputs.push({ runtime: `node ${keyInput} numerics --cpus ${inst.resources.cpus}` })
    if (entry.readsDatasets) {
      const dataset = typeof inst.params.dataset === "string" ? inst.params.dataset : "none"
      const dataDir = typeof inst.params.dataDir === "string" ? ` ${shellQuote(inst.params.dataDir)}` : ""
      inputs.push({ runtime: `node ${keyInput} dataset ${shellQuote(dataset)}${dataDir}` })
    }
    // exactly the files of the bound upstream outputs (a folder output: everything below it)
    const bound = new Set()
    for (const input of inst.inputs) {
      for (const s of input.sources) {
        const out = m.outputEntry(graph.byId.get(s.instance).kind, s.output)
        const path = `${ARTIFACTS}/${graph.pipeline}/${s.instance}/${out.file}`
        bound.add(out.dir ? `${path}/**` : path)
      }
    }
    if (bound.size > 0) {
      const list = [...bound].sort()
      inputs.push({ dependentTasksOutputFiles: list.length === 1 ? list[0] : `{${list.join(",")}}`, transitive: false })
    }
    projects[root] = {
      name: inst.project,
      root,
      // edges of the experiment DAG in `nx graph` (the task order itself comes from `dependsOn`)
      implicitDependencies: inst.upstream.map((/** @type {string} */ id) => `${graph.pipeline}--${id}`),
      tags: ["growlab:stage", `pipeline:${graph.pipeline}`, `kind:${inst.kind}`],
      metadata: {
        description: `${inst.kind} stage of pipeline ${graph.pipeline}`,
        growlab: { file, instance: inst.id, vars: inst.vars, staticKey: key.key, keyParts: key.parts }
      },
      targets: {
        run: {
          executor: "nx:run-commands",
          options: {
            command: `node ${launcher} ${shellQuote(file)} ${shellQuote(inst.id)} --static-key ${key.key}`,
            cwd: "{workspaceRoot}"
          },
          cache: true,
          inputs,
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
