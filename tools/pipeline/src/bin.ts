/**
 * `growlab` — the pipeline command line. Each Nx stage task runs `growlab run <file> <instance>` (through the task
 * launcher, launch.mjs); people use `graph`, `status`, `check`, `key` and `list` to see and validate pipelines.
 */
import * as Command from "@effect/cli/Command"
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { decodeParams } from "@growlab/core/StageContext"
import { exportCommand } from "@growlab/export/Cli"
import { runCli } from "./Main.js"
import { checkWiring, loadGraph, loadStage, runInstance } from "./Runner.js"
import { codePartsByKind, environmentParts, keyOf, staticParts } from "./StageKey.js"
import { status } from "./Status.js"
import { toDot, toText } from "./GraphView.js"
import { PipelineError } from "./PipelineError.js"

const file = Args.text({ name: "pipeline-file" }).pipe(Args.withDescription("e.g. pipelines/smoke.pipeline.json"))
const artifacts = Options.text("artifacts").pipe(Options.withDescription("artifacts folder (default: artifacts, or GROWLAB_ARTIFACTS)"), Options.optional)
const verboseOption = Options.boolean("verbose").pipe(Options.withDescription("print full error causes with stack traces"))
const artifactsRoot = (a: Option.Option<string>) => a.pipe(Option.getOrElse(() => process.env.GROWLAB_ARTIFACTS ?? "artifacts"))

const run = Command.make("run", {
  file,
  instance: Args.text({ name: "instance" }),
  staticKey: Options.text("static-key").pipe(Options.withDescription("the key the Nx task was built with (refuses to run a stale task)"), Options.optional),
  keepOnly: Options.boolean("keep-only").pipe(Options.withDescription("only check whether the artifact on disk is already this key's (exit 0) or the stage must run (exit 3)")),
  expectNumerics: Options.text("expect-numerics").pipe(Options.withDescription("base64url JSON of the numerics the key was computed with (set by the task launcher)"), Options.optional),
  artifacts,
  verbose: verboseOption
}, (a) =>
  Effect.gen(function*() {
    const started = Date.now()
    const expectNumerics = Option.isNone(a.expectNumerics) ? undefined : yield* Effect.try({
      try: () => JSON.parse(Buffer.from(a.expectNumerics.pipe(Option.getOrThrow), "base64url").toString("utf8")) as Record<string, unknown>,
      catch: () => new PipelineError({ file: a.file, field: "--expect-numerics", expected: "base64url-encoded JSON", actual: "something else" })
    })
    const { manifest, kept } = yield* runInstance({
      file: a.file, instance: a.instance, artifacts: artifactsRoot(a.artifacts),
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
  file,
  format: Options.choice("format", ["text", "dot", "json"]).pipe(Options.withDefault("text" as const)),
  verbose: verboseOption
}, (a) =>
  Effect.gen(function*() {
    const g = yield* loadGraph(process.cwd(), a.file)
    if (a.format === "json") yield* Console.log(JSON.stringify(g.instances, null, 2))
    else yield* Console.log(a.format === "dot" ? toDot(g) : toText(g))
  })).pipe(Command.withDescription("show the stage instances and their wiring"))

const statusCmd = Command.make("status", { file, artifacts, verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const g = yield* loadGraph(process.cwd(), a.file)
    const rows = yield* status(process.cwd(), g, path.resolve(artifactsRoot(a.artifacts)))
    const mark = { "up-to-date": "✓", "will-run": "↻", "upstream-reruns": "⋯" } as const
    for (const r of rows) {
      const why = r.state === "up-to-date" ? `up to date (${(r.wallSeconds ?? 0).toFixed(1)}s)` : r.reasons.map((x) => `${x.part}: ${x.detail}`).join("; ")
      yield* Console.log(`${mark[r.state]} ${r.id.padEnd(48)} ${why}`)
    }
    const count = (s: string) => rows.filter((r) => r.state === s).length
    yield* Console.log(`\n${count("up-to-date")} up to date, ${count("will-run")} will run, ${count("upstream-reruns")} rerun only if an upstream's artifacts change`)
  })).pipe(Command.withDescription("why each stage would rerun: params, wiring, code, packages, numerics, data, upstream, missing or corrupt output"))

const key = Command.make("key", { file, instance: Args.text({ name: "instance" }), artifacts, verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const g = yield* loadGraph(process.cwd(), a.file)
    const inst = g.byId.get(a.instance)
    if (!inst) return yield* Effect.fail(new PipelineError({ file: a.file, field: "stages", expected: "an instance of this pipeline (growlab graph lists them)", actual: JSON.stringify(a.instance) }))
    const s = yield* staticParts(process.cwd(), inst)
    const e = yield* environmentParts(process.cwd(), inst, process.env)
    const { parts, staticKey } = keyOf(s, e, [])
    yield* Console.log(JSON.stringify({ instance: inst.id, staticKey, parts: { ...parts, upstream: "(read from the bound artifacts when it runs)" } }, null, 2))
  })).pipe(Command.withDescription("print a stage instance's cache key parts (static and environment)"))

const findPipelineFiles = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  return (yield* fs.readDirectory("pipelines")).filter((f) => f.endsWith(".pipeline.json")).sort().map((f) => `pipelines/${f}`)
})

const check = Command.make("check", { files: Args.text({ name: "pipeline-file" }).pipe(Args.repeated), verbose: verboseOption }, (a) =>
  Effect.gen(function*() {
    const files = a.files.length > 0 ? a.files : yield* findPipelineFiles
    for (const f of files) {
      const g = yield* loadGraph(process.cwd(), f)
      for (const inst of g.instances) {
        const stage = yield* loadStage(f, `stages.${inst.stage}.kind`, inst.kind)
        yield* checkWiring(g, inst, stage)
        yield* decodeParams(stage, inst.params, { file: f, stage: inst.id })
      }
      // what the Nx plugin computes for the tasks: each kind's code must bundle and its packages be in the lockfile
      yield* codePartsByKind(process.cwd(), g.instances)
      yield* Console.log(`✓ ${f}: ${g.instances.length} stage instances`)
    }
  })).pipe(Command.withDescription("validate pipeline files: structure, kinds, wiring (input names and artifact kinds) and every instance's params"))

const list = Command.make("list", { verbose: verboseOption }, () =>
  Effect.gen(function*() {
    for (const f of yield* findPipelineFiles) {
      const g = yield* loadGraph(process.cwd(), f)
      yield* Console.log(`${g.pipeline.padEnd(16)} ${String(g.instances.length).padStart(4)} stages  ${g.description}`)
    }
  })).pipe(Command.withDescription("list the pipelines"))

const cli = Command.run(Command.make("growlab").pipe(Command.withSubcommands([run, graph, statusCmd, key, check, list, exportCommand])), {
  name: "growlab",
  version: "0.2.0"
})

runCli(cli(process.argv))
