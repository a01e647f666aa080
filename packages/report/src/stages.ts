import { reportStage } from "./ReportStage.js"

/** The stage kinds this package registers. */
export const stages = [reportStage]
