/**
 * `growlab` — the pipeline command line. Each Nx stage task runs `growlab run <file> <instance>` (through the task
 * launcher, launch.mjs); people use `graph`, `status`, `check`, `key`, `list`, `exp` and `export`.
 *
 * A pipeline is named by its file (`pipelines/study.pipeline.json`) or its name (`study`, or `study-quick` for the
 * study's `quick` profile); `--profile` picks a profile of a file; `-S stage.params.path=value` (repeatable, or
 * GROWLAB_SET) overrides a value for one run.
 */
import * as Command from "@effect/cli/Command"
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { spawn } from "node:child_process"
import { decodeParams } from "@growlab/core/StageContext"
import { exportCommand } from "@growlab/export/Cli"
import { runCli } from "./Main.js"
import { overridesFrom } from "./Compose.js"
import { checkWiring, loadGraph, loadStage, locatePipeline, runInstance, type PipelineRef } from "./Runner.js"
import { codePartsByKind, environmentParts, keyOf, staticParts } from "./StageKey.js"
import { status } from "./Status.js"
import { toDot, toText } from "./GraphView.js"
import { PipelineError } from "./PipelineError.js"

const file = Args.text({ name: "pipeline" }).pipe(Args.withDescription("a pipeline file (pipelines/smoke.pipeline.json) or name (smoke, study-quick)"))
const profile = Options.text("profile").pipe(Options.withDescription("apply this profile of the pipeline file (e.g. quick)"), Options.optional)
const set = Options.text("set").pipe(Options.withAlias("S"), Options.repeated,
  Options.withDescription("override for this run: stage.params.path=value (JSON or text); also GROWLAB_SET (';'-separated)"))
const artifacts = Options.text("artifacts").pipe(Options.withDescription("artifacts folder (default: artifacts, or GROWLAB_ARTIFACTS)"), Options.optional)
const verboseOption = Options.boolean("verbose").pipe(Options.withDescription("print full error causes with stack traces"))
const artifactsRoot = (a: Option.Option<string>) => a.pipe(Option.getOrElse(() => process.env.GROWLAB_ARTIFACTS ?? "artifacts"))

/** The pipeline a command names, with the profile and overrides it was given. */
const pipelineRef = (name: string, prof: Option.Option<string>, sets: ReadonlyArray<string>) =>
  Effect.map(locatePipeline(process.cwd(), name), (ref): PipelineRef => ({
    file: ref.file,
    ...(Option.isSome(prof) ? { profile: prof.value } : ref.profile === undefined ? {} : { profile: ref.profile }),
    overrides: [...overridesFrom(process.env), ...sets]
  }))

const graphOf = (ref: PipelineRef) => loadGraph(process.cwd(), ref.file, ref)

const run = Command.make("run", {
  file,
  instance: Args.text({ name: "instance" }),
  profile,
  set,
  staticKey: Options.text("static-key").pipe(Options.withDescription("the key the Nx task was built with (refuses to run a stale task)"), Options.optional),
  keepOnly: Options.boolean("keep-only").pipe(Options.withDescription("only check whether the artifact on disk is already this key's (exit 0) or the stage must run (exit 3)")),
  expectNumerics: Options.text("expect-numerics").pipe(Options.withDescription("base64url JSON of the numerics the key was computed with (set by the task launcher)"), Options.optional),
  artifacts,
  verbose: verboseOption
}, (a) =>
  Effect.gen(function*() {
    const started = Date.now()
    const ref = yield* pipelineRef(a.file, a.profile, a.set)
    const expectNumerics = Option.isNone(a.expectNumerics) ? undefined : yield* Effect.try({
      try: () => JSON.parse(Buffer.from(a.expectNumerics.pipe(Option.getOrThrow), "base64url").toString("utf8")) as Record<string, unknown>,
      catch: () => new PipelineError({ file: ref.file, field: "--expect-numerics", expected: "base64url-encoded JSON", actual: "something else" })
    })
    const { manifest, kept } = yield* runInstance({
      ...ref, instance: a.instance, artifacts: artifactsRoot(a.artifacts),
      expectStaticKey: Option.getOrUndefined(a.staticKey),
      expectNumerics,
      keepOnly: a.keepOnly
    })
    const where = `${artifactsRoot(a.artifacts)}/${manifest.pipeline}/${manifest.stage}`
    yield* Console.log(kept
      ? `[growlab] ${manifest.pipeline}/${manifest.stage}: up to date (key ${manifest.key.slice(0, 12)}, outputs intact): kept ${where} (GROWLAB_RERUN=1 runs it anyway)`
      : `[growlab] ${manifest.pipeline}/${manifest.stage}: done in ${((Date.now() - started) / 1000).toFixed(1)}s → ${where} (key ${manifest.key.slice(0, 12)})`)
  })).pipe(Command.withDescription("run one stage instance (what each Nx task does)"))

