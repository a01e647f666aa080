/**
 * The experiment pipelines (the full study and the quick variants of exp2/3/4) resolve with the runner's graph builder,
 * and every `expand` instance's params decode with this stage's schema and plan successfully from the `small` stage's spec.
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
    for (const file of [`pipelines/${name}-quick.pipeline.json`]) {
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
          for (const t of g.instances.filter((i) => i.kind === "train")) assert.strictEqual(t.params.epochs, 1)
          const data = g.instances.find((i) => i.kind === "dataset")!
          assert.deepStrictEqual(data.params.subset, { train: 500, test: 200 })
        }))
    }
  }

  it.effect("pipelines/study.pipeline.json: full data, three seeds per method, grown models follow their small model's seed", () =>
    Effect.gen(function*() {
      const file = "pipelines/study.pipeline.json"
      const g = yield* resolve(file, readFileSync(`${root}/${file}`, "utf8"))
      const count = (stage: string) => g.instances.filter((i) => i.stage === stage).length
      assert.deepStrictEqual(
        ["small", "scratch", "scratch-wide96", "scratch50", "e2-grow", "e2-train", "e3-grow", "e3-train", "e4-grow", "e4-train", "e5-grow", "e5-train", "fm-scratch", "fm-distill"].map(count),
        [3, 12, 3, 6, 30, 60, 24, 48, 12, 24, 18, 18, 3, 15])
      for (const d of g.instances.filter((i) => i.kind === "dataset")) assert.isUndefined(d.params.subset, d.id)
      const small = g.instances.find((i) => i.stage === "small")!
      const source = yield* Schema.decodeUnknown(ModelSpec)(small.params.spec)
      for (const inst of g.instances.filter((i) => i.kind === "expand")) {
        const params = yield* decodeParams(expandStage, inst.params, { file, stage: inst.id })
        yield* Plan.make(source, params.target, params)
        assert.strictEqual(params.seed, inst.vars.seed, `${inst.id}: noise seed = the source's seed`)
      }
      for (const t of g.instances.filter((i) => i.kind === "train")) {
        const init = t.inputs.find((i) => i.name === "init")
        const expectedEpochs = t.stage === "scratch50" ? 50 : t.stage.startsWith("fm-") && t.stage !== "fm-teacher" ? 30 : 10
        assert.strictEqual(t.params.epochs, expectedEpochs, t.id)
        if (!init) continue
        const grow = g.byId.get(init.instances[0])!
        const smallOf = g.byId.get(grow.inputs.find((i) => i.name === "model")!.instances[0])!
        assert.strictEqual(t.params.seed, smallOf.params.seed, `${t.id} trains with its small model's seed`)
      }
    }))
})
