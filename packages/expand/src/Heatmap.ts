/**
 * Weight heatmaps as PNG (core Png, diverging blue-white-red colour map, white = 0, full colour = ±scale):
 * a Dense kernel [in, out] is an image with `in` rows and `out` columns; a Conv2D kernel [kh, kw, in, out] is the
 * [in, out] grid of kh×kw tiles (rows = input channels, columns = filters), tiles separated by a 1-pixel grey line.
 * Images are enlarged by an integer factor (nearest neighbour) so small kernels stay readable.
 */
import * as Png from "@growlab/core/Png"

export interface Image {
  readonly width: number
  readonly height: number
  /** RGB, row-major. */
  readonly rgb: Uint8Array
}

const GAP = [200, 200, 200] as const

/** Largest |value|. */
export const maxAbs = (xs: ArrayLike<number>): number => {
  let m = 0
  for (let j = 0; j < xs.length; j++) m = Math.max(m, Math.abs(xs[j]))
  return m
}

/** The image of a kernel with values scaled by `scale` (values of ±scale get full colour). */
export const kernelImage = (values: Float32Array, shape: ReadonlyArray<number>, scale: number): Image => {
  const [kh, kw, ins, outs] = shape.length === 4 ? shape : [1, 1, shape[0], shape[1]]
  if (shape.length !== 2 && shape.length !== 4) throw new RangeError(`heatmap: expected a [in, out] or [kh, kw, in, out] kernel, got [${shape.join(", ")}]`)
  const gap = kh * kw > 1 ? 1 : 0
  const width = outs * kw + (outs - 1) * gap
  const height = ins * kh + (ins - 1) * gap
  const rgb = new Uint8Array(width * height * 3)
  for (let p = 0; p < width * height; p++) rgb.set(GAP, p * 3)
  const inv = scale > 0 ? 1 / scale : 0
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ins; i++) {
        for (let o = 0; o < outs; o++) {
          const v = values[((y * kw + x) * ins + i) * outs + o]
          const py = i * (kh + gap) + y
          const px = o * (kw + gap) + x
          rgb.set(Png.diverging(v * inv), (py * width + px) * 3)
        }
      }
    }
  }
  return { width, height, rgb }
}

/** Nearest-neighbour enlargement by an integer factor. */
export const enlarge = (img: Image, factor: number): Image => {
  if (factor <= 1) return img
  const width = img.width * factor
  const height = img.height * factor
  const rgb = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor)
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + Math.floor(x / factor)) * 3
      const d = (y * width + x) * 3
      rgb[d] = img.rgb[s]; rgb[d + 1] = img.rgb[s + 1]; rgb[d + 2] = img.rgb[s + 2]
    }
  }
  return { width, height, rgb }
}

/** The enlargement that brings the longer side to at most `target` pixels (1..16). */
export const zoomFor = (img: Image, target = 768): number =>
  Math.max(1, Math.min(16, Math.floor(target / Math.max(img.width, img.height))))

/** PNG bytes of a kernel heatmap; `scale` defaults to the kernel's own max |value|. */
export const png = (values: Float32Array, shape: ReadonlyArray<number>, scale = maxAbs(values)): Uint8Array => {
  const img = kernelImage(values, shape, scale)
  const big = enlarge(img, zoomFor(img))
  return Png.encode(big.width, big.height, big.rgb, 3)
}
