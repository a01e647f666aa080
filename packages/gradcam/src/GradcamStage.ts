/**
 * The `gradcam` stage kind: averaged Grad-CAM maps of a model's conv layers over a seeded sample of a dataset
 * (experiment 4's motivation), per-image overlays, and the placement figure that sets the importance next to where
 * each expansion method puts the source weights.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import * as ModelArtifact from "@growlab/core/ModelArtifact"
import * as Random from "@growlab/core/Random"
import * as Stage from "@growlab/core/Stage"
import * as StageInputs from "@growlab/core/StageInputs"
import { writeFileAtomic, writeJsonAtomic } from "@growlab/core/ArtifactStore"
import { StageFailure } from "@growlab/core/Errors"
import { inferShapes } from "@growlab/core/ModelSpec"
import * as Forward from "@growlab/train/Forward"
import * as GradCam from "./GradCam.js"
import * as GradcamArtifact from "./GradcamArtifact.js"
import * as Figures from "./Figures.js"
import * as Placement from "./Placement.js"

const PositiveInt = Schema.Int.pipe(Schema.positive())

export const Params = Schema.Struct({
  /** Conv layer names, or "all-conv". */
  layers: Schema.optionalWith(Schema.Union(Schema.Literal("all-conv"), Schema.Array(Schema.String).pipe(Schema.minItems(1))), { default: () => "all-conv" as const }),
  /** How many images of the dataset to average over (a seeded sample; all of them when fewer). */
  images: Schema.optionalWith(PositiveInt, { default: () => 256 }),
  /** "all": one averaged map per layer; "per-class": that plus one per target class. */
  classes: Schema.optionalWith(Schema.Literal("all", "per-class"), { default: () => "all" as const }),
  /** Whose score is explained: the predicted class (as the Keras example) or the true label. */
  target: Schema.optionalWith(Schema.Literal("predicted", "label"), { default: () => "predicted" as const }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** How many of the sampled images get an overlay figure (per layer). */
  overlays: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 4 }),
  batchSize: Schema.optionalWith(PositiveInt, { default: () => 64 }),
  /**
   * Placement figure from method names alone (when no `expanded` models are given): each conv layer but the first
   * is taken as grown `multiplier`× along its input and output channels.
   */
  placement: Schema.optional(Schema.Struct({
    methods: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
    multiplier: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(2)), { default: () => 2 })
  }))
})
export type Params = typeof Params.Type

const fail = (stage: string, reason: string, extra: { field?: string; expected?: string; actual?: string } = {}) =>
  new StageFailure({ stage, reason, ...extra })

/** Float32 batch [count, ...shape] of the dataset's images at `indices` (raw 0..255 values, as training feeds them). */
const batchOf = (d: DatasetArtifact.Dataset, indices: ArrayLike<number>): tf.Tensor => {
  const size = DatasetArtifact.exampleSize(d)
  const data = new Float32Array(indices.length * size)
  for (let k = 0; k < indices.length; k++) {
    const at = indices[k] * size
    for (let j = 0; j < size; j++) data[k * size + j] = d.images[at + j]
  }
  return tf.tensor(data, [indices.length, ...d.shape], "float32")
}

interface PlacementPanel {
  readonly method: string
  readonly mask: Placement.Mask
}

