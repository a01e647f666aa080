/**
 * Selections and pixel transforms on `Dataset`s. Each returns a new dataset (the input is never changed) and appends
 * a record to its `transforms` metadata, so an artifact says how it was made.
 *
 * Randomness comes from core's seeded `Random` only:
 * - selections (validation split, subsets) are stratified per class: for each class, in class order, a seeded
 *   permutation of that class's examples; the first k are taken. The permutation does not depend on k, so a smaller
 *   subset with the same seed is contained in a larger one. Selected examples keep their source order.
 * - pixel noise for an example depends only on (noise seed, source split, source index), so an example gets the same
 *   noise whether or not it was selected into a subset.
 */
import * as Effect from "effect/Effect"
import * as Random from "@growlab/core/Random"
import { count, exampleSize, type Dataset } from "@growlab/core/DatasetArtifact"
import { TransformError } from "./Errors.js"

/** Random streams of the selections (so one seed drives independent choices). */
export const STREAM_VALIDATION = 11
export const STREAM_SUBSET_TRAIN = 12
export const STREAM_SUBSET_TEST = 13
/** Noise streams: base + source index, per source split. */
export const STREAM_NOISE_TRAIN = 0x0100_0000
export const STREAM_NOISE_TEST = 0x0200_0000

const withTransform = (d: Dataset, t: Record<string, unknown>): ReadonlyArray<Record<string, unknown>> => [...d.transforms, t]

/** The examples at `positions` (in that order), as a new dataset; `split` renames the split. */
export const select = (d: Dataset, positions: Int32Array, transform: Record<string, unknown>, split: string = d.split): Dataset => {
  const width = exampleSize(d)
  const images = new Uint8Array(positions.length * width)
  const labels = new Uint8Array(positions.length)
  const sourceIndex = new Int32Array(positions.length)
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]
    images.set(d.images.subarray(p * width, (p + 1) * width), i * width)
    labels[i] = d.labels[p]
    sourceIndex[i] = d.sourceIndex[p]
  }
  return { ...d, split, images, labels, sourceIndex, transforms: withTransform(d, transform) }
}

/** Positions of each class among `labels`, in order. */
export const byClass = (labels: Uint8Array, numClasses: number): Array<Int32Array> => {
  const counts = new Int32Array(numClasses)
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++
  const out = Array.from(counts, (c) => new Int32Array(c))
  const fill = new Int32Array(numClasses)
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i
  return out
}

/** Per-class quotas for `size` examples, proportional to class sizes (largest remainder, ties to the lower class). */
export const quotas = (classSizes: ReadonlyArray<number>, size: number): Array<number> => {
  const total = classSizes.reduce((a, b) => a + b, 0)
  const exact = classSizes.map((c) => (total === 0 ? 0 : (c * size) / total))
  const q = exact.map(Math.floor)
  let left = size - q.reduce((a, b) => a + b, 0)
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (const [, i] of order) {
    if (left === 0) break
    if (q[i] < classSizes[i]) { q[i]++; left-- }
  }
  return q
}

/**
 * A stratified seeded sample of `size` positions (sorted), and the rest (sorted). Class k's draw is the first
 * quota_k entries of a permutation of its examples made by `rng` (classes in order).
 */
export const stratifiedSample = (labels: Uint8Array, numClasses: number, size: number, rng: Random.Rng) => {
  const classes = byClass(labels, numClasses)
  const q = quotas(classes.map((c) => c.length), size)
  const chosen = new Uint8Array(labels.length)
  classes.forEach((members, k) => {
    const perm = Random.permutation(rng, members.length)
    for (let i = 0; i < q[k]; i++) chosen[members[perm[i]]] = 1
  })
  const picked = new Int32Array(size)
  const rest = new Int32Array(labels.length - size)
  let a = 0, b = 0
  for (let i = 0; i < labels.length; i++) chosen[i] ? (picked[a++] = i) : (rest[b++] = i)
  return { picked, rest, perClass: q }
}

