/**
 * The `report` stage kind: reads the metrics of many runs (and optionally expansion and Grad-CAM artifacts and a
 * separate reference) and writes a self-contained HTML report, a Markdown summary and every table as CSV and Arrow,
 * regenerating the original study's evidence: tables sorted by validation accuracy, curves with mean ± std bands,
 * first-epoch accuracy, time per epoch, weight heatmaps, Grad-CAM maps, the scratch-epochs-to-match comparison,
 * and with repeated seeds, confidence intervals and Welch tests against the reference.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { tableToIPC } from "apache-arrow"
import { writeFileAtomic, writeTextAtomic } from "@growlab/core/ArtifactStore"
import { StageFailure } from "@growlab/core/Errors"
import { sha256 } from "@growlab/core/Hash"
import * as Stage from "@growlab/core/Stage"
import * as Stats from "@growlab/core/Stats"
import * as GradcamArtifact from "@growlab/gradcam/GradcamArtifact"
import * as Accounting from "./Accounting.js"
import * as Analysis from "./Analysis.js"
import * as Claims from "./Claims.js"
import * as Charts from "./Charts.js"
import * as DataTable from "./DataTable.js"
import * as Expansions from "./Expansions.js"
import * as Html from "./Html.js"
import * as Runs from "./Runs.js"
import * as Twins from "./Twins.js"

export const Params = Schema.Struct({
  title: Schema.optional(Schema.String),
  /** The var whose values are repeats of one method (runs differing only in it are averaged). */
  repeatVar: Schema.optionalWith(Schema.String, { default: () => "seed" }),
  /** Which runs are the reference (e.g. training from scratch): those whose `vars[var]` equals `value`. */
  reference: Schema.optional(Schema.Struct({ var: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })),
  /**
   * Vars a method and a separate reference (and a target of the time-to-target table) must agree on, e.g. ["target"]
   * to compare each grown model with the same architecture trained from scratch. Empty: every reference applies.
   */
  matchOn: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Statements of a published study to check against these runs (see Claims.ts). */
  claims: Schema.optionalWith(Schema.Array(Claims.Claim), { default: () => [] }),
  /** Confidence level of the intervals. */
  level: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0.5), Schema.lessThan(1)), { default: () => 0.95 }),
  /** Significance level of the Welch tests. */
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { default: () => 0.05 }),
  sortBy: Schema.optionalWith(Schema.Literal(...Analysis.SortKey), { default: () => "val_accuracy" as const }),
  /** Which weight heatmaps of the expansions to embed: all, only the expanded kernels ("after"), or none. */
  weightFigures: Schema.optionalWith(Schema.Literal("all", "after", "none"), { default: () => "all" as const }),
  /**
   * Of which repeats of a method to embed the weight heatmaps: "first" (the lowest `repeatVar` value; its repeats differ
   * only in their seeds) or "all". Either way a heatmap identical to one already embedded (the small model's weights
   * before expansion, shared by every method grown from it) is embedded once.
   */
  weightFigureRepeats: Schema.optionalWith(Schema.Literal("first", "all"), { default: () => "first" as const }),
  /**
   * Vars to draw the learning curves apart by: one set of curves per combination of their values (a method without
   * one of these vars appears in every set), so a report of many methods keeps each chart readable. Empty: one set.
   */
  curvesBy: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Of how many images to embed the Grad-CAM overlays (every layer's) per Grad-CAM artifact. */
  gradcamOverlays: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 2 })
})
export type Params = typeof Params.Type

const fail = (stage: string, reason: string, extra: { field?: string; expected?: string; actual?: string } = {}) =>
  new StageFailure({ stage, reason, ...extra })

const readPng = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(file))

