/**
 * The study pipeline and its CI-sized profile (`quick`, the pipeline study-quick) resolve with the runner's graph
 * builder, and every `expand` instance's params decode with this stage's schema and plan from the `small` stage's spec.
 */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { NodeContext } from "@effect/platform-node"
import { fileURLToPath } from "node:url"
import { ModelSpec } from "@growlab/core/ModelSpec"
import { decodeParams } from "@growlab/core/StageContext"
import { loadGraph } from "@growlab/pipeline/Runner"
import { expandStage } from "../src/ExpandStage.js"
import * as Plan from "../src/Plan.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))

describe("experiment pipelines", () => {
  const cases = [
    { name: "study", profile: undefined, seeds: 3, targets: 2, long: 50, fm: 30, short: 10, counts: [3, 3, 12, 3, 6, 30, 60, 24, 48, 12, 24, 18, 18, 3, 15] },
    { name: "study-quick", profile: "quick", seeds: 2, targets: 1, long: 2, fm: 2, short: 1, counts: [2, 2, 4, 2, 2, 10, 20, 8, 16, 4, 8, 8, 8, 2, 10] }
  ]
  for (const c of cases) it.effect(`${c.name}: ${c.seeds} seeds per method, grown models follow their small model's seed`, () =>
    Effect.gen(function*() {
      const file = "pipelines/study.pipeline.json"
      const g = yield* loadGraph(root, file, c.profile === undefined ? {} : { profile: c.profile })
      const count = (stage: string) => g.instances.filter((i) => i.stage === stage).length
      assert.deepStrictEqual(
        ["small", "small-more", "scratch", "scratch-wide96", "scratch50", "e2-grow", "e2-train", "e3-grow", "e3-train", "e4-grow", "e4-train", "e5-grow", "e5-train", "fm-scratch", "fm-distill"].map(count),
        c.counts)
      for (const d of g.instances.filter((i) => i.kind === "dataset")) {
        if (c.seeds === 3) assert.isUndefined(d.params.subset, d.id)
        else assert.isDefined(d.params.subset, d.id)
      }
      const small = g.instances.find((i) => i.stage === "small")!
      const source = yield* Schema.decodeUnknown(ModelSpec)(small.params.spec)
      for (const inst of g.instances.filter((i) => i.kind === "expand")) {
        const params = yield* decodeParams(expandStage, inst.params, { file, stage: inst.id })
        yield* Plan.make(source, params.target, params)
        assert.strictEqual(params.seed, inst.vars.seed, `${inst.id}: noise seed = the source's seed`)
      }
      for (const t of g.instances.filter((i) => i.kind === "train")) {
        const init = t.inputs.find((i) => i.name === "init")
        const expectedEpochs = t.stage === "scratch50" ? c.long : t.stage.startsWith("fm-") && t.stage !== "fm-teacher" ? c.fm : c.short
        assert.strictEqual(t.params.epochs, expectedEpochs, t.id)
        if (!init) continue
        // a grown model's init comes from a grow stage that read a small model; small-more continues the small model
        const from = g.byId.get(init.instances[0])!
        const smallOf = from.kind === "train" ? from : g.byId.get(from.inputs.find((i) => i.name === "model")!.instances[0])!
        assert.strictEqual(smallOf.stage, "small", `${t.id} starts from a small model`)
        assert.strictEqual(t.params.seed, smallOf.params.seed, `${t.id} trains with its small model's seed`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})
