import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import type * as MetricsArtifact from "@growlab/core/MetricsArtifact"
import { runStage } from "@growlab/core/StageContext"
import * as Browser from "../src/Browser.js"
import { reportStage } from "../src/ReportStage.js"
import { metricsOf, writeExpansion, writeGradcam, writeRun, writeStudySized } from "./support/fixtures.js"

// Needs Debian's chromium (apt-get install -y chromium). Without it these tests FAIL with the install command:
// a report nobody has opened is not a tested report.

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "growlab-browser-" }))

const writeReport = (dir: string) =>
  Effect.gen(function*() {
    const runs = []
    const methods = { scratch: { plateau: 0.61, first: 0.48, seconds: 12 }, symmetric: { plateau: 0.63, first: 0.62, seconds: 10 }, envelope: { plateau: 0.68, first: 0.6, seconds: 9.5 } }
    // the compute facts the train stage records, so the accuracy-against-compute chart is drawn
    const costed = (m: MetricsArtifact.Metrics): MetricsArtifact.Metrics => ({ ...m, info: { ...m.info, flopsPerExample: 3e5, trainExamples: 1000 } })
    for (const [method, c] of Object.entries(methods)) {
      for (const seed of [1, 2]) runs.push(yield* writeRun(dir, `large--method=${method}--seed=${seed}`, { method, seed }, costed(metricsOf(c, 6, seed * 7 + method.length))))
    }
    const reference = [yield* writeRun(dir, "scratch50", {}, costed(metricsOf({ plateau: 0.67, first: 0.48, seconds: 12 }, 20, 3)))]
    const expansions = [yield* writeExpansion(dir, "symmetric", null, 1e-6), yield* writeExpansion(dir, "envelope", 7.6, 0.4)]
    const gradcam = [yield* writeGradcam(dir)]
    yield* runStage(reportStage, { reference: { var: "method", value: "scratch" } }, { outDir: `${dir}/out`, inputs: { runs, reference, expansions, gradcam }, log: () => {} })
    return `${dir}/out/report.html`
  })

/** One report (in a temp folder that lives as long as the tests) for both checks: generating it costs seconds. */
class Report extends Context.Tag("test/Report")<Report, { readonly dir: string; readonly file: string }>() {}

const ReportLive = Layer.scoped(Report, Effect.gen(function*() {
  const dir = yield* tempDir
  return { dir, file: yield* writeReport(dir) }
})).pipe(Layer.provideMerge(NodeContext.layer))

layer(ReportLive, { timeout: 120_000 })("report in headless Chromium", (it) => {
  it.effect("loads with no console error and draws every figure", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { file } = yield* Report
      const html = yield* fs.readFileString(file)
      const result = yield* Browser.checkPage(file)
      assert.deepStrictEqual(result.errors, [], "no console errors")
      assert.strictEqual(result.title, "growlab report")
      const expected = [
        "val-accuracy", "val-loss", "train-accuracy", "first-epoch", "accuracy-flops", "time-per-epoch", "scratch-match",
        "expansion-0-conv2-kernel", "expansion-1-conv2-kernel", "gradcam-0", "gradcam-0-placement-conv2"
      ]
      assert.deepStrictEqual(result.figures.map((f) => f.id).sort(), [...expected].sort())
      assert.strictEqual(result.figures.length, html.match(/data-figure="/g)!.length, "every figure of the file is in the page")
      for (const f of result.figures) {
        assert.isTrue(f.ok, `${f.id} is drawn (${f.type} ${f.width}×${f.height})`)
        assert.isAbove(f.width, 7, f.id)
      }
      assert.isAtLeast(result.tables, 5)
      // positions as the page opens: the validation loss, the training accuracy and the weight heatmaps are folded away,
      // every other figure is shown, in document order, within the page
      assert.deepStrictEqual(result.figures.filter((f) => f.top === null).map((f) => f.id), ["val-loss", "train-accuracy", "expansion-0-conv2-kernel", "expansion-1-conv2-kernel"])
      const tops = result.figures.flatMap((f) => (f.top === null ? [] : [f.top]))
      assert.isTrue(tops.every((t) => t > 0), `tops: ${tops.join(", ")}`)
      assert.deepStrictEqual(tops, [...tops].sort((a, b) => a - b), "tops in document order")
      assert.isAbove(result.pageHeight, tops[tops.length - 1])
    }))

  it.effect("checks a figure in a closed <details> opened, gives it no position, and screenshots each figure", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* Report
      const html = yield* fs.readFileString(file)
      const folded = html.replace(/(<figure id="fig-first-epoch"[\s\S]*?<\/figure>)/, "<details><summary>more</summary>$1</details>")
      assert.notStrictEqual(folded, html, "the first-epoch figure was wrapped")
      yield* fs.writeFileString(`${dir}/folded.html`, folded)
      const open = yield* Browser.checkPage(file)
      const result = yield* Browser.checkPage(`${dir}/folded.html`, { figureScreenshots: `${dir}/figures`, screenshot: `${dir}/top.png`, screenshotHeight: 700 })
      const first = result.figures.find((f) => f.id === "first-epoch")!
      assert.isNull(first.top)
      assert.isTrue(first.ok, "drawn once its section is opened")
      assert.isBelow(result.pageHeight, open.pageHeight, "the closed section takes less room")
      assert.strictEqual(result.figureScreenshots!.length, result.figures.length)
      const shot = yield* fs.readFile(`${dir}/figures/first-epoch.png`)
      const size = (png: Uint8Array) => [new DataView(png.buffer, png.byteOffset).getUint32(16), new DataView(png.buffer, png.byteOffset).getUint32(20)]
      const [w, h] = size(shot)
      assert.isAbove(w, 100, "the figure's own box, opened")
      assert.isAbove(h, 50)
      assert.strictEqual(size(yield* fs.readFile(`${dir}/top.png`))[1], 700, "the screenshot is cut at screenshotHeight")
    }))

  it.effect("catches a figure that does not draw and a resource the page may not load", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* Report
      const html = yield* fs.readFileString(file)
      const broken = html.replace("</main>",
        `<figure data-figure="broken"><img src="data:image/png;base64,iVBORw0KGgo="></figure><img src="missing.png"></main>`)
      yield* fs.writeFileString(`${dir}/broken.html`, broken)
      const result = yield* Browser.checkPage(`${dir}/broken.html`)
      assert.isFalse(result.figures.find((f) => f.id === "broken")!.ok)
      assert.isTrue(result.errors.some((e) => e.includes("missing.png")), `errors: ${result.errors.join("; ")}`)
    }))
})

