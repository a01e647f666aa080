/** A dependency-free PNG encoder (8-bit RGB or RGBA), for heatmaps and Grad-CAM overlays. */
import { deflateSync } from "node:zlib"
import { crc32 } from "./Crc32.js"


const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** Encodes `pixels` (row-major, `channels` 3 or 4 bytes per pixel) as a PNG file. */
export const encode = (width: number, height: number, pixels: Uint8Array, channels: 3 | 4 = 4): Uint8Array => {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`PNG: expected ${width * height * channels} bytes for ${width}x${height}x${channels}, got ${pixels.length}`)
  }
  const header = new Uint8Array(13)
  const hv = new DataView(header.buffer)
  hv.setUint32(0, width)
  hv.setUint32(4, height)
  header[8] = 8
  header[9] = channels === 4 ? 6 : 2
  const stride = width * channels
  const raw = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  const signature = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10)
  const parts = [signature, chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** A diverging blue-white-red colour for v in [-1, 1] (weights), as RGB. */
export const diverging = (v: number): [number, number, number] => {
  const t = Math.max(-1, Math.min(1, v))
  return t >= 0
    ? [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]
    : [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255]
}

/** A perceptual-ish "inferno"-like colour for v in [0, 1] (importance maps), as RGB. */
export const heat = (v: number): [number, number, number] => {
  const t = Math.max(0, Math.min(1, v))
  const stops: Array<[number, number, number]> = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]]
  const x = t * (stops.length - 1)
  const i = Math.min(stops.length - 2, Math.floor(x))
  const f = x - i
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as [number, number, number]
}
