import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { resolve } from "../src/PipelineGraph.js"

const file = "pipelines/t.pipeline.json"
const text = (v: unknown) => JSON.stringify(v)

const study = {
  definitions: { spec: { inputShape: [4], layers: [{ _tag: "dense", units: 2 }] } },
  stages: {
    data: { kind: "dataset", params: { dataset: "cifar10" } },
    small: { kind: "train", inputs: { train: "data.train", validation: "data.test" }, params: { spec: { $ref: "spec" }, epochs: 1 } },
    grow: {
      kind: "expand", inputs: { model: "small.model" }, params: { method: "x" },
      matrix: { method: ["symmetric", { id: "noisy", params: { method: "noisy-diagonal", noise: { scheme: "scaled" } } }] }
    },
    large: { kind: "train", inputs: { init: "grow.model", train: "data.train", validation: "data.test" }, params: { optimizer: { lr: 1 } }, matrix: { "optimizer.lr": [0.001, 0.0001], seed: [1, 2] } },
    report: { kind: "report", inputs: { runs: "large[*].metrics" } }
  }
}

describe("pipeline graph", () => {
  it.effect("expands matrices, inherits upstream axes and gathers instances", () =>
    Effect.gen(function*() {
      const g = yield* resolve(file, text(study))
      assert.strictEqual(g.pipeline, "t")
      const ids = g.instances.map((i) => i.id)
      assert.deepStrictEqual(ids.slice(0, 4), ["data", "small", "grow--method=symmetric", "grow--method=noisy"])
      const large = g.instances.filter((i) => i.stage === "large")
      assert.strictEqual(large.length, 8)
      const one = g.byId.get("large--method=noisy--lr=0.0001--seed=2")!
      assert.deepStrictEqual(one.params, { optimizer: { lr: 0.0001 }, seed: 2 })
      assert.deepStrictEqual(one.vars, { method: "noisy", lr: 0.0001, seed: 2 })
      assert.deepStrictEqual(one.inputs.find((i) => i.name === "init")!.instances, ["grow--method=noisy"])
      assert.deepStrictEqual(g.byId.get("grow--method=noisy")!.params, { method: "noisy-diagonal", noise: { scheme: "scaled" } })
      assert.deepStrictEqual(g.byId.get("small")!.params.spec, study.definitions.spec)
      const report = g.byId.get("report")!
      assert.strictEqual(report.inputs[0].instances.length, 8)
      assert.strictEqual(report.upstream.length, 8)
      // topological: every upstream comes before its consumer
      const pos = new Map(ids.map((id, i) => [id, i]))
      for (const inst of g.instances) for (const up of inst.upstream) assert.isBelow(pos.get(up)!, pos.get(inst.id)!)
    }))

  it.effect("substitutes $ref inside matrix variants and gathers a list of references", () =>
    Effect.gen(function*() {
      const g = yield* resolve(file, text({
        definitions: { big: { inputShape: [8], layers: [{ _tag: "dense", units: 4 }] } },
        stages: {
          data: { kind: "dataset", params: { dataset: "cifar10" } },
          small: { kind: "train", inputs: { train: "data.train" } },
          grow: { kind: "expand", inputs: { model: "small.model" }, matrix: { target: [{ id: "big", params: { target: { $ref: "big" } } }] } },
          wide: { kind: "net2wider", inputs: { model: "small.model" } },
          report: { kind: "report", inputs: { expansions: ["grow[*].expansion", "wide.expansion"] } }
        }
      }))
      assert.deepStrictEqual(g.byId.get("grow--target=big")!.params.target, { inputShape: [8], layers: [{ _tag: "dense", units: 4 }] })
      const input = g.byId.get("report")!.inputs[0]
      assert.isTrue(input.gather)
      assert.deepStrictEqual(input.sources.map((s) => s.instance), ["grow--target=big", "wide"])
    }))

  it.effect("a stage's params hash depends only on its own kind and resolved params", () =>
    Effect.gen(function*() {
      const a = yield* resolve(file, text(study))
      const changed = structuredClone(study) as typeof study
      ;(changed.stages.small.params as Record<string, unknown>).epochs = 2
      ;(changed.stages as Record<string, unknown>).extra = { kind: "evaluate", inputs: { model: "small.model", dataset: "data.test" } }
      const b = yield* resolve(file, text(changed))
      assert.notStrictEqual(a.byId.get("small")!.paramsHash, b.byId.get("small")!.paramsHash)
      for (const id of ["data", "grow--method=symmetric", "large--method=symmetric--lr=0.001--seed=1", "report"]) {
        assert.strictEqual(a.byId.get(id)!.paramsHash, b.byId.get(id)!.paramsHash, id)
      }
    }))

  const failure = (v: unknown, f = file) => Effect.flip(resolve(f, typeof v === "string" ? v : text(v)))

  it.effect("names the file and field of every mistake", () =>
    Effect.gen(function*() {
      const bad1 = yield* failure("{ not json")
      assert.strictEqual(bad1.field, "(file)")
      assert.strictEqual(bad1.file, file)
      const bad2 = yield* failure({ stages: { data: { kind: "shell", params: {} } } })
      assert.strictEqual(bad2.field, "stages.data.kind")
      assert.include(bad2.expected, "registered stage kind")
      assert.strictEqual(bad2.actual, "\"shell\"")
      const bad3 = yield* failure({ stages: { small: { kind: "train", inputs: { train: "nowhere.train" } } } })
      assert.strictEqual(bad3.field, "stages.small.inputs.train")
      assert.include(bad3.actual, "nowhere")
      const bad4 = yield* failure({ stages: { data: { kind: "dataset" }, small: { kind: "train", inputs: { train: "data.model" } } } })
      assert.strictEqual(bad4.field, "stages.small.inputs.train")
      assert.include(bad4.expected, "train, test, validation")
      const bad5 = yield* failure({ stages: { "../etc": { kind: "dataset" } } })
      assert.include(bad5.field, "stages")
      assert.include(bad5.expected, "^[a-z][a-z0-9-]*$")
      const bad6 = yield* failure({ stages: { data: { kind: "dataset", command: "rm -rf /" } } })
      assert.strictEqual(bad6.field, "stages.data.command")
      const bad7 = yield* failure({ stages: { a: { kind: "train", inputs: { init: "b.model" } }, b: { kind: "train", inputs: { init: "a.model" } } } })
      assert.include(bad7.actual, "cycle")
      const bad8 = yield* failure({ stages: { data: { kind: "dataset", params: { spec: { $ref: "missing" } } } } })
      assert.strictEqual(bad8.field, "stages.data.params.spec.$ref")
      const bad9 = yield* failure({ stages: { data: { kind: "dataset" } } }, "pipelines/Bad Name.json")
      assert.strictEqual(bad9.field, "(file name)")
      const bad10 = yield* failure({
        stages: { data: { kind: "dataset", matrix: { seed: [1, 2] } }, small: { kind: "train", inputs: { train: "data.train" }, matrix: { seed: [3] } } }
      })
      assert.strictEqual(bad10.field, "stages.small.matrix")
    }))
})

