/** What the two Net2Net stages share: a GrowthStage that fails on a missed tolerance and records the measurement in the model. */
import type { Growth } from "@growlab/core/Growth"
import * as GrowthStage from "@growlab/core/GrowthStage"
import * as Preservation from "@growlab/train/Preservation"
import type { Net2NetError } from "../Net2NetError.js"

export const net2netStage = <P extends { readonly seed: number; readonly probeSize: number }>(
  o: Pick<GrowthStage.Options<P, Net2NetError>, "kind" | "description" | "outputs"> & { readonly growth: Growth<P, Net2NetError> }
) => GrowthStage.make({
  ...o,
  inputs: { model: "the trained source model", probe: "real examples to measure preservation on (the first probeSize)" },
  onMiss: "fail",
  measuredInModel: true,
  measurer: Preservation.layer
})
