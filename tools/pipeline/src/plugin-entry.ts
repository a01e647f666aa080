/** What the Nx plugin and the key-input script need, bundled into one module (see bundle.mjs). */
import * as Effect from "effect/Effect"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { sourceDigest } from "@growlab/data/SourceDigest"
import { datasetNames, type DatasetName } from "@growlab/data/Sources"
import { overridesFrom } from "./Compose.js"
import { numerics } from "./Numerics.js"
import { codePartsByKind, environmentLine, staticKey, staticPartsWith } from "./StageKey.js"
import type { Instance } from "./PipelineGraph.js"

import { readFileSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { PipelineError } from "./PipelineError.js"
import { resolve } from "./PipelineGraph.js"
import { kindEntry as kindEntryOf } from "./Registry.js"
import type { Graph } from "./PipelineGraph.js"
export { kindEntry, outputEntry } from "./Registry.js"
export { environmentLine } from "./StageKey.js"

const run = <A, E>(effect: Effect.Effect<A, E, NodeContext.NodeContext>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(NodeContext.layer), Effect.mapError((e) => {
    const err = new Error((e as { message?: string }).message ?? String(e))
    return err
  })))

/**
 * The static cache keys (and their parts) of each graph's instances, by instance id, one map per graph (a file and its
 * profiles): each kind's code parts are computed once for all of them.
 */
export const staticKeysOf = (root: string, graphs: ReadonlyArray<{ readonly instances: ReadonlyArray<Instance> }>) =>
  run(Effect.map(codePartsByKind(root, graphs.flatMap((g) => g.instances)), (byKind) =>
    graphs.map((g) => new Map(g.instances.map((inst) => {
      const parts = staticPartsWith(inst, byKind.get(inst.kind)!)
      return [inst.id, { key: staticKey(parts), parts }] as const
    })))))

/** The runtime-input line of the numerics environment of this process (a TensorFlow stage with `cpus` cpus). */
export const numericsLine = (root: string, env: Record<string, string | undefined>, cpus?: number): string =>
  environmentLine(numerics(root, env, cpus))

/** The runtime-input line of a dataset's source files. */
export const datasetLine = async (dataset: string, dataDir?: string): Promise<string> => {
  if (!(datasetNames as ReadonlyArray<string>).includes(dataset)) return `unknown dataset ${JSON.stringify(dataset)}`
  const digest = await run(sourceDigest(dataset as DatasetName, { dataDir }))
  return environmentLine(digest)
}

/** Reads part files relative to the workspace root. */
const readerFor = (root: string) => (rel: string) =>
  Effect.try({
    try: () => readFileSync(isAbsolute(rel) ? rel : join(root, rel), "utf8"),
    catch: (e) => new PipelineError({ file: rel, field: "(file)", expected: "a readable part file", actual: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message })
  })

export { overridesFrom } from "./Compose.js"

/** Resolves a pipeline file: its graph, or the message of the first problem (file, field, expected, actual). */
export const runResolve = async (
  file: string, text: string, options: { root?: string; profile?: string; overrides?: ReadonlyArray<string> } = {}
): Promise<{ ok: true; graph: Graph } | { ok: false; message: string }> => {
  const exit = await Effect.runPromiseExit(resolve(file, text, {
    read: readerFor(options.root ?? process.cwd()),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    overrides: options.overrides ?? []
  }))
  if (exit._tag === "Success") return { ok: true, graph: exit.value }
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  return { ok: false, message: failure ? failure.message : `${file}: could not be resolved (${String(exit.cause)})` }
}

/**
 * What the task launcher needs about an instance: its resources, whether it runs TensorFlow, and the numerics its
 * key was built with on this host (the runner checks the machine it runs on gives the same).
 */
export const launchPlan = async (root: string, file: string, text: string, instance: string, env: Record<string, string | undefined>, profile?: string) => {
  const exit = await runResolve(file, text, { root, ...(profile === undefined ? {} : { profile }), overrides: overridesFrom(env) })
  if (!exit.ok) throw new Error(exit.message)
  const inst = exit.graph.byId.get(instance)
  if (!inst) throw new Error(`${file}: no stage instance ${JSON.stringify(instance)}`)
  const usesTf = kindEntryOf(inst.kind)?.usesTf === true
  const settings = usesTf ? numerics(root, env, inst.resources.cpus) : undefined
  return {
    resources: inst.resources,
    usesTf,
    /** The stage's TensorFlow intra-op threads as its key counts them (its cpus unless TF_NUM_INTRAOP_THREADS says otherwise). */
    threads: settings?.intraOpThreads ?? inst.resources.cpus,
    /** base64url of the numerics JSON, for the runner's --expect-numerics */
    numerics: settings ? Buffer.from(JSON.stringify(settings)).toString("base64url") : undefined
  }
}
