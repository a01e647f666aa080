/**
 * Where the source weights sit in an expanded layer: a mask over the large kernel's [in, out] grid (rows = input
 * channels, columns = output channels; each cell is one kh×kw spatial slice of a Conv2D kernel, or one weight of a
 * Dense kernel). Experiment 4 of the study set this placement next to the Grad-CAM importance: symmetric and
 * diagonal expansion put the source weights in the corners, envelope expansion puts them in the centre.
 *
 * Cell values: 0 = not a source weight (zero, noise or fresh init), 1 = a (scaled) copy of a source weight from
 * outside the source's central region, 2 = a copy of one of the source's central weights. "Central" is the middle
 * half of the rows and of the columns, for the source and for the large grid alike.
 *
 * Masks come either from the layout rules of the method names (`ruleMask`) or, better, from actual artifacts
 * (`detectMask`): a large slice is a copy when it is proportional to a source slice (exactly, up to float32 rounding),
 * which also finds the halved copies of symmetric expansion and Net2Net's divided replicas. Noise added to a copy
 * (noisy symmetric / diagonal) makes it no longer a copy, and the mask says so.
 */

export interface Grid {
  readonly rows: number
  readonly cols: number
}

export interface Mask {
  /** The large grid. */
  readonly rows: number
  readonly cols: number
  /** The source grid. */
  readonly sourceRows: number
  readonly sourceCols: number
  /** rows*cols cells, row-major: 0 none, 1 source weight, 2 central source weight. */
  readonly cells: Uint8Array
  readonly origin: "detected" | "rule"
}

/** The central box (middle half of the rows and of the columns) of a grid, as half-open ranges. */
export const centralBox = (rows: number, cols: number) => ({
  r0: Math.floor(rows / 4),
  r1: Math.max(Math.floor(rows / 4) + 1, Math.ceil((3 * rows) / 4)),
  c0: Math.floor(cols / 4),
  c1: Math.max(Math.floor(cols / 4) + 1, Math.ceil((3 * cols) / 4))
})

const inBox = (b: ReturnType<typeof centralBox>, r: number, c: number) => r >= b.r0 && r < b.r1 && c >= b.c0 && c < b.c1

/** Builds a mask from a function giving, for each large cell, the source cell it copies (or undefined). */
const fromMapping = (
  large: Grid,
  source: Grid,
  origin: Mask["origin"],
  mapping: (r: number, c: number) => readonly [number, number] | "unknown" | undefined
): Mask => {
  const cells = new Uint8Array(large.rows * large.cols)
  const sbox = centralBox(source.rows, source.cols)
  for (let r = 0; r < large.rows; r++) {
    for (let c = 0; c < large.cols; c++) {
      const m = mapping(r, c)
      if (m === undefined) continue
      cells[r * large.cols + c] = m !== "unknown" && inBox(sbox, m[0], m[1]) ? 2 : 1
    }
  }
  return { rows: large.rows, cols: large.cols, sourceRows: source.rows, sourceCols: source.cols, cells, origin }
}

/** The layout family a method name belongs to, by the words in it (e.g. "noisy-envelope-scaled" → envelope). */
export type Layout = "envelope" | "diagonal" | "symmetric" | "net2net" | "none"

export const layoutOf = (method: string): Layout | undefined => {
  const m = method.toLowerCase()
  if (m.includes("envelope")) return "envelope"
  if (m.includes("diagonal")) return "diagonal"
  if (m.includes("symmetric")) return "symmetric"
  if (m.includes("net2net")) return "net2net"
  if (m.includes("scratch") || m.includes("random") || m === "none" || m.includes("reference")) return "none"
  return undefined
}

/**
 * The mask a method's layout rule implies for a source grid grown into a large grid:
 * - symmetric: every block of the large grid is a (halved) copy of the source;
 * - diagonal: the diagonal blocks are copies, the off-diagonal ones zeros or noise (a layer grown along one axis
 *   only falls back to symmetric, as in the study's first diagonal runs);
 * - envelope: the source sits in the centred block, zeros or noise around it;
 * - net2net: the first units are the source, the others replicas of randomly chosen source units;
 * - none (scratch): nothing is copied.
 * Returns undefined for a method name that names no known layout.
 */
