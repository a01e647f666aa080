/**
 * The `report` stage kind: reads the metrics of many runs (and optionally expansion and Grad-CAM artifacts and a
 * separate reference) and writes a self-contained HTML report, a Markdown summary and every table as CSV and Arrow,
 * regenerating the original study's evidence: tables sorted by validation accuracy, curves with mean ± std bands,
 * first-epoch accuracy, time per epoch, weight heatmaps, Grad-CAM maps, the scratch-epochs-to-match comparison,
 * and with repeated seeds, confidence intervals and Welch tests against the reference.
 *
 * Three steps: load (ReportLoad: every artifact read once), analyse (ReportAnalyse: methods, statistics, tables; pure),
 * render (ReportRender: charts, HTML, Markdown); then the outputs are written.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { tableToIPC } from "apache-arrow"
import { writeFileAtomic, writeTextAtomic } from "@growlab/core/ArtifactStore"
import * as Stage from "@growlab/core/Stage"
import * as DataTable from "./DataTable.js"
import { analyse } from "./ReportAnalyse.js"
import { load } from "./ReportLoad.js"
import { Params } from "./ReportParams.js"
import { render } from "./ReportRender.js"

export { Params } from "./ReportParams.js"

export const reportStage = Stage.make<Params>({
  kind: "report",
  description: "HTML + Markdown report of many runs: tables, curves, statistics, weight heatmaps and Grad-CAM",
  params: Params,
  inputs: {
    runs: { description: "metrics of the runs to compare", kind: "metrics", many: true },
    reference: { description: "separate references (e.g. scratch for 10 and for 50 epochs): epochs to match, targets of the time-to-target table", kind: "metrics", many: true, optional: true },
    sources: { description: "the small models the grown runs were grown from, or the teacher of distilled runs (matched by vars, e.g. the seed; a source without vars matches every run): their training is counted in the compute accounting", kind: "metrics", many: true, optional: true },
    expansions: { description: "expansion artifacts (SNR, max |Δlogits|, weight heatmaps)", kind: "expansion", many: true, optional: true },
    gradcam: { description: "Grad-CAM artifacts", kind: "gradcam", many: true, optional: true }
  },
  outputs: {
    report: { description: "self-contained HTML report", kind: "report", file: "report.html" },
    summary: { description: "Markdown summary", kind: "report", file: "summary.md" },
    tables: { description: "every table as CSV and Arrow", kind: "table", file: "tables", dir: true }
  },
  usesTf: false,
  run: (params, ctx) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const loaded = yield* load(params, ctx)
      const analysed = yield* analyse(params, loaded, ctx.stage)
      const title = params.title ?? `growlab report${ctx.pipeline ? `: ${ctx.pipeline}` : ""}`
      const out = yield* render(params, loaded, analysed, title)

      yield* writeTextAtomic(ctx.output("report"), out.html)
      const dir = ctx.output("tables")
      yield* fs.makeDirectory(dir, { recursive: true })
      for (const t of out.tables) {
        yield* writeTextAtomic(path.join(dir, `${t.name}.csv`), DataTable.toCsv(t))
        yield* writeFileAtomic(path.join(dir, `${t.name}.arrow`), tableToIPC(DataTable.toArrow(t), "file"))
      }
      yield* writeTextAtomic(ctx.output("summary"), out.markdown)

      ctx.record("runs", loaded.runs.length)
      ctx.record("methods", analysed.groups.map((g) => g.label))
      ctx.record("figures", out.figures.length)
      ctx.record("tables", out.tables.map((t) => t.name))
      ctx.log(`report: ${loaded.runs.length} runs, ${analysed.groups.length} methods, ${out.figures.length} figures, ${out.tables.length} tables`)
    })
})
