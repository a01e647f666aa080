/**
 * Runs one stage instance of a pipeline:
 *   1. resolves the graph, loads the kind's stage module, checks its wiring and decodes its params;
 *   2. computes the instance's cache key (StageKey.ts); a static key that differs from the one the Nx task was built
 *      with means the pipeline or the code changed under a running graph: refused;
 *   3. checks every bound upstream artifact against its producer's manifest (SHA-256 of each file), so an altered
 *      file or a corrupt cache entry is never consumed, and that each producer was made for the current graph;
 *   4. sweeps temp folders left by hard-killed runs of this instance, runs the stage into a fresh temp folder and
 *      moves it into place only on success, with a manifest of the key, its parts, inputs, outputs and measurements.
 * A failing or interrupted stage leaves no artifact and no temp folder behind.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs"
import { hostname } from "node:os"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Schema from "effect/Schema"
import * as Backend from "@growlab/core/Backend"
import { canonicalJson, sha256 } from "@growlab/core/Hash"
import type { Manifest } from "@growlab/core/Manifest"
import { SCHEMA_VERSION } from "@growlab/core/Manifest"
import type { InputArtifact, Stage } from "@growlab/core/Stage"
import { decodeParams, makeContext } from "@growlab/core/StageContext"
import { ArtifactError, StageFailure } from "@growlab/core/Errors"
import { writeJsonAtomic } from "@growlab/core/ArtifactStore"
import { IntegrityError, readManifest, verifyOutputs } from "./Integrity.js"
import { overridesFrom } from "./Compose.js"
import { numericsInfo, type Env } from "./Numerics.js"
import { PipelineError } from "./PipelineError.js"
import { resolve, type Graph, type Instance } from "./PipelineGraph.js"
import { kindEntry, kinds, outputEntry } from "./Registry.js"
import { boundUpstream, environmentParts, keyOf, staticKey, staticParts } from "./StageKey.js"
import { sweepStale, tempName } from "./TempFolders.js"

export interface RunOptions {
  /** Pipeline file, relative to `root` or absolute. */
  readonly file: string
  /** The profile of the file to run (its pipeline is `<name>-<profile>`). */
  readonly profile?: string
  /** `stage.params.path=value` overrides (default: GROWLAB_SET). */
  readonly overrides?: ReadonlyArray<string>
  readonly instance: string
  /** Workspace root (default: cwd). */
  readonly root?: string
  /** Artifacts folder relative to root (default `artifacts`, or GROWLAB_ARTIFACTS). */
  readonly artifacts?: string
  /** The static key the Nx task was built with; a mismatch means the file or the code changed underneath. */
  readonly expectStaticKey?: string
  /** The process environment the stage runs in (numerics settings). Default: process.env. */
  readonly env?: Env
  /**
   * The numerics the task's key was computed with where the task started (the launcher's host; under Slurm, the
   * submit host). A stage running where they differ (another CPU model on a cluster) refuses to run: its result
   * would be cached under a key that does not describe it.
   */
  readonly expectNumerics?: Record<string, unknown>
  /** Only check whether the artifact on disk already is this key's; fail with MustRun (exit 3) otherwise. */
  readonly keepOnly?: boolean
}

/** `growlab run --keep-only`: the stage has to run (its artifact is absent, corrupt or made with another key). */
export class MustRun extends Schema.TaggedError<MustRun>()("MustRun", { instance: Schema.String }) {
  /** The exit code of `growlab run --keep-only` in this case. */
  readonly exitCode = 3
  override get message(): string {
    return `${this.instance}: its artifact is absent, corrupt or made with another key: the stage has to run`
  }
}

/** What a pipeline is read as: its file, a profile, overrides for this run. */
export interface PipelineRef {
  readonly file: string
  readonly profile?: string
  readonly overrides?: ReadonlyArray<string>
}

/** Reads part files relative to the workspace root. */
const reader = (root: string) => (rel: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const full = path.resolve(root, rel)
    return yield* fs.readFileString(full).pipe(
      Effect.mapError((e) => new PipelineError({
        file: rel, field: "(file)", expected: "a readable part file",
        actual: e._tag === "SystemError" && e.reason === "NotFound" ? `no such file (${full})` : e.message
      }))
    )
  })

