/**
 * The report's last step, render: the charts (Vega-Lite, drawn to SVG), the sections of the HTML report with the
 * embedded heatmaps (a PNG identical to one already shown is embedded once) and Grad-CAM figures, the Markdown
 * summary and the tables to write. Reads no file.
 */
import * as Effect from "effect/Effect"
import * as Path from "@effect/platform/Path"
import { sha256 } from "@growlab/core/Hash"
import * as Stats from "@growlab/core/Stats"
import * as Analysis from "./Analysis.js"
import * as Charts from "./Charts.js"
import * as DataTable from "./DataTable.js"
import * as Families from "./Families.js"
import * as Html from "./Html.js"
import * as Panels from "./Panels.js"
import { type Analysed, labelOfVars } from "./ReportAnalyse.js"
import type { Loaded } from "./ReportLoad.js"
import type { Params } from "./ReportParams.js"
import * as Runs from "./Runs.js"

export interface Rendered {
  readonly html: string
  readonly markdown: string
  /** Every table, in the report's order (each written as CSV and Arrow). */
  readonly tables: ReadonlyArray<DataTable.DataTable>
  readonly figures: ReadonlyArray<Html.Figure>
}

const curvePoints = (ms: ReadonlyArray<Analysis.MethodStats>, pick: (e: Parameters<Parameters<typeof Runs.byEpoch>[1]>[0]) => number): Array<Charts.CurvePoint> =>
  ms.flatMap((m) => Runs.byEpoch(m.group.runs, pick).map((e) => ({
    method: m.group.label, epoch: e.epoch, mean: Stats.mean(e.values), std: Stats.std(e.values), n: e.values.length
  })))

const figure = (id: string, caption: string, spec: Parameters<typeof Charts.renderSvg>[0]) =>
  Effect.map(Charts.renderSvg(spec), (svg): Html.Block => ({ _tag: "figure", figure: { id, caption, svg } }))

/** A panel's names for its methods (without the vars of its title), and the palette under those names. */
const panelNaming = (palette: Families.Palette, labels: ReadonlyArray<string>, vars: Panels.Panel<unknown>["vars"]) =>
  Families.relabelWith(palette, new Map(labels.map((l) => [Panels.shortLabel(l, vars), l])))

/** More methods than this in one chart (and more than one family among them): the curves are drawn one family per panel. */
const OVERLAY_LIMIT = 5

/**
 * One metric's learning curves for one panel: a single chart, or with many methods of several families, small multiples
 * (one panel per family, the others in grey, the references dashed in each).
 */
const curveFigure = (
  a: Analysed, panel: Panels.Panel<Analysis.MethodStats>, id: string, title: string, caption: string, yTitle: string,
  points: ReadonlyArray<Charts.CurvePoint>, options: Charts.CurveOptions
) => {
  const { palette, shortOf } = panelNaming(a.palette, panel.items.map((m) => m.group.label), panel.vars)
  const named = points.map((p) => ({ ...p, method: shortOf.get(p.method) ?? p.method }))
  const short = (ms: ReadonlyArray<Analysis.MethodStats>) => ms.map((m) => shortOf.get(m.group.label)!)
  const references = short(panel.items.filter((m) => m.isReference))
  const others = short(panel.items.filter((m) => !m.isReference))
  const families = a.palette.families.filter((f) => !f.reference)
    .map((f) => ({ name: f.name, methods: others.filter((l) => palette.familyOf(l) === f.name) }))
    .filter((f) => f.methods.length > 0)
  if (others.length <= OVERLAY_LIMIT || families.length < 2) return figure(id, caption, Charts.curves(title, yTitle, named, palette, options))
  return figure(id, `${caption} One panel per method family: its methods in colour, ` +
    `${references.length > 0 ? "the reference dashed, " : ""}every other method of the chart in grey.`,
    Charts.familyCurves(title, yTitle, named, palette, families, references, options))
}

