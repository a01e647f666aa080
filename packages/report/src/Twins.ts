/**
 * Methods that are the same experiment under two names: every run of one repeats a run of the other with the same
 * repeat value (seed) epoch by epoch, to the last bit of training and validation loss and accuracy. Training is
 * deterministic here, so this happens exactly when two configurations hand the trainer the same network, for
 * example a diagonal expansion into a target where no layer grows on both axes (it falls back to symmetric). A reader
 * should count such a pair once: they are not independent evidence.
 */
import type { EpochMetrics } from "@growlab/core/MetricsArtifact"
import type * as DataTable from "./DataTable.js"
import { nameOf } from "./Families.js"
import type * as Runs from "./Runs.js"

/** Methods (two or more, by label) whose runs are identical, and the number of runs each has. */
export interface TwinSet {
  readonly methods: ReadonlyArray<string>
  readonly runs: number
}

/** What training computes in an epoch (seconds differ run to run, so they are not compared). */
const computed = (e: EpochMetrics): ReadonlyArray<number> =>
  [e.trainLoss, e.trainAccuracy, e.valLoss, e.valAccuracy]

const fingerprint = (g: Runs.Group, repeatVar: string): string =>
  [...g.runs]
    .map((r) => `${String(r.vars[repeatVar] ?? "")}:` +
      [...r.metrics.epochs].sort((a, b) => a.epoch - b.epoch).map((e) => [e.epoch, ...computed(e)].join(",")).join(";"))
    .sort()
    .join("|")

/** Every set of methods that repeat one another. */
export const find = (groups: ReadonlyArray<Runs.Group>, repeatVar: string): ReadonlyArray<TwinSet> => {
  const classes = new Map<string, Array<Runs.Group>>()
  for (const g of groups) {
    // only groups with finite metrics in every epoch: diverged runs (NaN losses, chance accuracy) all look alike
    // without being the same network
    const comparable = g.runs.length > 0 &&
      g.runs.every((r) => r.metrics.epochs.length > 0 && r.metrics.epochs.every((e) => computed(e).every(Number.isFinite)))
    if (!comparable) continue
    const key = fingerprint(g, repeatVar)
    classes.set(key, [...(classes.get(key) ?? []), g])
  }
  return [...classes.values()]
    .filter((c) => c.length > 1)
    .map((c): TwinSet => ({ methods: c.map((g) => g.label).sort((a, b) => a.localeCompare(b)), runs: c[0].runs.length }))
    .sort((a, b) => a.methods[0].localeCompare(b.methods[0]))
}

export const table = (twins: ReadonlyArray<TwinSet>, repeatVar: string): DataTable.DataTable => ({
  name: "twins",
  title: "Identical methods",
  caption: `Methods whose every run repeats a run of the other(s) with the same '${repeatVar}' epoch by epoch (training ` +
    "and validation loss and accuracy equal to the last bit): the configurations trained the same network, e.g. a " +
    "diagonal expansion into a target where no layer grows on both axes, which falls back to symmetric. They are not " +
    "independent results: every other table, test and chart of this report counts them once, in one row that names them all.",
  columns: [
    { key: "methods", title: "Identical methods", format: "text" },
    { key: "runs", title: "Runs each", format: "int" }
  ],
  rows: twins.map((t) => ({ methods: t.methods.join(" = "), runs: t.runs }))
})

/**
 * The label of a set of twins: `diagonal = symmetric, target=large1, learningRate=0.001` when their labels differ only
 * in the method's name (the first part), else every label joined by " = ".
 */
export const labelOf = (twin: TwinSet): string => {
  const tails = twin.methods.map((m) => m.slice(nameOf(m).length))
  return tails.every((t) => t === tails[0])
    ? `${twin.methods.map(nameOf).join(" = ")}${tails[0]}`
    : twin.methods.join(" = ")
}

/**
 * The methods with each set of twins counted once: one group per set (a reference among them when there is one, else
 * the first by label) under the set's label, so tables, tests and charts show one row, one test and one line that
 * name every twin.
 */
export const collapse = (groups: ReadonlyArray<Runs.Group>, twins: ReadonlyArray<TwinSet>, prefer: (g: Runs.Group) => boolean = () => false): ReadonlyArray<Runs.Group> => {
  const setOf = new Map(twins.flatMap((t) => t.methods.map((m) => [m, t] as const)))
  const kept = new Map<TwinSet, Runs.Group>()
  for (const g of groups) {
    const t = setOf.get(g.label)
    if (t && (!kept.has(t) || (prefer(g) && !prefer(kept.get(t)!)))) kept.set(t, g)
  }
  return groups.flatMap((g) => {
    const t = setOf.get(g.label)
    if (!t) return [g]
    return kept.get(t) === g ? [{ ...g, label: labelOf(t) }] : []
  })
}
