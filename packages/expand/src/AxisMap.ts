/**
 * How the units of one grown axis (Dense units, Conv2D channels, or a flattened feature vector) map back to the
 * source model's units. Every operator reads its kernel's input and output axes through two of these maps, so the
 * layout of grown units is decided once, in the plan, and the input side of a layer always matches how the previous
 * layer's outputs were laid out.
 *
 * Layouts:
 * - `identity`: the axis does not grow.
 * - `tile`: k whole copies, target unit `r * n + u` is copy r of source unit u (the block matrices of the study).
 * - `centre`: the n source units sit at offset `floor((N - n) / 2)`; the others are new units (envelope).
 * A flattened axis (channels-last Flatten: index `position * C + channel`) applies the channel map per position, so a
 * widened conv before a Flatten replicates the next Dense's rows per spatial position, not by tiling the flat vector.
 */
export type Layout = "identity" | "tile" | "centre"

export interface AxisMap {
  readonly layout: Layout
  /** Target units. */
  readonly size: number
  /** Source units. */
  readonly sourceSize: number
  /** Copies of each source unit: k for `tile`, 1 otherwise. */
  readonly copies: number
  /** [size]: the source unit of each target unit, -1 for a new unit. */
  readonly source: Int32Array
  /** [size]: which copy (0 .. copies-1) each target unit is, -1 for a new unit. */
  readonly replica: Int32Array
  /** [sourceSize * copies]: the target unit holding copy r of source unit u at `u * copies + r`. */
  readonly members: Int32Array
}

export const identity = (n: number): AxisMap => {
  const source = new Int32Array(n)
  for (let u = 0; u < n; u++) source[u] = u
  return { layout: "identity", size: n, sourceSize: n, copies: 1, source, replica: new Int32Array(n), members: source }
}

/** k copies of n units: target `r * n + u` ← source u, copy r. */
export const tile = (n: number, k: number): AxisMap => {
  if (k === 1) return identity(n)
  const size = n * k
  const source = new Int32Array(size)
  const replica = new Int32Array(size)
  const members = new Int32Array(size)
  for (let r = 0; r < k; r++) {
    for (let u = 0; u < n; u++) {
      const j = r * n + u
      source[j] = u
      replica[j] = r
      members[u * k + r] = j
    }
  }
  return { layout: "tile", size, sourceSize: n, copies: k, source, replica, members }
}

/** n source units centred in N target units (offset `floor((N - n) / 2)`), the rest new. */
export const centre = (n: number, size: number): AxisMap => {
  if (size === n) return identity(n)
  const offset = Math.floor((size - n) / 2)
  const source = new Int32Array(size).fill(-1)
  const replica = new Int32Array(size).fill(-1)
  const members = new Int32Array(n)
  for (let u = 0; u < n; u++) {
    source[offset + u] = u
    replica[offset + u] = 0
    members[u] = offset + u
  }
  return { layout: "centre", size, sourceSize: n, copies: 1, source, replica, members }
}

/** The map of a channels-last Flatten over `positions` spatial positions whose channels follow `channels`. */
export const flatten = (channels: AxisMap, positions: number): AxisMap => {
  if (channels.layout === "identity") return identity(channels.size * positions)
  const C = channels.size
  const c = channels.sourceSize
  const k = channels.copies
  const source = new Int32Array(positions * C)
  const replica = new Int32Array(positions * C)
  const members = new Int32Array(positions * c * k)
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < C; j++) {
      const src = channels.source[j]
      source[p * C + j] = src < 0 ? -1 : p * c + src
      replica[p * C + j] = channels.replica[j]
    }
    for (let m = 0; m < c * k; m++) members[p * c * k + m] = p * C + channels.members[m]
  }
  return { layout: channels.layout, size: positions * C, sourceSize: positions * c, copies: k, source, replica, members }
}

/** Whether the axis grows at all. */
export const grows = (m: AxisMap): boolean => m.size !== m.sourceSize

/** Whether two maps lay out the same units the same way (what an `add` of two grown branches needs). */
export const equal = (a: AxisMap, b: AxisMap): boolean =>
  a.size === b.size && a.sourceSize === b.sourceSize && a.copies === b.copies &&
  a.source.every((v, i) => v === b.source[i]) && a.replica.every((v, i) => v === b.replica[i])

/** A map as error messages write it: `tile 16 → 32 (×2)`, `centre 16 → 24`, `identity 16`. */
export const describe = (m: AxisMap): string =>
  m.layout === "identity" ? `identity ${m.size}` : `${m.layout} ${m.sourceSize} → ${m.size}${m.layout === "tile" ? ` (×${m.copies})` : ""}`
