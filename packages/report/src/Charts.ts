/**
 * The report's plots as Vega-Lite specs, compiled and rendered to SVG on the server (vega's headless View), so the
 * HTML embeds finished SVG and opens offline without any script. Methods keep one colour across every chart: the
 * report's palette (Families: a hue per method family, shades within it) coloured by label, each chart's legend listing
 * only the methods it draws.
 */
import * as Effect from "effect/Effect"
import * as vega from "vega"
import { compile, type TopLevelSpec } from "vega-lite"
import { StageFailure } from "@growlab/core/Errors"
import type { Palette } from "./Families.js"

const WIDTH = 560
const HEIGHT = 280
/**
 * Longest method label drawn in full, in vega's estimated pixels. Rendering on the server (no canvas) vega estimates
 * text at 0.8 × font size per character, about 1.6× what a browser draws, so this fits labels of ~70 characters
 * (`scaled-noisy-diagonal-normal, target=large2, learningRate=0.0001`).
 */
const LABEL_LIMIT = 640

const config = {
  font: "Helvetica, Arial, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: LABEL_LIMIT },
  title: { fontSize: 14, anchor: "start" as const }
}

/**
 * The colour scale of a chart: the palette's colours of the methods it draws (`shown`, default every method), in the
 * palette's order (family by family), so a method has the same colour in every chart and the legend lists only these.
 */
export const colourScale = (palette: Palette, shown?: ReadonlyArray<string>) => {
  const drawn = shown === undefined ? undefined : new Set(shown)
  const domain = palette.domain.filter((m) => drawn === undefined || drawn.has(m))
  return { domain, range: domain.map(palette.colourOf) }
}

/** Compiles a Vega-Lite spec and renders it to an SVG string. */
export const renderSvg = (spec: TopLevelSpec) =>
  Effect.tryPromise({
    try: async () => {
      const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" })
      try {
        return await view.toSVG()
      } finally {
        view.finalize()
      }
    },
    catch: (e) => new StageFailure({ stage: "report", reason: `cannot render chart "${String((spec as { title?: unknown }).title ?? "")}": ${(e as Error).message}` })
  })

export interface CurvePoint {
  readonly method: string
  readonly epoch: number
  readonly mean: number
  readonly std: number
  readonly n: number
}

export interface CurveOptions {
  readonly percent?: boolean
  /** Plot the y axis on a log scale (losses that blow up by orders of magnitude, as in experiment 2). */
  readonly log?: boolean
}

/** Points with a finite mean (positive on a log scale) and their mean ± std band ends (a std of NaN: no band). */
const bandPoints = (points: ReadonlyArray<CurvePoint>, options: CurveOptions) =>
  points
    .filter((p) => Number.isFinite(p.mean) && (!options.log || p.mean > 0))
    .map((p) => {
      const sd = Number.isFinite(p.std) ? p.std : 0
      const lo = p.mean - sd
      return { ...p, lo: options.log && lo <= 0 ? p.mean / 10 : lo, hi: p.mean + sd }
    })

const yOf = (yTitle: string, options: CurveOptions) => ({
  type: "quantitative" as const,
  title: yTitle,
  scale: options.log ? { type: "log" as const } : { zero: false },
  axis: options.percent ? { format: ".0%" } : {}
})

const EPOCH = { field: "epoch", type: "quantitative" as const, title: "Epoch", axis: { tickMinStep: 1, format: "d" } }

/**
 * A metric per epoch, one line per method (the mean over runs), with a mean ± std band for methods with two or more
 * runs.
 */