const sizeCheck = (transform: string, field: string, size: number, available: number, actual: string = String(size)) =>
  Number.isInteger(size) && size >= 1 && size <= available
    ? Effect.void
    : Effect.fail(new TransformError({ transform, field, expected: `a size in [1, ${available}] examples`, actual }))

/** A stratified seeded subset of `size` examples. `stream` separates the train and test draws of one seed. */
export const subset = (d: Dataset, size: number, seed: number, stream: number = d.split === "test" ? STREAM_SUBSET_TEST : STREAM_SUBSET_TRAIN) =>
  Effect.map(sizeCheck("subset", `subset.${d.split}`, size, count(d)), () => {
    const { picked, perClass } = stratifiedSample(d.labels, d.classNames.length, size, Random.make(seed, stream))
    return select(d, picked, { kind: "subset", size, of: count(d), seed, stream, stratified: true, perClass })
  })

export type ValidationSpec = { readonly fraction: number; readonly size?: undefined } | { readonly size: number; readonly fraction?: undefined }

/** Carves a stratified seeded validation set out of a (train) split: `{ train, validation }`, disjoint. */
export const splitValidation = (d: Dataset, spec: ValidationSpec, seed: number) =>
  Effect.gen(function*() {
    const n = count(d)
    const size = spec.fraction !== undefined ? Math.round(spec.fraction * n) : spec.size
    const field = spec.fraction !== undefined ? "validation.fraction" : "validation.size"
    yield* sizeCheck("validation", field, size, n - 1, spec.fraction !== undefined ? `${spec.fraction} (${size} examples)` : String(size))
    const { picked, rest, perClass } = stratifiedSample(d.labels, d.classNames.length, size, Random.make(seed, STREAM_VALIDATION))
    const record = { kind: "validationSplit", from: d.split, size, of: n, ...(spec.fraction !== undefined ? { fraction: spec.fraction } : {}), seed, stream: STREAM_VALIDATION, stratified: true }
    return {
      train: select(d, rest, { ...record, part: "train", perClass: perClass.map((q, k) => countClass(d.labels, k) - q) }),
      validation: select(d, picked, { ...record, part: "validation", perClass }, "validation")
    }
  })

const countClass = (labels: Uint8Array, k: number): number => {
  let c = 0
  for (let i = 0; i < labels.length; i++) if (labels[i] === k) c++
  return c
}

/** The noise stream of an example: validation examples come from the train split. */
export const noiseStream = (split: string, sourceIndex: number): number =>
  (split === "test" ? STREAM_NOISE_TEST : STREAM_NOISE_TRAIN) + sourceIndex

/**
 * Gaussian pixel noise: each byte p becomes round(255 * clip(p / 255 + sigma * z, 0, 1)), z ~ N(0, 1) from a
 * generator seeded by (seed, source split, source index). sigma is in [0, 1] pixel units.
 */
export const addNoise = (d: Dataset, sigma: number, seed: number): Effect.Effect<Dataset, TransformError> => {
  if (!(sigma >= 0 && sigma <= 1)) {
    return Effect.fail(new TransformError({ transform: "noise", field: "noise.sigma", expected: "a number in [0, 1]", actual: String(sigma) }))
  }
  return Effect.sync(() => {
    const width = exampleSize(d)
    const n = count(d)
    const images = new Uint8Array(d.images.length)
    for (let i = 0; i < n; i++) {
      const rng = Random.make(seed, noiseStream(d.split, d.sourceIndex[i]))
      const base = i * width
      for (let j = base; j < base + width; j++) {
        const v = d.images[j] / 255 + sigma * rng.normal()
        images[j] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255)
      }
    }
    return { ...d, images, transforms: withTransform(d, { kind: "noise", distribution: "gaussian", sigma, seed, units: "pixels scaled to [0, 1]", clip: [0, 1], quantize: "round(255 * x)" }) }
  })
}

