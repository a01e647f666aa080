/**
 * PNG figures of Grad-CAM maps: averaged maps at a layer's resolution, per-image overlays on the input picture, and
 * the placement figure (Grad-CAM importance next to where each expansion method puts the source weights).
 * Colours: importance uses core's `Png.heat`; placement cells are grey (no source weight), green (source weight)
 * and blue (one of the source's central weights), with the large grid's central box outlined in red.
 */
import * as Png from "@growlab/core/Png"
import { Canvas, type Rgb } from "./internal/Canvas.js"
import { centralBox, type Mask } from "./Placement.js"

export const COLOURS = {
  none: [230, 230, 230] as Rgb,
  source: [44, 160, 44] as Rgb,
  central: [31, 119, 180] as Rgb,
  centreBox: [214, 39, 40] as Rgb
}

const GAP = 8

/** A map of h×w values in [0, 1] drawn with the heat colour map, each cell enlarged to about `size` pixels overall. */
export const mapPng = (map: ArrayLike<number>, h: number, w: number, size = 160): Uint8Array => {
  const cell = Math.max(1, Math.round(size / Math.max(h, w)))
  const canvas = new Canvas(w * cell, h * cell)
  canvas.cells(0, 0, h, w, cell, (r, c) => Png.heat(map[r * w + c]))
  return canvas.png()
}

/**
 * Three panels side by side: the input picture, the Grad-CAM map (already upsampled to the input's H×W) and the
 * map blended over the picture (alpha 0.45). `image` is uint8 H×W×C (C = 1 or 3); `scale` enlarges every panel.
 */
export const overlayPng = (image: Uint8Array, H: number, W: number, C: number, cam: ArrayLike<number>, scale = 4): Uint8Array => {
  const pw = W * scale
  const ph = H * scale
  const canvas = new Canvas(3 * pw + 2 * GAP, ph)
  const alpha = 0.45
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      const p = Math.floor(y / scale) * W + Math.floor(x / scale)
      const px: Rgb = C >= 3 ? [image[p * C], image[p * C + 1], image[p * C + 2]] : [image[p * C], image[p * C], image[p * C]]
      const heat = Png.heat(cam[p])
      canvas.set(x, y, px)
      canvas.set(pw + GAP + x, y, heat)
      const mix = (k: number) => Math.round((1 - alpha) * px[k] + alpha * heat[k])
      canvas.set(2 * (pw + GAP) + x, y, [mix(0), mix(1), mix(2)])
    }
  }
  return canvas.png()
}

const maskPanel = (canvas: Canvas, x0: number, m: Mask, size: number): void => {
  const cell = Math.max(1, Math.floor(size / Math.max(m.rows, m.cols)))
  canvas.cells(x0, 0, m.rows, m.cols, cell, (r, c) => {
    const v = m.cells[r * m.cols + c]
    return v === 2 ? COLOURS.central : v === 1 ? COLOURS.source : COLOURS.none
  })
  const b = centralBox(m.rows, m.cols)
  canvas.strokeRect(x0 + b.c0 * cell, b.r0 * cell, (b.c1 - b.c0) * cell, (b.r1 - b.r0) * cell, COLOURS.centreBox)
}

/**
 * The placement figure of one layer: the layer's averaged Grad-CAM map (when given) followed by one mask panel per
 * method, in order, each panel about `size` pixels square.
 */
export const placementPng = (
  gradcam: { readonly map: ArrayLike<number>; readonly h: number; readonly w: number } | undefined,
  masks: ReadonlyArray<Mask>,
  size = 160
): Uint8Array => {
  const panels: Array<{ readonly width: number; readonly height: number; readonly draw: (x: number) => void }> = []
  let canvas!: Canvas
  if (gradcam) {
    const cell = Math.max(1, Math.round(size / Math.max(gradcam.h, gradcam.w)))
    panels.push({
      width: gradcam.w * cell,
      height: gradcam.h * cell,
      draw: (x) => canvas.cells(x, 0, gradcam.h, gradcam.w, cell, (r, c) => Png.heat(gradcam.map[r * gradcam.w + c]))
    })
  }
  for (const m of masks) {
    const cell = Math.max(1, Math.floor(size / Math.max(m.rows, m.cols)))
    panels.push({ width: m.cols * cell, height: m.rows * cell, draw: (x) => maskPanel(canvas, x, m, size) })
  }
  const width = panels.reduce((n, p) => n + p.width, 0) + GAP * Math.max(0, panels.length - 1)
  const height = panels.reduce((n, p) => Math.max(n, p.height), 1)
  canvas = new Canvas(Math.max(1, width), height)
  let x = 0
  for (const p of panels) {
    p.draw(x)
    x += p.width + GAP
  }
  return canvas.png()
}
