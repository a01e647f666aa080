/**
 * The experiment pipelines (exp2/3/4 and their quick variants) resolve with the runner's graph builder, and every
 * `expand` instance's params decode with this stage's schema and plan successfully from the `small` stage's spec.
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { ModelSpec } from "@growlab/core/ModelSpec"
import { decodeParams } from "@growlab/core/StageContext"
import { resolve } from "@growlab/pipeline/PipelineGraph"
import { expandStage } from "../src/ExpandStage.js"
import * as Plan from "../src/Plan.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))

const expected: Record<string, { grow: ReadonlyArray<string>; large: number }> = {
  exp2: { grow: ["symmetric", "noisy-symmetric", "diagonal", "diagonal", "noisy-diagonal"], large: 20 },
  exp3: { grow: ["noisy-symmetric", "noisy-symmetric", "noisy-diagonal", "noisy-diagonal"], large: 16 },
  exp4: { grow: ["envelope", "envelope"], large: 8 }
}

describe("experiment pipelines", () => {
  for (const [name, want] of Object.entries(expected)) {
    for (const file of [`pipelines/${name}.pipeline.json`, `pipelines/${name}-quick.pipeline.json`]) {
      it.effect(`${file}: resolves; every expand instance decodes and plans`, () =>
        Effect.gen(function*() {
          const g = yield* resolve(file, readFileSync(`${root}/${file}`, "utf8"))
          const small = g.instances.find((i) => i.stage === "small")!
          const source = yield* Schema.decodeUnknown(ModelSpec)(small.params.spec)
          const grows = g.instances.filter((i) => i.kind === "expand")
          assert.strictEqual(grows.length, want.grow.length * 2) // × {large1, large2}
          const methods: Array<string> = []
          for (const inst of grows) {
            const params = yield* decodeParams(expandStage, inst.params, { file, stage: inst.id })
            const plan = yield* Plan.make(source, params.target, params)
            assert.strictEqual(plan.target.name, inst.vars.target === "large1" ? "cnn-large-1" : "cnn-large-2")
            if (params.method.startsWith("noisy")) assert.isDefined(params.noise)
            if (inst.vars.target === "large1") methods.push(params.method)
          }
          assert.deepStrictEqual(methods, want.grow)
          assert.strictEqual(g.instances.filter((i) => i.stage === "large").length, want.large)
          assert.strictEqual(g.instances.filter((i) => i.stage === "scratch").length, 4)
          const quick = file.includes("-quick")
          for (const t of g.instances.filter((i) => i.kind === "train")) assert.strictEqual(t.params.epochs, quick ? 1 : 10)
          const data = g.instances.find((i) => i.kind === "dataset")!
          assert.deepStrictEqual(data.params.subset, quick ? { train: 500, test: 200 } : undefined)
        }))
    }
  }
})
