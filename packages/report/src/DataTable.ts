/**
 * A report table: typed columns and rows, rendered four ways from one definition — HTML and Markdown for reading
 * (formatted, without the `detail` columns), CSV and Arrow for analysis (raw numbers, one column per value, every
 * column; a "± CI" or "[lower, upper]" companion becomes its own column).
 */
import { Float64, Schema as ArrowSchema, Table, Utf8, vectorFromArray } from "apache-arrow"

export type Format = "text" | "percent" | "fixed2" | "fixed4" | "int" | "seconds" | "pvalue" | "db" | "sci"

export interface Column {
  /** Key in the rows, and the CSV/Arrow column name. */
  readonly key: string
  /** Header shown in HTML and Markdown. */
  readonly title: string
  readonly format: Format
  /** Key of a ± half-width shown after the value (e.g. a 95% CI); also written as its own CSV/Arrow column. */
  readonly plusMinus?: string
  /** Keys of an interval shown after the value as `[lower, upper]`; each also written as its own CSV/Arrow column. */
  readonly interval?: { readonly lower: string; readonly upper: string }
  /** Only in the CSV and Arrow files: left out of the HTML and Markdown tables, which stay narrow. */
  readonly detail?: boolean
  /** Keep a text cell on one line in the HTML (short numbers with units, like intervals). */
  readonly nowrap?: boolean
  readonly description?: string
}

export type Cell = string | number | boolean | null | undefined

export interface DataTable {
  readonly name: string
  readonly title: string
  readonly caption: string
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<Readonly<Record<string, Cell>>>
}

const isNum = (v: Cell): v is number => typeof v === "number" && Number.isFinite(v)

/** A value as a person reads it; "–" for missing or NaN. */
export const formatValue = (v: Cell, format: Format): string => {
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "–"
  if (typeof v === "boolean") return v ? "yes" : "no"
  if (typeof v === "string") return v
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞"
  switch (format) {
    case "percent": return `${(v * 100).toFixed(2)}%`
    case "fixed2": return v.toFixed(2)
    case "fixed4": return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(4)
    case "int": return String(Math.round(v))
    case "seconds": return `${v.toFixed(2)} s`
    case "pvalue": return v < 1e-4 ? v.toExponential(1) : v.toFixed(4)
    case "db": return `${v.toFixed(2)} dB`
    case "sci": return v === 0 ? "0" : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toPrecision(4)
    case "text": return String(v)
  }
}

const plusMinusText = (v: Cell, format: Format): string => {
  if (!isNum(v)) return ""
  return ` ± ${format === "percent" ? `${(v * 100).toFixed(2)}` : formatValue(v, format)}`
}

const intervalText = (lower: Cell, upper: Cell, format: Format): string =>
  isNum(lower) && isNum(upper) ? ` [${formatValue(lower, format)}, ${formatValue(upper, format)}]` : ""

export const cellText = (row: Readonly<Record<string, Cell>>, c: Column): string =>
  formatValue(row[c.key], c.format) + (c.plusMinus ? plusMinusText(row[c.plusMinus], c.format) : "") +
  (c.interval ? intervalText(row[c.interval.lower], row[c.interval.upper], c.format) : "")

/** The columns a reader sees (HTML and Markdown): every column but the `detail` ones. */
export const shownColumns = (t: DataTable): ReadonlyArray<Column> => t.columns.filter((c) => !c.detail)

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export const toHtml = (t: DataTable): string => {
  const columns = shownColumns(t)
  const head = columns.map((c) => `<th${c.description ? ` title="${escapeHtml(c.description)}"` : ""}>${escapeHtml(c.title)}</th>`).join("")
  const body = t.rows.map((r) =>
    `<tr>${columns.map((c) => `<td class="${c.format === "text" ? (c.nowrap ? "t nw" : "t") : "n"}">${escapeHtml(cellText(r, c))}</td>`).join("")}</tr>`).join("\n")
  return `<table id="table-${t.name}" data-table="${t.name}"><caption>${escapeHtml(t.caption)}</caption>\n` +
    `<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`
}

const mdEscape = (s: string): string => s.replace(/\|/g, "\\|")

export const toMarkdown = (t: DataTable): string => {
  const columns = shownColumns(t)
  const head = `| ${columns.map((c) => mdEscape(c.title)).join(" | ")} |`
  const rule = `|${columns.map((c) => (c.format === "text" ? "---" : "---:")).join("|")}|`
  const body = t.rows.map((r) => `| ${columns.map((c) => mdEscape(cellText(r, c))).join(" | ")} |`)
  return [head, rule, ...body].join("\n")
}

/** The raw columns: every column (detail ones included), then each ± or interval companion right after its value. */
const rawColumns = (t: DataTable): Array<{ readonly key: string; readonly numeric: boolean }> =>
  t.columns.flatMap((c) => [
    { key: c.key, numeric: c.format !== "text" },
    ...(c.plusMinus ? [{ key: c.plusMinus, numeric: true }] : []),
    ...(c.interval ? [{ key: c.interval.lower, numeric: true }, { key: c.interval.upper, numeric: true }] : [])
  ])

const csvField = (v: Cell): string => {
  if (v === null || v === undefined) return ""
  if (typeof v === "number") return Number.isNaN(v) ? "" : String(v)
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const toCsv = (t: DataTable): string => {
  const cols = rawColumns(t)
  return [cols.map((c) => c.key).join(","), ...t.rows.map((r) => cols.map((c) => csvField(r[c.key])).join(","))].join("\n") + "\n"
}

/** An Arrow table: numeric columns float64 (null where missing), the others utf8; metadata names the table. */
export const toArrow = (t: DataTable): Table => {
  const cols = rawColumns(t)
  const vectors = Object.fromEntries(cols.map((c) => [
    c.key,
    c.numeric
      ? vectorFromArray(t.rows.map((r) => {
        const v = r[c.key]
        return typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : null
      }), new Float64())
      : vectorFromArray(t.rows.map((r) => (r[c.key] === null || r[c.key] === undefined ? null : String(r[c.key]))), new Utf8())
  ]))
  const table = new Table(vectors)
  const metadata = new Map<string, string>([
    ["growlab.kind", "table"],
    ["growlab.table", t.name],
    ["growlab.title", t.title]
  ])
  return new Table(new ArrowSchema(table.schema.fields, metadata), table.batches)
}
