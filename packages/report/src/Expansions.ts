/**
 * What the report takes from expansion artifacts (`expansion.arrow`, written by @growlab/expand and
 * @growlab/net2net): per-layer operators and SNR, the measured function preservation (max |Δlogits|) and the weight
 * heatmaps in the artifact's `figures/` folder. Read tolerantly: a missing optional column or summary field is
 * reported as unknown, not as an error, so the report keeps working while the expansion format grows.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { expectKind, readTable } from "@growlab/core/ArtifactStore"
import type { InputArtifact } from "@growlab/core/Stage"
import type { Table } from "apache-arrow"
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

const column = (t: Table, name: string): Array<unknown> | undefined => {
  const v = t.getChild(name)
  return v ? Array.from({ length: v.length }, (_, i) => v.get(i) as unknown) : undefined
}

const num = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v))

const dig = (o: unknown, ...keys: Array<string>): unknown =>
  keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o)

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
    const t = yield* readTable(a.path)
    yield* expectKind(a.path, t, "expansion")
    const summary = (() => {
      try { return JSON.parse(t.schema.metadata.get("growlab.summary") ?? "{}") as unknown } catch { return {} }
    })()
    const layerNames = column(t, "layer") ?? []
    const operator = column(t, "operator")
    const growth = column(t, "growth")
    const inM = column(t, "in_multiplier")
    const outM = column(t, "out_multiplier")
    const snr = column(t, "snr_db")
    const signal = column(t, "signal_energy")
    const noise = column(t, "noise_energy")
    const layers: Array<LayerRow> = layerNames.map((l, i) => ({
      layer: String(l), operator: String(operator?.[i] ?? "?"), growth: String(growth?.[i] ?? "?"),
      inMultiplier: num(inM?.[i]), outMultiplier: num(outM?.[i]), snrDb: num(snr?.[i])
    }))
    let s = 0
    let n = 0
    layerNames.forEach((_, i) => {
      const si = num(signal?.[i])
      const ni = num(noise?.[i])
      if (si !== null && ni !== null && ni > 0) { s += si; n += ni }
    })
    const snrs = layers.map((l) => l.snrDb).filter((v): v is number => v !== null)
    const snrDb = n > 0 ? 10 * Math.log10(s / n) : snrs.length > 0 ? snrs.reduce((a, b) => a + b, 0) / snrs.length : null
    const method = String(a.vars.method ?? t.schema.metadata.get("growlab.method") ?? dig(summary, "method") ?? a.stage)
    const preserved = dig(summary, "preserved")
    return {
      path: a.path, stage: a.stage, vars: a.vars, method, layers, snrDb,
      maxAbsDeltaLogitsRandom: num(dig(summary, "random", "maxAbsDiff")),
      maxAbsDeltaLogitsReal: num(dig(summary, "real", "maxAbsDiff")),
      preserved: typeof preserved === "boolean" ? preserved : null,
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
