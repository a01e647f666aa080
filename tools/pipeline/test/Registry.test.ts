import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NodeContext } from "@effect/platform-node"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { kindEntry, registry } from "../src/Registry.js"
import { loadGraph, loadStage } from "../src/Runner.js"
import { decodeParams } from "@growlab/core/StageContext"
import { repoRoot } from "../../../test/workspaceCopy.js"

describe("stage registry", () => {
  it.effect("matches the stage kinds and outputs the packages export", () =>
    Effect.gen(function*() {
      for (const [kind, entry] of registry) {
        const stage = yield* loadStage("registry", kind, kind)
        assert.strictEqual(stage.kind, kind)
        assert.isTrue(entry.module.startsWith(`${entry.package}/`), `${kind}: its module is in its package`)
        assert.deepStrictEqual(Object.keys(stage.outputs).sort(), Object.keys(entry.outputs).sort(), `outputs of ${kind} (${entry.package})`)
        for (const [name, out] of Object.entries(stage.outputs)) {
          assert.match(out.file, /^[A-Za-z0-9_.-]+$/, `${kind}.${name} file name stays inside the stage folder`)
          const e = entry.outputs[name]
          assert.deepStrictEqual([e.kind, e.file, e.dir === true, e.optional === true], [out.kind, out.file, out.dir === true, out.optional === true], `${kind}.${name}`)
        }
        assert.strictEqual(entry.usesTf, stage.usesTf !== false, `${kind}: usesTf`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("every pipeline (each file and profile) resolves and every instance's params decode", () =>
    Effect.gen(function*() {
      const dir = join(repoRoot, "pipelines")
      const files = readdirSync(dir).filter((f) => f.endsWith(".pipeline.json"))
      assert.isAbove(files.length, 0)
      const graphs = []
      for (const f of files) {
        const file = `pipelines/${f}`
        const base = yield* loadGraph(repoRoot, file)
        graphs.push(base)
        for (const profile of base.profiles) graphs.push(yield* loadGraph(repoRoot, file, { profile }))
      }
      for (const graph of graphs) {
        const file = graph.file
        for (const inst of graph.instances) {
          const stage = yield* loadStage(file, `stages.${inst.stage}.kind`, inst.kind)
          yield* decodeParams(stage, inst.params, { file, stage: inst.id })
          for (const input of inst.inputs) {
            const decl = stage.inputs[input.name]
            assert.isDefined(decl, `${file}: ${inst.id} binds undeclared input ${input.name}`)
            assert.strictEqual(input.gather, decl.many === true, `${file}: ${inst.id}.${input.name} gather`)
          }
          for (const [name, decl] of Object.entries(stage.inputs)) {
            if (!decl.optional) assert.isDefined(inst.inputs.find((i) => i.name === name), `${file}: ${inst.id} needs input ${name}`)
          }
        }
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it("only the table's own entries are kinds (no Object.prototype members)", () => {
    for (const name of ["toString", "constructor", "hasOwnProperty", "__proto__", "valueOf"]) assert.isUndefined(kindEntry(name), name)
    assert.isDefined(kindEntry("train"))
  })
})