const graph = Command.make("graph", {
  file, profile, set,
  format: Options.choice("format", ["text", "dot", "json"]).pipe(Options.withDefault("text" as const)),
  verbose: verboseOption
}, (a) =>
  Effect.gen(function*() {
    const g = yield* graphOf(yield* pipelineRef(a.file, a.profile, a.set))
    if (a.format === "json") yield* Console.log(JSON.stringify(g.instances, null, 2))
    else yield* Console.log(a.format === "dot" ? toDot(g) : toText(g))
  })).pipe(Command.withDescription("show the stage instances and their wiring"))

const statusCmd = Command.make("status", { file, profile, set, artifacts, verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const g = yield* graphOf(yield* pipelineRef(a.file, a.profile, a.set))
    const rows = yield* status(process.cwd(), g, path.resolve(artifactsRoot(a.artifacts)))
    const mark = { "up-to-date": "✓", "will-run": "↻", "upstream-reruns": "⋯" } as const
    for (const r of rows) {
      const why = r.state === "up-to-date" ? `up to date (${(r.wallSeconds ?? 0).toFixed(1)}s)` : r.reasons.map((x) => `${x.part}: ${x.detail}`).join("; ")
      yield* Console.log(`${mark[r.state]} ${r.id.padEnd(48)} ${why}`)
    }
    const count = (s: string) => rows.filter((r) => r.state === s).length
    yield* Console.log(`\n${count("up-to-date")} up to date, ${count("will-run")} will run, ${count("upstream-reruns")} rerun only if an upstream's artifacts change`)
  })).pipe(Command.withDescription("why each stage would rerun: params, wiring, code, packages, numerics, data, upstream, missing or corrupt output"))

const key = Command.make("key", { file, instance: Args.text({ name: "instance" }), profile, set, verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const ref = yield* pipelineRef(a.file, a.profile, a.set)
    const g = yield* graphOf(ref)
    const inst = g.byId.get(a.instance)
    if (!inst) return yield* Effect.fail(new PipelineError({ file: ref.file, field: "stages", expected: "an instance of this pipeline (growlab graph lists them)", actual: JSON.stringify(a.instance) }))
    const s = yield* staticParts(process.cwd(), inst)
    const e = yield* environmentParts(process.cwd(), inst, process.env)
    const { parts, staticKey } = keyOf(s, e, [])
    yield* Console.log(JSON.stringify({ pipeline: g.pipeline, instance: inst.id, staticKey, resources: inst.resources, parts: { ...parts, upstream: "(read from the bound artifacts when it runs)" } }, null, 2))
  })).pipe(Command.withDescription("print a stage instance's cache key parts (static and environment)"))

const findPipelineFiles = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  return (yield* fs.readDirectory("pipelines")).filter((f) => f.endsWith(".pipeline.json")).sort().map((f) => `pipelines/${f}`)
})

/** Every pipeline of the workspace: each file, and each of its profiles. */
const everyPipeline = Effect.gen(function*() {
  const out: Array<PipelineRef> = []
  for (const f of yield* findPipelineFiles) {
    const g = yield* loadGraph(process.cwd(), f)
    out.push({ file: f })
    for (const p of g.profiles) out.push({ file: f, profile: p })
  }
  return out
})

