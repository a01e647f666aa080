/**
 * The report's first step, load: every artifact bound to its inputs — the runs' metrics, the separate references,
 * the source runs, the expansion tables with the weight heatmaps the params ask to embed, the Grad-CAM maps with
 * their placement and overlay figures — read once, so that analysing and rendering read no file.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { StageFailure } from "@growlab/core/Errors"
import type { InputArtifact, StageContext } from "@growlab/core/Stage"
import * as GradcamArtifact from "@growlab/gradcam/GradcamArtifact"
import * as Expansions from "./Expansions.js"
import type { Params } from "./ReportParams.js"
import * as Runs from "./Runs.js"

/** A PNG to embed, with what the artifact says about it. */
export interface Png<A> {
  readonly about: A
  readonly png: Uint8Array
}

/** An expansion whose heatmaps are embedded: its index among the expansions and the chosen PNGs (never empty). */
export interface ShownExpansion {
  readonly index: number
  readonly expansion: Expansions.Expansion
  readonly figures: ReadonlyArray<Png<Expansions.WeightFigure>>
}

export interface GradcamInput {
  readonly input: InputArtifact
  readonly gradcam: GradcamArtifact.Gradcam
  /** Placement figures, then the overlays of the first `gradcamOverlays` images (every PNG when there is no index). */
  readonly figures: ReadonlyArray<Png<{ readonly file: string; readonly caption: string }>>
}

export interface Loaded {
  readonly runs: ReadonlyArray<Runs.Run>
  readonly reference: ReadonlyArray<Runs.Run>
  readonly sources: ReadonlyArray<Runs.Run>
  readonly expansions: ReadonlyArray<Expansions.Expansion>
  /** How many expansions the `weightFigureRepeats` choice shows (before dropping those without a chosen figure). */
  readonly shownCount: number
  readonly shown: ReadonlyArray<ShownExpansion>
  readonly gradcam: ReadonlyArray<GradcamInput>
}

const captionOf = (file: string): string => file.replace(/^.*\//, "").replace(/\.png$/i, "").replace(/[-_]+/g, " ")

const readPng = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(file))

/** The heatmaps `weightFigures` picks of an expansion. */
const chosenFigures = (params: Params, e: Expansions.Expansion, basename: (f: string) => string): ReadonlyArray<Expansions.WeightFigure> =>
  params.weightFigures === "none" ? []
    : params.weightFigures === "after" ? e.figures.filter((f) => f.what === "after" || (f.what === undefined && /after/i.test(basename(f.file))))
    : e.figures

/** A Grad-CAM artifact's figure index (index.json), or undefined when it is absent or does not decode. */
const figureIndex = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, GradcamArtifact.FIGURE_INDEX)
    if (!(yield* fs.exists(file))) return undefined
    return yield* fs.readFileString(file).pipe(
      Effect.flatMap((text) => Effect.try(() => JSON.parse(text) as unknown)),
      Effect.flatMap(Schema.decodeUnknown(GradcamArtifact.FigureIndex)),
      Effect.orElseSucceed(() => undefined))
  })

const loadGradcam = (params: Params, input: InputArtifact) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const gradcam = yield* GradcamArtifact.read(input.path)
    const dir = path.join(path.dirname(input.path), "figures")
    const index = yield* figureIndex(dir)
    const entries = index
      ? [...index.figures.filter((f) => f.kind === "placement"), ...index.figures.filter((f) => f.kind === "overlay" && (f.image ?? 0) < params.gradcamOverlays)]
      : (yield* Expansions.pngsIn(dir)).map((f) => ({ file: path.basename(f), caption: captionOf(f) }))
    const figures = yield* Effect.forEach(entries, (f) =>
      Effect.map(readPng(path.join(dir, f.file)), (png) => ({ about: { file: f.file, caption: f.caption }, png })))
    return { input, gradcam, figures } satisfies GradcamInput
  })

export const load = (params: Params, ctx: StageContext) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const runInputs = ctx.inputs("runs")
    if (runInputs.length === 0) {
      return yield* Effect.fail(new StageFailure({ stage: ctx.stage, reason: "no runs to report", field: "inputs.runs", expected: "at least one metrics artifact", actual: "none" }))
    }
    const runs = yield* Runs.load(runInputs)
    const reference = yield* Runs.load(ctx.inputs("reference"))
    const sources = yield* Runs.load(ctx.inputs("sources"))
    const expansions = yield* Effect.forEach(ctx.inputs("expansions"), Expansions.read)
    const showing = new Set(params.weightFigureRepeats === "first" ? Expansions.firstRepeats(expansions, params.repeatVar) : expansions)
    const shown: Array<ShownExpansion> = []
    for (const [index, expansion] of expansions.entries()) {
      if (!showing.has(expansion)) continue
      const chosen = chosenFigures(params, expansion, (f) => path.basename(f))
      if (chosen.length === 0) continue
      const figures = yield* Effect.forEach(chosen, (f) => Effect.map(readPng(f.file), (png) => ({ about: f, png })))
      shown.push({ index, expansion, figures })
    }
    const gradcam = yield* Effect.forEach(ctx.inputs("gradcam"), (a) => loadGradcam(params, a))
    return { runs, reference, sources, expansions, shownCount: showing.size, shown, gradcam } satisfies Loaded
  })