export const curves = (
  title: string,
  yTitle: string,
  points: ReadonlyArray<CurvePoint>,
  palette: Palette,
  options: CurveOptions = {}
): TopLevelSpec => {
  const values = bandPoints(points, options)
  const y = yOf(yTitle, options)
  const color = { field: "method", type: "nominal" as const, title: "Method", scale: colourScale(palette, [...new Set(values.map((v) => v.method))]) }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    config,
    data: { values },
    encoding: { x: EPOCH },
    layer: [
      {
        transform: [{ filter: "datum.n >= 2" }],
        mark: { type: "errorband", opacity: 0.18 },
        encoding: { y: { ...y, field: "lo" }, y2: { field: "hi" }, color: { ...color, legend: null } }
      },
      {
        mark: { type: "line", point: { size: 28 } },
        encoding: {
          y: { ...y, field: "mean" },
          color,
          tooltip: [{ field: "method" }, { field: "epoch" }, { field: "mean", format: ".4f" }, { field: "n", title: "runs" }]
        }
      }
    ],
    // the band has no legend of its own (its pale swatches would stand for the lines)
    resolve: { legend: { color: "independent" } }
  } as TopLevelSpec
}

/** One small multiple: a family's name and the methods it highlights. */
export interface Facet {
  readonly name: string
  readonly methods: ReadonlyArray<string>
}

const FACET_WIDTH = 250
const FACET_HEIGHT = 165

/**
 * Small multiples of a metric per epoch, one panel per method family: in each, the family's methods in their colours
 * with mean ± std bands, the reference methods (`references`) dashed, and every other method of the chart as a thin grey
 * line for context. One y scale for every panel, so panels compare at a glance; many methods stay readable because no
 * panel colours more than one family.
 */
export const familyCurves = (
  title: string,
  yTitle: string,
  points: ReadonlyArray<CurvePoint>,
  palette: Palette,
  facets: ReadonlyArray<Facet>,
  references: ReadonlyArray<string>,
  options: CurveOptions = {}
): TopLevelSpec => {
  const clean = bandPoints(points, options)
  const isReference = new Set(references)
  const values = facets.flatMap((f) => {
    const own = new Set(f.methods)
    return clean.map((p) => ({ ...p, facet: f.name, role: own.has(p.method) ? "own" : isReference.has(p.method) ? "reference" : "other" }))
  })
  const y = yOf(yTitle, options)
  // one legend for the figure: every highlighted method and the references, family by family, drawn as solid strokes
  // (the bands share the scale, and would otherwise lend the legend their pale fill)
  const color = {
    field: "method", type: "nominal" as const, title: "Method",
    scale: colourScale(palette, [...new Set([...facets.flatMap((f) => f.methods), ...references])]),
    legend: { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2.5 }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config,
    data: { values },
    columns: facets.length <= 4 ? 2 : 3,
    facet: {
      field: "facet", type: "nominal", title: null, sort: facets.map((f) => f.name),
      header: { labelFontSize: 12, labelFontWeight: "bold", labelAnchor: "start", labelPadding: 4 }
    },
    spec: {
      width: FACET_WIDTH,
      height: FACET_HEIGHT,
      encoding: { x: EPOCH },
      layer: [
        {
          transform: [{ filter: "datum.role === 'other'" }],
          mark: { type: "line", color: "#d3d3d3", strokeWidth: 1 },
          encoding: { y: { ...y, field: "mean" }, detail: { field: "method", type: "nominal" } }
        },
        {
          transform: [{ filter: "datum.role === 'reference'" }],
          mark: { type: "line", strokeDash: [5, 3], strokeWidth: 1.5 },
          encoding: { y: { ...y, field: "mean" }, color }
        },
        {
          transform: [{ filter: "datum.role === 'own' && datum.n >= 2" }],
          mark: { type: "errorband", opacity: 0.18 },
          encoding: { y: { ...y, field: "lo" }, y2: { field: "hi" }, color }
        },
        {
          transform: [{ filter: "datum.role === 'own'" }],
          mark: { type: "line", point: { size: 18 } },
          encoding: {
            y: { ...y, field: "mean" },
            color,
            tooltip: [{ field: "method" }, { field: "epoch" }, { field: "mean", format: ".4f" }, { field: "n", title: "runs" }]
          }
        }
      ]
    }
  } as TopLevelSpec
}

export interface Bar {
  readonly method: string
  readonly value: number
  /** Error bar ends (a confidence interval, or min and max); absent when unknown. */
  readonly lo?: number
  readonly hi?: number
}

