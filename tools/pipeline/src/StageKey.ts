/**
 * The cache key of a stage instance: the one definition that the Nx plugin, `growlab run` and `growlab status` share.
 * It covers exactly what determines the stage's outputs:
 *
 *   static (known from the pipeline file and the workspace, embedded in the Nx task's command)
 *     kind + resolved params ........ `params`   hash of { kind, params } (matrix values, $ref/$var substituted)
 *     wiring ........................ `wiring`   which upstream instance's output feeds which input, in order
 *     code .......................... `code`     the stage module's bundled import closure (CodeClosure.ts)
 *     third-party packages .......... `packages` name@version of every package that code loads (package-lock.json)
 *   environment (read when the task runs; Nx `runtime` inputs)
 *     numerics (TensorFlow kinds) ... `numerics` native TF build, intra-op threads, oneDNN, CPU (Numerics.ts)
 *     external data (dataset kind) .. `data`     digest of the dataset files it reads (@growlab/data/SourceDigest)
 *   upstream (Nx `dependentTasksOutputFiles`, only the files of the bound outputs)
 *     bound artifacts ............... `upstream` sha256 of every file of every bound upstream output
 *
 * Nothing else: not the CLI, not the lockfile's bytes, not the manifests (their timings differ run to run).
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { hashJson } from "@growlab/core/Hash"
import type { KeyParts, Manifest } from "@growlab/core/Manifest"
import type { InputArtifact } from "@growlab/core/Stage"
import { sourceDigest } from "@growlab/data/SourceDigest"
import { datasetNames, type DatasetName } from "@growlab/data/Sources"
import { closureOf, packagesOf, type Closure } from "./CodeClosure.js"
import { IntegrityError, quarantineCorruptEntries, readManifest, verifyFiles } from "./Integrity.js"
import { KeyError } from "./KeyError.js"
import { numerics, type Env } from "./Numerics.js"
import type { Graph, Instance } from "./PipelineGraph.js"
import { kindEntry } from "./Registry.js"

export interface StaticParts {
  readonly kind: string
  readonly params: string
  readonly wiring: string
  readonly code: string
  readonly packages: string
}

export interface EnvironmentParts {
  readonly numerics: KeyParts["numerics"]
  readonly data: string | null
}

/** One bound upstream output: which instance and output, and the digest of each of its files. */
export interface BoundUpstream {
  readonly input: string
  readonly instance: string
  readonly output: string
  readonly files: ReadonlyArray<{ readonly file: string; readonly sha256: string }>
}

/** The wiring of an instance as hashed: each input with the upstream outputs bound to it, in order. */
export const wiringOf = (inst: Instance) =>
  inst.inputs.map((i) => ({ input: i.name, from: i.sources.map((s) => `${s.instance}.${s.output}`) }))

const entryOf = (kind: string) =>
  Effect.suspend(() => {
    const entry = kindEntry(kind)
    return entry ? Effect.succeed(entry) : Effect.fail(new KeyError({ part: "kind", reason: `${JSON.stringify(kind)} is not a registered stage kind` }))
  })

/** The code parts of a kind: its bundled closure's hash and its third-party packages' hash. */
export interface CodeParts {
  readonly code: string
  readonly packages: string
  readonly closure: Closure
}

/** The code parts of a kind, from the closure cache when its files are unchanged (CodeClosure.ts). */
export const codeParts = (root: string, kind: string) =>
  Effect.gen(function*() {
    const c = yield* closureOf(root, kind, yield* entryOf(kind))
    const packages = yield* packagesOf(root, [c])
    return { code: c.code, packages: packages.hash, closure: c } satisfies CodeParts
  })

/** The static key parts of an instance whose kind's code parts are known. */
export const staticPartsWith = (inst: Instance, code: CodeParts): StaticParts => ({
  kind: inst.kind,
  params: inst.paramsHash,
  wiring: hashJson(wiringOf(inst)),
  code: code.code,
  packages: code.packages
})

/** The static key parts of an instance. */
export const staticParts = (root: string, inst: Instance) =>
  Effect.map(codeParts(root, inst.kind), (code) => staticPartsWith(inst, code))

/** Code parts per kind, computed once for a batch of instances (a graph build, a status listing). */
export const codePartsByKind = (root: string, instances: ReadonlyArray<Instance>) =>
  Effect.gen(function*() {
    const out = new Map<string, CodeParts>()
    for (const kind of new Set(instances.map((i) => i.kind))) out.set(kind, yield* codeParts(root, kind))
    return out
  })

export const staticKey = (parts: StaticParts): string => hashJson(parts)

