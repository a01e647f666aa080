/**
 * The `dataset` stage: loads CIFAR-10 or Fashion-MNIST (validated, checksummed), optionally carves a validation set
 * out of train, takes stratified seeded subsets, applies pixel transforms, and writes one Arrow dataset artifact per
 * split. Everything is computed before the first write, so a failing stage writes nothing.
 *
 * Order: validation split (from the full train split) -> subsets (train from what validation left) -> resize -> pad
 * -> noise -> flatten. Each output's `transforms` metadata lists what was applied, in order.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as DatasetArtifact from "@growlab/core/DatasetArtifact"
import { ParamsError } from "@growlab/core/Errors"
import * as Stage from "@growlab/core/Stage"
import type { TransformError } from "./Errors.js"
import * as Loader from "./Loader.js"
import { datasetNames } from "./Sources.js"
import * as Transforms from "./Transforms.js"

const Size = Schema.Int.pipe(Schema.positive())
const OutputSplit = Schema.Literal("train", "validation", "test")

export const DatasetParams = Schema.Struct({
  dataset: Schema.Literal(...datasetNames),
  /** Folder holding the dataset (relative: to the repository root); default GROWLAB_DATA_DIR, then the user cache. */
  dataDir: Schema.optional(Schema.String),
  /** Seed of the validation split and the subsets. */
  seed: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
  /** Stratified seeded subset sizes (train: of what the validation split leaves). */
  subset: Schema.optional(Schema.Struct({ train: Schema.optional(Size), test: Schema.optional(Size) })),
  /** A stratified seeded validation set taken from the full train split: exactly one of fraction (0, 1) or size. */
  validation: Schema.optional(
    Schema.Struct({
      fraction: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))),
      size: Schema.optional(Size)
    }).pipe(Schema.filter((v) => (v.fraction === undefined) !== (v.size === undefined) || "give exactly one of validation.fraction, validation.size"))
  ),
  /** Gaussian pixel noise, sigma in [0, 1] pixel units; seed defaults to `seed`; splits default to all outputs. */
  noise: Schema.optional(Schema.Struct({
    sigma: Schema.Number.pipe(Schema.between(0, 1)),
    seed: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
    splits: Schema.optional(Schema.Array(OutputSplit))
  })),
  /** Bilinear resize (half-pixel centres) to height x width. */
  resize: Schema.optional(Schema.Struct({ height: Size, width: Size })),
  /** Zero padding in pixels on each side (Fashion-MNIST 28x28 -> 32x32 with 2, as the original study's 1024-wide MLP input). */
  pad: Schema.optional(Schema.Int.pipe(Schema.between(1, 64))),
  /** Store each example flat: shape [h * w * c], channels-last order. */
  flatten: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
export type DatasetParams = typeof DatasetParams.Type

export const datasetStage = Stage.make({
  kind: "dataset",
  description: "Loads CIFAR-10 or Fashion-MNIST (validated, checksummed) into uint8 Arrow dataset artifacts, with optional stratified subsets, a validation split, resize / pad, pixel noise and flattening.",
  params: DatasetParams,
  inputs: {},
  outputs: {
    train: { description: "the train split (less the validation set)", kind: "dataset", file: "train.arrow" },
    test: { description: "the test split", kind: "dataset", file: "test.arrow" },
    validation: { description: "the validation set carved out of train (only when `validation` is set)", kind: "dataset", file: "validation.arrow", optional: true }
  },
  usesTf: false,
  run: (params, ctx) =>
    Effect.gen(function*() {
      const asParams = (e: TransformError) =>
        new ParamsError({ file: ctx.pipelineFile, stage: ctx.stage, field: e.field, expected: e.expected, actual: e.actual })
      const started = Date.now()
      const loaded = yield* Loader.load(params.dataset, { dataDir: params.dataDir })
      ctx.log(`${params.dataset}: read ${loaded.location.kind} ${loaded.location.path} (${loaded.location.origin}) in ${((Date.now() - started) / 1000).toFixed(2)} s`)

      let train = loaded.train
      let test = loaded.test
      let validation: DatasetArtifact.Dataset | undefined
      if (params.validation) {
        const parts = yield* Transforms.splitValidation(train, params.validation as Transforms.ValidationSpec, params.seed).pipe(Effect.mapError(asParams))
        train = parts.train
        validation = parts.validation
      }
      if (params.subset?.train !== undefined) train = yield* Transforms.subset(train, params.subset.train, params.seed).pipe(Effect.mapError(asParams))
      if (params.subset?.test !== undefined) test = yield* Transforms.subset(test, params.subset.test, params.seed).pipe(Effect.mapError(asParams))

      const pixels = (d: DatasetArtifact.Dataset, split: "train" | "validation" | "test") =>
        Effect.gen(function*() {
          let out = d
          if (params.resize) out = yield* Transforms.resize(out, params.resize.height, params.resize.width)
          if (params.pad !== undefined) out = yield* Transforms.pad(out, params.pad)
          if (params.noise && (params.noise.splits ?? ["train", "validation", "test"]).includes(split)) {
            out = yield* Transforms.addNoise(out, params.noise.sigma, params.noise.seed ?? params.seed)
          }
          if (params.flatten) out = Transforms.flatten(out)
          return out
        }).pipe(Effect.mapError(asParams))

      const outputs: Array<[string, DatasetArtifact.Dataset]> = [["train", yield* pixels(train, "train")], ["test", yield* pixels(test, "test")]]
      if (validation) outputs.push(["validation", yield* pixels(validation, "validation")])

      for (const [name, d] of outputs) yield* DatasetArtifact.write(ctx.output(name), d)

      ctx.record("location", loaded.location)
      ctx.record("sourceChecksums", { train: loaded.train.sourceChecksum, test: loaded.test.sourceChecksum })
      ctx.record("counts", Object.fromEntries(outputs.map(([name, d]) => [name, DatasetArtifact.count(d)])))
      ctx.record("shape", outputs[0][1].shape)
      ctx.log(`wrote ${outputs.map(([name, d]) => `${name} ${DatasetArtifact.count(d)}`).join(", ")} (shape ${JSON.stringify(outputs[0][1].shape)})`)
    })
})
