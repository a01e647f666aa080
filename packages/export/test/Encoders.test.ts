/** The hand-written encoders against known values, the layout maps on small exact cases, determinism, failures. */
import { describe, it, assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ensureNativeSync } from "@growlab/core/Backend"
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import { formats, names } from "../src/Formats.js"
import { hashlittle } from "../src/internal/lookup3.js"
import * as Pb from "../src/internal/protobuf.js"
import { crc32 } from "@growlab/core/Crc32"
import { zip } from "../src/internal/zip.js"
import * as Hdf5 from "../src/internal/hdf5.js"
import * as KerasConfig from "../src/KerasConfig.js"
import { samePads } from "../src/OnnxGraph.js"
import { flattenOrder, permute } from "../src/TorchLayout.js"
import { cnn, everyLayer, randomModel } from "./support/fixtures.js"

const text = (s: string) => new TextEncoder().encode(s)

describe("checksums", () => {
  it("lookup3 hashlittle matches Bob Jenkins' published values", () => {
    assert.strictEqual(hashlittle(text("")), 0xdeadbeef)
    assert.strictEqual(hashlittle(text("Four score and seven years ago")), 0x17770551)
    assert.strictEqual(hashlittle(text("Four score and seven years ago"), 1), 0xcd628161)
  })
  it("crc32 of '123456789' is the standard check value", () => {
    assert.strictEqual(crc32(text("123456789")), 0xcbf43926)
  })
})