/** Resolves a pipeline file (with its parts, a profile and overrides) into its graph. */
export const loadGraph = (root: string, file: string, options: Omit<PipelineRef, "file"> = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const full = path.resolve(root, file)
    const text = yield* fs.readFileString(full).pipe(
      Effect.mapError((e) => new PipelineError({
        file, field: "(file)", expected: "a readable pipeline file",
        actual: e._tag === "SystemError" && e.reason === "NotFound" ? `no such file (${full})` : e.message
      }))
    )
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    // part paths come resolved against their including file (relative to the workspace root, or absolute)
    const read = (rel: string) => reader(root)(rel).pipe(Effect.provide(context))
    return yield* resolve(file, text, { read, ...(options.profile === undefined ? {} : { profile: options.profile }), overrides: options.overrides ?? [] })
  })

/**
 * A pipeline named on the command line: a file path, or a pipeline name (`study` → pipelines/study.pipeline.json,
 * `study-quick` → pipelines/study.pipeline.json with its profile `quick`).
 */
export const locatePipeline = (root: string, nameOrFile: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (nameOrFile.endsWith(".json")) return { file: nameOrFile } satisfies PipelineRef
    const direct = `pipelines/${nameOrFile}.pipeline.json`
    if (yield* fs.exists(path.join(root, direct))) return { file: direct } satisfies PipelineRef
    const dash = nameOrFile.lastIndexOf("-")
    for (let i = dash; i > 0; i = nameOrFile.lastIndexOf("-", i - 1)) {
      const base = `pipelines/${nameOrFile.slice(0, i)}.pipeline.json`
      if (yield* fs.exists(path.join(root, base))) return { file: base, profile: nameOrFile.slice(i + 1) } satisfies PipelineRef
    }
    return yield* Effect.fail(new PipelineError({ file: direct, field: "(file)", expected: "a pipeline file, or a pipeline name (a file's, or <file's>-<profile>)", actual: JSON.stringify(nameOrFile) }))
  })

/** Imports the module that declares `kind` and returns its stage declaration. */
export const loadStage = (file: string, field: string, kind: string) =>
  Effect.gen(function*() {
    const entry = kindEntry(kind)
    if (!entry) return yield* Effect.fail(new PipelineError({ file, field, expected: `a registered stage kind (${kinds.join(", ")})`, actual: JSON.stringify(kind) }))
    const mod = yield* Effect.tryPromise({
      try: () => import(entry.module) as Promise<Record<string, unknown>>,
      catch: (e) => new PipelineError({ file, field, expected: `module ${entry.module} to load`, actual: String((e as Error).message ?? e) })
    })
    const stage = mod[entry.export] as Stage | undefined
    if (!stage || stage.kind !== kind) {
      return yield* Effect.fail(new PipelineError({ file, field, expected: `${entry.module} to export ${entry.export}, the stage of kind ${kind}`, actual: stage ? `kind ${stage.kind}` : "nothing" }))
    }
    return stage
  })

const digestTree = (fs: FileSystem.FileSystem, path: Path.Path, base: string, rel: string): Effect.Effect<Array<{ file: string; sha256: string; bytes: number }>, unknown> =>
  Effect.gen(function*() {
    const full = path.join(base, rel)
    const info = yield* fs.stat(full)
    if (info.type === "Directory") {
      const names = (yield* fs.readDirectory(full)).sort()
      const nested = yield* Effect.forEach(names, (n) => digestTree(fs, path, base, path.join(rel, n)))
      return nested.flat()
    }
    const bytes = yield* fs.readFile(full)
    return [{ file: rel, sha256: sha256(bytes), bytes: bytes.length }]
  })

