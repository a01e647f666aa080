/**
 * The report's plots as Vega-Lite specs, compiled and rendered to SVG on the server (vega's headless View), so the
 * HTML embeds finished SVG and opens offline without any script. Methods keep one colour across every chart.
 */
import * as Effect from "effect/Effect"
import * as vega from "vega"
import { compile, type TopLevelSpec } from "vega-lite"
import { StageFailure } from "@growlab/core/Errors"

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

/** The colour scale shared by every chart: one colour per method label, in the given order. */
export const methodScale = (methods: ReadonlyArray<string>) => ({
  domain: [...methods],
  scheme: methods.length <= 10 ? "tableau10" : "tableau20"
})

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

/**
 * A metric per epoch, one line per method (the mean over runs), with a mean ± std band for methods with two or more
 * runs. `log` plots the y axis on a log scale (losses that blow up by orders of magnitude, as in experiment 2).
 */
export const curves = (
  title: string,
  yTitle: string,
  points: ReadonlyArray<CurvePoint>,
  methods: ReadonlyArray<string>,
  options: { readonly percent?: boolean; readonly log?: boolean } = {}
): TopLevelSpec => {
  const values = points
    .filter((p) => Number.isFinite(p.mean) && (!options.log || p.mean > 0))
    .map((p) => {
      const sd = Number.isFinite(p.std) ? p.std : 0
      const lo = p.mean - sd
      return { ...p, lo: options.log && lo <= 0 ? p.mean / 10 : lo, hi: p.mean + sd }
    })
  const y = {
    type: "quantitative" as const,
    title: yTitle,
    scale: options.log ? { type: "log" as const } : { zero: false },
    axis: options.percent ? { format: ".0%" } : {}
  }
  const color = { field: "method", type: "nominal" as const, title: "Method", scale: methodScale(methods) }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    config,
    data: { values },
    encoding: { x: { field: "epoch", type: "quantitative", title: "Epoch", axis: { tickMinStep: 1, format: "d" } } },
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
  methods: ReadonlyArray<string>,
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
          color: { field: "method", type: "nominal", scale: methodScale(methods), legend: null }
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
  methods: ReadonlyArray<string>
): TopLevelSpec => {
  const y = { type: "quantitative" as const, scale: { zero: false }, axis: { format: ".0%" }, title: "Validation accuracy" }
  // colours as in every other chart; the legend lists only the methods drawn here
  const color = {
    field: "method", type: "nominal" as const, title: "Method", scale: methodScale(methods),
    legend: { values: methods.filter((m) => targets.some((t) => t.method === m)) }
  }
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
