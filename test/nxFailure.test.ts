/** The end-to-end tests' failure message names each failed Nx task and shows its own output, wherever it is in the log. */
import { describe, expect, it } from "vitest"
import { nxFailure } from "./workspaceCopy.js"

const block = (task: string, body: string) => `\n\u001b[2m> \u001b[22m\u001b[2mnx run\u001b[22m ${task}\n\n${body}\n`

describe("nxFailure", () => {
  it("quotes each failed task's block, not the tasks that ran after it", () => {
    const output = [
      block("p--a:run", "[growlab] p/a: done in 0.1s"),
      block("p--b:run", `StageFailure: loss is NaN\n${"x".repeat(20_000)}\nexit 1`),
      block("p--c:run", "[growlab] p/c: done in 0.1s"),
      "\n NX   Running target p for project pipelines failed\n\nFailed tasks:\n\n- p--b:run\n\nHint: run the command with --verbose\n"
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
    const message = nxFailure("nx run pipelines:p", { code: 1, output: "Failed tasks:\n\n- p--z:run\n" })
    expect(message).toContain("p--z:run: no output of its own in the log")
  })
})