describe("protobuf", () => {
  const bytes = (f: Pb.Field) => Array.from(Pb.encode([f]))
  it("encodes varints, negatives as 10 bytes, floats and nested lengths", () => {
    assert.deepStrictEqual(bytes(Pb.varint(1, 300)), [0x08, 0xac, 0x02])
    assert.deepStrictEqual(bytes(Pb.varint(1, -1)), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    assert.deepStrictEqual(bytes(Pb.float(2, 1.5)), [0x15, 0x00, 0x00, 0xc0, 0x3f])
    assert.deepStrictEqual(bytes(Pb.bytes(2, "hi")), [0x12, 0x02, 0x68, 0x69])
    assert.deepStrictEqual(bytes(Pb.message(3, [Pb.varint(1, 150)])), [0x1a, 0x03, 0x08, 0x96, 0x01])
    assert.throws(() => Pb.varint(1, 0.5), /not an integer/)
  })
})

describe("zip", () => {
  it("stores entries with their CRCs and a central directory that points back at them", () => {
    const out = zip([{ name: "a.json", data: text("{}") }, { name: "b.bin", data: Uint8Array.of(1, 2, 3) }])
    const view = new DataView(out.buffer)
    const end = out.length - 22
    assert.strictEqual(view.getUint32(end, true), 0x06054b50)
    assert.strictEqual(view.getUint16(end + 10, true), 2)
    const central = view.getUint32(end + 16, true)
    assert.strictEqual(view.getUint32(central, true), 0x02014b50)
    assert.strictEqual(view.getUint32(central + 16, true), crc32(text("{}")))
    assert.strictEqual(new TextDecoder().decode(out.subarray(30, 36)), "a.json")
    assert.deepStrictEqual(Array.from(out.subarray(30 + 6 + 2 + 30 + 5, 30 + 6 + 2 + 30 + 5 + 3)), [1, 2, 3])
  })
})

describe("hdf5", () => {
  it("writes a version-2 superblock whose checksum and end-of-file address hold", () => {
    const file = Hdf5.write(Hdf5.group([["g", Hdf5.group([["0", Hdf5.dataset([2, 2], Float32Array.of(1, 2, 3, 4))]])]]))
    const view = new DataView(file.buffer)
    assert.deepStrictEqual(Array.from(file.subarray(0, 8)), [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])
    assert.strictEqual(file[8], 2)
    assert.strictEqual(view.getUint32(44, true), hashlittle(file.subarray(0, 44)))
    assert.strictEqual(Number(view.getBigUint64(28, true)), file.length)
    assert.strictEqual(view.getFloat32(file.length - 4, true), 4)
  })
  it("refuses a dataset whose values do not fill its shape", () => {
    assert.throws(() => Hdf5.dataset([2, 3], new Float32Array(5)), /needs 6 values, got 5/)
  })
})

describe("layout maps", () => {
  it("permute moves axes as numpy.transpose does", () => {
    // [2, 3] → [3, 2]
    assert.deepStrictEqual(Array.from(permute(Float32Array.of(0, 1, 2, 3, 4, 5), [2, 3], [1, 0]).values), [0, 3, 1, 4, 2, 5])
    // a [kh=1, kw=2, in=2, out=2] kernel to [out, in, kh, kw]: value = 100·kw + 10·in + out
    const hwio = Float32Array.of(0, 1, 10, 11, 100, 101, 110, 111)
    const oihw = permute(hwio, [1, 2, 2, 2], [3, 2, 0, 1])
    assert.deepStrictEqual(oihw.shape, [2, 2, 1, 2])
    assert.deepStrictEqual(Array.from(oihw.values), [0, 100, 10, 110, 1, 101, 11, 111])
  })
  it("flattenOrder maps PyTorch's (c, h, w) positions to channels-last (h, w, c) ones", () => {
    assert.deepStrictEqual(Array.from(flattenOrder(2, 2, 3)), [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
  })
  it("samePads puts TensorFlow's odd padding pixel after", () => {
    assert.deepStrictEqual(samePads(32, 3, 2), [0, 1])
    assert.deepStrictEqual(samePads(7, 2, 1), [0, 1])
    assert.deepStrictEqual(samePads(5, 5, 1), [2, 2])
    assert.deepStrictEqual(samePads(8, 1, 1), [0, 0])
  })
  it("Keras weight groups are numbered per class in layer order", () => {
    assert.deepStrictEqual(KerasConfig.weightGroups(everyLayer), [
      "rescaling", "conv2d", "batch_normalization", "activation", "max_pooling2d", "dropout", "conv2d_1", "flatten",
      "batch_normalization_1", "dense", "dense_1"
    ])
  })
})

describe("safetensors file", () => {
  it.effect("header: PyTorch names and shapes, contiguous offsets, spec and name map in __metadata__", () =>
    Effect.gen(function*() {
      const model = randomModel(cnn(64, 64, 64), 5)
      const [file] = yield* formats.safetensors.encode(model)
      const view = new DataView(file.bytes.buffer, file.bytes.byteOffset)
      const n = Number(view.getBigUint64(0, true))
      assert.strictEqual(n % 8, 0)
      const header = JSON.parse(new TextDecoder().decode(file.bytes.subarray(8, 8 + n))) as Record<string, any>
      const meta = header.__metadata__ as Record<string, string>
      assert.deepStrictEqual(JSON.parse(meta["growlab.spec"]), JSON.parse(JSON.stringify(encodeModelSpec(model.spec))))
      assert.strictEqual(meta.format, "pt")
      assert.strictEqual(meta["growlab.layout"], "pytorch")
      const tensors = Object.keys(header).filter((k) => k !== "__metadata__")
      assert.deepStrictEqual(tensors, [
        "conv2d_1.weight", "conv2d_1.bias", "conv2d_3.weight", "conv2d_3.bias", "conv2d_5.weight", "conv2d_5.bias",
        "dense_7.weight", "dense_7.bias", "dense_8.weight", "dense_8.bias"
      ])
      assert.deepStrictEqual(header["conv2d_3.weight"].shape, [64, 32, 3, 3])
      assert.deepStrictEqual(header["dense_7.weight"].shape, [64, 1024])
      let end = 0
      for (const t of tensors) {
        assert.strictEqual(header[t].data_offsets[0], end, `${t} starts where the previous tensor ends`)
        end = header[t].data_offsets[1]
      }
      assert.strictEqual(file.bytes.length, 8 + n + end)
      // conv2d_1.weight[o=5, i=2, y=1, x=0] is kernel[y=1, x=0, i=2, o=5] of the [3, 3, 3, 32] growlab kernel
      const kernel = model.weights.find((w) => w.name === "conv2d_1/kernel")!.values
      const at = header["conv2d_1.weight"].data_offsets[0] + 4 * (((5 * 3 + 2) * 3 + 1) * 3 + 0)
      assert.strictEqual(view.getFloat32(8 + n + at, true), kernel[((1 * 3 + 0) * 3 + 2) * 32 + 5])
      const mapping = JSON.parse(meta["growlab.names"]) as Array<{ tensor: string; from: string; transform: string }>
      assert.deepStrictEqual(mapping.find((m) => m.tensor === "dense_7.weight"), {
        tensor: "dense_7.weight", from: "dense_7/kernel", transform: "transpose(1, 0) (inputs reordered (h, w, c) -> (c, h, w) after flatten)"
      })
    }))
})

describe("every format", () => {
  it.effect("gives the same bytes for the same model (no dates, no random ids)", () =>
    Effect.gen(function*() {
      ensureNativeSync()
      const model = randomModel(everyLayer, 3)
      for (const name of names) {
        const a = yield* formats[name].encode(model)
        const b = yield* formats[name].encode(model)
        assert.deepStrictEqual(a.map((f) => f.name), formats[name].files, `${name} files`)
        a.forEach((f, i) => assert.isTrue(Buffer.from(f.bytes).equals(Buffer.from(b[i].bytes)), `${name}/${f.name} differs between two encodings`))
      }
    }))

  it.effect("fails with an ExportError naming the format and the missing weight", () =>
    Effect.gen(function*() {
      ensureNativeSync()
      const full = randomModel(cnn(64, 64, 64), 3)
      const broken = { ...full, weights: full.weights.filter((w) => w.name !== "dense_7/kernel") }
      for (const name of names) {
        const exit = yield* Effect.exit(formats[name].encode(broken))
        assert.isTrue(Exit.isFailure(exit), `${name} accepted a model without dense_7/kernel`)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual(error?._tag, "ExportError", `${name}: ${String(exit.cause)}`)
          assert.strictEqual(error?.format, name)
          assert.include(error?.message, "dense_7/kernel")
        }
      }
    }))
})