const curveSections = (params: Params, a: Analysed) =>
  Effect.gen(function*() {
    const { stats, groups } = a
    const anyRepeat = groups.some((g) => g.runs.length >= 2)
    const band = anyRepeat ? " (line: mean over runs; band: mean ± std)" : ""
    const accuracy: Array<Html.Block> = []
    const more: Array<Html.Block> = []
    for (const panel of Panels.split(stats, (m) => m.group.vars, (m) => m.group.key, params.curvesBy)) {
      const ms = panel.items
      const valLoss = curvePoints(ms, (e) => e.valLoss)
      const losses = valLoss.map((p) => p.mean).filter((v) => v > 0)
      const logLoss = losses.length > 0 && Math.max(...losses) / Math.min(...losses) > 50
      accuracy.push(yield* curveFigure(a, panel, `val-accuracy${panel.id}`, `Validation accuracy${panel.title}`,
        `Validation accuracy per epoch${panel.title}${band}.`, "Validation accuracy", curvePoints(ms, (e) => e.valAccuracy), { percent: true }))
      more.push(
        yield* curveFigure(a, panel, `val-loss${panel.id}`, `Validation loss${panel.title}`,
          `Validation loss per epoch${panel.title}${band}${logLoss ? "; log scale, as the losses span orders of magnitude" : ""}.`,
          "Validation loss", valLoss, { log: logLoss }),
        yield* curveFigure(a, panel, `train-accuracy${panel.id}`, `Training accuracy${panel.title}`,
          `Training accuracy per epoch${panel.title}${band}.`, "Training accuracy", curvePoints(ms, (e) => e.trainAccuracy), { percent: true })
      )
    }
    const pct = `${Math.round(params.level * 100)}%`
    const firstEpoch = yield* figure("first-epoch",
      `Validation accuracy after the first epoch${anyRepeat ? `; error bars: ${pct} confidence interval over runs (n in the performance table)` : ""}; colours by method family.`,
      Charts.bars("Validation accuracy after the first epoch", "Validation accuracy", stats.map((m) => ({
        method: m.group.label, value: m.firstValAccuracy.mean, lo: m.firstValAccuracy.lower, hi: m.firstValAccuracy.upper
      })), a.palette, { percent: true }))
    const timeBars = yield* figure("time-per-epoch", "Mean seconds per epoch; the line spans the fastest and the slowest epoch.",
      Charts.bars("Time per epoch", "Seconds per epoch", stats.map((m) => ({ method: m.group.label, value: m.time.mean, lo: m.time.min, hi: m.time.max })), a.palette, { descending: false }))
    const pctCaption = anyRepeat ? ` with its ${pct} confidence interval over runs` : ""
    const compute: Array<Html.Block> = []
    for (const p of a.costPanels) {
      const { palette, shortOf } = panelNaming(a.palette, [...p.points, ...p.curves].map((x) => x.method), p.vars)
      const points = p.points.map((x) => ({ ...x, method: shortOf.get(x.method)! }))
      const curves = p.curves.map((x) => ({ ...x, method: shortOf.get(x.method)! }))
      compute.push(yield* figure(`accuracy-flops${p.id}`,
        `Final validation accuracy against training FLOPs${p.title}: each method a point (mean over its runs${pctCaption}); a grown ` +
        "model's FLOPs include the training of the small model it was grown from, a distilled model's its teacher's. Dashed: each " +
        "reference epoch by epoch, so a point above a reference's line beats that reference trained for the same compute.",
        Charts.accuracyFlops(`Accuracy against training compute${p.title}`, points, curves, palette)))
    }
    return { accuracy, more, firstEpoch, timeBars, compute }
  })

const scratchMatchCharts = (a: Analysed) =>
  Effect.gen(function*() {
    const charts: Array<Html.Block> = []
    for (const [i, g] of a.referenceGroups.entries()) {
      const label = a.referenceRunsOf(g).label
      const mine = a.matches.filter((m) => m.reference === label)
      if (mine.length === 0) continue
      charts.push(yield* figure(`scratch-match${i === 0 ? "" : `-${i + 1}`}`,
        `Mean validation accuracy of ${label} per epoch (line); dashed: the best validation accuracy of each method it is the reference of; ` +
        `dots: the reference epoch that first reaches it.`,
        Charts.scratchMatch(`Epochs of ${label} to match a grown model`, label, Analysis.referenceCurve(g.runs),
          mine.map((m) => ({ method: m.method, best: m.best, epochs: m.epochs, referenceEpochs: m.referenceEpochs })), a.palette)))
    }
    return charts
  })

