/**
 * Progress bars for long work (downloads, epochs). On a TTY the bar redraws in place on stderr; elsewhere
 * (CI, Nx task logs) it prints a line at every 10% so logs stay readable.
 */
export interface ProgressBar {
  /** Advances by `n` units and shows `fields` (e.g. loss, accuracy) after the bar. */
  readonly tick: (n: number, fields?: Readonly<Record<string, number | string>>) => void
  readonly done: (fields?: Readonly<Record<string, number | string>>) => void
}

const fmt = (fields?: Readonly<Record<string, number | string>>): string =>
  fields
    ? Object.entries(fields).map(([k, v]) => `${k} ${typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)) : v}`).join("  ")
    : ""

export const bar = (label: string, total: number, options: { readonly unit?: string; readonly stream?: NodeJS.WriteStream; readonly quiet?: boolean } = {}): ProgressBar => {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true && process.env.CI !== "true"
  const unit = options.unit ?? ""
  const start = Date.now()
  let current = 0
  let lastDecile = -1
  let lastDraw = 0
  const line = (fields?: Readonly<Record<string, number | string>>) => {
    const frac = total > 0 ? Math.min(1, current / total) : 1
    const width = 24
    const filled = Math.round(frac * width)
    const secs = (Date.now() - start) / 1000
    const rate = secs > 0 ? current / secs : 0
    return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
      `${current}/${total}${unit} ${rate.toFixed(0)}${unit}/s ${secs.toFixed(1)}s  ${fmt(fields)}`
  }
  return {
    tick: (n, fields) => {
      current += n
      if (options.quiet) return
      if (tty) {
        const now = Date.now()
        if (now - lastDraw > 100) { stream.write(`\r${line(fields)}\x1b[K`); lastDraw = now }
      } else {
        const decile = Math.floor((current / Math.max(1, total)) * 10)
        if (decile > lastDecile && decile < 10) { lastDecile = decile; stream.write(line(fields) + "\n") }
      }
    },
    done: (fields) => {
      if (options.quiet) return
      current = Math.max(current, total)
      stream.write((tty ? `\r${line(fields)}\x1b[K` : line(fields)) + "\n")
    }
  }
}