const hwc = (d: Dataset, transform: string) =>
  d.shape.length === 3
    ? Effect.succeed(d.shape as readonly [number, number, number])
    : Effect.fail(new TransformError({ transform, field: "shape", expected: "an image shape [height, width, channels] (apply before flatten)", actual: JSON.stringify(d.shape) }))

/** Zero padding of `pixels` on every side (28x28 -> 32x32 with 2). */
export const pad = (d: Dataset, pixels: number, value: number = 0) =>
  Effect.gen(function*() {
    const [h, w, c] = yield* hwc(d, "pad")
    if (!Number.isInteger(pixels) || pixels < 0) {
      return yield* Effect.fail(new TransformError({ transform: "pad", field: "pad", expected: "a non-negative integer", actual: String(pixels) }))
    }
    const H = h + 2 * pixels, W = w + 2 * pixels
    const n = count(d)
    const images = new Uint8Array(n * H * W * c).fill(value)
    const rowBytes = w * c
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < h; y++) {
        const src = (i * h + y) * rowBytes
        images.set(d.images.subarray(src, src + rowBytes), ((i * H + y + pixels) * W + pixels) * c)
      }
    }
    return { ...d, shape: [H, W, c], images, transforms: withTransform(d, { kind: "pad", pixels, value, from: [h, w, c], to: [H, W, c] }) }
  })

/**
 * Bilinear resize with half-pixel centres (TF2 `tf.image.resize` / `resizeBilinear(x, size, false, true)`),
 * rounded to bytes.
 */
export const resize = (d: Dataset, height: number, width: number) =>
  Effect.gen(function*() {
    const [h, w, c] = yield* hwc(d, "resize")
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
      return yield* Effect.fail(new TransformError({ transform: "resize", field: "resize", expected: "positive integer height and width", actual: `${height}x${width}` }))
    }
    const axis = (out: number, inSize: number) => {
      const lo = new Int32Array(out), hi = new Int32Array(out), t = new Float64Array(out)
      const scale = inSize / out
      for (let i = 0; i < out; i++) {
        const x = (i + 0.5) * scale - 0.5
        const f = Math.floor(x)
        lo[i] = Math.max(f, 0)
        hi[i] = Math.min(Math.ceil(x), inSize - 1)
        t[i] = x - f
      }
      return { lo, hi, t }
    }
    const ys = axis(height, h), xs = axis(width, w)
    const n = count(d)
    const images = new Uint8Array(n * height * width * c)
    let o = 0
    for (let i = 0; i < n; i++) {
      const base = i * h * w * c
      for (let y = 0; y < height; y++) {
        const r0 = base + ys.lo[y] * w * c, r1 = base + ys.hi[y] * w * c, ty = ys.t[y]
        for (let x = 0; x < width; x++) {
          const c0 = xs.lo[x] * c, c1 = xs.hi[x] * c, tx = xs.t[x]
          for (let k = 0; k < c; k++) {
            const top = d.images[r0 + c0 + k] + (d.images[r0 + c1 + k] - d.images[r0 + c0 + k]) * tx
            const bottom = d.images[r1 + c0 + k] + (d.images[r1 + c1 + k] - d.images[r1 + c0 + k]) * tx
            images[o++] = Math.round(top + (bottom - top) * ty)
          }
        }
      }
    }
    return { ...d, shape: [height, width, c], images, transforms: withTransform(d, { kind: "resize", method: "bilinear", halfPixelCenters: true, from: [h, w, c], to: [height, width, c] }) }
  })

/** Flattens each example to one axis (channels-last order: index = (y * w + x) * c + channel). The bytes are shared. */
export const flatten = (d: Dataset): Dataset => {
  const size = exampleSize(d)
  return { ...d, shape: [size], transforms: withTransform(d, { kind: "flatten", from: [...d.shape], to: [size] }) }
}
