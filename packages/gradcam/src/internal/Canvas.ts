/** A minimal RGB raster for composing figure panels before PNG encoding. */
import * as Png from "@growlab/core/Png"

export type Rgb = readonly [number, number, number]

export class Canvas {
  readonly pixels: Uint8Array
  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.pixels = new Uint8Array(width * height * 3)
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3)
  }

  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return
    this.pixels.set(c, (y * this.width + x) * 3)
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) this.set(xx, yy, c)
  }

  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let xx = x; xx < x + w; xx++) { this.set(xx, y, c); this.set(xx, y + h - 1, c) }
    for (let yy = y; yy < y + h; yy++) { this.set(x, yy, c); this.set(x + w - 1, yy, c) }
  }

  /** Draws a rows×cols grid of colours at (x, y), each cell `cell` pixels square. */
  cells(x: number, y: number, rows: number, cols: number, cell: number, colour: (r: number, c: number) => Rgb): void {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) this.fillRect(x + c * cell, y + r * cell, cell, cell, colour(r, c))
  }

  png(): Uint8Array {
    return Png.encode(this.width, this.height, this.pixels, 3)
  }
}
