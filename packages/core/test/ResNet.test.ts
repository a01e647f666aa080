/**
 * Model specs as DAGs (a layer's `input`, `add`, globalAveragePooling2d) and the CIFAR ResNet builder: shapes, weight
 * lists, parameter and FLOP counts (the published ResNet-20: 0.27 M parameters, 41 M multiply-adds), the errors of
 * a malformed DAG, and the committed ResNet part file equal to what its generator writes.
 */
import { describe, it, assert } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { SpecError } from "../src/Errors.js"
import { ModelSpec, countParams, forwardFlops, inferShapes, isSequential, type ModelSpecEncoded } from "../src/ModelSpec.js"
import { resnet } from "../src/ResNet.js"
import { resnetModelsPart } from "../src/ResNetModels.js"

const decode = (s: ModelSpecEncoded) => Schema.decodeUnknownSync(ModelSpec)(s)
const specError = (f: () => unknown): SpecError => {
  try {
    f()
  } catch (e) {
    if (e instanceof SpecError) return e
    throw e
  }
  throw new Error("expected a SpecError")
}

describe("DAG model specs", () => {
  it("ResNet-8/14/20: shapes, shortcuts and counts", () => {
    const counts = [1, 2, 3].map((blocks) => {
      const spec = decode(resnet({ blocks, widths: [16, 32, 64] }))
      assert.isFalse(isSequential(spec))
      const shapes = inferShapes(spec)
      const byName = new Map(shapes.map((l) => [l.name, l]))
      // stage 2's first block strides 2 and projects its shortcut from the previous block's output
      assert.deepStrictEqual(byName.get("s2b1_conv1")!.outputShape, [16, 16, 32])
      assert.deepStrictEqual(byName.get("s2b1_proj")!.inputs, [byName.get(`s1b${blocks}_relu`)!.index])
      assert.deepStrictEqual(byName.get("s2b1_add")!.inputs, [byName.get("s2b1_bn2")!.index, byName.get("s2b1_proj_bn")!.index])
      // later blocks add the identity
      if (blocks > 1) assert.deepStrictEqual(byName.get("s1b2_add")!.inputs, [byName.get("s1b2_bn2")!.index, byName.get("s1b1_relu")!.index])
      assert.deepStrictEqual(byName.get("pool")!.outputShape, [64])
      assert.deepStrictEqual(byName.get("logits")!.outputShape, [10])
      assert.deepStrictEqual(byName.get("s3b1_proj")!.weights.map((w) => w.shape), [[1, 1, 32, 64]])
      return { params: countParams(spec), macs: forwardFlops(spec) / 2 }
    })
    // ResNet-20 (projection shortcuts, BN statistics counted as Keras count_params does): 274,042 parameters,
    // 40.8 M multiply-adds per 32×32 image, as published (0.27 M, 41 M)
    assert.deepStrictEqual(counts.map((c) => c.params), [78714, 176378, 274042])
    assert.deepStrictEqual(counts.map((c) => c.macs), [12501632, 26657408, 40813184])
  })

  it("a plain layer list stays sequential; its shapes are unchanged by the DAG fields", () => {
    const spec = decode({ inputShape: [4], layers: [{ _tag: "dense", units: 3 }, { _tag: "dense", units: 2 }] })
    assert.isTrue(isSequential(spec))
    assert.deepStrictEqual(inferShapes(spec).map((l) => l.inputs), [[-1], [0]])
  })

  it("malformed DAGs are SpecErrors naming the layer, the field, the expected and the actual value", () => {
    const base = (layers: ModelSpecEncoded["layers"]) => decode({ inputShape: [8, 8, 3], layers })
    const unknown = specError(() => inferShapes(base([{ _tag: "conv2d", name: "a", filters: 4, kernelSize: 3 }, { _tag: "conv2d", name: "b", filters: 4, kernelSize: 3, input: "c" }])))
    assert.deepInclude(unknown, { layer: "b", field: "input", expected: "the name of an earlier layer", actual: "\"c\"" })
    const later = specError(() => inferShapes(base([{ _tag: "add", name: "sum", inputs: ["a", "b"] }, { _tag: "conv2d", name: "a", filters: 4, kernelSize: 3 }])))
    assert.deepInclude(later, { layer: "sum", field: "inputs", actual: "\"a\"" })
    const twice = specError(() => inferShapes(base([{ _tag: "conv2d", name: "a", filters: 4, kernelSize: 3 }, { _tag: "conv2d", name: "a", filters: 4, kernelSize: 1 }])))
    assert.deepInclude(twice, { layer: "a", field: "name", actual: "\"a\" (also layer 0)" })
    const mismatch = specError(() => inferShapes(base([
      { _tag: "conv2d", name: "a", filters: 4, kernelSize: 3, padding: "same" },
      { _tag: "conv2d", name: "b", filters: 8, kernelSize: 3, padding: "same" },
      { _tag: "add", name: "sum", inputs: ["b", "a"] }
    ])))
    assert.deepInclude(mismatch, { layer: "sum", field: "inputs", expected: "outputs of one shape (b: [8, 8, 8])", actual: "a: [8, 8, 4]" })
    assert.include(mismatch.message, "layer sum: inputs: expected outputs of one shape")
    const gap = specError(() => inferShapes(decode({ inputShape: [5], layers: [{ _tag: "globalAveragePooling2d" }] })))
    assert.deepInclude(gap, { field: "inputShape", expected: "[h, w, c]", actual: "[5]" })
  })

  it("pipelines/parts/resnet-models.part.json is what scripts/resnet-models.ts writes", () => {
    const committed = JSON.parse(readFileSync(new URL("../../../pipelines/parts/resnet-models.part.json", import.meta.url), "utf8"))
    assert.deepStrictEqual(committed, JSON.parse(JSON.stringify(resnetModelsPart())), "run: npx tsx scripts/resnet-models.ts")
    for (const spec of Object.values(committed.definitions)) decode(spec as ModelSpecEncoded)
  })
})
