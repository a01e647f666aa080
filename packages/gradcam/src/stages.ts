import { gradcamStage } from "./GradcamStage.js"

/** The stage kinds this package registers. */
export const stages = [gradcamStage]
