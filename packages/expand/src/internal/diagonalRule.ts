/**
 * The planning rule of the diagonal methods: a layer growing on both axes by the same k gets the diagonal operator;
 * one growing along one axis gets the symmetric `fallback` (which keeps the 1/k_in: stacking [W; W] on the last
 * Dense without it would double the logits) or, with `oneAxis: random`, a fresh random initialisation.
 */
import type { Choice, LayerFacts } from "../Operator.js"
import { PlanError } from "../PlanError.js"

export const diagonalRule = (method: string, fallback: string) => (l: LayerFacts): Choice => {
  if (l.growth === "both") {
    if (l.inMap.copies !== l.outMap.copies) {
      throw new PlanError({
        layer: l.name, field: l.kind === "dense" ? "units" : "filters",
        expected: `×${l.inMap.copies}, the input multiplier (${method} pairs input copy r with output copy r)`,
        actual: `×${l.outMap.copies}`
      })
    }
    return { operator: method }
  }
  if (l.options.oneAxis === "random") return { operator: "random", note: `grows along one axis only (${l.growth}): randomly initialised (oneAxis: random)` }
  return {
    operator: fallback,
    note: `grows along one axis only (${l.growth}): ${fallback} fallback (oneAxis: symmetric)` +
      (method === "noisy-diagonal" && l.growth === "output" ? "; input axis not grown, so no noise" : "")
  }
}