/** Horizontal bars, best first, with optional error bars and the value printed at the end of each bar. */
export const bars = (
  title: string,
  xTitle: string,
  data: ReadonlyArray<Bar>,
  palette: Palette,
  options: { readonly percent?: boolean; readonly descending?: boolean } = {}
): TopLevelSpec => {
  const values = data.filter((d) => Number.isFinite(d.value)).map((d) => ({
    ...d,
    lo: Number.isFinite(d.lo) ? d.lo : d.value,
    hi: Number.isFinite(d.hi) ? d.hi : d.value,
    text: options.percent ? `${(d.value * 100).toFixed(2)}%` : d.value.toFixed(3)
  }))
  const order = [...values].sort((a, b) => (options.descending === false ? a.value - b.value : b.value - a.value)).map((v) => v.method)
  const y = { field: "method", type: "nominal" as const, title: null, sort: order, axis: { labelLimit: LABEL_LIMIT } }
  const fmt = options.percent ? { format: ".0%" } : {}
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH - 120,
    height: { step: 24 },
    config,
    data: { values },
    encoding: { y },
    layer: [
      {
        mark: { type: "bar", height: { band: 0.7 } },
        encoding: {
          x: { field: "value", type: "quantitative", title: xTitle, axis: fmt },
          color: { field: "method", type: "nominal", scale: colourScale(palette, values.map((v) => v.method)), legend: null }
        }
      },
      {
        mark: { type: "rule", color: "#333" },
        encoding: { x: { field: "lo", type: "quantitative" }, x2: { field: "hi" } }
      },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 10, color: "#333" },
        encoding: { x: { field: "hi", type: "quantitative" }, text: { field: "text" } }
      }
    ]
  } as TopLevelSpec
}

/**
 * The scratch-epochs-to-match chart: the reference's mean validation accuracy per epoch, with one horizontal rule per
 * method at its best validation accuracy (reached in far fewer epochs) and a mark where the reference first reaches it.
 */
export const scratchMatch = (
  title: string,
  referenceLabel: string,
  curve: ReadonlyArray<{ readonly epoch: number; readonly mean: number }>,
  targets: ReadonlyArray<{ readonly method: string; readonly best: number; readonly epochs: number; readonly referenceEpochs: number | null }>,
  palette: Palette
): TopLevelSpec => {
  const y = { type: "quantitative" as const, scale: { zero: false }, axis: { format: ".0%" }, title: "Validation accuracy" }
  // colours as in every other chart; the legend lists only the methods drawn here
  const color = { field: "method", type: "nominal" as const, title: "Method", scale: colourScale(palette, targets.map((t) => t.method)) }
  const crossings = targets.filter((t) => t.referenceEpochs !== null).map((t) => ({ ...t, epoch: t.referenceEpochs }))
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    config,
    layer: [
      {
        data: { values: curve.map((c) => ({ ...c, series: referenceLabel })) },
        mark: { type: "line", color: "#444", strokeWidth: 2 },
        encoding: { x: { field: "epoch", type: "quantitative", title: "Reference epoch", axis: { tickMinStep: 1, format: "d" } }, y: { ...y, field: "mean" } }
      },
      {
        data: { values: targets.map((t) => ({ ...t })) },
        mark: { type: "rule", strokeDash: [5, 3] },
        encoding: { y: { ...y, field: "best" }, color }
      },
      {
        data: { values: crossings },
        mark: { type: "point", filled: true, size: 70 },
        encoding: { x: { field: "epoch", type: "quantitative" }, y: { ...y, field: "best" }, color }
      }
    ]
  } as TopLevelSpec
}

/** A method's cost and accuracy: mean training FLOPs (its source's included) and mean final accuracy with its interval. */
export interface CostPoint {
  readonly method: string
  readonly flops: number
  readonly mean: number
  readonly lo: number
  readonly hi: number
  readonly runs: number
}

/** A reference's accuracy per epoch against the training FLOPs spent by the end of that epoch. */
export interface CostCurve {
  readonly method: string
  readonly points: ReadonlyArray<{ readonly epoch: number; readonly flops: number; readonly mean: number }>
}

