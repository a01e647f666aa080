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
import * as Html from "./Html.js"
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

/**
 * The methods split into panels by the values of `by` (in the methods' order of first appearance): each panel's
 * title suffix, id suffix and methods. A method without one of the vars belongs to every panel. No vars: one panel.
 */
const panelsOf = (ms: ReadonlyArray<Analysis.MethodStats>, by: ReadonlyArray<string>) => {
  const keyed = by.filter((k) => ms.some((m) => k in m.group.vars))
  if (keyed.length === 0) return [{ title: "", id: "", methods: ms }]
  const combos = new Map<string, Array<[string, string]>>()
  for (const m of [...ms].sort((a, b) => a.group.key.localeCompare(b.group.key))) {
    if (!keyed.every((k) => k in m.group.vars)) continue
    const combo = keyed.map((k): [string, string] => [k, String(m.group.vars[k])])
    combos.set(JSON.stringify(combo), combo)
  }
  // no method has every one of the vars: nothing to split on consistently, so one set
  if (combos.size === 0) return [{ title: "", id: "", methods: ms }]
  return [...combos.values()].map((combo) => ({
    title: ` (${combo.map(([k, v]) => `${k}=${v}`).join(", ")})`,
    id: `--${combo.map(([k, v]) => `${k}-${v}`).join("--").replace(/[^A-Za-z0-9_.-]+/g, "-")}`,
    methods: ms.filter((m) => combo.every(([k, v]) => !(k in m.group.vars) || String(m.group.vars[k]) === v))
  }))
}

const figure = (id: string, caption: string, spec: Parameters<typeof Charts.renderSvg>[0]) =>
  Effect.map(Charts.renderSvg(spec), (svg): Html.Block => ({ _tag: "figure", figure: { id, caption, svg } }))

const curveSections = (params: Params, a: Analysed) =>
  Effect.gen(function*() {
    const { stats, methods, groups } = a
    const anyRepeat = groups.some((g) => g.runs.length >= 2)
    const band = anyRepeat ? " (line: mean over runs; band: mean ± std)" : ""
    const curveBlocks: Array<Html.Block> = []
    for (const panel of panelsOf(stats, params.curvesBy)) {
      const shown = panel.methods.map((m) => m.group.label)
      const colours = panel.id === "" ? methods : [...shown].sort()
      const valLoss = curvePoints(panel.methods, (e) => e.valLoss)
      const losses = valLoss.map((p) => p.mean).filter((v) => v > 0)
      const logLoss = losses.length > 0 && Math.max(...losses) / Math.min(...losses) > 50
      curveBlocks.push(
        yield* figure(`val-accuracy${panel.id}`, `Validation accuracy per epoch${panel.title}${band}.`,
          Charts.curves(`Validation accuracy${panel.title}`, "Validation accuracy", curvePoints(panel.methods, (e) => e.valAccuracy), colours, { percent: true })),
        yield* figure(`val-loss${panel.id}`, `Validation loss per epoch${panel.title}${band}${logLoss ? "; log scale, as the losses span orders of magnitude" : ""}.`,
          Charts.curves(`Validation loss${panel.title}`, "Validation loss", valLoss, colours, { log: logLoss })),
        yield* figure(`train-accuracy${panel.id}`, `Training accuracy per epoch${panel.title}${band}.`,
          Charts.curves(`Training accuracy${panel.title}`, "Training accuracy", curvePoints(panel.methods, (e) => e.trainAccuracy), colours, { percent: true }))
      )
    }
    const pct = `${Math.round(params.level * 100)}%`
    const firstEpoch = yield* figure("first-epoch",
      `Validation accuracy after the first epoch${anyRepeat ? `; error bars: ${pct} confidence interval over runs` : ""}.`,
      Charts.bars("Validation accuracy after the first epoch", "Validation accuracy", stats.map((m) => ({
        method: m.group.label, value: m.firstValAccuracy.mean, lo: m.firstValAccuracy.lower, hi: m.firstValAccuracy.upper
      })), methods, { percent: true }))
    const timeBars = yield* figure("time-per-epoch", "Mean seconds per epoch; the line spans the fastest and the slowest epoch.",
      Charts.bars("Time per epoch", "Seconds per epoch", stats.map((m) => ({ method: m.group.label, value: m.time.mean, lo: m.time.min, hi: m.time.max })), methods, { descending: false }))
    return { curveBlocks, firstEpoch, timeBars }
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
          mine.map((m) => ({ method: m.method, best: m.best, epochs: m.epochs, referenceEpochs: m.referenceEpochs })), a.methods)))
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