export const gradcamStage = Stage.make<Params>({
  kind: "gradcam",
  description: "Averaged Grad-CAM maps of a model's conv layers, per-image overlays and the weight-placement figure",
  params: Params,
  inputs: {
    model: StageInputs.modelInput("the trained model to explain"),
    dataset: StageInputs.datasetInput("images to average the maps over"),
    expanded: { description: "expanded models (vars.method names each) for the placement figure", kind: "model", many: true, optional: true },
    source: { description: "the small model the expanded ones grew from (detects copied weights exactly)", kind: "model", optional: true }
  },
  outputs: {
    maps: { description: "averaged maps per (layer, class | all)", kind: "gradcam", file: "gradcam.arrow" },
    figures: { description: "PNG figures and index.json", kind: "figure", file: "figures", dir: true }
  },
  usesTf: true,
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const fs = yield* FileSystem.FileSystem
      const model = yield* StageInputs.model(ctx)
      const spec = model.spec
      const data = yield* StageInputs.datasetFor(ctx, "dataset", spec)
      const available = GradCam.convLayers(spec)
      if (available.length === 0) return yield* fail(ctx.stage, "the model has no Conv2D layer to explain")
      let layers: ReadonlyArray<GradCam.ConvLayer> = available
      if (params.layers !== "all-conv") {
        const wanted: Array<GradCam.ConvLayer> = []
        for (const name of params.layers) {
          const l = available.find((c) => c.name === name)
          if (!l) return yield* fail(ctx.stage, "not a Conv2D layer of the model", { field: "params.layers", expected: available.map((c) => c.name).join(" | "), actual: name })
          wanted.push(l)
        }
        layers = wanted
      }
      const shapes = inferShapes(spec)
      const classes = shapes[shapes.length - 1].outputShape[0]
      const n = DatasetArtifact.count(data)
      const count = Math.min(params.images, n)
      const sample = Random.permutation(Random.make(params.seed, 0x6c), n).subarray(0, count)
      ctx.log(`Grad-CAM of ${layers.map((l) => l.name).join(", ")} over ${count} images (target: ${params.target})`)

      // per-image maps of every layer, and each image's target class
      const { cams, targets } = yield* Effect.try({
        try: () => {
          const weights = Forward.paramsOf(model)
          try {
            const cams = layers.map((l) => new Float32Array(count * l.h * l.w))
            const targets = new Int32Array(count)
            for (let start = 0; start < count; start += params.batchSize) {
              const idx = sample.subarray(start, Math.min(count, start + params.batchSize))
              const x = batchOf(data, idx)
              try {
                const labels = Array.from(idx, (i) => data.labels[i])
                const r = GradCam.computeBatch(spec, weights, x, layers, params.target, labels)
                targets.set(r.targets, start)
                r.layers.forEach((lc, k) => cams[k].set(lc.cams, start * lc.layer.h * lc.layer.w))
              } finally {
                x.dispose()
              }
            }
            return { cams, targets }
          } finally {
            Forward.disposeParams(weights)
          }
        },
        catch: (e) => fail(ctx.stage, `Grad-CAM failed: ${(e as Error).message}`)
      })

      const [inputH, inputW] = spec.inputShape
      const rows: Array<GradcamArtifact.MapRow> = []
      const classGroups: Array<{ readonly index: number; readonly name: string; readonly select?: Array<number> }> = [{ index: -1, name: "all" }]
      if (params.classes === "per-class") {
        for (let k = 0; k < classes; k++) {
          const select: Array<number> = []
          targets.forEach((t, i) => { if (t === k) select.push(i) })
          if (select.length > 0) classGroups.push({ index: k, name: data.classNames[k] ?? String(k), select })
        }
      }
      layers.forEach((l, li) => {
        for (const g of classGroups) {
          const map = GradCam.average(cams[li], l.h * l.w, g.select)
          rows.push({
            layer: l.name, layerIndex: l.index, classIndex: g.index, className: g.name, images: g.select?.length ?? count,
            h: l.h, w: l.w, map, inputH, inputW, centreRatio: GradCam.centreRatio(map, l.h, l.w)
          })
        }
      })
      const info = {
        target: params.target, seed: params.seed, images: count, classNames: data.classNames, dataset: data.dataset, split: data.split
      }
      yield* GradcamArtifact.write(ctx.output("maps"), { rows, info })

      // figures
      const dir = ctx.output("figures")
      yield* fs.makeDirectory(dir, { recursive: true })
      const figures: Array<GradcamArtifact.FigureEntry> = []
      for (const r of rows) {
        const file = `average-${r.layer}-${r.classIndex < 0 ? "all" : `class${r.classIndex}`}.png`
        yield* writeFileAtomic(`${dir}/${file}`, Figures.mapPng(r.map, r.h, r.w))
        figures.push({
          file, kind: "average", layer: r.layer, className: r.className,
          caption: `${r.layer} (${r.h}×${r.w}): Grad-CAM averaged over ${r.images} images${r.classIndex < 0 ? "" : ` of class ${r.className}`}; centre ratio ${r.centreRatio.toFixed(2)}`
        })
      }
      const channels = data.shape.length === 3 ? data.shape[2] : 1
      const size = DatasetArtifact.exampleSize(data)
      const scale = Math.max(1, Math.round(96 / Math.max(inputH, inputW)))
      for (let i = 0; i < Math.min(params.overlays, count); i++) {
        const img = data.images.subarray(sample[i] * size, (sample[i] + 1) * size)
        for (const [li, l] of layers.entries()) {
          const cam = GradCam.upsample(cams[li].subarray(i * l.h * l.w, (i + 1) * l.h * l.w), l.h, l.w, inputH, inputW)
          const file = `overlay-${l.name}-${i}.png`
          yield* writeFileAtomic(`${dir}/${file}`, Figures.overlayPng(img, inputH, inputW, channels, cam, scale))
          const label = data.classNames[data.labels[sample[i]]] ?? String(data.labels[sample[i]])
          const target = data.classNames[targets[i]] ?? String(targets[i])
          figures.push({
            file, kind: "overlay", layer: l.name, className: target, image: i,
            caption: `${l.name}: image #${data.sourceIndex[sample[i]]} (label ${label}, explained class ${target}): input, Grad-CAM, overlay`
          })
        }
      }

      // placement
      const panels = yield* placementPanels(params, ctx, spec, available)
      const summaries: Record<string, Record<string, Placement.MaskSummary & { readonly origin: string }>> = {}
      for (const [layer, list] of panels) {
        const all = rows.find((r) => r.layer === layer && r.classIndex < 0)
        const file = `placement-${layer}.png`
        yield* writeFileAtomic(`${dir}/${file}`, Figures.placementPng(all, list.map((p) => p.mask)))
        summaries[layer] = Object.fromEntries(list.map((p) => [p.method, { ...Placement.summarize(p.mask), origin: p.mask.origin }]))
        const m0 = list[0].mask
        figures.push({
          file, kind: "placement", layer, methods: list.map((p) => p.method),
          caption: `${layer}: ${all ? "averaged Grad-CAM, then " : ""}where each method puts the source weights in the ` +
            `[in ${m0.rows} × out ${m0.cols}] kernel grid grown from [${m0.sourceRows} × ${m0.sourceCols}] ` +
            `(${list.map((p) => `${p.method}${p.mask.origin === "rule" ? " (layout rule)" : ""}: ${(Placement.summarize(p.mask).centreCopied * 100).toFixed(0)}% of the centre box`).join("; ")}). ` +
            `Green: source weights, blue: the source's central weights, grey: none; red box: the central half of the grid.`
        })
      }
      yield* writeJsonAtomic(`${dir}/${GradcamArtifact.FIGURE_INDEX}`, { figures } satisfies GradcamArtifact.FigureIndex)
      ctx.record("images", count)
      ctx.record("layers", layers.map((l) => l.name))
      ctx.record("centreRatio", Object.fromEntries(rows.filter((r) => r.classIndex < 0).map((r) => [r.layer, r.centreRatio])))
      if (panels.size > 0) ctx.record("placement", summaries)
    })
})

