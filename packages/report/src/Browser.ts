/**
 * Opens an HTML file in headless Chromium (Debian's `chromium`) and checks it as a person would see it: every
 * `[data-figure]` is present and drawn (an SVG with a size, or an image that decoded), and nothing was logged as an
 * error (exceptions, console errors, refused or failed loads). It also measures the page as it opens: its height and
 * where each figure starts (figures in a closed `<details>` are checked with it opened, and have no position).
 * Optionally saves a screenshot of the page as it opens (full, or its first `screenshotHeight` pixels) and one PNG per
 * figure (with every `<details>` opened).
 *
 * Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: fd 3 in, fd 4 out,
 * NUL-terminated JSON), which needs no port and no npm browser download. `@effect/platform`'s Command cannot open
 * extra file descriptors, so this module uses node:child_process directly.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Readable, Writable } from "node:stream"

export const INSTALL_HINT = "install it with: apt-get update && apt-get install -y chromium (or set GROWLAB_CHROMIUM to a Chromium/Chrome binary)"

/** Chromium could not be found or started. */
export class BrowserUnavailable extends Schema.TaggedError<BrowserUnavailable>()("BrowserUnavailable", {
  tried: Schema.Array(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `headless Chromium is not available (${this.reason}; tried ${this.tried.join(", ")}): ${INSTALL_HINT}`
  }
}

/** The page could not be loaded or inspected. */
export class BrowserError extends Schema.TaggedError<BrowserError>()("BrowserError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]

/** The browser binary: GROWLAB_CHROMIUM when set (and then only it), else the first usual Debian/Chrome path that exists. */
export const findChromium = (): Effect.Effect<string, BrowserUnavailable> =>
  Config.option(Config.nonEmptyString("GROWLAB_CHROMIUM")).pipe(
    Effect.orElseSucceed(() => Option.none<string>()),
    Effect.flatMap((chosen) => {
      const tried = Option.match(chosen, { onNone: () => CANDIDATES, onSome: (p) => [p] })
      const found = tried.find((p) => existsSync(p))
      return found ? Effect.succeed(found) : Effect.fail(new BrowserUnavailable({ tried, reason: "no binary found" }))
    })
  )

export const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
  "--hide-scrollbars", "--remote-debugging-pipe"
]

export interface FigureState {
  readonly id: string
  /** "svg" or "img" (or "none" when the figure holds neither). */
  readonly type: string
  readonly width: number
  readonly height: number
  /** Drawn: an SVG with a non-empty box, or an image that decoded (naturalWidth > 0). */
  readonly ok: boolean
  /** Pixels from the top of the page to the figure as the page opens; null when it is in a closed `<details>`. */
  readonly top: number | null
}

export interface PageCheck {
  readonly title: string
  readonly figures: ReadonlyArray<FigureState>
  readonly tables: number
  /** Height of the page as it opens (every `<details>` in its initial state), in CSS pixels at the check's width. */
  readonly pageHeight: number
  /** Exceptions, console errors and failed loads, as text. */
  readonly errors: ReadonlyArray<string>
  /** Every console / log message (any level), for diagnostics. */
  readonly messages: ReadonlyArray<string>
  readonly screenshot?: string
  /** One PNG per figure (`<id>.png`), when `figureScreenshots` named a folder. */
  readonly figureScreenshots?: ReadonlyArray<string>
}

export interface CheckOptions {
  /** Write a screenshot of the page as it opens here (PNG). */
  readonly screenshot?: string
  /** Only the first this many pixels of the page in the screenshot (default: the whole page). */
  readonly screenshotHeight?: number
  /** Write one PNG per figure into this folder, every `<details>` opened. */
  readonly figureScreenshots?: string
  /** Viewport width (default 1280; the height is 900). */
  readonly width?: number
  /** Bound on the whole session (default 60 s). */
  readonly timeoutMs?: number
}

// Positions are measured as the page opens; then every closed <details> is opened to check the figures inside it, and
// closed again (so a screenshot shows the page as a reader first sees it).
const INSPECT = `(() => {
  const all = [...document.querySelectorAll("[data-figure]")];
  const tops = all.map((f) => f.closest("details:not([open])") ? null : f.getBoundingClientRect().top + window.scrollY);
  const pageHeight = document.documentElement.scrollHeight;
  const closed = [...document.querySelectorAll("details:not([open])")];
  for (const d of closed) d.open = true;
  const figures = all.map((f, i) => {
    const svg = f.querySelector("svg"); const img = f.querySelector("img"); const top = tops[i];
    if (svg) { const r = svg.getBoundingClientRect(); return { id: f.dataset.figure, type: "svg", width: r.width, height: r.height, ok: r.width > 0 && r.height > 0 && svg.childElementCount > 0, top }; }
    if (img) { return { id: f.dataset.figure, type: "img", width: img.naturalWidth, height: img.naturalHeight, ok: img.complete && img.naturalWidth > 0, top }; }
    return { id: f.dataset.figure, type: "none", width: 0, height: 0, ok: false, top };
  });
  for (const d of closed) d.open = false;
  return { title: document.title, figures, tables: document.querySelectorAll("table").length, pageHeight };
})()`

/** Every figure's box in page coordinates with every <details> opened (CLOSE_OPENED closes them again). */
const FIGURE_BOXES = `(() => {
  window.__growlabOpened = [...document.querySelectorAll("details:not([open])")];
  for (const d of window.__growlabOpened) d.open = true;
  return [...document.querySelectorAll("[data-figure]")].map((f) => {
    const r = f.getBoundingClientRect();
    return { id: f.dataset.figure, x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
  });
})()`

const CLOSE_OPENED = `(() => { for (const d of window.__growlabOpened ?? []) d.open = false; return true; })()`

interface Pending {
  readonly resolve: (v: any) => void
  readonly reject: (e: Error) => void
}

/** A DevTools-protocol connection over Chromium's pipe. */
class Cdp {
  private id = 0
  private buffer = ""
  private readonly pending = new Map<number, Pending>()
  private readonly listeners: Array<(msg: any) => void> = []
  constructor(private readonly out: Writable, input: Readable) {
    input.setEncoding("utf8")
    input.on("data", (chunk: string) => {
      this.buffer += chunk
      let end: number
      while ((end = this.buffer.indexOf("\0")) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end))
        this.buffer = this.buffer.slice(end + 1)
        if (msg.id !== undefined && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id)!
          this.pending.delete(msg.id)
          if (msg.error) p.reject(new Error(`${msg.error.message} (${msg.error.code})`))
          else p.resolve(msg.result)
        } else for (const l of this.listeners) l(msg)
      }
    })
  }
  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = ++this.id
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.out.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0")
    })
  }
  on(listener: (msg: any) => void): void {
    this.listeners.push(listener)
  }
  failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
  }
}

