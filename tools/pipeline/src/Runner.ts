/**
 * Runs one stage instance of a pipeline: resolves the graph, loads the stage kind, checks its wiring and upstream
 * artifacts, decodes its params, runs it into a temp folder and moves that folder into place only on success, with a
 * manifest of params, inputs and outputs. A failing stage leaves no artifact behind.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Backend from "@growlab/core/Backend"
import { sha256 } from "@growlab/core/Hash"
import type { Manifest } from "@growlab/core/Manifest"
import { SCHEMA_VERSION } from "@growlab/core/Manifest"
import type { InputArtifact, Stage } from "@growlab/core/Stage"
import { decodeParams, makeContext } from "@growlab/core/StageContext"
import { StageFailure } from "@growlab/core/Errors"
import { writeJsonAtomic } from "@growlab/core/ArtifactStore"
import { PipelineError } from "./PipelineError.js"
import { artifactDir, resolve, type Graph, type Instance } from "./PipelineGraph.js"
import { registry } from "./Registry.js"

export interface RunOptions {
  /** Pipeline file, relative to `root` or absolute. */
  readonly file: string
  readonly instance: string
  /** Workspace root (default: cwd). */
  readonly root?: string
  /** Artifacts folder relative to root (default `artifacts`, or GROWLAB_ARTIFACTS). */
  readonly artifacts?: string
  /** The params hash the task graph was built with; a mismatch means the file changed underneath. */
  readonly expectHash?: string
}

export const loadGraph = (root: string, file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const text = yield* fs.readFileString(path.resolve(root, file)).pipe(
      Effect.mapError((e) => new PipelineError({ file, field: "(file)", expected: "a readable pipeline file", actual: e.message }))
    )
    return yield* resolve(file, text)
  })

/** Imports the package that provides `kind` and returns its stage declaration. */
export const loadStage = (file: string, field: string, kind: string) =>
  Effect.gen(function*() {
    const entry = registry[kind]
    if (!entry) return yield* Effect.fail(new PipelineError({ file, field, expected: `a registered stage kind (${Object.keys(registry).join(", ")})`, actual: JSON.stringify(kind) }))
    const mod = yield* Effect.tryPromise({
      try: () => import(`${entry.package}/stages`) as Promise<{ stages?: ReadonlyArray<Stage> }>,
      catch: (e) => new PipelineError({ file, field, expected: `package ${entry.package} to load`, actual: String((e as Error).stack ?? e) })
    })
    const stage = mod.stages?.find((s) => s.kind === kind)
    if (!stage) return yield* Effect.fail(new PipelineError({ file, field, expected: `${entry.package}/stages to export kind ${kind}`, actual: (mod.stages ?? []).map((s) => s.kind).join(", ") || "no stages" }))
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

/** Checks the instance's wiring against its stage declaration and the upstream stage declarations. */
const checkWiring = (graph: Graph, inst: Instance, stage: Stage, dirOf: (id: string) => string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = graph.file
    const bound: Record<string, Array<InputArtifact>> = {}
    for (const input of inst.inputs) {
      const field = `stages.${inst.stage}.inputs.${input.name}`
      const decl = stage.inputs[input.name]
      if (!decl) {
        return yield* Effect.fail(new PipelineError({ file, field, expected: `an input of kind ${stage.kind} (${Object.keys(stage.inputs).join(", ") || "none"})`, actual: JSON.stringify(input.name) }))
      }
      if (input.gather !== (decl.many === true)) {
        return yield* Effect.fail(new PipelineError({ file, field, expected: decl.many ? "a gathered reference '<stage>[*].<output>'" : "a single reference '<stage>.<output>'", actual: JSON.stringify(input.refs.length === 1 ? input.refs[0] : input.refs) }))
      }
      const artifacts: Array<InputArtifact> = []
      for (const source of input.sources) {
        const upstream = graph.byId.get(source.instance)!
        const upStage = yield* loadStage(file, `stages.${source.stage}.kind`, upstream.kind)
        const outDecl = upStage.outputs[source.output]
        if (!outDecl) {
          return yield* Effect.fail(new PipelineError({ file, field, expected: `an output of kind ${upStage.kind} (${Object.keys(upStage.outputs).join(", ")})`, actual: JSON.stringify(source.output) }))
        }
        if (outDecl.kind !== decl.kind) {
          return yield* Effect.fail(new PipelineError({ file, field, expected: `an artifact of kind ${decl.kind}`, actual: `${source.stage}.${source.output} (kind ${outDecl.kind})` }))
        }
        const path = `${dirOf(source.instance)}/${outDecl.file}`
        if (!(yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false)))) {
          if (outDecl.optional) continue
          return yield* Effect.fail(new PipelineError({ file, field, expected: `upstream artifact ${path} (run ${graph.pipeline}--${source.instance} first)`, actual: "missing" }))
        }
        artifacts.push({ path, stage: source.instance, vars: upstream.vars })
      }
      bound[input.name] = artifacts
    }
    for (const [name, decl] of Object.entries(stage.inputs)) {
      if (!decl.optional && !(name in bound)) {
        return yield* Effect.fail(new PipelineError({ file, field: `stages.${inst.stage}.inputs.${name}`, expected: `a ${decl.kind} artifact (${decl.description})`, actual: "nothing bound" }))
      }
    }
    return bound
  })

