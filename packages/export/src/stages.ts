import { exportStage } from "./ExportStage.js"

export const stages = [exportStage]