/** Checks the instance's wiring against its stage's input declarations and the registry's output kinds. */
export const checkWiring = (graph: Graph, inst: Instance, stage: Stage) =>
  Effect.gen(function*() {
    const file = graph.file
    for (const input of inst.inputs) {
      const field = `stages.${inst.stage}.inputs.${input.name}`
      const decl = Object.prototype.hasOwnProperty.call(stage.inputs, input.name) ? stage.inputs[input.name] : undefined
      if (!decl) {
        return yield* Effect.fail(new PipelineError({ file, field, expected: `an input of kind ${stage.kind} (${Object.keys(stage.inputs).join(", ") || "none"})`, actual: JSON.stringify(input.name) }))
      }
      if (input.gather !== (decl.many === true)) {
        return yield* Effect.fail(new PipelineError({ file, field, expected: decl.many ? "a gathered reference '<stage>[*].<output>'" : "a single reference '<stage>.<output>'", actual: JSON.stringify(input.refs.length === 1 ? input.refs[0] : input.refs) }))
      }
      for (const source of input.sources) {
        const upstream = graph.byId.get(source.instance)!
        const out = outputEntry(upstream.kind, source.output)
        if (out && out.kind !== decl.kind) {
          return yield* Effect.fail(new PipelineError({ file, field, expected: `an artifact of kind ${decl.kind}`, actual: `${source.stage}.${source.output} (kind ${out.kind})` }))
        }
      }
    }
    for (const [name, decl] of Object.entries(stage.inputs)) {
      if (!decl.optional && !inst.inputs.some((i) => i.name === name)) {
        return yield* Effect.fail(new PipelineError({ file, field: `stages.${inst.stage}.inputs.${name}`, expected: `a ${decl.kind} artifact (${decl.description})`, actual: "nothing bound" }))
      }
    }
  })

/** An upstream artifact on disk was made for another key than the current graph asks for (a direct run out of order). */
const checkUpstreamCurrent = (root: string, graph: Graph, inst: Instance, manifests: ReadonlyMap<string, Manifest>, env: Env) =>
  Effect.gen(function*() {
    for (const [id, m] of manifests) {
      const upstream = graph.byId.get(id)!
      const wanted = staticKey(yield* staticParts(root, upstream))
      const envNow = yield* environmentParts(root, upstream, env)
      const why = m.staticKey !== wanted ? "its params, wiring or code changed since it ran"
        : m.keyParts.data !== envNow.data ? "its dataset files changed since it ran"
        : undefined
      if (why) {
        return yield* Effect.fail(new PipelineError({
          file: graph.file, field: `stages.${inst.stage}.inputs`,
          expected: `upstream ${id} made for the current pipeline and environment`,
          actual: `an artifact made for another key (${why}); run the pipeline through Nx (npx nx run ${inst.project}:run reruns what it needs) or see \`growlab status ${graph.file}\``
        }))
      }
    }
  })

