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
 * pipeline that runs its whole graph (`npx nx run pipelines:<name>`), one per profile (`pipelines:<name>-<profile>`)
 * and one per group of stages the file declares (`pipelines:exp4`, `pipelines:exp4-quick`). GROWLAB_SET overrides
 * (`stage.params.path=value;...`) apply to the graph Nx sees and to every stage process alike.
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
 * The nodes of one resolved pipeline (the file's own, or one of its profiles): a project per stage instance, and the
 * `pipelines` targets of the pipeline and of its groups.
 * @param {any} m the graph module
 * @param {string} workspaceRoot
 * @param {string} file
 * @param {any} graph
 * @param {Map<string, { key: string, parts: any }>} keys  the static key of each of the graph's instances
 * @param {Record<string, any>} projects  filled in
 * @param {Record<string, any>} pipelineTargets  filled in
 */
const addGraph = (m, workspaceRoot, file, graph, keys, projects, pipelineTargets) => {
  const launcher = relative(workspaceRoot, join(here, "launch.mjs"))
  const keyInput = relative(workspaceRoot, join(here, "key-input.mjs"))
  const profileArg = graph.profile === undefined ? "" : ` --profile ${shellQuote(graph.profile)}`
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
        growlab: { file, profile: graph.profile ?? null, instance: inst.id, vars: inst.vars, resources: inst.resources, staticKey: key.key, keyParts: key.parts }
      },
      targets: {
        run: {
          executor: "nx:run-commands",
          options: {
            command: `node ${launcher} ${shellQuote(file)} ${shellQuote(inst.id)}${profileArg} --static-key ${key.key}`,
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
  /** @param {string} name @param {string} description @param {Array<string>} projectNames */
  const target = (name, description, projectNames) => {
    if (pipelineTargets[name]) throw new Error(`target pipelines:${name} is defined twice (a group named like a pipeline?)`)
    pipelineTargets[name] = { executor: "nx:noop", cache: false, metadata: { description }, dependsOn: [{ target: "run", projects: projectNames }] }
  }
  target(graph.pipeline, graph.description || `pipeline ${graph.pipeline}`, graph.instances.map((/** @type {any} */ i) => i.project))
  const suffix = graph.profile === undefined ? "" : `-${graph.profile}`
  for (const [name, group] of Object.entries(graph.groups)) {
    const members = graph.instances.filter((/** @type {any} */ i) => group.stages.includes(i.stage)).map((/** @type {any} */ i) => i.project)
    target(`${name}${suffix}`, `${group.description}${suffix ? ` (profile ${graph.profile})` : ""}: ${group.stages.join(", ")} of ${graph.pipeline} and everything they need`, members)
  }
}

/**
 * @param {string} workspaceRoot
 * @param {string} file
 */
const nodesOf = async (workspaceRoot, file) => {
  const m = await loadGraphModule()
  const text = readFileSync(join(workspaceRoot, file), "utf8")
  const overrides = m.overridesFrom(process.env)
  const exit = await m.runResolve(file, text, { root: workspaceRoot, overrides })
  if (!exit.ok) return disabled(workspaceRoot, file, exit.message)
  const graphs = [exit.graph]
  for (const profile of exit.graph.profiles) {
    const p = await m.runResolve(file, text, { root: workspaceRoot, profile, overrides })
    if (!p.ok) return disabled(workspaceRoot, file, p.message)
    graphs.push(p.graph)
  }
  const keys = await m.staticKeysOf(workspaceRoot, graphs)
  /** @type {Record<string, any>} */
  const projects = {}
  /** @type {Record<string, any>} */
  const pipelineTargets = {}
  graphs.forEach((graph, i) => addGraph(m, workspaceRoot, file, graph, keys[i], projects, pipelineTargets))
  projects["pipelines"] = { name: "pipelines", root: "pipelines", targets: pipelineTargets }
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
