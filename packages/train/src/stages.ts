import type * as Stage from "@growlab/core/Stage"
import { evaluateStage } from "./EvaluateStage.js"
import { trainStage } from "./TrainStage.js"

/** The stage kinds of @growlab/train. */
export const stages: ReadonlyArray<Stage.Stage> = [trainStage, evaluateStage]