export const render = (params: Params, loaded: Loaded, a: Analysed, title: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const t = a.tables
    const { curveBlocks, firstEpoch, timeBars } = yield* curveSections(params, a)
    const sections: Array<Html.Section> = []
    if (t.claims) {
      sections.push({
        id: "claims", title: "The study's claims",
        blocks: [
          { _tag: "paragraph", text: a.claimsTally ?? "" },
          ...(t.claimComparisons ? [{ _tag: "table", table: t.claimComparisons } as Html.Block] : []),
          ...(t.claimFigures ? [{ _tag: "table", table: t.claimFigures } as Html.Block] : [])
        ]
      })
    }
    sections.push({
      id: "performance",
      title: "Performance",
      blocks: [
        { _tag: "table", table: t.performance },
        ...(t.significance.rows.length > 0 ? [{ _tag: "table", table: t.significance } as Html.Block] : []),
        ...(t.twins ? [{ _tag: "table", table: t.twins } as Html.Block] : [])
      ]
    })
    sections.push({ id: "curves", title: "Learning curves", blocks: curveBlocks })
    sections.push({ id: "first-epoch", title: "First epoch", blocks: [firstEpoch] })
    sections.push({ id: "time", title: "Time per epoch", blocks: [{ _tag: "table", table: t.time }, timeBars] })
    if (t.match) sections.push({ id: "scratch-match", title: "Reference epochs to match", blocks: [{ _tag: "table", table: t.match }, ...(yield* scratchMatchCharts(a))] })
    sections.push({
      id: "compute", title: "Compute",
      blocks: [{ _tag: "table", table: t.compute }, ...(t.timeToTarget ? [{ _tag: "table", table: t.timeToTarget } as Html.Block] : [])]
    })
    if (t.expansion) sections.push({ id: "expansions", title: "Expansions", blocks: [{ _tag: "table", table: t.expansion }, ...expansionBlocks(params, loaded, path)] })
    if (t.gradcam) sections.push({ id: "gradcam", title: "Grad-CAM", blocks: [{ _tag: "table", table: t.gradcam }, ...(yield* gradcamBlocks(loaded, path))] })

    const tables = [t.claims, t.performance, t.time, t.significance.rows.length ? t.significance : undefined, t.twins, t.match, t.compute, t.timeToTarget, t.expansion, t.curves, t.gradcam]
      .filter((x): x is DataTable.DataTable => x !== undefined)
    const figures = Html.figuresOf(sections)
    const markdown = [
      `# ${title}`, "", a.meta, "",
      ...tables.filter((x) => x.name !== "curves").flatMap((x) => x.name === "claims"
        ? [`## ${x.title}`, "", a.claimsTally ?? "", "", ...[t.claimComparisons, t.claimFigures].flatMap((v) => v ? [`### ${v.title}`, "", v.caption, "", DataTable.toMarkdown(v), ""] : [])]
        : [`## ${x.title}`, "", x.caption, "", DataTable.toMarkdown(x), ""]),
      "## Figures", "", `In report.html: ${figures.map((f) => f.id).join(", ")}.`, ""
    ].join("\n")
    return { html: Html.render(title, a.meta, sections), markdown, tables, figures } satisfies Rendered
  })
