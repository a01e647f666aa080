import { expandStage } from "./ExpandStage.js"

export const stages = [expandStage]