/** The expansions section's blocks after its table: a note on which repeats are shown, then each shown expansion's heatmaps. */
const expansionBlocks = (params: Params, loaded: Loaded, path: Path.Path): Array<Html.Block> => {
  const blocks: Array<Html.Block> = []
  if (params.weightFigures !== "none" && loaded.shownCount < loaded.expansions.length) {
    blocks.push({ _tag: "paragraph", text: `Weight heatmaps of each method's first ${params.repeatVar} (${loaded.shownCount} of ${loaded.expansions.length} expansions): its other ${params.repeatVar}s grow their own small model the same way.` })
  }
  const embedded = new Map<string, string>()
  for (const { index, expansion: e, figures } of loaded.shown) {
    const label = labelOfVars(e.vars, e.method)
    const figs: Array<Html.Figure> = []
    /** Heatmaps not embedded again, by the expansion that shows them. */
    const again = new Map<string, Array<string>>()
    for (const { about: f, png } of figures) {
      const digest = sha256(png)
      const first = embedded.get(digest)
      if (first !== undefined) {
        again.set(first, [...(again.get(first) ?? []), path.basename(f.file, ".png").replace(/[._]+/g, " ")])
        continue
      }
      embedded.set(digest, label)
      figs.push({ id: `expansion-${index}-${path.basename(f.file, ".png").replace(/[^A-Za-z0-9_-]+/g, "-")}`, caption: `${label}: ${f.caption}`, png })
    }
    const shownBefore = [...again.entries()].map(([by, names]) => ` Identical to the heatmaps of ${by} above: ${names.join(", ")}.`).join("")
    blocks.push({ _tag: "paragraph", text: `Weights after expansion: ${label}.${shownBefore}` })
    if (figs.length > 0) blocks.push({ _tag: "gallery", figures: figs })
  }
  return blocks
}

const gradcamBlocks = (loaded: Loaded, path: Path.Path) =>
  Effect.gen(function*() {
    const blocks: Array<Html.Block> = []
    for (const [i, { input, gradcam, figures }] of loaded.gradcam.entries()) {
      const name = labelOfVars(input.vars, Runs.baseStage(input.stage) || "model")
      const all = gradcam.rows.filter((r) => r.classIndex < 0)
      blocks.push(yield* figure(`gradcam-${i}`,
        `${name}: Grad-CAM importance of each conv layer, averaged over ${all[0]?.images ?? 0} images (brighter = more important).`,
        Charts.heatmaps(`Grad-CAM: ${name}`, all.map((r) => ({ title: `${r.layer} (${r.h}×${r.w}), centre ${r.centreRatio.toFixed(2)}×`, h: r.h, w: r.w, map: r.map })))))
      const figs: Array<Html.Figure> = figures.map(({ about: f, png }) => ({ id: `gradcam-${i}-${path.basename(f.file, ".png")}`, caption: `${name}: ${f.caption}`, png }))
      if (figs.length > 0) blocks.push({ _tag: "gallery", figures: figs })
    }
    return blocks
  })

const table = (t: DataTable.DataTable): Html.Block => ({ _tag: "table", table: t })

/** A long table folded away, its summary saying what it holds and how long it is. */
const folded = (t: DataTable.DataTable, what: string): Html.Block =>
  ({ _tag: "details", summary: `${t.title}: ${what} (${t.rows.length} row${t.rows.length === 1 ? "" : "s"})`, blocks: [table(t)] })

/** Secondary tables longer than this are folded (the performance, compute and claims tables never are). */
const FOLD_ROWS = 20

/** What each secondary table holds, by table name: the summary of the table when it is folded. */
const WHAT = {
  time_to_target: "for each method and matched reference, the runs reaching its accuracy and the epochs, seconds and FLOPs to it",
  scratch_match: "for each method, the reference epochs that reach its best accuracy",
  time: "seconds per epoch of each method"
} as const

/** The fold of a table: what it holds when it is a long secondary table (folded in HTML and Markdown), else undefined. */
const foldOf = (t: DataTable.DataTable): string | undefined =>
  t.rows.length > FOLD_ROWS && t.name in WHAT ? WHAT[t.name as keyof typeof WHAT] : undefined

/** A secondary table: shown, or folded when it is long. */
const secondary = (t: DataTable.DataTable): Html.Block => {
  const what = foldOf(t)
  return what === undefined ? table(t) : folded(t, what)
}

/** The Markdown of a table, folded into a `<details>` (which GitHub renders) when the HTML folds it. */
const markdownOf = (t: DataTable.DataTable, level: string, fold?: string): ReadonlyArray<string> =>
  fold === undefined
    ? [`${level} ${t.title}`, "", t.caption, "", DataTable.toMarkdown(t), ""]
    : [`<details><summary>${t.title}: ${fold} (${t.rows.length} rows)</summary>`, "", t.caption, "", DataTable.toMarkdown(t), "", "</details>", ""]