/** Runs one instance end to end (or keeps its artifact when it already is this key's). Returns the manifest. */
export const runInstance = (options: RunOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = options.root ?? process.cwd()
    const env = options.env ?? process.env
    const artifactsRoot = path.resolve(root, options.artifacts ?? env.GROWLAB_ARTIFACTS ?? "artifacts")
    const graph = yield* loadGraph(root, options.file, {
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      overrides: options.overrides ?? overridesFrom(env)
    })
    const inst = graph.byId.get(options.instance)
    if (!inst) {
      return yield* Effect.fail(new PipelineError({ file: options.file, field: "stages", expected: `an instance of this pipeline (${graph.instances.map((i) => i.id).join(", ")})`, actual: JSON.stringify(options.instance) }))
    }
    const stage = yield* loadStage(options.file, `stages.${inst.stage}.kind`, inst.kind)
    yield* checkWiring(graph, inst, stage)
    const params = yield* decodeParams(stage, inst.params, { file: options.file, stage: inst.id })
    const statics = yield* staticParts(root, inst)
    if (options.expectStaticKey && options.expectStaticKey !== staticKey(statics)) {
      return yield* Effect.fail(new PipelineError({
        file: options.file, field: `stages.${inst.stage}`,
        expected: `cache key ${options.expectStaticKey.slice(0, 12)}… (the Nx task graph's)`,
        actual: `${staticKey(statics).slice(0, 12)}…: the pipeline file or the stage's code changed while Nx was running; run the command again`
      }))
    }
    const dirOf = (id: string) => path.join(artifactsRoot, graph.pipeline, id)
    const { bound, artifacts, manifests } = yield* boundUpstream(root, graph, inst, dirOf, (id, output) => {
      const out = outputEntry(graph.byId.get(id)!.kind, output)
      return { file: out?.file ?? output, optional: out?.optional === true }
    })
    yield* checkUpstreamCurrent(root, graph, inst, manifests, env)
    const environment = yield* environmentParts(root, inst, env)
    if (options.expectNumerics && environment.numerics && canonicalJson(options.expectNumerics) !== canonicalJson(environment.numerics)) {
      const was = options.expectNumerics
      const now: Record<string, unknown> = environment.numerics
      const diff = Object.keys({ ...was, ...now }).filter((k) => canonicalJson(was[k]) !== canonicalJson(now[k]))
        .map((k) => `${k}: ${JSON.stringify(was[k])} there, ${JSON.stringify(now[k])} here`).join("; ")
      return yield* Effect.fail(new PipelineError({
        file: options.file, field: `stages.${inst.stage} (numerics)`,
        expected: "the numerics the task's cache key was computed with where it started",
        actual: `${diff} (on a cluster, pin the partition to one CPU model, e.g. GROWLAB_SLURM_EXTRA_ARGS=--constraint=...)`
      }))
    }
    const key = keyOf(statics, environment, bound)
    const finalDir = dirOf(inst.id)
    // The artifact on disk already is this key's (and intact): keep it. Nx asks for a run whenever its own hash
    // misses, and its hash also covers files that cannot change a stage's outputs (Nx always adds nx.json, .gitignore
    // and .nxignore) or an emptied .nx/cache; the key is recomputed from scratch here, so keeping is sound.
    // GROWLAB_RERUN=1 runs the stage anyway (to measure it again).
    if (env.GROWLAB_RERUN !== "1") {
      const kept = yield* Effect.option(keptArtifact(finalDir, inst.project, key.key))
      if (kept._tag === "Some") return { manifest: kept.value, kept: true }
    }
    if (options.keepOnly) return yield* Effect.fail(new MustRun({ instance: inst.id }))
    // TensorFlow reads its thread counts when it loads (next line): make them the ones the key says
    if (environment.numerics) {
      process.env.TF_NUM_INTRAOP_THREADS = String(environment.numerics.intraOpThreads)
      process.env.TF_NUM_INTEROP_THREADS ??= String(inst.resources.cpus)
    }
    const backend = stage.usesTf === false ? { backend: "none", tfVersion: "none", tfjsVersion: "none" } : yield* Backend.ensureNative

    const pipelineDir = path.join(artifactsRoot, graph.pipeline)
    const host = hostname()
    yield* fs.makeDirectory(pipelineDir, { recursive: true }).pipe(
      Effect.catchAll((e) => Effect.flatMap(unwritable(pipelineDir), (why) =>
        Effect.fail(new ArtifactError({ file: pipelineDir, reason: `cannot create the artifacts folder: ${why ?? e.message}` }))))
    )
    yield* sweepStale(pipelineDir, inst.id, host)
    const tmpDir = path.join(pipelineDir, tempName("tmp", inst.id, host, process.pid))
    yield* fs.makeDirectory(tmpDir, { recursive: true }).pipe(
      Effect.mapError((e) => new ArtifactError({ file: tmpDir, reason: `cannot write into the artifacts folder (${e.message}); check its permissions` }))
    )
    const started = Date.now()
    // GROWLAB_RUN_LOG: append one line per executed (not cached) task; tests use it to count real executions. The
    // launcher's rerun after a native crash (GROWLAB_RUN_ATTEMPT=2) is the same task and adds no line.
    if (env.GROWLAB_RUN_LOG && (env.GROWLAB_RUN_ATTEMPT ?? "1") === "1") {
      yield* fs.writeFileString(env.GROWLAB_RUN_LOG, `${graph.pipeline}/${inst.id}\n`, { flag: "a" })
    }
    const work = Effect.gen(function*() {
      const { ctx, info, measurements } = makeContext(stage, { pipeline: graph.pipeline, pipelineFile: options.file, stage: inst.id, vars: inst.vars, outDir: tmpDir, inputs: artifacts })
      yield* Effect.suspend(() => stage.run(params, ctx)).pipe(
        Effect.catchAllDefect((d) => d instanceof StageFailure ? Effect.fail(d) : Effect.die(d))
      )
      const outputs: Record<string, Array<{ file: string; sha256: string; bytes: number }>> = {}
      for (const [name, decl] of Object.entries(stage.outputs)) {
        const exists = yield* fs.exists(path.join(tmpDir, decl.file))
        if (!exists) {
          if (decl.optional) continue
          return yield* Effect.fail(new StageFailure({ stage: inst.id, reason: `declared output '${name}' (${decl.file}) was not written` }))
        }
        outputs[name] = yield* digestTree(fs, path, tmpDir, decl.file)
      }
      const inputs: Record<string, Array<{ stage: string; file: string; sha256: string }>> = {}
      for (const b of bound) {
        const list = inputs[b.input] ??= []
        for (const f of b.files) list.push({ stage: b.instance, file: path.relative(artifactsRoot, path.join(dirOf(b.instance), f.file)), sha256: f.sha256 })
      }
      const manifest: Manifest = {
        schemaVersion: SCHEMA_VERSION,
        pipeline: graph.pipeline,
        stage: inst.id,
        kind: inst.kind,
        vars: inst.vars,
        paramsHash: inst.paramsHash,
        params: inst.params,
        key: key.key,
        staticKey: key.staticKey,
        keyParts: key.parts,
        inputs,
        outputs,
        backend: { backend: backend.backend, tfVersion: backend.tfVersion, tfjsVersion: backend.tfjsVersion },
        info,
        measurements: { ...measurements, ...(stage.usesTf === false ? {} : { threads: numericsInfo(process.env) }) },
        resources: inst.resources,
        host,
        wallSeconds: (Date.now() - started) / 1000
      }
      yield* writeJsonAtomic(path.join(tmpDir, "manifest.json"), manifest)
      // swap into place (never interrupted half way): old → .old, tmp → final, drop .old
      yield* Effect.uninterruptible(Effect.gen(function*() {
        const oldDir = path.join(pipelineDir, tempName("old", inst.id, host, process.pid))
        if (yield* fs.exists(finalDir)) yield* fs.rename(finalDir, oldDir)
        yield* fs.rename(tmpDir, finalDir)
        yield* fs.remove(oldDir, { recursive: true, force: true })
      }))
      yield* checkInPlace(finalDir, manifest)
      return { manifest, kept: false }
    })
    return yield* work.pipe(Effect.onExit(() => fs.remove(tmpDir, { recursive: true, force: true }).pipe(Effect.ignore)))
  })

