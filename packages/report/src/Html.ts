/**
 * The self-contained HTML document: inline CSS, SVG charts and PNGs as data: URIs, no script and no external
 * resource (a Content-Security-Policy forbids any, so a stray reference shows up as a console error in the browser
 * check instead of silently needing the network). Every figure carries `data-figure` so the check can find them all.
 */
import { escapeHtml, toHtml, type DataTable } from "./DataTable.js"

export interface Figure {
  readonly id: string
  readonly caption: string
  /** An SVG chart, or a PNG image. */
  readonly svg?: string
  readonly png?: Uint8Array
  readonly alt?: string
}

export type Block =
  | { readonly _tag: "table"; readonly table: DataTable }
  | { readonly _tag: "figure"; readonly figure: Figure }
  | { readonly _tag: "gallery"; readonly figures: ReadonlyArray<Figure> }
  | { readonly _tag: "paragraph"; readonly text: string; readonly lead?: boolean }
  /** A collapsible part (closed unless `open`): long tables, secondary figures. */
  | { readonly _tag: "details"; readonly summary: string; readonly blocks: ReadonlyArray<Block>; readonly open?: boolean }

export interface Section {
  readonly id: string
  readonly title: string
  readonly blocks: ReadonlyArray<Block>
}

export const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

const STYLE = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 1220px; padding: 16px 28px 64px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; margin-top: 0; } nav { margin: 12px 0 8px; } nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
table { border-collapse: collapse; margin: 12px 0 20px; font-size: 13px; } caption { text-align: left; color: #555; padding-bottom: 6px; max-width: 1100px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; } th { background: #f5f6f8; text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } tbody tr:hover { background: #fafbfd; }
figure { margin: 14px 0 26px; } figure svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 13px; max-width: 900px; margin-top: 4px; }
figure img { image-rendering: pixelated; border: 1px solid #ddd; max-width: 100%; height: auto; } figure img.shrunk { image-rendering: auto; }
.gallery { display: flex; flex-wrap: wrap; gap: 18px; } .gallery figure { margin: 0; max-width: 560px; }
details { margin: 10px 0 18px; border-left: 3px solid #e3e6ea; padding-left: 12px; }
summary { cursor: pointer; color: #1f5fa8; font-weight: 600; margin: 6px 0; } details[open] > summary { margin-bottom: 10px; }
p.lead { font-size: 15px; max-width: 1100px; }
td.t { max-width: 540px; } td.nw { white-space: nowrap; }
`

const MAX_HEIGHT = 560
const MAX_WIDTH = 1100

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** PNG width and height from its IHDR chunk. */
export const pngSize = (png: Uint8Array): { readonly width: number; readonly height: number } => {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength)
  return png.length >= 24 ? { width: v.getUint32(16), height: v.getUint32(20) } : { width: 0, height: 0 }
}

const figureHtml = (f: Figure): string => {
  let body = ""
  if (f.svg !== undefined) body = f.svg
  else if (f.png !== undefined) {
    const { width, height } = pngSize(f.png)
    // small rasters (kernel heatmaps) are enlarged by a whole factor so every cell stays a crisp square; very tall or
    // wide ones ([2048, 128] Dense kernels) are shrunk to fit (the PNG keeps every weight at full size)
    const up = Math.max(1, Math.min(8, Math.floor(360 / Math.max(width, height, 1))))
    const down = Math.min(1, MAX_HEIGHT / (height * up), MAX_WIDTH / (width * up))
    const w = Math.max(1, Math.round(width * up * down))
    const h = Math.max(1, Math.round(height * up * down))
    body = `<img${down < 1 ? ` class="shrunk"` : ""} src="data:image/png;base64,${base64(f.png)}" alt="${escapeHtml(f.alt ?? f.caption)}" width="${w}" height="${h}">`
  }
  return `<figure id="fig-${escapeHtml(f.id)}" data-figure="${escapeHtml(f.id)}">\n${body}\n<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`
}

const blockHtml = (b: Block): string => {
  switch (b._tag) {
    case "table": return toHtml(b.table)
    case "figure": return figureHtml(b.figure)
    case "gallery": return `<div class="gallery">\n${b.figures.map(figureHtml).join("\n")}\n</div>`
    case "paragraph": return `<p${b.lead ? ` class="lead"` : ""}>${escapeHtml(b.text)}</p>`
    case "details": return `<details${b.open ? " open" : ""}><summary>${escapeHtml(b.summary)}</summary>\n${b.blocks.map(blockHtml).join("\n")}\n</details>`
  }
}

/** The figures of a block, those in collapsible parts included. */
export const blockFigures = (b: Block): ReadonlyArray<Figure> =>
  b._tag === "figure" ? [b.figure] : b._tag === "gallery" ? b.figures : b._tag === "details" ? b.blocks.flatMap(blockFigures) : []

/** Every figure of the sections, in document order (those in collapsible parts included). */
export const figuresOf = (sections: ReadonlyArray<Section>): ReadonlyArray<Figure> =>
  sections.flatMap((s) => s.blocks.flatMap(blockFigures))

export const render = (title: string, meta: string, sections: ReadonlyArray<Section>): string => {
  const nav = sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join("")
  const body = sections.map((s) =>
    `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map(blockHtml).join("\n")}\n</section>`).join("\n")
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p class="meta">${escapeHtml(meta)}</p><nav>${nav}</nav></header>
<main>
${body}
</main>
</body>
</html>
`
}
