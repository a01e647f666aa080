/**
 * The prologue stages share: reading the artifacts bound to their inputs and checking that a dataset fits a model,
 * with the same typed errors everywhere (ArtifactError for a bad file, StageFailure naming the input for a misfit).
 */
import * as Effect from "effect/Effect"
import * as DatasetArtifact from "./DatasetArtifact.js"
import { StageFailure } from "./Errors.js"
import * as ModelArtifact from "./ModelArtifact.js"
import { inputSize, shapeText, type ModelSpec } from "./ModelSpec.js"
import type { InputDecl, StageContext } from "./Stage.js"

/** The model artifact bound to a single input. */
export const model = (ctx: StageContext, name = "model") => Effect.suspend(() => ModelArtifact.read(ctx.input(name)))

/** Fails unless a dataset's examples have exactly the model's input shape. */
export const checkFits = (ctx: StageContext, name: string, dataset: DatasetArtifact.Dataset, spec: ModelSpec) =>
  shapeText(dataset.shape) === shapeText(spec.inputShape)
    ? Effect.succeed(dataset)
    : Effect.fail(new StageFailure({
      stage: ctx.stage, reason: `the ${name} examples do not fit the model input`, field: `inputs.${name}.shape`,
      expected: shapeText(spec.inputShape), actual: shapeText(dataset.shape)
    }))

/** The dataset bound to a single input, checked to fit `spec`. */
export const datasetFor = (ctx: StageContext, name: string, spec: ModelSpec) =>
  Effect.suspend(() => DatasetArtifact.read(ctx.input(name))).pipe(Effect.flatMap((d) => checkFits(ctx, name, d, spec)))

/**
 * The dataset bound to a single input, checked to hold as many values per example as `spec` takes (a flattened
 * dataset fits a model whose first layer flattens).
 */
export const datasetSizedFor = (ctx: StageContext, name: string, spec: ModelSpec) =>
  Effect.suspend(() => DatasetArtifact.read(ctx.input(name))).pipe(Effect.flatMap((d) =>
    DatasetArtifact.exampleSize(d) === inputSize(spec)
      ? Effect.succeed(d)
      : Effect.fail(new StageFailure({
        stage: ctx.stage, reason: `the ${name} examples do not fit the model input`, field: `inputs.${name}.shape`,
        expected: `${shapeText(spec.inputShape)} (or as many values)`, actual: shapeText(d.shape)
      }))))

/** The dataset bound to an optional input, checked to fit `spec`, or undefined. */
export const optionalDatasetFor = (ctx: StageContext, name: string, spec: ModelSpec) =>
  Effect.suspend(() => {
    const file = ctx.optionalInput(name)
    return file === undefined ? Effect.succeed(undefined) : Effect.flatMap(DatasetArtifact.read(file), (d) => checkFits(ctx, name, d, spec))
  })

/** Input declarations the growth, training and evaluation stages share. */
export const modelInput = (description: string): InputDecl => ({ description, kind: "model" })
export const optionalModelInput = (description: string): InputDecl => ({ description, kind: "model", optional: true })
export const datasetInput = (description: string): InputDecl => ({ description, kind: "dataset" })
export const probeInput = (description: string): InputDecl => ({ description, kind: "dataset", optional: true })
