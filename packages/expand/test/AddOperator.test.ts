/**
 * Adding an operator is one file: in a throwaway copy of the workspace (test/workspaceCopy.ts), a pipeline naming a
 * method that does not exist fails `growlab check`; dropping one file into `packages/expand/src/operators/` — and
 * editing nothing else — makes the stage list the method, `growlab check` accept the pipeline, the expand kind's code
 * key change (the registry's glob import bundles the new file), and the generic operator tests run on it and pass.
 */
import { describe, it, assert, beforeAll, afterAll } from "@effect/vitest"
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeWorkspaceCopy, repoRoot, type WorkspaceCopy } from "../../../test/workspaceCopy.js"

const METHOD = "symmetric-again"

/** A new operator file: symmetric's kernel under another name (the point is discovery, not new mathematics). */
const OPERATOR = `/** A test operator: the symmetric kernel under another name. */
import * as Operator from "../Operator.js"
import { follow, noNoise } from "../internal/vectors.js"
import { base } from "./Symmetric.js"

export const operator = Operator.make({
  name: "${METHOD}",
  summary: "symmetric, registered from its own file",
  docs: { kernel: "as symmetric", bias: "repeated", preserves: "yes" },
  method: { layout: "tile", params: {}, plan: () => ({ operator: "${METHOD}" }), examples: [{}] },
  noise: "none",
  kernel: (input) => {
    const kernel = base(input)
    return noNoise(kernel)
  },
  bias: (source, outMap) => follow(source, outMap)
})
`

let ws: WorkspaceCopy

beforeAll(() => {
  ws = makeWorkspaceCopy()
  // The copy gets its own closure cache (node_modules/.growlab/closures; its other entries still link to the
  // repository's), so that what this test builds never lands in the repository's cache.
  const shared = join(repoRoot, "node_modules/.growlab")
  const own = join(ws.dir, "node_modules/.growlab")
  rmSync(own, { force: true })
  mkdirSync(own)
  for (const entry of readdirSync(shared)) if (entry !== "closures") symlinkSync(join(shared, entry), join(own, entry))
  const smoke = JSON.parse(readFileSync(join(repoRoot, "pipelines/smoke.pipeline.json"), "utf8"))
  writeFileSync(join(ws.dir, "pipelines/added.pipeline.json"), JSON.stringify({
    description: "a pipeline naming a method added by one file",
    definitions: smoke.definitions,
    stages: { data: smoke.stages.data, small: smoke.stages.small, grow: { ...smoke.stages.grow, params: { ...smoke.stages.grow.params, method: METHOD } } }
  }, null, 2))
})

afterAll(() => ws?.cleanup())

const growlab = (...args: Array<string>) => ws.exec("node", ["tools/pipeline/growlab.mjs", ...args])
/**
 * The expand kind's code part. CodeClosure.ts reuses a cached closure while every file that went into it and every
 * listing of their folders is unchanged, so the file added to `operators/` (imported by pattern) invalidates it.
 */
const codeKey = (): string => {
  const r = growlab("key", "pipelines/added.pipeline.json", "grow")
  assert.strictEqual(r.code, 0, r.output)
  return (JSON.parse(r.output.slice(r.output.indexOf("{"))) as { parts: { code: string } }).parts.code
}
const stageFacts = () => {
  const r = ws.exec("node", ["--import", "tsx", "-e",
    "const m = await import('./packages/expand/src/ExpandStage.ts'); const R = await import('./packages/expand/src/Registry.ts'); " +
    "console.log(JSON.stringify({ description: m.expandStage.description, methods: R.methodNames }))"])
  assert.strictEqual(r.code, 0, r.output)
  return JSON.parse(r.output.trim().split("\n").at(-1)!) as { description: string; methods: Array<string> }
}

describe("adding an operator is one file", () => {
  it("is picked up by the stage, growlab check, the code key and the generic tests with no other edit", () => {
    const before = growlab("check", "pipelines/added.pipeline.json")
    assert.notStrictEqual(before.code, 0, "the method does not exist yet")
    assert.include(before.output, "params.method")
    assert.notInclude(stageFacts().methods, METHOD)
    const keyBefore = codeKey()

    writeFileSync(join(ws.dir, "packages/expand/src/operators/SymmetricAgain.ts"), OPERATOR)

    const facts = stageFacts()
    assert.include(facts.methods, METHOD)
    assert.include(facts.description, METHOD)
    const after = growlab("check", "pipelines/added.pipeline.json")
    assert.strictEqual(after.code, 0, after.output)
    assert.match(after.output, /✓.*pipelines\/added\.pipeline\.json/)
    assert.notStrictEqual(codeKey(), keyBefore, "the new file is part of the expand kind's code closure")

    const tests = ws.exec("npx", ["vitest", "run", "packages/expand/test/OperatorContract.test.ts", "-t", `method ${METHOD}`, "--reporter=json", "--outputFile=generic.json"])
    assert.strictEqual(tests.code, 0, tests.output.slice(-3000))
    const report = JSON.parse(readFileSync(join(ws.dir, "generic.json"), "utf8")) as { testResults: Array<{ assertionResults: Array<{ fullName: string; status: string }> }> }
    const mine = report.testResults.flatMap((f) => f.assertionResults).filter((t) => t.fullName.includes(`method ${METHOD}`))
    assert.isAtLeast(mine.length, 5, "params, three targets and the BatchNorm net")
    assert.deepStrictEqual([...new Set(mine.map((t) => t.status))], ["passed"])
  })
})
