/** The stage kinds this package registers: `net2wider`, `net2deeper` and `residual-deeper`. */
import type { Stage } from "@growlab/core/Stage"
import { net2deeperStage } from "./Net2DeeperStage.js"
import { net2widerStage } from "./Net2WiderStage.js"
import { residualDeeperStage } from "./ResidualDeeperStage.js"

export const stages: ReadonlyArray<Stage> = [net2widerStage, net2deeperStage, residualDeeperStage]
