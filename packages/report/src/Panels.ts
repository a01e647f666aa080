/**
 * Charts drawn apart by vars (`curvesBy` for the learning curves, `matchOn` for accuracy against compute): one panel per
 * combination of the vars' values among the items, in order of first appearance by key. An item without one of the vars
 * belongs to every panel (the small model has no target: it is in every target's panel).
 */
import type * as Runs from "./Runs.js"

export interface Panel<A> {
  /** Title suffix: ` (target=large2, learningRate=0.001)`, or "" for the single panel. */
  readonly title: string
  /** Figure id suffix: `--target-large2--learningRate-0.001`, or "". */
  readonly id: string
  /** The panel's var values (none for the single panel). */
  readonly vars: ReadonlyArray<readonly [string, string]>
  readonly items: ReadonlyArray<A>
}

export const split = <A>(items: ReadonlyArray<A>, varsOf: (a: A) => Runs.Vars, keyOf: (a: A) => string, by: ReadonlyArray<string>): ReadonlyArray<Panel<A>> => {
  const keyed = by.filter((k) => items.some((m) => k in varsOf(m)))
  if (keyed.length === 0) return [{ title: "", id: "", vars: [], items }]
  const combos = new Map<string, Array<[string, string]>>()
  for (const m of [...items].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))) {
    const vars = varsOf(m)
    if (!keyed.every((k) => k in vars)) continue
    const combo = keyed.map((k): [string, string] => [k, String(vars[k])])
    combos.set(JSON.stringify(combo), combo)
  }
  // no item has every one of the vars: nothing to split on consistently, so one panel
  if (combos.size === 0) return [{ title: "", id: "", vars: [], items }]
  return [...combos.values()].map((combo) => ({
    title: ` (${combo.map(([k, v]) => `${k}=${v}`).join(", ")})`,
    id: `--${combo.map(([k, v]) => `${k}-${v}`).join("--").replace(/[^A-Za-z0-9_.-]+/g, "-")}`,
    vars: combo,
    items: items.filter((m) => combo.every(([k, v]) => !(k in varsOf(m)) || String(varsOf(m)[k]) === v))
  }))
}

/** A label without the `k=v` parts the panel's title already names (`scratch, target=a, lr=1` → `scratch` in target=a, lr=1). */
export const shortLabel = (label: string, vars: Panel<unknown>["vars"]): string => {
  const named = new Set(vars.map(([k, v]) => `${k}=${v}`))
  return label.split(", ").filter((part) => !named.has(part)).join(", ") || label
}