const captionOf = (file: string): string => file.replace(/^.*\//, "").replace(/\.png$/i, "").replace(/[-_]+/g, " ")

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

/** One artifact's label from its vars: the first named (string) var as its bare value, then `k=v` for the others. */
const labelOfVars = (vars: Runs.Vars, fallback: string): string => {
  const keys = Object.keys(vars).sort((a, b) => Number(typeof vars[b] === "string") - Number(typeof vars[a] === "string") || a.localeCompare(b))
  if (keys.length === 0) return fallback
  return keys.map((k, i) => (i === 0 && typeof vars[k] === "string" ? String(vars[k]) : `${k}=${String(vars[k])}`)).join(", ")
}

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
      const runInputs = ctx.inputs("runs")
      if (runInputs.length === 0) return yield* fail(ctx.stage, "no runs to report", { field: "inputs.runs", expected: "at least one metrics artifact", actual: "none" })
      const runs = yield* Runs.load(runInputs)
      const groups = Runs.group(runs, params.repeatVar)

      // the reference: a separate input, or the runs the `reference` param names
      const ref = params.reference
      const isReference = (g: Runs.Group) => ref !== undefined && g.vars[ref.var] !== undefined && String(g.vars[ref.var]) === String(ref.value)
      if (ref && !groups.some(isReference)) {
        const seen = [...new Set(runs.map((r) => r.vars[ref.var]).filter((v) => v !== undefined).map(String))]
        return yield* fail(ctx.stage, "no run matches the reference", { field: `params.reference (vars.${ref.var})`, expected: seen.join(" | ") || `runs with a '${ref.var}' var`, actual: String(ref.value) })
      }
      const referenceInput = yield* Runs.load(ctx.inputs("reference"))
      const referenceGroups = Runs.group(referenceInput, params.repeatVar)
      const referenceRunsOf = (g: Runs.Group): Analysis.ReferenceRuns => {
        const epochs = Runs.epochsOf(g)
        return { label: `${g.label} (${epochs} epoch${epochs === 1 ? "" : "s"})`, runs: g.runs }
      }
      /** The separate references of a method: those agreeing with it on `matchOn`. */
      const separateFor = (vars: Runs.Vars) => referenceGroups.filter((g) => Accounting.agreeOn(g.vars, vars, params.matchOn))
      const referenceLabel = referenceGroups.map((g) => referenceRunsOf(g).label).join("; ")
      const expansions = yield* Effect.forEach(ctx.inputs("expansions"), Expansions.read)
      const stats = Analysis.sortMethods(Analysis.analyze(groups, { level: params.level, isReference, expansions }), params.sortBy)
      const methods = [...groups.map((g) => g.label)].sort()

      // each method's reference trained alongside: the reference group of the same configuration (every shared var but
      // the reference var agrees), else one agreeing on `matchOn`
      const referenceStats = stats.filter((m) => m.isReference)
      const inRunReferenceOf = (m: Analysis.MethodStats): Analysis.MethodStats | undefined => {
        if (m.isReference) return m
        const others = (r: Analysis.MethodStats) => Object.keys(r.group.vars).filter((k) => k !== ref?.var && k in m.group.vars)
        return referenceStats.find((r) => others(r).every((k) => String(r.group.vars[k]) === String(m.group.vars[k]))) ??
          referenceStats.find((r) => Accounting.agreeOn(r.group.vars, m.group.vars, params.matchOn))
      }

      // tables
      const performance = Analysis.performanceTable(stats, params.level, params.sortBy)
      const time = Analysis.timeTable(stats, inRunReferenceOf)
      // significance: against the reference trained alongside when there is one, else the separate references, epoch-matched
      const testReferencesOf = (m: Analysis.MethodStats): ReadonlyArray<Analysis.ReferenceRuns> => {
        const inRun = inRunReferenceOf(m)
        return inRun ? [{ label: inRun.group.label, runs: inRun.group.runs }] : separateFor(m.group.vars).map(referenceRunsOf)
      }
      const significance = Analysis.significanceTable(stats, testReferencesOf, params.alpha)
      const twinList = Twins.find(groups, params.repeatVar)
      const twins = twinList.length > 0 ? Twins.table(twinList, params.repeatVar) : undefined
      const matches = Analysis.scratchMatch(stats, (m) => separateFor(m.group.vars).map(referenceRunsOf))
      const match = matches.length > 0 ? Analysis.matchTable(matches) : undefined

      // compute accounting: every method, the separate references and the source (small) models
      const sourceRuns = yield* Runs.load(ctx.inputs("sources"))
      const costs = new Map<Runs.Run, Accounting.RunCost>()
      for (const r of [...runs, ...referenceInput, ...sourceRuns]) {
        const source = Accounting.sourceOf(r, sourceRuns)
        if (source && "error" in source) {
          return yield* fail(ctx.stage, "a grown or distilled run has no single source run", { field: "inputs.sources", expected: `one source run whose vars agree with ${r.stage}`, actual: source.error })
        }
        costs.set(r, Accounting.costOf(r, source))
      }
      const inRuns = new Set(runs.map((r) => r.path))
      const accountedGroups = [
        ...groups,
        ...referenceGroups.filter((g) => !g.runs.every((r) => inRuns.has(r.path))),
        ...Runs.group(sourceRuns.filter((r) => !inRuns.has(r.path)), params.repeatVar)
      ]
      const compute = Accounting.computeTable(accountedGroups, costs)
      const sourcePaths = new Set(sourceRuns.map((r) => r.path))
      const targetsFor = (g: Runs.Group) => separateFor(g.vars).map(Accounting.targetOf)
      const timeToTarget = referenceGroups.length > 0
        ? Accounting.timeToTargetTable(accountedGroups.filter((g) => !g.runs.every((r) => sourcePaths.has(r.path))), costs, targetsFor)
        : undefined

      // claims of a published study
      const pool = [...runs, ...referenceInput.filter((r) => !inRuns.has(r.path)), ...sourceRuns.filter((r) => !inRuns.has(r.path))]
      const checked: Array<Claims.Checked> = []
      for (const [i, claim] of params.claims.entries()) {
        const a = Claims.select(pool, claim.select, params.repeatVar, claim.stage)
        if ("error" in a) return yield* fail(ctx.stage, `claim ${i + 1} selects no single method`, { field: `params.claims.${i}.select`, expected: `the runs of one method with ${JSON.stringify(claim.select)}`, actual: a.error })
        let versusRuns: ReadonlyArray<Runs.Run> | undefined
        if (claim.versus) {
          const b = Claims.select(pool, claim.versus.select, params.repeatVar, claim.versus.stage)
          if ("error" in b) return yield* fail(ctx.stage, `claim ${i + 1} compares with no single method`, { field: `params.claims.${i}.versus.select`, expected: `the runs of one method with ${JSON.stringify(claim.versus.select)}`, actual: b.error })
          versusRuns = b.runs
        }
        checked.push(Claims.check(claim, a.runs, versusRuns, params.level, params.alpha))
      }
      const claims = checked.length > 0 ? Claims.claimsTable(checked, params.level) : undefined
      const expansion = expansions.length > 0 ? Analysis.expansionTable(expansions) : undefined
      const curves = Analysis.curvesTable(stats)

      // charts
      const anyRepeat = groups.some((g) => g.runs.length >= 2)
      const band = anyRepeat ? " (line: mean over runs; band: mean ± std)" : ""
      const figure = (id: string, caption: string, spec: Parameters<typeof Charts.renderSvg>[0]) =>
        Effect.map(Charts.renderSvg(spec), (svg): Html.Block => ({ _tag: "figure", figure: { id, caption, svg } }))
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

      const sections: Array<Html.Section> = []
      if (claims) sections.push({ id: "claims", title: "The study's claims", blocks: [{ _tag: "table", table: claims }] })
      sections.push({
        id: "performance",
        title: "Performance",
        blocks: [
          { _tag: "table", table: performance },
          ...(significance.rows.length > 0 ? [{ _tag: "table", table: significance } as Html.Block] : []),
          ...(twins ? [{ _tag: "table", table: twins } as Html.Block] : [])
        ]
      })
      sections.push({ id: "curves", title: "Learning curves", blocks: curveBlocks })
      sections.push({ id: "first-epoch", title: "First epoch", blocks: [firstEpoch] })
      sections.push({ id: "time", title: "Time per epoch", blocks: [{ _tag: "table", table: time }, timeBars] })
      if (match) {
        const charts: Array<Html.Block> = []
        for (const [i, g] of referenceGroups.entries()) {
          const label = referenceRunsOf(g).label
          const mine = matches.filter((m) => m.reference === label)
          if (mine.length === 0) continue
          charts.push(yield* figure(`scratch-match${i === 0 ? "" : `-${i + 1}`}`,
            `Mean validation accuracy of ${label} per epoch (line); dashed: the best validation accuracy of each method it is the reference of; ` +
            `dots: the reference epoch that first reaches it.`,
            Charts.scratchMatch(`Epochs of ${label} to match a grown model`, label, Analysis.referenceCurve(g.runs),
              mine.map((m) => ({ method: m.method, best: m.best, epochs: m.epochs, referenceEpochs: m.referenceEpochs })), methods)))
        }
        sections.push({ id: "scratch-match", title: "Reference epochs to match", blocks: [{ _tag: "table", table: match }, ...charts] })
      }
      sections.push({
        id: "compute", title: "Compute",
        blocks: [{ _tag: "table", table: compute }, ...(timeToTarget ? [{ _tag: "table", table: timeToTarget } as Html.Block] : [])]
      })

      // expansions: table and weight heatmaps
      if (expansion) {
        const blocks: Array<Html.Block> = [{ _tag: "table", table: expansion }]
        const shown = new Set(params.weightFigureRepeats === "first" ? Expansions.firstRepeats(expansions, params.repeatVar) : expansions)
        const embedded = new Map<string, string>()
        if (params.weightFigures !== "none" && shown.size < expansions.length) {
          blocks.push({ _tag: "paragraph", text: `Weight heatmaps of each method's first ${params.repeatVar} (${shown.size} of ${expansions.length} expansions): its other ${params.repeatVar}s grow their own small model the same way.` })
        }
        for (const [i, e] of expansions.entries()) {
          if (!shown.has(e)) continue
          const chosen = params.weightFigures === "none" ? [] : params.weightFigures === "after"
            ? e.figures.filter((f) => f.what === "after" || (f.what === undefined && /after/i.test(path.basename(f.file))))
            : e.figures
          if (chosen.length === 0) continue
          const label = labelOfVars(e.vars, e.method)
          const figs: Array<Html.Figure> = []
          /** Heatmaps not embedded again, by the expansion that shows them. */
          const again = new Map<string, Array<string>>()
          for (const f of chosen) {
            const png = yield* readPng(f.file)
            const digest = sha256(png)
            const first = embedded.get(digest)
            if (first !== undefined) {
              again.set(first, [...(again.get(first) ?? []), path.basename(f.file, ".png").replace(/[._]+/g, " ")])
              continue
            }
            embedded.set(digest, label)
            figs.push({ id: `expansion-${i}-${path.basename(f.file, ".png").replace(/[^A-Za-z0-9_-]+/g, "-")}`, caption: `${label}: ${f.caption}`, png })
          }
          const shownBefore = [...again.entries()].map(([by, names]) => ` Identical to the heatmaps of ${by} above: ${names.join(", ")}.`).join("")
          blocks.push({ _tag: "paragraph", text: `Weights after expansion: ${label}.${shownBefore}` })
          if (figs.length > 0) blocks.push({ _tag: "gallery", figures: figs })
        }
        sections.push({ id: "expansions", title: "Expansions", blocks })
      }

      // Grad-CAM: averaged maps as charts, centre ratios, placement figures and overlays
      const gradcamInputs = ctx.inputs("gradcam")
      const gradcamRows: Array<Record<string, DataTable.Cell>> = []
      let gradcamTable: DataTable.DataTable | undefined
      if (gradcamInputs.length > 0) {
        const blocks: Array<Html.Block> = []
        for (const [i, a] of gradcamInputs.entries()) {
          const g = yield* GradcamArtifact.read(a.path)
          const name = labelOfVars(a.vars, Runs.baseStage(a.stage) || "model")
          const all = g.rows.filter((r) => r.classIndex < 0)
          for (const r of g.rows) {
            gradcamRows.push({ model: name, layer: r.layer, class: r.className, size: `${r.h}×${r.w}`, images: r.images, centre_ratio: r.centreRatio })
          }
          blocks.push(yield* figure(`gradcam-${i}`,
            `${name}: Grad-CAM importance of each conv layer, averaged over ${all[0]?.images ?? 0} images (brighter = more important).`,
            Charts.heatmaps(`Grad-CAM: ${name}`, all.map((r) => ({ title: `${r.layer} (${r.h}×${r.w}), centre ${r.centreRatio.toFixed(2)}×`, h: r.h, w: r.w, map: r.map })))))
          const dir = path.join(path.dirname(a.path), "figures")
          const indexFile = path.join(dir, GradcamArtifact.FIGURE_INDEX)
          const index = (yield* fs.exists(indexFile))
            ? yield* fs.readFileString(indexFile).pipe(
              Effect.flatMap((text) => Effect.try(() => JSON.parse(text) as unknown)),
              Effect.flatMap(Schema.decodeUnknown(GradcamArtifact.FigureIndex)),
              Effect.orElseSucceed(() => undefined))
            : undefined
          const entries = index
            ? [...index.figures.filter((f) => f.kind === "placement"), ...index.figures.filter((f) => f.kind === "overlay" && (f.image ?? 0) < params.gradcamOverlays)]
            : (yield* Expansions.pngsIn(dir)).map((f) => ({ file: path.basename(f), caption: captionOf(f) }))
          const figs: Array<Html.Figure> = []
          for (const f of entries) {
            figs.push({ id: `gradcam-${i}-${path.basename(f.file, ".png")}`, caption: `${name}: ${f.caption}`, png: yield* readPng(path.join(dir, f.file)) })
          }
          if (figs.length > 0) blocks.push({ _tag: "gallery", figures: figs })
        }
        gradcamTable = {
          name: "gradcam",
          title: "Grad-CAM",
          caption: "Centre ratio: mean importance in the central half (rows and columns) of a layer's map over its mean; 1 = uniform, above 1 = the centre matters more.",
          columns: [
            { key: "model", title: "Model", format: "text" }, { key: "layer", title: "Layer", format: "text" },
            { key: "class", title: "Class", format: "text" }, { key: "size", title: "Map size", format: "text" },
            { key: "images", title: "Images", format: "int" }, { key: "centre_ratio", title: "Centre ratio", format: "fixed2" }
          ],
          rows: gradcamRows
        }
        sections.push({ id: "gradcam", title: "Grad-CAM", blocks: [{ _tag: "table", table: gradcamTable }, ...blocks] })
      }

      // outputs
      const title = params.title ?? `growlab report${ctx.pipeline ? `: ${ctx.pipeline}` : ""}`
      const seeds = groups.map((g) => g.runs.length)
      const meta = `${runs.length} run${runs.length === 1 ? "" : "s"} of ${groups.length} method${groups.length === 1 ? "" : "s"}` +
        (Math.max(...seeds) > 1
          ? ` (${Math.min(...seeds) === Math.max(...seeds) ? Math.max(...seeds) : `${Math.min(...seeds)}–${Math.max(...seeds)}`} runs each, repeats differ in '${params.repeatVar}')`
          : "") +
        (ref ? `; reference${groups.filter(isReference).length === 1 ? "" : "s"}: ${groups.filter(isReference).map((g) => g.label).join("; ")}` : "") +
        (referenceInput.length > 0 ? `; ${ref ? "separate references" : "references"}: ${referenceLabel}` : "") +
        (sourceRuns.length > 0 ? `; grown from ${sourceRuns.length} source run${sourceRuns.length === 1 ? "" : "s"}` : "") + "."
      const html = Html.render(title, meta, sections)
      yield* writeTextAtomic(ctx.output("report"), html)

      const tables = [claims, performance, time, significance.rows.length ? significance : undefined, twins, match, compute, timeToTarget, expansion, curves, gradcamTable]
        .filter((t): t is DataTable.DataTable => t !== undefined)
      const dir = ctx.output("tables")
      yield* fs.makeDirectory(dir, { recursive: true })
      for (const t of tables) {
        yield* writeTextAtomic(path.join(dir, `${t.name}.csv`), DataTable.toCsv(t))
        yield* writeFileAtomic(path.join(dir, `${t.name}.arrow`), tableToIPC(DataTable.toArrow(t), "file"))
      }

      const figures = Html.figuresOf(sections)
      const md = [
        `# ${title}`, "", meta, "",
        ...tables.filter((t) => t.name !== "curves").flatMap((t) => [`## ${t.title}`, "", t.caption, "", DataTable.toMarkdown(t), ""]),
        "## Figures", "", `In report.html: ${figures.map((f) => f.id).join(", ")}.`, ""
      ].join("\n")
      yield* writeTextAtomic(ctx.output("summary"), md)

      ctx.record("runs", runs.length)
      ctx.record("methods", groups.map((g) => g.label))
      ctx.record("figures", figures.length)
      ctx.record("tables", tables.map((t) => t.name))
      ctx.log(`report: ${runs.length} runs, ${groups.length} methods, ${figures.length} figures, ${tables.length} tables`)
    })
})