const check = Command.make("check", { files: Args.text({ name: "pipeline" }).pipe(Args.repeated), verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const refs: Array<PipelineRef> = []
    if (a.files.length === 0) refs.push(...yield* everyPipeline)
    else {
      for (const f of a.files) {
        const ref = yield* locatePipeline(process.cwd(), f)
        refs.push(ref)
        if (ref.profile === undefined) for (const p of (yield* loadGraph(process.cwd(), ref.file)).profiles) refs.push({ file: ref.file, profile: p })
      }
    }
    for (const ref of refs) {
      const g = yield* graphOf(ref)
      for (const inst of g.instances) {
        const stage = yield* loadStage(ref.file, `stages.${inst.stage}.kind`, inst.kind)
        yield* checkWiring(g, inst, stage)
        yield* decodeParams(stage, inst.params, { file: ref.file, stage: inst.id })
      }
      // what the Nx plugin computes for the tasks: each kind's code must bundle and its packages be in the lockfile
      yield* codePartsByKind(process.cwd(), g.instances)
      const groups = Object.keys(g.groups)
      yield* Console.log(`✓ ${g.pipeline} (${ref.file}${ref.profile ? `, profile ${ref.profile}` : ""}): ${g.instances.length} stage instances` +
        (groups.length ? `; groups ${groups.map((x) => (ref.profile ? `${x}-${ref.profile}` : x)).join(", ")}` : ""))
    }
  })).pipe(Command.withDescription("validate pipelines (every file and profile): structure, includes, templates, kinds, wiring, every instance's params, the stages' code"))

const list = Command.make("list", { verbose: verboseOption }, () =>
  Effect.gen(function*() {
    for (const ref of yield* everyPipeline) {
      const g = yield* graphOf(ref)
      yield* Console.log(`${g.pipeline.padEnd(16)} ${String(g.instances.length).padStart(4)} stages  ${g.description.slice(0, 100)}`)
    }
  })).pipe(Command.withDescription("list the pipelines (each file and profile)"))

const exp = Command.make("exp", {
  file, set, profile,
  target: Options.text("target").pipe(Options.withDescription("the Nx target to run (default: the whole pipeline)"), Options.optional),
  verbose: verboseOption
}, (a) =>
  Effect.gen(function*() {
    const ref = yield* pipelineRef(a.file, a.profile, a.set)
    const g = yield* graphOf(ref)
    const base = yield* graphOf({ file: ref.file, ...(ref.profile === undefined ? {} : { profile: ref.profile }) })
    const changed = g.instances.filter((i) => base.byId.get(i.id)?.paramsHash !== i.paramsHash).map((i) => i.id)
    yield* Console.log(`[growlab] ${g.pipeline} with ${ref.overrides?.join("; ") || "no override"}: ${changed.length} stage(s) with other params (${changed.slice(0, 8).join(", ")}${changed.length > 8 ? ", …" : ""}); they and what depends on them run, under their own cache keys`)
    const target = Option.getOrElse(a.target, () => g.pipeline)
    const code = yield* Effect.async<number>((resume) => {
      const child = spawn("npx", ["nx", "run", target.includes(":") ? target : `pipelines:${target}`], {
        stdio: "inherit", env: { ...process.env, GROWLAB_SET: (ref.overrides ?? []).join(";") }
      })
      child.on("exit", (c) => resume(Effect.succeed(c ?? 1)))
      child.on("error", () => resume(Effect.succeed(1)))
    })
    if (code !== 0) return yield* Effect.fail(new PipelineError({ file: ref.file, field: "nx run", expected: "success", actual: `exit code ${code}` }))
  })).pipe(Command.withDescription("run a pipeline with overrides (-S stage.params.path=value): like `dvc exp run -S`; the overridden stages get their own cache keys, switching back restores the defaults from the cache"))

const cli = Command.run(Command.make("growlab").pipe(Command.withSubcommands([run, graph, statusCmd, key, check, list, exp, exportCommand])), {
  name: "growlab",
  version: "0.2.0"
})

runCli(cli(process.argv))
