/**
 * The figures of an expansion: for every Dense / Conv2D layer its kernel before and after (one shared colour scale,
 * so W/2 looks paler than W), and for tiled layers that grow the quarter difference (see QuarterDifference, on its
 * own scale). `index.json` lists every file with its layer, shape and colour scale (the value drawn at full colour).
 */
import type { Expansion } from "./Expander.js"
import * as Heatmap from "./Heatmap.js"
import * as QuarterDifference from "./QuarterDifference.js"

export interface Figure {
  readonly file: string
  readonly layer: string
  readonly what: "before" | "after" | "quarter-diff"
  readonly shape: ReadonlyArray<number>
  /** |value| drawn at full colour. */
  readonly scale: number
  readonly bytes: Uint8Array
}

export const render = (e: Expansion): ReadonlyArray<Figure> => {
  const figures: Array<Figure> = []
  const weights = new Map(e.source.weights.map((w) => [w.name, w]))
  for (const layer of e.plan.layers) {
    const result = e.kernels.get(layer.name)
    if (!result) continue
    const before = weights.get(`${layer.sourceName}/kernel`)!
    const afterShape = layer.targetShapes.weights.find((w) => w.param === "kernel")!.shape
    const scale = Math.max(Heatmap.maxAbs(before.values), Heatmap.maxAbs(result.kernel))
    figures.push({ file: `${layer.name}.before.png`, layer: layer.name, what: "before", shape: before.shape, scale, bytes: Heatmap.png(before.values, before.shape, scale) })
    figures.push({ file: `${layer.name}.after.png`, layer: layer.name, what: "after", shape: afterShape, scale, bytes: Heatmap.png(result.kernel, afterShape, scale) })
    const diff = QuarterDifference.compute(layer, result.kernel)
    if (diff) {
      const s = Heatmap.maxAbs(diff)
      figures.push({ file: `${layer.name}.quarter-diff.png`, layer: layer.name, what: "quarter-diff", shape: before.shape, scale: s, bytes: Heatmap.png(diff, before.shape, s) })
    }
  }
  return figures
}

/** The `index.json` listing (everything but the bytes). */
export const index = (figures: ReadonlyArray<Figure>) =>
  figures.map(({ bytes: _bytes, ...rest }) => rest)
