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
      assert.include(bad5.expected, "lowercase letters, digits and '-'")
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

describe("pipeline files that try to break the resolver", () => {
  const fails = (t: string | unknown, f = file) => Effect.flip(resolve(f, typeof t === "string" ? t : text(t)))

  it.effect("Object.prototype names are not kinds, definitions or matrix values", () =>
    Effect.gen(function*() {
      for (const kind of ["toString", "constructor", "hasOwnProperty", "__proto__"]) {
        const e = yield* fails({ stages: { data: { kind } } })
        assert.strictEqual(e.field, "stages.data.kind", kind)
        assert.include(e.expected, "registered stage kind")
      }
      const ref = yield* fails({ stages: { data: { kind: "dataset", params: { x: { $ref: "constructor" } } } } })
      assert.strictEqual(ref.field, "stages.data.params.x.$ref")
      const refProto = yield* fails({ stages: { data: { kind: "dataset", params: { x: { $ref: "__proto__" } } } } })
      assert.strictEqual(refProto.field, "stages.data.params.x.$ref")
      for (const name of ["constructor", "__proto__", "toString"]) {
        const v = yield* fails({ stages: { data: { kind: "dataset", params: { x: { $var: name } } } } })
        assert.strictEqual(v.field, "stages.data.params.x.$var", name)
      }
      // a stage may be named like an Object.prototype member: it is looked up as an own name
      const named = yield* resolve(file, text({ stages: { constructor: { kind: "dataset" }, train: { kind: "train", inputs: { train: "constructor.train" } } } }))
      assert.deepStrictEqual(named.instances.map((i) => i.id), ["constructor", "train"])
      const up = yield* fails({ stages: { t: { kind: "train", inputs: { train: "hasownproperty.train" } } } })
      assert.strictEqual(up.field, "stages.t.inputs.train")
      // a "__proto__" key in a matrix variant's params stays a plain key (no prototype is replaced)
      const g = yield* resolve(file, text({ stages: { data: { kind: "dataset", params: { a: 1 }, matrix: { v: [{ id: "x", params: JSON.parse('{"__proto__": {"polluted": true}}') }] } } } }))
      const params = g.instances[0].params
      assert.isUndefined((params as { polluted?: unknown }).polluted)
      assert.isUndefined(({} as { polluted?: unknown }).polluted)
    }))

  it.effect("duplicate keys are an error naming the file and the key", () =>
    Effect.gen(function*() {
      const stage = yield* fails(`{ "stages": { "data": { "kind": "dataset" }, "data": { "kind": "dataset", "params": { "seed": 2 } } } }`)
      assert.strictEqual(stage.file, file)
      assert.strictEqual(stage.field, "stages")
      assert.include(stage.actual, "\"data\" twice")
      const param = yield* fails(`{ "stages": { "data": { "kind": "dataset", "params": { "seed": 1, "subset": {}, "seed": 2 } } } }`)
      assert.strictEqual(param.field, "stages.data.params")
      assert.include(param.actual, "\"seed\" twice")
      // the same key in different objects, and keys that only look alike after escapes, are fine
      yield* resolve(file, `{ "stages": { "data": { "kind": "dataset", "params": { "a": { "x": 1 }, "b": { "x": 1 }, "\\u0061b": 2 } } } }`)
    }))

  it.effect("deep nesting is a typed error, not a stack overflow", () =>
    Effect.gen(function*() {
      const deep = `{ "stages": { "data": { "kind": "dataset", "params": { "x": ${"[".repeat(100_000)}${"]".repeat(100_000)} } } } }`
      const e = yield* fails(deep)
      assert.strictEqual(e._tag, "PipelineError")
      assert.include(e.expected, "levels of nesting")
      assert.match(e.field, /^stages\.data\.params\.x(\.0)*$/)
    }))

  it.effect("a matrix larger than the limit is refused early with its size; maxInstances raises the limit", () =>
    Effect.gen(function*() {
      const values = (n: number) => Array.from({ length: n }, (_, i) => i)
      const big = { stages: { data: { kind: "dataset", matrix: { a: values(100), b: values(100), c: values(100) } } } }
      const e = yield* fails(big)
      assert.strictEqual(e.field, "stages.data.matrix")
      assert.include(e.expected, "at most 2000")
      assert.include(e.actual, "1000000")
      const g = yield* resolve(file, text({ maxInstances: 3000, stages: { data: { kind: "dataset", matrix: { a: values(50), b: values(50) } } } }))
      assert.strictEqual(g.instances.length, 2500)
      const low = yield* fails({ maxInstances: 3, stages: { data: { kind: "dataset", matrix: { a: [1, 2] } }, t: { kind: "train", inputs: { train: "data.train" }, matrix: { b: [1, 2] } } } })
      assert.strictEqual(low.field, "stages.t.matrix")
      assert.include(low.actual, "6 (t: 4 = 2 inherited × 2 of its own)")
    }))

  it.effect("matrix values that name the same instance, empty matrix lists and over-long names are refused clearly", () =>
    Effect.gen(function*() {
      const clash = yield* fails({ stages: { data: { kind: "dataset", matrix: { tag: ["a/b", "a_b"] } } } })
      assert.strictEqual(clash.field, "stages.data.matrix")
      assert.include(clash.actual, "{\"tag\":\"a/b\"} and {\"tag\":\"a_b\"} both named \"data--tag=a_b\"")
      const empty = yield* fails({ stages: { data: { kind: "dataset", matrix: { seed: [] } } } })
      assert.strictEqual(empty.field, "stages.data.matrix.seed")
      assert.include(empty.expected, "non-empty list")
      const long = yield* fails({ stages: { ["s".repeat(301)]: { kind: "dataset" } } })
      assert.include(long.expected, "at most 64 characters")
      assert.include(long.actual, "(301 characters)")
      assert.isBelow(long.field.length, 60)
      const longId = yield* fails({ stages: { data: { kind: "dataset", matrix: { note: ["x".repeat(200)] } } } })
      assert.strictEqual(longId.field, "stages.data.matrix")
      assert.include(longId.expected, "at most 180 characters")
    }))
})