const describeArgs = (args: ReadonlyArray<{ value?: unknown; description?: string }>): string =>
  args.map((a) => (a.value !== undefined ? String(a.value) : a.description ?? "")).join(" ")

/** Loads `file` in headless Chromium and inspects it (see CheckOptions for screenshots). */
export const checkPage = (file: string, options: CheckOptions = {}) =>
  Effect.gen(function*() {
    const binary = yield* findChromium()
    const absolute = resolve(file)
    if (!existsSync(absolute)) return yield* Effect.fail(new BrowserError({ file, reason: "no such file" }))
    return yield* Effect.tryPromise({
      try: () => session(binary, absolute, options),
      catch: (e) => (e instanceof BrowserUnavailable ? e : new BrowserError({ file, reason: (e as Error).message }))
    })
  })

/** A PNG of a region of the page (page coordinates, CSS pixels). */
const capture = async (cdp: Cdp, sessionId: string, clip: { readonly x: number; readonly y: number; readonly width: number; readonly height: number }): Promise<Buffer> => {
  const shot = await cdp.send("Page.captureScreenshot", {
    format: "png", captureBeyondViewport: true,
    clip: { x: clip.x, y: clip.y, width: Math.max(1, Math.ceil(clip.width)), height: Math.max(1, Math.ceil(clip.height)), scale: 1 }
  }, sessionId)
  return Buffer.from(shot.data, "base64")
}

