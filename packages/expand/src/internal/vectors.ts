import type { AxisMap } from "../AxisMap.js"
import * as Noise from "../Noise.js"
import { PlanError } from "../PlanError.js"

/** A per-unit vector (bias, BatchNorm parameter) following an axis map; new units get `fill`. */
export const follow = (source: Float32Array, map: AxisMap, fill = 0): Float32Array => {
  const out = new Float32Array(map.size)
  for (let j = 0; j < map.size; j++) {
    const s = map.source[j]
    out[j] = s < 0 ? fill : source[s]
  }
  return out
}

/** Checks that every target unit has a source unit (tile and identity maps). */
export const requireTiled = (map: AxisMap, operator: string, layer: string): void => {
  if (map.layout === "centre") {
    throw new PlanError({ layer, field: "operator", expected: `a tiled axis map (${operator} fills whole copies)`, actual: "a centred one" })
  }
}

/** The result of an operator that adds no noise: the kernel and its energy. */
export const noNoise = (kernel: Float32Array) => ({ kernel, signalEnergy: Noise.energy(kernel), noiseEnergy: 0, snrDb: null, noise: null })
