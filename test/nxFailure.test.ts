/**
 * The end-to-end tests' handling of a failed `nx run`: the failure message names each failed Nx task and shows its
 * own output wherever it is in the log, and a run whose only failures are native TensorFlow crashes is run once more.
 */
import { afterEach, describe, expect, it } from "vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nativeCrash, nxFailure, runNx, type WorkspaceCopy } from "./workspaceCopy.js"

const block = (task: string, body: string) => `\n\u001b[2m> \u001b[22m\u001b[2mnx run\u001b[22m ${task}\n\n${body}\n`
const failedList = (...tasks: Array<string>) =>
  `\n NX   Running target p for project pipelines failed\n\nFailed tasks:\n\n${tasks.map((t) => `- ${t}\n`).join("")}\nHint: run the command with --verbose\n`

// the two crashes seen here, as the stage processes printed them
const segfault = "[growlab] p/b: done in 0.9s → artifacts/p/b\nSegmentation fault\nWarning: command \"node tools/pipeline/growlab.mjs run …\" exited with non-zero status code"
const checkFailure = "epoch 1/1 …\nF0000 00:00:1795816168.927407    6482 tensor.cc:899] Check failed: IsAligned() ptr = 0x137ac130\n*** Check failure stack trace: ***\n    @     0x7f6718ece564  absl::lts_20250814::log_internal::LogMessage::SendToLog()"

describe("nxFailure", () => {
  it("quotes each failed task's block, not the tasks that ran after it", () => {
    const output = [
      block("p--a:run", "[growlab] p/a: done in 0.1s"),
      block("p--b:run", `StageFailure: loss is NaN\n${"x".repeat(20_000)}\nexit 1`),
      block("p--c:run", "[growlab] p/c: done in 0.1s"),
      failedList("p--b:run")
    ].join("")
    const message = nxFailure("nx run pipelines:p", { code: 1, output }, 200)
    expect(message).toContain("nx run pipelines:p failed (exit code 1)")
    expect(message).toContain("> nx run p--b:run\n\nStageFailure: loss is NaN")
    expect(message).toContain("exit 1")
    expect(message).not.toContain("p/a: done")
    expect(message).not.toContain("\u001b[")
    expect(message.length).toBeLessThan(9000)
  })

  it("says so when a failed task printed nothing of its own", () => {
    const message = nxFailure("nx run pipelines:p", { code: 1, output: failedList("p--z:run") })
    expect(message).toContain("p--z:run: no output of its own in the log")
  })
})

describe("runNx", () => {
  let dir: string | undefined
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }) })

  /** A workspace whose `nx run` prints the given outputs in turn, appending `ran` lines to the run log. */
  const fake = (runs: Array<{ code: number; output: string; ran: Array<string> }>) => {
    dir = mkdtempSync(join(tmpdir(), "growlab-runnx-"))
    const runLog = join(dir, "runs.log")
    const calls: Array<Array<string>> = []
    const ws: WorkspaceCopy = {
      dir,
      runLog,
      env: (extra = {}) => ({ ...process.env, GROWLAB_RUN_LOG: runLog, ...extra }),
      exec: (cmd, args) => {
        calls.push([cmd, ...args])
        const next = runs.shift()
        if (!next) throw new Error("nx run more often than expected")
        writeFileSync(runLog, next.ran.map((l) => `${l}\n`).join(""), { flag: "a" })
        return { code: next.code, output: next.output }
      },
      cleanup: () => {}
    }
    return { ws, calls, runLog }
  }

  it("recognises the native crashes seen here and nothing else", () => {
    expect(nativeCrash.test(segfault)).toBe(true)
    expect(nativeCrash.test(checkFailure)).toBe(true)
    expect(nativeCrash.test("Aborted (core dumped)")).toBe(true)
    expect(nativeCrash.test("StageFailure: loss is NaN")).toBe(false)
    expect(nativeCrash.test("PipelineError: stages.grow.params: expected a number, got \"x\" (Segmentation fault)")).toBe(false)
  })

  it("runs the target once more when every failed task died of a native crash; the run log counts each stage once", () => {
    const { ws, calls, runLog } = fake([
      { code: 1, output: block("p--a:run", "done") + block("p--b:run", segfault) + failedList("p--b:run"), ran: ["p/a", "p/b"] },
      { code: 0, output: block("p--b:run", "done") + block("p--c:run", "done"), ran: ["p/b", "p/c"] }
    ])
    const warnings: Array<string> = []
    expect(runNx(ws, "pipelines:p", (m) => warnings.push(m)).code).toBe(0)
    expect(calls).toHaveLength(2)
    expect(warnings.join("")).toBe("[e2e] nx run pipelines:p: p--b:run died of a native TensorFlow crash:\nSegmentation fault\n[e2e] running it once more\n")
    expect(readFileSync(runLog, "utf8").split("\n").filter(Boolean)).toEqual(["p/a", "p/b", "p/c"])
  })

  it("does not run it again when a task failed for any other reason, even beside a crash", () => {
    const { ws, calls } = fake([{
      code: 1,
      output: block("p--a:run", checkFailure) + block("p--b:run", "StageFailure: loss is NaN") + failedList("p--a:run", "p--b:run"),
      ran: ["p/a", "p/b"]
    }])
    expect(() => runNx(ws, "pipelines:p", () => {})).toThrow(/p--b:run\n\nStageFailure: loss is NaN/)
    expect(calls).toHaveLength(1)
  })

  it("runs it again only once", () => {
    const crashed = { code: 1, output: block("p--a:run", checkFailure) + failedList("p--a:run"), ran: ["p/a"] }
    const { ws, calls } = fake([crashed, { ...crashed }])
    const warnings: Array<string> = []
    expect(() => runNx(ws, "pipelines:p", (m) => warnings.push(m))).toThrow(/run again after a native crash\) failed/)
    expect(warnings).toHaveLength(1)
    expect(calls).toHaveLength(2)
  })
})
