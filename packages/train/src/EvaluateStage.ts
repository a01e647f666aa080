/**
 * Stage kind `evaluate`: loss and accuracy, overall and per class, of a model artifact on a dataset artifact.
 *
 * Inputs: `model` (model), `dataset` (dataset). Output: `evaluation` (evaluation.arrow; layout in Evaluation.ts).
 * Params: `batchSize` (default 500; does not change the numbers).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as tf from "@tensorflow/tfjs"
import * as Backend from "@growlab/core/Backend"
import { StageFailure } from "@growlab/core/Errors"
import { countParams, inferShapes } from "@growlab/core/ModelSpec"
import * as Stage from "@growlab/core/Stage"
import * as StageInputs from "@growlab/core/StageInputs"
import * as Evaluation from "./Evaluation.js"
import * as Forward from "./Forward.js"
import { toTensors } from "./internal/tensors.js"

export const Params = Schema.Struct({
  batchSize: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 500 })
})
export type Params = typeof Params.Type


export const evaluateStage = Stage.make<Params>({
  kind: "evaluate",
  description: "Loss and accuracy (overall and per class) of a model on a dataset",
  params: Params,
  inputs: {
    model: StageInputs.modelInput("the model to evaluate"),
    dataset: StageInputs.datasetInput("labelled examples")
  },
  outputs: {
    evaluation: { description: "one row per class plus an overall row", kind: "evaluation", file: "evaluation.arrow" }
  },
  run: (params, ctx) =>
    Effect.gen(function*() {
      yield* Backend.ensureNative
      const model = yield* StageInputs.model(ctx)
      const data = yield* StageInputs.datasetSizedFor(ctx, "dataset", model.spec)
      const shapes = inferShapes(model.spec)
      const out = shapes[shapes.length - 1].outputShape
      if (out.length !== 1 || out[0] < data.classNames.length) {
        return yield* Effect.fail(new StageFailure({ stage: ctx.stage, reason: "the model has fewer outputs than the dataset has classes", field: "inputs.model", expected: `[${data.classNames.length}]`, actual: `[${out.join(", ")}]` }))
      }
      const predictions = yield* Effect.acquireUseRelease(
        Effect.sync(() => ({ tensors: toTensors(data, model.spec.inputShape), params: Forward.paramsOf(model) })),
        ({ tensors, params: weights }) => Effect.sync(() => Evaluation.predict(model.spec, weights, tensors.x, tensors.y, { batchSize: params.batchSize, kernels: "native" })),
        ({ tensors, params: weights }) => Effect.sync(() => { tf.dispose([tensors.x, tensors.y]); Forward.disposeParams(weights) })
      )
      const rows = Evaluation.summarize(predictions, data.labels, data.classNames)
      const all = Evaluation.overall(rows)
      yield* Evaluation.write(ctx.output("evaluation"), {
        rows,
        info: { dataset: data.dataset, split: data.split, examples: data.labels.length, spec: model.spec.name ?? null, paramCount: countParams(model.spec), model: model.info }
      })
      ctx.log(`accuracy ${(100 * all.accuracy).toFixed(2)}%  loss ${all.loss.toFixed(4)}  (${all.count} examples)`)
      ctx.record("accuracy", all.accuracy)
      ctx.record("loss", all.loss)
    })
})
