/** The stage kinds this package provides (loaded by the pipeline runner from `@growlab/data/stages`). */
import { datasetStage } from "./DatasetStage.js"

export const stages = [datasetStage]