/** A report as large as the study's combined one: 38 claims, 44 methods of 6 families, twins (generating it costs seconds). */
class StudySized extends Context.Tag("test/StudySized")<StudySized, { readonly file: string; readonly html: string }>() {}

const StudySizedLive = Layer.scoped(StudySized, Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* tempDir
  const { inputs, params } = yield* writeStudySized(dir)
  yield* runStage(reportStage, params, { outDir: `${dir}/out`, inputs, log: () => {} })
  return { file: `${dir}/out/report.html`, html: yield* fs.readFileString(`${dir}/out/report.html`) }
})).pipe(Layer.provideMerge(NodeContext.layer))

/** Whether the first element matching `marker` sits inside a closed <details>. */
const folded = (html: string, marker: string): boolean => {
  const at = html.indexOf(marker)
  const open = html.lastIndexOf("<details", at)
  return at > 0 && open > html.lastIndexOf("</details>", at) && !html.startsWith("<details open", open)
}

layer(StudySizedLive, { timeout: 180_000 })("a study-sized report (issue #22)", (it) => {
  it.effect("claims first, then the figures within the first two screens, then compact tables; long tables folded", () =>
    Effect.gen(function*() {
      const { file, html } = yield* StudySized
      const result = yield* Browser.checkPage(file)
      assert.deepStrictEqual(result.errors, [])
      for (const f of result.figures) assert.isTrue(f.ok, `${f.id} drawn`)
      const first = result.figures.find((f) => f.top !== null)!
      assert.match(first.id, /^val-accuracy--/, "the first figure shown is a learning curve")
      assert.isBelow(first.top!, 2 * 900, `first figure at ${first.top} px: within two screens of 900 px`)
      const order = ["claims", "curves", "first-epoch", "compute", "performance"].map((id) => html.indexOf(`<section id="${id}"`))
      assert.deepStrictEqual(order, [...order].sort((a, b) => a - b), `sections in order: ${order.join(", ")}`)
      assert.isTrue(order.every((i) => i > 0))
      // the long tables are folded away; the claims' comparisons and the performance table are not
      assert.isTrue(folded(html, 'data-table="significance"'), "every test: folded")
      assert.isTrue(folded(html, 'data-table="runs"'), "every run: folded")
      assert.isTrue(folded(html, 'data-table="claim_figures"'), "published figures, beside 28 comparisons: folded")
      assert.isTrue(folded(html, 'data-table="time_to_target"'), "a secondary table of more than 20 rows: folded")
      for (const open of ["claim_comparisons", "performance", "compute"]) assert.isFalse(folded(html, `data-table="${open}"`), `${open}: shown`)
      // twins: one row that names both; none for either alone
      const performance = html.slice(html.indexOf('data-table="performance"'), html.indexOf("</table>", html.indexOf('data-table="performance"')))
      assert.include(performance, ">diagonal = symmetric, target=one, learningRate=0.001<")
      assert.notInclude(performance, ">diagonal, target=one, learningRate=0.001<")
      assert.notInclude(performance, ">symmetric, target=one, learningRate=0.001<")
      // 12 methods in one chart: one panel per family, each headed by its family's name
      const chart = html.slice(html.indexOf('data-figure="val-accuracy--target-two--learningRate-0.001"'))
      const svg = chart.slice(0, chart.indexOf("</figure>"))
      for (const family of ["diagonal", "envelope", "net2wider", "small", "symmetric"]) assert.include(svg, `>${family}</text>`)
      // one accuracy-against-compute chart per target
      assert.deepStrictEqual(result.figures.filter((f) => f.id.startsWith("accuracy-flops")).map((f) => f.id), ["accuracy-flops--target-one", "accuracy-flops--target-two"])
    }))
})

describe("without Chromium", () => {
  it.effect("the check fails and says how to install it", () =>
    Effect.gen(function*() {
      const error = yield* Browser.findChromium().pipe(
        Effect.flip,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["GROWLAB_CHROMIUM", "/nonexistent/chromium"]])))
      )
      assert.strictEqual(error._tag, "BrowserUnavailable")
      assert.deepStrictEqual(error.tried, ["/nonexistent/chromium"])
      assert.include(error.message, "apt-get install -y chromium")
    }))
})
