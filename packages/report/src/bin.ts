/**
 * growlab-report CLI.
 *
 *   npx tsx packages/report/src/bin.ts runs <pipeline> [--sort val_accuracy[:asc|:desc]] [--artifacts artifacts]
 *     a table of every run of a pipeline: the params that differ between runs and the headline metrics
 *   npx tsx packages/report/src/bin.ts check <report.html> [--screenshot page.png [--screenshot-height 1800]] [--figures dir]
 *     opens a report in headless Chromium: every figure drawn, no console error (exit 1 otherwise); prints the page's
 *     height and where the first figure starts
 *
 * `--artifacts` falls back to GROWLAB_ARTIFACTS, then `artifacts`.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StageFailure } from "@growlab/core/Errors"
import * as Browser from "./Browser.js"
import * as RunsTable from "./RunsTable.js"

const artifacts = Options.text("artifacts").pipe(
  Options.withDescription("the artifacts folder (default: GROWLAB_ARTIFACTS, then ./artifacts)"),
  Options.withFallbackConfig(Config.string("GROWLAB_ARTIFACTS").pipe(Config.withDefault("artifacts")))
)

const runs = Command.make("runs", {
  pipeline: Args.text({ name: "pipeline" }).pipe(Args.withDescription("the pipeline name (pipelines/<name>.pipeline.json)")),
  sort: Options.text("sort").pipe(Options.withDefault("val_accuracy"), Options.withDescription("column[:asc|:desc]; metrics sort best first by default")),
  artifacts
}, (args) =>
  Effect.gen(function*() {
    const rows = yield* RunsTable.load(args.artifacts, args.pipeline)
    if (rows.length === 0) {
      yield* Console.log(`no runs with metrics under ${args.artifacts}/${args.pipeline}`)
      return
    }
    const cols = RunsTable.columns(rows)
    const sort = RunsTable.parseSort(args.sort, cols)
    if (typeof sort === "string") return yield* new StageFailure({ stage: "runs", reason: sort, field: "--sort" })
    yield* Console.log(RunsTable.render(RunsTable.sortRows(rows, cols, sort), cols, sort))
    yield* Console.log(`\n${rows.length} run${rows.length === 1 ? "" : "s"} of ${args.pipeline}`)
  })).pipe(Command.withDescription("compare every run of a pipeline (only the params that differ are shown)"))

const check = Command.make("check", {
  report: Args.file({ name: "report.html", exists: "yes" }),
  screenshot: Options.file("screenshot").pipe(Options.optional, Options.withDescription("save a PNG of the page as it opens here")),
  screenshotHeight: Options.integer("screenshot-height").pipe(Options.optional, Options.withDescription("only the first N pixels of the page in the screenshot")),
  figures: Options.directory("figures").pipe(Options.optional, Options.withDescription("save one PNG per figure into this folder (collapsed sections opened)"))
}, (args) =>
  Effect.gen(function*() {
    const result = yield* Browser.checkPage(args.report, {
      ...(Option.isSome(args.screenshot) ? { screenshot: args.screenshot.value } : {}),
      ...(Option.isSome(args.screenshotHeight) ? { screenshotHeight: args.screenshotHeight.value } : {}),
      ...(Option.isSome(args.figures) ? { figureScreenshots: args.figures.value } : {})
    })
    const broken = result.figures.filter((f) => !f.ok)
    const first = result.figures.find((f) => f.top !== null)
    const collapsed = result.figures.filter((f) => f.top === null).length
    yield* Console.log(`${result.title}: ${result.figures.length} figures (${broken.length} not drawn, ${collapsed} in collapsed sections), ${result.tables} tables, ${result.errors.length} errors`)
    yield* Console.log(`page height ${Math.round(result.pageHeight)} px; first figure${first ? ` (${first.id}) at ${Math.round(first.top!)} px` : ": none shown open"}`)
    for (const f of broken) yield* Console.log(`  not drawn: ${f.id} (${f.type})`)
    for (const e of result.errors) yield* Console.log(`  error: ${e}`)
    if (result.screenshot) yield* Console.log(`screenshot: ${result.screenshot}`)
    if (result.figureScreenshots) yield* Console.log(`figure screenshots: ${result.figureScreenshots.length} in ${Option.getOrElse(args.figures, () => "")}`)
    if (broken.length > 0 || result.errors.length > 0) {
      return yield* new StageFailure({ stage: "check", reason: "the report does not render cleanly" })
    }
  })).pipe(Command.withDescription("check a report in headless Chromium"))

// `... runs x | head` closes stdout early: end quietly, as other CLIs do
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0)
  throw e
})

const root = Command.make("growlab-report").pipe(Command.withSubcommands([runs, check]))

Command.run(root, { name: "growlab-report", version: "0.1.0" })(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