export const ruleMask = (method: string, large: Grid, source: Grid): Mask | undefined => {
  const layout = layoutOf(method)
  if (layout === undefined) return undefined
  const { rows: R, cols: C } = large
  const { rows: r, cols: c } = source
  switch (layout) {
    case "none":
      return fromMapping(large, source, "rule", () => undefined)
    case "symmetric":
      return fromMapping(large, source, "rule", (i, o) => [i % r, o % c])
    case "diagonal": {
      if (R === r || C === c) return fromMapping(large, source, "rule", (i, o) => [i % r, o % c])
      return fromMapping(large, source, "rule", (i, o) => (Math.floor(i / r) === Math.floor(o / c) ? [i % r, o % c] : undefined))
    }
    case "envelope": {
      const r0 = Math.floor((R - r) / 2)
      const c0 = Math.floor((C - c) / 2)
      return fromMapping(large, source, "rule", (i, o) =>
        i >= r0 && i < r0 + r && o >= c0 && o < c0 + c ? [i - r0, o - c0] : undefined)
    }
    case "net2net":
      return fromMapping(large, source, "rule", (i, o) => (i < r && o < c ? [i, o] : "unknown"))
  }
}

/** A key for a slice up to a non-zero scale factor: divided by its largest-magnitude entry, rounded. */
const sliceKey = (values: Float32Array, base: number, stride: number, count: number): string | undefined => {
  let big = 0
  for (let k = 0; k < count; k++) {
    const v = values[base + k * stride]
    if (Math.abs(v) > Math.abs(big)) big = v
  }
  if (Math.abs(big) < 1e-12) return undefined
  let key = ""
  for (let k = 0; k < count; k++) key += `${Math.round((values[base + k * stride] / big) * 1e5)},`
  return key
}

/**
 * Detects which cells of a large kernel hold copies of source cells. Kernels are row-major with shape
 * [..spatial, in, out] (Conv2D [kh, kw, in, out] or Dense [in, out]); the spatial sizes must match.
 */
export const detectMask = (
  sourceValues: Float32Array,
  sourceShape: ReadonlyArray<number>,
  largeValues: Float32Array,
  largeShape: ReadonlyArray<number>
): Mask => {
  const spatial = sourceShape.slice(0, -2).reduce((a, b) => a * b, 1)
  const largeSpatial = largeShape.slice(0, -2).reduce((a, b) => a * b, 1)
  if (spatial !== largeSpatial || sourceShape.length !== largeShape.length) {
    throw new RangeError(`placement: kernel shapes [${sourceShape.join(", ")}] and [${largeShape.join(", ")}] differ in their spatial size`)
  }
  const [r, c] = sourceShape.slice(-2)
  const [R, C] = largeShape.slice(-2)
  const index = new Map<string, readonly [number, number]>()
  for (let i = 0; i < r; i++) {
    for (let o = 0; o < c; o++) {
      const key = sliceKey(sourceValues, i * c + o, r * c, spatial)
      if (key !== undefined && !index.has(key)) index.set(key, [i, o])
    }
  }
  return fromMapping({ rows: R, cols: C }, { rows: r, cols: c }, "detected", (i, o) => {
    const key = sliceKey(largeValues, i * C + o, R * C, spatial)
    return key === undefined ? undefined : index.get(key)
  })
}

export interface MaskSummary {
  /** Fraction of all large cells that hold source weights. */
  readonly copied: number
  /** Fraction of the large grid's central box that holds source weights. */
  readonly centreCopied: number
  /** Fraction of the large grid's central box that holds the source's central weights. */
  readonly centreAligned: number
}

export const summarize = (m: Mask): MaskSummary => {
  const box = centralBox(m.rows, m.cols)
  let copied = 0
  let centre = 0
  let aligned = 0
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const v = m.cells[r * m.cols + c]
      if (v > 0) copied++
      if (inBox(box, r, c)) {
        if (v > 0) centre++
        if (v === 2) aligned++
      }
    }
  }
  const boxSize = (box.r1 - box.r0) * (box.c1 - box.c0)
  return { copied: copied / (m.rows * m.cols), centreCopied: centre / boxSize, centreAligned: aligned / boxSize }
}