/** The dataset a `dataset` instance reads (undefined when its params name none; decoding them then fails the run). */
const datasetOf = (params: Record<string, unknown>): { dataset: DatasetName; dataDir?: string } | undefined => {
  const d = params.dataset
  if (typeof d !== "string" || !(datasetNames as ReadonlyArray<string>).includes(d)) return undefined
  return { dataset: d as DatasetName, ...(typeof params.dataDir === "string" ? { dataDir: params.dataDir } : {}) }
}

/**
 * The environment parts of an instance in a process started with `env`: numerics for TensorFlow kinds (its threads are
 * its `cpus` unless TF_NUM_INTRAOP_THREADS says otherwise), the data digest for kinds that read datasets.
 */
export const environmentParts = (root: string, inst: Instance, env: Env) =>
  Effect.gen(function*() {
    const entry = yield* entryOf(inst.kind)
    const source = entry.readsDatasets ? datasetOf(inst.params) : undefined
    return {
      numerics: entry.usesTf ? { ...numerics(root, env, inst.resources.cpus) } : null,
      data: entry.readsDatasets ? (source ? yield* sourceDigest(source.dataset, { dataDir: source.dataDir }) : "no dataset named in params") : null
    } satisfies EnvironmentParts
  })

/** The digest of an environment part as the Nx runtime input prints it. */
export const environmentLine = (part: unknown): string => `${hashJson(part)} ${JSON.stringify(part)}`

/**
 * The bound upstream outputs of an instance, each file checked against its producer's manifest, and the artifacts
 * to hand the stage (with each producer's measurements). Missing optional outputs are skipped, as declared.
 */
export const boundUpstream = (
  root: string,
  graph: Graph,
  inst: Instance,
  dirOf: (id: string) => string,
  declOf: (instance: string, output: string) => { readonly file: string; readonly optional: boolean }
) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const fs = yield* FileSystem.FileSystem
    const bound: Array<BoundUpstream> = []
    const artifacts: Record<string, Array<InputArtifact>> = {}
    const manifests = new Map<string, Manifest>()
    for (const input of inst.inputs) {
      const list: Array<InputArtifact> = []
      for (const source of input.sources) {
        const upstream = graph.byId.get(source.instance)!
        const dir = dirOf(source.instance)
        let manifest = manifests.get(source.instance)
        if (!manifest) {
          manifest = yield* readManifest(dir, upstream.project)
          manifests.set(source.instance, manifest)
        }
        const digests = manifest.outputs[source.output]
        if (!digests) {
          if (declOf(source.instance, source.output).optional) continue
          return yield* Effect.fail(new IntegrityError({
            file: path.join(dir, "manifest.json"), expected: `an output '${source.output}' (bound to ${graph.file}: stages.${inst.stage}.inputs.${input.name})`,
            actual: `outputs ${Object.keys(manifest.outputs).join(", ") || "none"}`, fix: `Rerun it: npx nx run ${upstream.project}:run`
          }))
        }
        yield* verifyFiles(dir, digests, upstream.project).pipe(
          // restored from a corrupt Nx cache entry? Take such entries out of the cache, so the next run reruns the
          // producer instead of restoring the bad copy again, and say so
          Effect.catchTag("IntegrityError", (e) =>
            Effect.flatMap(
              quarantineCorruptEntries(root, path.relative(root, dir), upstream.project).pipe(Effect.orElseSucceed(() => [] as Array<string>)),
              (moved) => Effect.fail(moved.length === 0 ? e : new IntegrityError({
                ...e, fix: `It came from a corrupt Nx cache entry, now moved out of the cache (${moved.join(", ")}): run the pipeline again to rerun ${upstream.project}`
              }))
            ))
        )
        bound.push({ input: input.name, instance: source.instance, output: source.output, files: digests.map((d) => ({ file: d.file, sha256: d.sha256 })) })
        const bindPath = path.join(dir, declOf(source.instance, source.output).file)
        if (!(yield* fs.exists(bindPath))) {
          return yield* Effect.fail(new IntegrityError({ file: bindPath, expected: "the bound artifact", actual: "no such file", fix: `Rerun it: npx nx run ${upstream.project}:run` }))
        }
        list.push({ path: bindPath, stage: source.instance, vars: upstream.vars, measurements: manifest.measurements })
      }
      artifacts[input.name] = list
    }
    return { bound, artifacts, manifests }
  })

export const upstreamHash = (bound: ReadonlyArray<BoundUpstream>): string => hashJson(bound)

/** All key parts and the full key. */
export const keyOf = (s: StaticParts, e: EnvironmentParts, bound: ReadonlyArray<BoundUpstream>) => {
  const parts: KeyParts = { ...s, numerics: e.numerics, data: e.data, upstream: upstreamHash(bound) }
  return { parts, key: hashJson(parts), staticKey: staticKey(s) }
}