/**
 * Why a folder cannot be created: the nearest existing ancestor is not a folder or not writable (read-only filesystem,
 * permissions). Node's recursive mkdir reports all of these as ENOENT, which names the wrong problem.
 */
const unwritable = (dir: string) =>
  Effect.sync((): string | undefined => {
    let d = dir
    while (!existsSync(d)) {
      const up = dirname(d)
      if (up === d) return undefined
      d = up
    }
    if (!statSync(d).isDirectory()) return `${d} is a file, not a folder`
    try {
      accessSync(d, constants.W_OK)
      return undefined
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return `${d} is not writable (${code === "EROFS" ? "a read-only filesystem" : code === "EACCES" || code === "EPERM" ? "permission denied" : code})`
    }
  })

/** The artifact folder's manifest when it was made with `key` and every output it lists is intact. */
const keptArtifact = (dir: string, project: string, key: string) =>
  Effect.gen(function*() {
    const manifest = yield* readManifest(dir, project)
    if (manifest.key !== key) return yield* Effect.fail(new IntegrityError({ file: dir, expected: `key ${key}`, actual: `key ${manifest.key}`, fix: "run the stage" }))
    yield* verifyOutputs(dir, manifest, project)
    return manifest
  })

/** The runner's last check before it reports success: every output the manifest lists is in place with its size. */
export const checkInPlace = (dir: string, manifest: Manifest) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const d of Object.values(manifest.outputs).flat()) {
      const file = path.join(dir, d.file)
      const size = yield* fs.stat(file).pipe(Effect.map((s) => Number(s.size)), Effect.orElseSucceed(() => -1))
      if (size !== d.bytes) {
        return yield* Effect.fail(new IntegrityError({ file, expected: `${d.bytes} bytes`, actual: size < 0 ? "no such file" : `${size} bytes`, fix: "Something removed or changed it as the stage finished; rerun the stage." }))
      }
    }
  })

export type { InputArtifact }