/**
 * The report, in the order a reader needs it: the claims (a tally, then the comparisons), the figures (learning curves,
 * first epoch, accuracy against compute), then compact tables, with the long ones (every test, every run) folded away,
 * then the expansions and Grad-CAM.
 */
export const render = (params: Params, loaded: Loaded, a: Analysed, title: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const t = a.tables
    const { accuracy, more, firstEpoch, timeBars, compute } = yield* curveSections(params, a)
    const testsWhat = "every method against its reference, every metric, raw and adjusted p"
    const runsWhat = "the numbers behind every mean"
    const sections: Array<Html.Section> = []
    if (t.claims) {
      sections.push({
        id: "claims", title: "The study's claims",
        blocks: [
          { _tag: "paragraph", text: a.claimsTally ?? "", lead: true },
          ...(t.claimComparisons ? [table(t.claimComparisons)] : []),
          ...(t.claimFigures
            ? [t.claimComparisons ? { _tag: "details", summary: `${t.claimFigures.title}: the study's absolute numbers beside ours (${t.claimFigures.rows.length})`, blocks: [table(t.claimFigures)] } as Html.Block : table(t.claimFigures)]
            : [])
        ]
      })
    }
    sections.push({
      id: "curves", title: "Learning curves",
      blocks: [...accuracy, ...(more.length > 0 ? [{ _tag: "details", summary: "Validation loss and training accuracy", blocks: more } as Html.Block] : [])]
    })
    sections.push({ id: "first-epoch", title: "First epoch", blocks: [firstEpoch] })
    sections.push({
      id: "compute", title: "Compute",
      blocks: [...compute, table(t.compute), ...(t.timeToTarget ? [secondary(t.timeToTarget)] : [])]
    })
    sections.push({
      id: "performance",
      title: "Performance",
      blocks: [
        table(t.performance),
        ...(t.twins ? [table(t.twins)] : []),
        ...(t.significance.rows.length > 0 ? [folded(t.significance, testsWhat)] : []),
        folded(t.runs, runsWhat)
      ]
    })
    if (t.match) sections.push({ id: "scratch-match", title: "Reference epochs to match", blocks: [secondary(t.match), ...(yield* scratchMatchCharts(a))] })
    sections.push({ id: "time", title: "Time per epoch", blocks: [secondary(t.time), timeBars] })
    if (t.expansion) {
      // the weight heatmaps (dozens in a study) folded below the table
      const heatmaps = expansionBlocks(params, loaded, path)
      const count = heatmaps.flatMap(Html.blockFigures).length
      sections.push({
        id: "expansions", title: "Expansions",
        blocks: [table(t.expansion), ...(heatmaps.length > 0 ? [{ _tag: "details", summary: `Weight heatmaps (${count} figure${count === 1 ? "" : "s"})`, blocks: heatmaps } as Html.Block] : [])]
      })
    }
    if (t.gradcam) sections.push({ id: "gradcam", title: "Grad-CAM", blocks: [table(t.gradcam), ...(yield* gradcamBlocks(loaded, path))] })

    const tables = [t.claims, t.performance, t.twins, t.compute, t.timeToTarget, t.match, t.time, t.significance.rows.length ? t.significance : undefined,
      t.runs, t.expansion, t.curves, t.gradcam]
      .filter((x): x is DataTable.DataTable => x !== undefined)
    const figures = Html.figuresOf(sections)
    const markdown = [
      `# ${title}`, "", a.meta, "",
      ...(t.claims ? ["## The study's claims", "", a.claimsTally ?? "", "", ...[t.claimComparisons, t.claimFigures].flatMap((v) => (v ? markdownOf(v, "###") : []))] : []),
      ...[t.performance, t.twins, t.compute, t.timeToTarget, t.match, t.time, t.expansion, t.gradcam].flatMap((x) =>
        !x ? [] : markdownOf(x, "##", foldOf(x))),
      ...(t.significance.rows.length > 0 ? markdownOf(t.significance, "##", testsWhat) : []),
      ...markdownOf(t.runs, "##", runsWhat),
      "## Figures", "", `In report.html: ${figures.map((f) => f.id).join(", ")}.`, ""
    ].join("\n")
    return { html: Html.render(title, a.meta, sections), markdown, tables, figures } satisfies Rendered
  })
