/**
 * `growlab` — the pipeline command line. Nx runs `growlab run <file> <instance>` for each cached task; people use
 * `graph`, `status`, `check` and `list` to see and validate pipelines.
 */
import * as Command from "@effect/cli/Command"
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { decodeParams } from "@growlab/core/StageContext"
import { loadGraph, loadStage, runInstance } from "./Runner.js"
import { status } from "./Status.js"
import { toDot, toText } from "./GraphView.js"

const file = Args.text({ name: "pipeline-file" }).pipe(Args.withDescription("e.g. pipelines/smoke.pipeline.json"))
const artifacts = Options.text("artifacts").pipe(Options.withDescription("artifacts folder (default: artifacts, or GROWLAB_ARTIFACTS)"), Options.optional)
const artifactsRoot = (a: Option.Option<string>) => a.pipe(Option.getOrElse(() => process.env.GROWLAB_ARTIFACTS ?? "artifacts"))

const run = Command.make("run", {
  file,
  instance: Args.text({ name: "instance" }),
  paramsHash: Options.text("params-hash").pipe(Options.optional),
  artifacts
}, (a) =>
  Effect.gen(function*() {
    const started = Date.now()
    const manifest = yield* runInstance({
      file: a.file, instance: a.instance, artifacts: artifactsRoot(a.artifacts),
      expectHash: Option.getOrUndefined(a.paramsHash)
    })
    yield* Console.log(`[growlab] ${manifest.pipeline}/${manifest.stage}: done in ${((Date.now() - started) / 1000).toFixed(1)}s → ${artifactsRoot(a.artifacts)}/${manifest.pipeline}/${manifest.stage}`)
  })).pipe(Command.withDescription("run one stage instance (what each Nx task does)"))

const graph = Command.make("graph", {
  file,
  format: Options.choice("format", ["text", "dot", "json"]).pipe(Options.withDefault("text" as const))
}, (a) =>
  Effect.gen(function*() {
    const g = yield* loadGraph(process.cwd(), a.file)
    if (a.format === "json") yield* Console.log(JSON.stringify(g.instances, null, 2))
    else yield* Console.log(a.format === "dot" ? toDot(g) : toText(g))
  })).pipe(Command.withDescription("show the stage instances and their wiring"))

const statusCmd = Command.make("status", { file, artifacts }, (a) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const g = yield* loadGraph(process.cwd(), a.file)
    const rows = yield* status(g, path.resolve(artifactsRoot(a.artifacts)))
    for (const r of rows) {
      const why = r.state === "params-changed" ? `params changed (${r.was} → ${r.now})`
        : r.state === "upstream-changed" ? `upstream artifact changed: ${r.input}`
        : r.state === "missing" ? "no artifact yet"
        : `up to date (${r.wallSeconds.toFixed(1)}s)`
      yield* Console.log(`${r.state === "up-to-date" ? "✓" : "↻"} ${r.id.padEnd(48)} ${why}`)
    }
  })).pipe(Command.withDescription("why each stage would rerun (params, upstream artifacts, missing output)"))

const findPipelineFiles = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  return (yield* fs.readDirectory("pipelines")).filter((f) => f.endsWith(".pipeline.json")).sort().map((f) => `pipelines/${f}`)
})

const check = Command.make("check", { files: Args.text({ name: "pipeline-file" }).pipe(Args.repeated) }, (a) =>
  Effect.gen(function*() {
    const files = a.files.length > 0 ? a.files : yield* findPipelineFiles
    for (const f of files) {
      const g = yield* loadGraph(process.cwd(), f)
      for (const inst of g.instances) {
        const stage = yield* loadStage(f, `stages.${inst.stage}.kind`, inst.kind)
        yield* decodeParams(stage, inst.params, { file: f, stage: inst.id })
      }
      yield* Console.log(`✓ ${f}: ${g.instances.length} stage instances`)
    }
  })).pipe(Command.withDescription("validate pipeline files: structure, kinds, wiring and every instance's params"))

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    for (const f of yield* findPipelineFiles) {
      const g = yield* loadGraph(process.cwd(), f)
      yield* Console.log(`${g.pipeline.padEnd(16)} ${String(g.instances.length).padStart(4)} stages  ${g.description}`)
    }
  })).pipe(Command.withDescription("list the pipelines"))

const cli = Command.run(Command.make("growlab").pipe(Command.withSubcommands([run, graph, statusCmd, check, list])), {
  name: "growlab",
  version: "0.1.0"
})

cli(process.argv).pipe(
  Effect.tapErrorCause((cause) => Effect.sync(() => { process.exitCode = 1; void cause })),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
