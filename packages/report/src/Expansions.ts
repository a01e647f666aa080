/**
 * What the report takes from expansion artifacts (`expansion.arrow`, @growlab/core/ExpansionArtifact, written by every
 * growth stage): per-layer operators and SNR, the measured function preservation (max |Δlogits|) and the weight
 * heatmaps in the artifact's `figures/` folder. Read with the core's tolerant reader: a missing column or summary
 * field is reported as unknown, not as an error, so the report keeps working while the expansion format grows.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as ExpansionArtifact from "@growlab/core/ExpansionArtifact"
import type { InputArtifact } from "@growlab/core/Stage"
import * as Runs from "./Runs.js"

export interface LayerRow {
  readonly layer: string
  readonly operator: string
  readonly growth: string
  readonly inMultiplier: number | null
  readonly outMultiplier: number | null
  readonly snrDb: number | null
}

export interface Expansion {
  readonly path: string
  readonly stage: string
  readonly vars: InputArtifact["vars"]
  readonly method: string
  readonly layers: ReadonlyArray<LayerRow>
  /** Signal-to-noise ratio of the added noise over all noisy layers (from the energies, else the mean of snr_db). */
  readonly snrDb: number | null
  readonly maxAbsDeltaLogitsRandom: number | null
  readonly maxAbsDeltaLogitsReal: number | null
  readonly preserved: boolean | null
  /** The PNGs of the artifact's figures folder, in the order of its index.json when there is one, else by name. */
  readonly figures: ReadonlyArray<WeightFigure>
}

export interface WeightFigure {
  /** Absolute path. */
  readonly file: string
  readonly caption: string
  /** "before" | "after" | "quarter-diff" when the index says so. */
  readonly what?: string
}

const num = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v))

/** PNG files in `dir` (sorted by name); none when the folder is absent. */
export const pngsIn = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (!(yield* fs.exists(dir))) return [] as Array<string>
    const names = yield* fs.readDirectory(dir)
    return names.filter((n) => n.toLowerCase().endsWith(".png")).sort().map((n) => path.join(dir, n))
  }).pipe(Effect.orElseSucceed(() => [] as Array<string>))

/**
 * The figures of an expansion's `figures/` folder. @growlab/expand writes `index.json`, an array of
 * `{ file, layer, what, shape, scale }`; without it (or when it does not parse) every PNG is listed by name.
 */
export const figuresIn = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const pngs = yield* pngsIn(dir)
    const indexFile = path.join(dir, "index.json")
    const parsed = (yield* fs.exists(indexFile))
      ? yield* fs.readFileString(indexFile).pipe(Effect.map((t) => JSON.parse(t) as unknown), Effect.orElseSucceed(() => undefined))
      : undefined
    const entries = Array.isArray(parsed) ? parsed.filter((e): e is Record<string, unknown> => !!e && typeof e === "object" && typeof (e as Record<string, unknown>).file === "string") : []
    const listed = entries
      .map((e) => ({ e, file: path.join(dir, String(e.file)) }))
      .filter(({ file }) => pngs.includes(file))
      .map(({ e, file }): WeightFigure => {
        const shape = Array.isArray(e.shape) ? ` [${e.shape.join(", ")}]` : ""
        const scale = typeof e.scale === "number" ? `, full colour at ±${e.scale.toPrecision(3)}` : ""
        return {
          file,
          caption: `${String(e.layer ?? path.basename(file, ".png"))} ${String(e.what ?? "")}${shape}${scale}`.replace(/\s+/g, " ").trim(),
          ...(typeof e.what === "string" ? { what: e.what } : {})
        }
      })
    const rest = pngs.filter((f) => !listed.some((l) => l.file === f)).map((file): WeightFigure => ({ file, caption: path.basename(file, ".png") }))
    return [...listed, ...rest]
  })

export const read = (a: InputArtifact) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const t = yield* ExpansionArtifact.readPartial(a.path)
    const rows = t.layers.filter((l) => l.layer !== undefined)
    const layers: Array<LayerRow> = rows.map((l) => ({
      layer: String(l.layer), operator: String(l.operator ?? "?"), growth: String(l.growth ?? "?"),
      inMultiplier: num(l.inMultiplier), outMultiplier: num(l.outMultiplier), snrDb: num(l.snrDb)
    }))
    let s = 0
    let n = 0
    for (const l of rows) {
      const si = num(l.signalEnergy)
      const ni = num(l.noiseEnergy)
      if (si !== null && ni !== null && ni > 0) { s += si; n += ni }
    }
    const snrs = layers.map((l) => l.snrDb).filter((v): v is number => v !== null)
    const snrDb = n > 0 ? 10 * Math.log10(s / n) : snrs.length > 0 ? snrs.reduce((x, y) => x + y, 0) / snrs.length : null
    const method = String(a.vars.method ?? t.method ?? t.summary.method ?? a.stage)
    return {
      path: a.path, stage: a.stage, vars: a.vars, method, layers, snrDb,
      maxAbsDeltaLogitsRandom: num(t.summary.random?.maxAbsDiff),
      maxAbsDeltaLogitsReal: num(t.summary.real?.maxAbsDiff),
      preserved: t.summary.preserved ?? null,
      figures: yield* figuresIn(path.join(path.dirname(a.path), "figures"))
    } satisfies Expansion
  })

/**
 * Of each method's repeats (expansions whose vars differ only in `repeatVar`), the first: the one with the lowest
 * value of `repeatVar` (those without it count as their own method). Order of first appearance is kept.
 */
export const firstRepeats = (expansions: ReadonlyArray<Expansion>, repeatVar: string): ReadonlyArray<Expansion> => {
  const first = new Map<string, Expansion>()
  for (const e of expansions) {
    const key = Runs.keyOf(Runs.methodVars(e.vars, repeatVar)) || e.stage
    const seen = first.get(key)
    const value = e.vars[repeatVar]
    if (!seen || (value !== undefined && (seen.vars[repeatVar] === undefined || Runs.compare(value, seen.vars[repeatVar]) < 0))) first.set(key, e)
  }
  const chosen = new Set(first.values())
  return expansions.filter((e) => chosen.has(e))
}
