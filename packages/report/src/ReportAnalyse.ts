/**
 * The report's second step, analyse: from what was loaded, the methods (runs grouped by everything but the repeat
 * var), their statistics, the references, and every table (claims, performance, significance, twins, time, epochs to
 * match, compute, time to target, expansions, curves, Grad-CAM). Pure: it reads no file and draws nothing; it fails
 * only for params that select nothing (a reference, a claim) or runs without their single source.
 */
import * as Effect from "effect/Effect"
import { StageFailure } from "@growlab/core/Errors"
import * as Accounting from "./Accounting.js"
import * as Analysis from "./Analysis.js"
import * as Claims from "./Claims.js"
import type * as Charts from "./Charts.js"
import type * as DataTable from "./DataTable.js"
import * as Families from "./Families.js"
import * as Panels from "./Panels.js"
import type { Loaded } from "./ReportLoad.js"
import type { Params } from "./ReportParams.js"
import * as Runs from "./Runs.js"
import * as Twins from "./Twins.js"

/** One artifact's label from its vars: the first named (string) var as its bare value, then `k=v` for the others. */
export const labelOfVars = (vars: Runs.Vars, fallback: string): string => {
  const keys = Object.keys(vars).sort((a, b) => Number(typeof vars[b] === "string") - Number(typeof vars[a] === "string") || a.localeCompare(b))
  if (keys.length === 0) return fallback
  return keys.map((k, i) => (i === 0 && typeof vars[k] === "string" ? String(vars[k]) : `${k}=${String(vars[k])}`)).join(", ")
}

/** One accuracy-against-compute chart: a target's methods (and the ones without a target, like the small model). */
export interface CostPanel {
  readonly title: string
  readonly id: string
  readonly vars: Panels.Panel<unknown>["vars"]
  readonly points: ReadonlyArray<Charts.CostPoint>
  readonly curves: ReadonlyArray<Charts.CostCurve>
}

export interface Analysed {
  /** The methods, identical methods (twins) counted once under a label that names them all. */
  readonly groups: ReadonlyArray<Runs.Group>
  readonly stats: ReadonlyArray<Analysis.MethodStats>
  /** Every method's colour (by family), for every chart. */
  readonly palette: Families.Palette
  /** Accuracy against training FLOPs, one panel per `matchOn` combination; empty when the runs record no FLOPs. */
  readonly costPanels: ReadonlyArray<CostPanel>
  readonly referenceGroups: ReadonlyArray<Runs.Group>
  readonly referenceRunsOf: (g: Runs.Group) => Analysis.ReferenceRuns
  readonly matches: ReadonlyArray<Analysis.Match>
  readonly tables: {
    /** Every claim with every number (written as CSV and Arrow). */
    readonly claims?: DataTable.DataTable
    /** The claims that compare two selections, and those that set a published figure beside ours, as shown. */
    readonly claimComparisons?: DataTable.DataTable
    readonly claimFigures?: DataTable.DataTable
    readonly performance: DataTable.DataTable
    readonly significance: DataTable.DataTable
    readonly twins?: DataTable.DataTable
    readonly time: DataTable.DataTable
    readonly match?: DataTable.DataTable
    readonly compute: DataTable.DataTable
    readonly timeToTarget?: DataTable.DataTable
    readonly expansion?: DataTable.DataTable
    readonly curves: DataTable.DataTable
    readonly gradcam?: DataTable.DataTable
    /** Every run's own numbers. */
    readonly runs: DataTable.DataTable
  }
  /** The line under the title: runs, methods, repeats, references, sources. */
  readonly meta: string
  /** One sentence counting the claims' verdicts (undefined without claims). */
  readonly claimsTally: string | undefined
}

const fail = (stage: string, reason: string, field: string, expected: string, actual: string) =>
  Effect.fail(new StageFailure({ stage, reason, field, expected, actual }))

const gradcamTable = (loaded: Loaded): DataTable.DataTable | undefined =>
  loaded.gradcam.length === 0 ? undefined : {
    name: "gradcam",
    title: "Grad-CAM",
    caption: "Centre ratio: mean importance in the central half (rows and columns) of a layer's map over its mean; 1 = uniform, above 1 = the centre matters more.",
    columns: [
      { key: "model", title: "Model", format: "text" }, { key: "layer", title: "Layer", format: "text" },
      { key: "class", title: "Class", format: "text" }, { key: "size", title: "Map size", format: "text" },
      { key: "images", title: "Images", format: "int" }, { key: "centre_ratio", title: "Centre ratio", format: "fixed2" }
    ],
    rows: loaded.gradcam.flatMap(({ input, gradcam }) => gradcam.rows.map((r) => ({
      model: labelOfVars(input.vars, Runs.baseStage(input.stage) || "model"), layer: r.layer, class: r.className, size: `${r.h}×${r.w}`,
      images: r.images, centre_ratio: r.centreRatio
    })))
  }