/**
 * Accuracy against training compute: each method a point at its mean training FLOPs (a grown model's include the
 * small model's training) and mean final validation accuracy, with its confidence interval; each reference also a
 * dashed line through its epochs (accuracy after e epochs against the FLOPs of e epochs), so a point above a
 * reference's line is better than training that reference for the same compute. FLOPs on a log axis.
 */
export const accuracyFlops = (
  title: string,
  points: ReadonlyArray<CostPoint>,
  referenceCurves: ReadonlyArray<CostCurve>,
  palette: Palette
): TopLevelSpec => {
  const dots = points.filter((p) => p.flops > 0 && Number.isFinite(p.mean))
  const lines = referenceCurves.flatMap((c) => c.points.filter((p) => p.flops > 0 && Number.isFinite(p.mean)).map((p) => ({ method: c.method, ...p })))
  const y = { type: "quantitative" as const, scale: { zero: false }, axis: { format: ".0%" }, title: "Validation accuracy (final epoch; lines: per epoch)" }
  const x = { type: "quantitative" as const, scale: { type: "log" as const, nice: false, padding: 12 }, axis: { format: ".1e", tickCount: 6 }, title: "Training FLOPs (a grown model's include its small model's)" }
  const shown = [...new Set([...dots.map((d) => d.method), ...lines.map((l) => l.method)])]
  // one legend (lines, rules and points share the scale)
  const color = {
    field: "method", type: "nominal" as const, title: "Method", scale: colourScale(palette, shown),
    legend: { symbolType: "circle", symbolOpacity: 1 }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT + 40,
    config,
    layer: [
      {
        data: { values: lines },
        mark: { type: "line", strokeDash: [5, 3], strokeWidth: 1.5, point: { size: 14 } },
        encoding: { x: { ...x, field: "flops" }, y: { ...y, field: "mean" }, color, detail: { field: "method", type: "nominal" } }
      },
      {
        // an accuracy's interval drawn within 0–100% (Student t bounds of two runs can reach past them)
        data: { values: dots.filter((d) => d.runs >= 2 && Number.isFinite(d.lo)).map((d) => ({ ...d, lo: Math.max(0, d.lo), hi: Math.min(1, d.hi) })) },
        mark: { type: "rule", strokeWidth: 1.5 },
        encoding: { x: { ...x, field: "flops" }, y: { ...y, field: "lo" }, y2: { field: "hi" }, color }
      },
      {
        data: { values: dots },
        mark: { type: "point", filled: true, size: 70, opacity: 0.95, stroke: "#222", strokeWidth: 0.6 },
        encoding: {
          x: { ...x, field: "flops" }, y: { ...y, field: "mean" }, color,
          tooltip: [{ field: "method" }, { field: "flops", format: ".3e" }, { field: "mean", format: ".4f" }, { field: "runs" }]
        }
      }
    ]
  } as TopLevelSpec
}

export interface HeatmapPanel {
  readonly title: string
  readonly h: number
  readonly w: number
  readonly map: ArrayLike<number>
}

/** Grad-CAM maps side by side, one panel per layer, each cell a rectangle coloured by importance (0..1). */
export const heatmaps = (title: string, panels: ReadonlyArray<HeatmapPanel>): TopLevelSpec => {
  const size = 150
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: { ...config, view: { stroke: null } },
    hconcat: panels.map((p) => {
      const values: Array<{ row: number; col: number; value: number }> = []
      for (let r = 0; r < p.h; r++) for (let c = 0; c < p.w; c++) values.push({ row: r, col: c, value: Number(p.map[r * p.w + c]) })
      return {
        title: { text: p.title, fontSize: 12 },
        width: size,
        height: Math.round((size * p.h) / p.w),
        data: { values },
        mark: { type: "rect" },
        encoding: {
          x: { field: "col", type: "ordinal", axis: null },
          y: { field: "row", type: "ordinal", axis: null },
          color: { field: "value", type: "quantitative", title: "Importance", scale: { scheme: "inferno", domain: [0, 1] } }
        }
      }
    }),
    resolve: { scale: { x: "independent", y: "independent" } }
  } as TopLevelSpec
}