const session = async (binary: string, file: string, options: CheckOptions): Promise<PageCheck> => {
  const profile = mkdtempSync(join(tmpdir(), "growlab-chromium-"))
  const child = spawn(binary, [...FLAGS, `--user-data-dir=${profile}`, "about:blank"], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (d: string) => { stderr = (stderr + d).slice(-4000) })
  const cdp = new Cdp(child.stdio[3] as Writable, child.stdio[4] as Readable)
  let closing = false
  const exited = new Promise<never>((_, reject) => {
    child.on("error", (e) => reject(new BrowserUnavailable({ tried: [binary], reason: e.message })))
    child.on("exit", (code, signal) => closing || reject(new Error(`chromium exited (${code ?? signal}) before the check finished: ${stderr.trim().split("\n").slice(-5).join(" | ")}`)))
  })
  exited.catch((e: Error) => cdp.failAll(e))
  const timeoutMs = options.timeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs) })
  const work = async (): Promise<PageCheck> => {
    const errors: Array<string> = []
    const messages: Array<string> = []
    let loaded: () => void = () => {}
    const load = new Promise<void>((r) => { loaded = r })
    let sessionId = ""
    cdp.on((msg) => {
      if (msg.sessionId !== sessionId) return
      const p = msg.params ?? {}
      switch (msg.method) {
        case "Page.loadEventFired": loaded(); break
        case "Runtime.exceptionThrown": errors.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`); break
        case "Runtime.consoleAPICalled": {
          const text = `console.${p.type}: ${describeArgs(p.args ?? [])}`
          messages.push(text)
          if (p.type === "error" || p.type === "assert") errors.push(text)
          break
        }
        case "Log.entryAdded": {
          const text = `${p.entry.source} ${p.entry.level}: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ""}`
          messages.push(text)
          if (p.entry.level === "error") errors.push(text)
          break
        }
        case "Network.loadingFailed": errors.push(`load failed: ${p.errorText} (${p.type ?? "resource"})`); break
      }
    })
    const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" })
    sessionId = (await cdp.send("Target.attachToTarget", { targetId, flatten: true })).sessionId
    for (const domain of ["Page", "Runtime", "Log", "Network"]) await cdp.send(`${domain}.enable`, {}, sessionId)
    await cdp.send("Emulation.setDeviceMetricsOverride", { width: options.width ?? 1280, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId)
    const nav = await cdp.send("Page.navigate", { url: pathToFileURL(file).href }, sessionId)
    if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`)
    await load
    const evaluated = await cdp.send("Runtime.evaluate", { expression: INSPECT, returnByValue: true }, sessionId)
    if (evaluated.exceptionDetails) throw new Error(`inspection failed: ${evaluated.exceptionDetails.text}`)
    const state = evaluated.result.value as { title: string; figures: Array<FigureState>; tables: number; pageHeight: number }
    if (options.screenshot) {
      const metrics = await cdp.send("Page.getLayoutMetrics", {}, sessionId)
      const size = metrics.cssContentSize ?? metrics.contentSize
      const height = Math.min(Math.ceil(size.height), options.screenshotHeight ?? Infinity)
      writeFileSync(options.screenshot, await capture(cdp, sessionId, { x: 0, y: 0, width: size.width, height }))
    }
    const figureScreenshots: Array<string> = []
    if (options.figureScreenshots) {
      mkdirSync(options.figureScreenshots, { recursive: true })
      const boxes = await cdp.send("Runtime.evaluate", { expression: FIGURE_BOXES, returnByValue: true }, sessionId)
      for (const box of boxes.result.value as Array<{ id: string; x: number; y: number; width: number; height: number }>) {
        const out = join(options.figureScreenshots, `${box.id.replace(/[^A-Za-z0-9_.-]+/g, "-")}.png`)
        writeFileSync(out, await capture(cdp, sessionId, box))
        figureScreenshots.push(out)
      }
      await cdp.send("Runtime.evaluate", { expression: CLOSE_OPENED, returnByValue: true }, sessionId)
    }
    closing = true
    await cdp.send("Browser.close").catch(() => undefined)
    return {
      ...state, errors, messages,
      ...(options.screenshot ? { screenshot: options.screenshot } : {}),
      ...(options.figureScreenshots ? { figureScreenshots } : {})
    }
  }
  const gone = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r()
    else child.once("exit", () => r())
  })
  try {
    return await Promise.race([work(), exited, timeout])
  } finally {
    clearTimeout(timer)
    // give Chromium a moment to exit after Browser.close, then make sure it is gone before removing its profile
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000).unref())])
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL")
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000).unref())])
    }
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 })
    } catch {
      // a leftover temp profile is not worth failing the check over
    }
  }
}