/** Placement masks per layer name, from expanded artifacts (detected against `source`, else by rule) or method names. */
const placementPanels = (
  params: Params,
  ctx: Stage.StageContext,
  spec: ModelArtifact.Model["spec"],
  convs: ReadonlyArray<GradCam.ConvLayer>
) =>
  Effect.gen(function*() {
    const out = new Map<string, Array<PlacementPanel>>()
    const add = (layer: string, p: PlacementPanel) => out.set(layer, [...(out.get(layer) ?? []), p])
    const multiplier = params.placement?.multiplier ?? 2
    const ruleFor = (method: string, layers: ReadonlyArray<GradCam.ConvLayer>, inputChannels: ReadonlyArray<number>) => {
      layers.forEach((l, k) => {
        const rows = inputChannels[k]
        const sourceRows = k === 0 ? rows : rows / multiplier
        const sourceCols = l.channels / multiplier
        if (!Number.isInteger(sourceRows) || !Number.isInteger(sourceCols)) return
        const mask = Placement.ruleMask(method, { rows, cols: l.channels }, { rows: sourceRows, cols: sourceCols })
        if (mask && k > 0) add(l.name, { method, mask })
      })
    }
    const inputsOf = (s: ModelArtifact.Model["spec"]) => {
      const shapes = inferShapes(s)
      return GradCam.convLayers(s).map((l) => shapes[l.index].inputShape[2])
    }
    const expanded = [...ctx.inputs("expanded")]
    if (expanded.length > 0) {
      const sourcePath = ctx.optionalInput("source")
      const source = sourcePath ? yield* ModelArtifact.read(sourcePath) : undefined
      const seen = new Set<string>()
      const labelled = expanded.map((e) => ({ e, method: String(e.vars.method ?? e.stage) })).sort((a, b) => (a.method < b.method ? -1 : a.method > b.method ? 1 : 0))
      for (const { e, method: varMethod } of labelled) {
        const big = yield* ModelArtifact.read(e.path)
        const method = e.vars.method !== undefined ? varMethod : String(big.info.method ?? varMethod)
        if (seen.has(method)) continue
        seen.add(method)
        if (!source) {
          ruleFor(method, GradCam.convLayers(big.spec), inputsOf(big.spec))
          continue
        }
        const small = ModelArtifact.weightMap(source)
        for (const l of GradCam.convLayers(big.spec)) {
          const kl = ModelArtifact.weightMap(big).get(`${l.name}/kernel`)
          const ks = small.get(`${l.name}/kernel`)
          if (!kl || !ks || kl.shape.join(",") === ks.shape.join(",")) continue
          const grid = { rows: kl.shape[2], cols: kl.shape[3] }
          const sgrid = { rows: ks.shape[2], cols: ks.shape[3] }
          let mask = Placement.detectMask(ks.values, ks.shape, kl.values, kl.shape)
          if (!mask.cells.some((v) => v > 0)) mask = Placement.ruleMask(method, grid, sgrid) ?? mask
          add(l.name, { method, mask })
        }
      }
    } else if (params.placement && params.placement.methods.length > 0) {
      for (const method of params.placement.methods) {
        if (!Placement.layoutOf(method)) {
          return yield* fail(ctx.stage, "no layout rule for this method name", { field: "params.placement.methods", expected: "a name containing symmetric | diagonal | envelope | net2net | scratch", actual: method })
        }
        ruleFor(method, convs, inputsOf(spec))
      }
    }
    return out
  })