describe("filtered gathers and $var", () => {
  const seeded = {
    stages: {
      data: { kind: "dataset", params: { dataset: "cifar10" } },
      small: { kind: "train", inputs: { train: "data.train" }, params: { seed: { $var: "seed" } }, matrix: { seed: [1, 2] } },
      grow: { kind: "expand", inputs: { model: "small.model" }, params: { seed: { $var: "seed" } }, matrix: { target: ["a", "b"] } },
      large: {
        kind: "train", inputs: { init: "grow.model", train: "data.train" }, params: { seed: { $var: "seed" }, note: [{ $var: "target" }] },
        matrix: { learningRate: [0.001, 0.0001] }
      },
      report: { kind: "report", inputs: { runs: ["large[target=b,learningRate=0.0001].metrics", "small[seed=2].metrics"] } }
    }
  }

  it.effect("a $var takes the instance's own or inherited matrix value", () =>
    Effect.gen(function*() {
      const g = yield* resolve(file, text(seeded))
      assert.deepStrictEqual(g.byId.get("small--seed=2")!.params, { seed: 2 })
      assert.deepStrictEqual(g.byId.get("grow--seed=2--target=a")!.params, { seed: 2, target: "a" })
      assert.deepStrictEqual(g.byId.get("large--seed=1--target=b--learningRate=0.001")!.params, { seed: 1, note: ["b"], learningRate: 0.001 })
      assert.notStrictEqual(g.byId.get("small--seed=1")!.paramsHash, g.byId.get("small--seed=2")!.paramsHash)
    }))

  it.effect("[var=value,...] gathers only the matching instances", () =>
    Effect.gen(function*() {
      const g = yield* resolve(file, text(seeded))
      const input = g.byId.get("report")!.inputs[0]
      assert.isTrue(input.gather)
      assert.deepStrictEqual(input.instances, ["large--seed=1--target=b--learningRate=0.0001", "large--seed=2--target=b--learningRate=0.0001", "small--seed=2"])
    }))

  it.effect("a filter that matches nothing and an unknown $var name their field", () =>
    Effect.gen(function*() {
      const none = yield* Effect.flip(resolve(file, text({ ...seeded, stages: { ...seeded.stages, report: { kind: "report", inputs: { runs: "large[target=c].metrics" } } } })))
      assert.strictEqual(none.field, "stages.report.inputs.runs")
      assert.include(none.expected, "target=a")
      assert.strictEqual(none.actual, "none")
      const badVar = yield* Effect.flip(resolve(file, text({ stages: { data: { kind: "dataset", params: { seed: { $var: "seed" } } } } })))
      assert.strictEqual(badVar.field, "stages.data.params.seed.$var")
      const badRef = yield* Effect.flip(resolve(file, text({ stages: { data: { kind: "dataset" }, r: { kind: "report", inputs: { runs: "data[seed].train" } } } })))
      assert.strictEqual(badRef.field, "stages.r.inputs.runs")
    }))
})