export const analyse = (params: Params, loaded: Loaded, stage: string) =>
  Effect.gen(function*() {
    const { runs, reference: referenceInput, sources: sourceRuns } = loaded
    const allGroups = Runs.group(runs, params.repeatVar)

    // the reference: a separate input, or the runs the `reference` param names
    const ref = params.reference
    const isReference = (g: Runs.Group) => ref !== undefined && g.vars[ref.var] !== undefined && String(g.vars[ref.var]) === String(ref.value)
    // identical methods (twins) are one method from here on: one row, one test, one line naming them all
    const twinList = Twins.find(allGroups, params.repeatVar)
    const groups = Twins.collapse(allGroups, twinList, isReference)
    if (ref && !groups.some(isReference)) {
      const seen = [...new Set(runs.map((r) => r.vars[ref.var]).filter((v) => v !== undefined).map(String))]
      return yield* fail(stage, "no run matches the reference", `params.reference (vars.${ref.var})`, seen.join(" | ") || `runs with a '${ref.var}' var`, String(ref.value))
    }
    const referenceGroups = Runs.group(referenceInput, params.repeatVar)
    const referenceRunsOf = (g: Runs.Group): Analysis.ReferenceRuns => {
      const epochs = Runs.epochsOf(g)
      return { label: `${g.label} (${epochs} epoch${epochs === 1 ? "" : "s"})`, runs: g.runs }
    }
    /** The separate references of a method: those agreeing with it on `matchOn`. */
    const separateFor = (vars: Runs.Vars) => referenceGroups.filter((g) => Accounting.agreeOn(g.vars, vars, params.matchOn))
    const referenceLabel = referenceGroups.map((g) => referenceRunsOf(g).label).join("; ")
    const expansions = loaded.expansions
    const stats = Analysis.sortMethods(Analysis.analyze(groups, { level: params.level, isReference, expansions }), params.sortBy)

    // each method's reference trained alongside: the reference group of the same configuration (every shared var but
    // the reference var agrees), else one agreeing on `matchOn`
    const referenceStats = stats.filter((m) => m.isReference)
    const inRunReferenceOf = (m: Analysis.MethodStats): Analysis.MethodStats | undefined => {
      if (m.isReference) return m
      const others = (r: Analysis.MethodStats) => Object.keys(r.group.vars).filter((k) => k !== ref?.var && k in m.group.vars)
      return referenceStats.find((r) => others(r).every((k) => String(r.group.vars[k]) === String(m.group.vars[k]))) ??
        referenceStats.find((r) => Accounting.agreeOn(r.group.vars, m.group.vars, params.matchOn))
    }

    const performance = Analysis.performanceTable(stats, params.level, params.sortBy)
    const time = Analysis.timeTable(stats, inRunReferenceOf)
    // significance: against the reference trained alongside when there is one, else the separate references, epoch-matched
    const testReferencesOf = (m: Analysis.MethodStats): ReadonlyArray<Analysis.ReferenceRuns> => {
      const inRun = inRunReferenceOf(m)
      return inRun ? [{ label: inRun.group.label, runs: inRun.group.runs }] : separateFor(m.group.vars).map(referenceRunsOf)
    }
    const testOptions = { level: params.level, alpha: params.alpha, correction: params.correction, bootstrap: params.bootstrap }
    const significance = Analysis.significanceTable(stats, testReferencesOf, testOptions)
    const twins = twinList.length > 0 ? Twins.table(twinList, params.repeatVar) : undefined
    const matches = Analysis.scratchMatch(stats, (m) => separateFor(m.group.vars).map(referenceRunsOf))
    const match = matches.length > 0 ? Analysis.matchTable(matches) : undefined

    // compute accounting: every method, the separate references and the source (small) models
    const costs = new Map<Runs.Run, Accounting.RunCost>()
    for (const r of [...runs, ...referenceInput, ...sourceRuns]) {
      const source = Accounting.sourceOf(r, sourceRuns)
      if (source && "error" in source) {
        return yield* fail(stage, "a grown or distilled run has no single source run", "inputs.sources", `one source run whose vars agree with ${r.stage}`, source.error)
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

    // colours by family for every method any chart draws: the runs, the separate references, the source models
    const referenceLabels = new Set([...groups.filter(isReference), ...referenceGroups].map((g) => g.label))
    const palette = Families.palette(accountedGroups.map((g) => g.label), (l) => referenceLabels.has(l), params.families)

    // accuracy against compute, per target: every accounted method a point, every reference a line through its epochs
    const costPanels: Array<CostPanel> = Panels.split(accountedGroups, (g) => g.vars, (g) => g.key, params.matchOn).map((p) => ({
      title: p.title, id: p.id, vars: p.vars,
      points: p.items.map((g) => Accounting.costPoint(g, costs, params.level)),
      curves: p.items.filter((g) => referenceLabels.has(g.label)).map((g) => Accounting.costCurve(g, costs))
    })).filter((p) => p.points.some((x) => x.flops > 0))
    const sourcePaths = new Set(sourceRuns.map((r) => r.path))
    const targetsFor = (g: Runs.Group) => separateFor(g.vars).map(Accounting.targetOf)
    const timeToTarget = referenceGroups.length > 0
      ? Accounting.timeToTargetTable(accountedGroups.filter((g) => !g.runs.every((r) => sourcePaths.has(r.path))), costs, targetsFor)
      : undefined

    // claims of a published study
    const pool = [...runs, ...referenceInput.filter((r) => !inRuns.has(r.path)), ...sourceRuns.filter((r) => !inRuns.has(r.path))]
    const evaluated: Array<Claims.Evaluated> = []
    for (const [i, claim] of params.claims.entries()) {
      const a = Claims.select(pool, claim.select, params.repeatVar, claim.stage)
      if ("error" in a) return yield* fail(stage, `claim ${i + 1} selects no single method`, `params.claims.${i}.select`, `the runs of one method with ${JSON.stringify(claim.select)}`, a.error)
      let versusRuns: ReadonlyArray<Runs.Run> | undefined
      if (claim.versus) {
        const b = Claims.select(pool, claim.versus.select, params.repeatVar, claim.versus.stage)
        if ("error" in b) return yield* fail(stage, `claim ${i + 1} compares with no single method`, `params.claims.${i}.versus.select`, `the runs of one method with ${JSON.stringify(claim.versus.select)}`, b.error)
        versusRuns = b.runs
      }
      evaluated.push(Claims.evaluate(claim, a.runs, versusRuns, { level: params.level, bootstrap: params.bootstrap, stream: i }))
    }

    const checked = Claims.judge(evaluated, testOptions)

    const seeds = groups.map((g) => g.runs.length)
    const meta = `${runs.length} run${runs.length === 1 ? "" : "s"} of ${groups.length} method${groups.length === 1 ? "" : "s"}` +
      (Math.max(...seeds) > 1
        ? ` (${Math.min(...seeds) === Math.max(...seeds) ? Math.max(...seeds) : `${Math.min(...seeds)}–${Math.max(...seeds)}`} runs each, repeats differ in '${params.repeatVar}')`
        : "") +
      (ref ? `; reference${groups.filter(isReference).length === 1 ? "" : "s"}: ${groups.filter(isReference).map((g) => g.label).join("; ")}` : "") +
      (referenceInput.length > 0 ? `; ${ref ? "separate references" : "references"}: ${referenceLabel}` : "") +
      (sourceRuns.length > 0 ? `; grown from ${sourceRuns.length} source run${sourceRuns.length === 1 ? "" : "s"}` : "") +
      (twinList.length > 0 ? `; ${twinList.length} set${twinList.length === 1 ? "" : "s"} of identical methods counted once` : "") + "."

    return {
      groups, stats, palette, costPanels, referenceGroups, referenceRunsOf, matches,
      tables: {
        claims: checked.length > 0 ? Claims.claimsTable(checked, params.level, params.correction) : undefined,
        claimComparisons: checked.some((c) => c.comparison) ? Claims.comparisonsView(checked, testOptions) : undefined,
        claimFigures: checked.some((c) => !c.comparison) ? Claims.figuresView(checked, params.level) : undefined,
        performance, significance, twins, time, match, compute, timeToTarget,
        expansion: expansions.length > 0 ? Analysis.expansionTable(expansions) : undefined,
        curves: Analysis.curvesTable(stats),
        gradcam: gradcamTable(loaded),
        runs: Analysis.runsTable(stats, params.repeatVar)
      },
      meta,
      claimsTally: checked.length > 0 ? Claims.tally(checked, testOptions) : undefined
    } satisfies Analysed
  })
