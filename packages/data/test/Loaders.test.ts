import { describe, it, assert, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync, writeFileSync, mkdirSync } from "node:fs"
import * as path from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import type { Dataset } from "@growlab/core/DatasetArtifact"
import * as Cifar10 from "../src/Cifar10.js"
import * as Loader from "../src/Loader.js"
import { members } from "../src/internal/tar.js"
import { DATA_DIR, DATA_DIR_ABS, REPO_ROOT, tempDir, withSettings } from "./fixtures.js"

class RealData extends Context.Tag("test/RealData")<RealData, {
  readonly cifar: { readonly train: Dataset; readonly test: Dataset }
  readonly fashion: { readonly train: Dataset; readonly test: Dataset }
}>() {}

const RealDataLive = Layer.effect(
  RealData,
  Effect.all({
    cifar: Loader.load("cifar10", { dataDir: DATA_DIR }),
    fashion: Loader.load("fashion-mnist", { dataDir: DATA_DIR })
  }).pipe(Effect.orDie)
)

const perClass = (d: Dataset): Array<number> => {
  const c = new Array<number>(d.classNames.length).fill(0)
  for (const l of d.labels) c[l]++
  return c
}

/** Per-channel means of pixels scaled to [0, 1]. */
const channelMeans = (d: Dataset): Array<number> => {
  const channels = d.shape[d.shape.length - 1]
  const sums = new Float64Array(channels)
  for (let i = 0; i < d.images.length; i++) sums[i % channels] += d.images[i]
  return Array.from(sums, (s) => s / (d.images.length / channels) / 255)
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

layer(Layer.merge(RealDataLive.pipe(Layer.provide(NodeContext.layer)), NodeContext.layer), { timeout: 60_000 })("real files", (it) => {
  it.effect("CIFAR-10: 5,000 train and 1,000 test images per class, shape 32x32x3, the published class names", () =>
    Effect.gen(function*() {
      const { cifar } = yield* RealData
      assert.deepStrictEqual(perClass(cifar.train), new Array(10).fill(5000))
      assert.deepStrictEqual(perClass(cifar.test), new Array(10).fill(1000))
      assert.deepStrictEqual(cifar.train.shape, [32, 32, 3])
      assert.strictEqual(cifar.train.images.length, 50_000 * 3072)
      assert.deepStrictEqual(cifar.train.classNames, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
      assert.deepStrictEqual([cifar.train.dataset, cifar.train.split, cifar.test.split], ["cifar10", "train", "test"])
    }))

  it.effect("Fashion-MNIST: 6,000 train and 1,000 test images per class, shape 28x28x1", () =>
    Effect.gen(function*() {
      const { fashion } = yield* RealData
      assert.deepStrictEqual(perClass(fashion.train), new Array(10).fill(6000))
      assert.deepStrictEqual(perClass(fashion.test), new Array(10).fill(1000))
      assert.deepStrictEqual(fashion.train.shape, [28, 28, 1])
      assert.strictEqual(fashion.train.classNames[9], "Ankle boot")
    }))

  it.effect("train means match the published per-channel means to 1e-4", () =>
    Effect.gen(function*() {
      const { cifar, fashion } = yield* RealData
      const c = channelMeans(cifar.train)
      const f = channelMeans(fashion.train)
      for (const [got, want] of [[c[0], 0.4914], [c[1], 0.4822], [c[2], 0.4465], [f[0], 0.2860]]) {
        assert.isBelow(Math.abs(got - want), 1e-4, `mean ${got} vs published ${want}`)
      }
    }))

  it.effect("CIFAR-10 records equal the raw file byte for byte (label, then R, G, B planes -> HWC)", () =>
    Effect.gen(function*() {
      const { cifar } = yield* RealData
      for (const [file, d, base] of [["data_batch_1.bin", cifar.train, 0], ["data_batch_3.bin", cifar.train, 20_000], ["test_batch.bin", cifar.test, 0]] as const) {
        const raw = readFileSync(path.join(DATA_DIR_ABS, "cifar-10-batches-bin", file))
        for (const r of [0, 1, 4321, 9999]) {
          const rec = raw.subarray(r * 3073, (r + 1) * 3073)
          const i = base + r
          assert.strictEqual(d.labels[i], rec[0])
          assert.strictEqual(d.sourceIndex[i], i)
          const img = d.images.subarray(i * 3072, (i + 1) * 3072)
          for (let p = 0; p < 1024; p++) {
            for (let c = 0; c < 3; c++) {
              if (img[p * 3 + c] !== rec[1 + c * 1024 + p]) assert.fail(`${file} record ${r} pixel ${p} channel ${c}`)
            }
          }
        }
      }
    }))

  it.effect("Fashion-MNIST records equal the gunzipped IDX bytes", () =>
    Effect.gen(function*() {
      const { fashion } = yield* RealData
      const images = gunzipSync(readFileSync(path.join(DATA_DIR_ABS, "fashion-mnist", "t10k-images-idx3-ubyte.gz")))
      const labels = gunzipSync(readFileSync(path.join(DATA_DIR_ABS, "fashion-mnist", "t10k-labels-idx1-ubyte.gz")))
      for (const i of [0, 17, 5000, 9999]) {
        assert.strictEqual(fashion.test.labels[i], labels[8 + i])
        assert.strictEqual(Buffer.compare(Buffer.from(fashion.test.images.subarray(i * 784, (i + 1) * 784)), images.subarray(16 + i * 784, 16 + (i + 1) * 784)), 0)
      }
    }))

  it.scoped("a loaded split (pixels viewed in the gunzipped buffer) round-trips through the Arrow artifact unchanged", () =>
    Effect.gen(function*() {
      const { fashion } = yield* RealData
      assert.notStrictEqual(fashion.test.images.byteOffset, 0)
      const file = path.join(yield* tempDir, "test.arrow")
      yield* DatasetArtifact.write(file, fashion.test)
      const back = yield* DatasetArtifact.read(file)
      assert.strictEqual(Buffer.compare(Buffer.from(back.images), Buffer.from(fashion.test.images)), 0)
      assert.strictEqual(Buffer.compare(Buffer.from(back.labels), Buffer.from(fashion.test.labels)), 0)
      assert.deepStrictEqual([back.dataset, back.split, back.shape, back.sourceChecksum], ["fashion-mnist", "test", [28, 28, 1], fashion.test.sourceChecksum])
    }))

  it.effect("sourceChecksum is the SHA-256 of the split's SHA256SUMS lines", () =>
    Effect.gen(function*() {
      const { cifar, fashion } = yield* RealData
      const sums = readFileSync(path.join(DATA_DIR_ABS, "SHA256SUMS"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => `${l}\n`)
      const listing = (re: RegExp) => sha256(Buffer.from(sums.filter((l) => re.test(l)).join("")))
      assert.strictEqual(cifar.train.sourceChecksum, listing(/data_batch_\d\.bin$/m))
      assert.strictEqual(cifar.test.sourceChecksum, listing(/test_batch\.bin$/m))
      assert.strictEqual(fashion.train.sourceChecksum, listing(/train-.*\.gz$/m))
      assert.strictEqual(fashion.test.sourceChecksum, listing(/t10k-.*\.gz$/m))
    }))
})

describe("settings", () => {
  it.effect("a relative dataDir resolves against the repository root, from any working directory", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Loader.resolveDir(DATA_DIR), DATA_DIR_ABS)
      const cwd = process.cwd()
      process.chdir(path.join(REPO_ROOT, "packages", "data"))
      const fromPackage = yield* Loader.resolveDir("../shared/datasets").pipe(Effect.ensuring(Effect.sync(() => process.chdir(cwd))))
      assert.strictEqual(fromPackage, path.resolve(REPO_ROOT, "../shared/datasets"))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("GROWLAB_DATA_DIR is used when no dataDir is given; the cache otherwise", () =>
    Effect.gen(function*() {
      const fromEnv = yield* Loader.locate("fashion-mnist").pipe(withSettings({ GROWLAB_DATA_DIR: DATA_DIR }))
      assert.deepStrictEqual(fromEnv, { dataset: "fashion-mnist", kind: "dir", path: DATA_DIR_ABS, origin: "GROWLAB_DATA_DIR" })
      const cache = yield* Loader.cacheDir().pipe(withSettings({ XDG_CACHE_HOME: "/xdg" }))
      assert.strictEqual(cache, "/xdg/growlab/datasets")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an explicit folder without the files fails with SourceNotFound naming the folder and files; nothing is downloaded", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const e = yield* Loader.load("cifar10", { dataDir: dir }).pipe(withSettings(), Effect.flip)
      assert.strictEqual(e._tag, "SourceNotFound")
      if (e._tag !== "SourceNotFound") return
      assert.strictEqual(e.dir, dir)
      assert.include(e.missing.join(" "), "cifar-10-batches-bin/data_batch_1.bin")
      assert.include(e.message, "cifar-10-binary.tar.gz")
      const fs = yield* FileSystem.FileSystem
      assert.deepStrictEqual(yield* fs.readDirectory(dir), [])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("archives", () => {
  const longDir = "x".repeat(120)
  it.scoped("the tar reader handles GNU and pax long names and rejects a damaged header", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      mkdirSync(path.join(dir, "src", longDir), { recursive: true })
      writeFileSync(path.join(dir, "src", longDir, "a.bin"), Buffer.from([1, 2, 3]))
      writeFileSync(path.join(dir, "src", "b.txt"), "hello\n")
      for (const format of ["gnu", "pax", "ustar"]) {
        const tar = spawnSync("tar", [`--format=${format}`, "-cf", "-", "-C", path.join(dir, "src"), `${longDir}/a.bin`, "b.txt"])
        // ustar splits the 126-character path into prefix + name; gnu and pax use extension headers
        assert.strictEqual(tar.status, 0, String(tar.stderr))
        const entries = yield* members(`t.${format}`, new Uint8Array(tar.stdout))
        assert.deepStrictEqual(Array.from(entries.get(`${longDir}/a.bin`) ?? []), [1, 2, 3], format)
        assert.strictEqual(Buffer.from(entries.get("b.txt") ?? []).toString(), "hello\n")
      }
      const tar = new Uint8Array(spawnSync("tar", ["-cf", "-", "-C", path.join(dir, "src"), "b.txt"]).stdout)
      tar[0] ^= 0x20
      const bad = yield* Effect.flip(members("t.tar", tar))
      assert.strictEqual(bad._tag, "CorruptFile")
      assert.include(bad.message, "t.tar: at byte 0: tar header 0: checksum")
      const cut = yield* Effect.flip(members("t.tar", new Uint8Array(spawnSync("tar", ["-cf", "-", "-C", path.join(dir, "src"), "b.txt"]).stdout).subarray(0, 515)))
      assert.strictEqual(cut._tag, "TruncatedFile")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("CIFAR-10 from a .tar.gz equals CIFAR-10 from the folder; a split whose members are absent fails", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const tar = spawnSync("tar", ["-cf", "-", "-C", DATA_DIR_ABS, "cifar-10-batches-bin/batches.meta.txt", "cifar-10-batches-bin/test_batch.bin"], { maxBuffer: 64 << 20 })
      assert.strictEqual(tar.status, 0, String(tar.stderr))
      writeFileSync(path.join(dir, "cifar-10-binary.tar.gz"), gzipSync(tar.stdout, { level: 1 }))
      const fromArchive = yield* Loader.loadSplit("cifar10", "test", { dataDir: dir })
      const fromDir = yield* Loader.loadSplit("cifar10", "test", { dataDir: DATA_DIR })
      assert.strictEqual(Buffer.compare(Buffer.from(fromArchive.images), Buffer.from(fromDir.images)), 0)
      assert.strictEqual(Buffer.compare(Buffer.from(fromArchive.labels), Buffer.from(fromDir.labels)), 0)
      assert.strictEqual(fromArchive.sourceChecksum, fromDir.sourceChecksum)
      const direct = yield* Cifar10.loadArchive(path.join(dir, "cifar-10-binary.tar.gz"), "test")
      assert.strictEqual(direct.sourceChecksum, fromDir.sourceChecksum)
      const missing = yield* Effect.flip(Loader.loadSplit("cifar10", "train", { dataDir: dir }))
      assert.strictEqual(missing._tag, "SourceNotFound")
      assert.include(missing.message, "cifar-10-batches-bin/data_batch_1.bin")
    }).pipe(Effect.provide(NodeContext.layer)))
})
