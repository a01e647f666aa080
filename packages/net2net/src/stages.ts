/** The stage kinds this package registers: `net2wider` and `net2deeper`. */
import type { Stage } from "@growlab/core/Stage"
import { net2deeperStage } from "./Net2DeeperStage.js"
import { net2widerStage } from "./Net2WiderStage.js"

export const stages: ReadonlyArray<Stage> = [net2widerStage, net2deeperStage]