/** Runs one instance end to end. Returns the manifest it wrote. */
export const runInstance = (options: RunOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = options.root ?? process.cwd()
    const artifactsRoot = path.resolve(root, options.artifacts ?? process.env.GROWLAB_ARTIFACTS ?? "artifacts")
    const graph = yield* loadGraph(root, options.file)
    const inst = graph.byId.get(options.instance)
    if (!inst) {
      return yield* Effect.fail(new PipelineError({ file: options.file, field: "stages", expected: `an instance of this pipeline (${graph.instances.map((i) => i.id).join(", ")})`, actual: JSON.stringify(options.instance) }))
    }
    if (options.expectHash && options.expectHash !== inst.paramsHash) {
      return yield* Effect.fail(new PipelineError({ file: options.file, field: `stages.${inst.stage}.params`, expected: `params hash ${options.expectHash} (the task graph is stale: rerun nx)`, actual: inst.paramsHash }))
    }
    const dirOf = (id: string) => path.join(artifactsRoot, graph.pipeline, id)
    const stage = yield* loadStage(options.file, `stages.${inst.stage}.kind`, inst.kind)
    const bound = yield* checkWiring(graph, inst, stage, dirOf)
    const params = yield* decodeParams(stage, inst.params, { file: options.file, stage: inst.id })
    const backend = stage.usesTf === false ? { backend: "none", tfVersion: "none", tfjsVersion: "none" } : yield* Backend.ensureNative
    const finalDir = dirOf(inst.id)
    const tmpDir = path.join(artifactsRoot, graph.pipeline, `.tmp-${inst.id}-${process.pid}`)
    yield* fs.remove(tmpDir, { recursive: true, force: true })
    yield* fs.makeDirectory(tmpDir, { recursive: true })
    const started = Date.now()
    // GROWLAB_RUN_LOG: append one line per executed (not cached) stage; tests use it to count real executions.
    if (process.env.GROWLAB_RUN_LOG) yield* fs.writeFileString(process.env.GROWLAB_RUN_LOG, `${graph.pipeline}/${inst.id}\n`, { flag: "a" })
    const work = Effect.gen(function*() {
      const { ctx, info } = makeContext(stage, { pipeline: graph.pipeline, pipelineFile: options.file, stage: inst.id, vars: inst.vars, outDir: tmpDir, inputs: bound })
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
      for (const [name, arts] of Object.entries(bound)) {
        inputs[name] = yield* Effect.forEach(arts, (a) =>
          Effect.map(fs.readFile(a.path).pipe(Effect.orElseSucceed(() => new Uint8Array())), (b) => ({ stage: a.stage, file: path.relative(artifactsRoot, a.path), sha256: sha256(b) })))
      }
      const manifest: Manifest = {
        schemaVersion: SCHEMA_VERSION,
        pipeline: graph.pipeline,
        stage: inst.id,
        kind: inst.kind,
        vars: inst.vars,
        paramsHash: inst.paramsHash,
        params: inst.params,
        inputs,
        outputs,
        backend: { backend: backend.backend, tfVersion: backend.tfVersion, tfjsVersion: backend.tfjsVersion },
        info,
        wallSeconds: (Date.now() - started) / 1000
      }
      yield* writeJsonAtomic(path.join(tmpDir, "manifest.json"), manifest)
      // swap into place: old → .old, tmp → final, drop .old
      const oldDir = path.join(artifactsRoot, graph.pipeline, `.old-${inst.id}-${process.pid}`)
      if (yield* fs.exists(finalDir)) yield* fs.rename(finalDir, oldDir)
      yield* fs.rename(tmpDir, finalDir)
      yield* fs.remove(oldDir, { recursive: true, force: true })
      return manifest
    })
    return yield* work.pipe(Effect.onExit(() => fs.remove(tmpDir, { recursive: true, force: true }).pipe(Effect.ignore)))
  })
