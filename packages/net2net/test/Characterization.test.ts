/**
 * Characterization: Net2WiderNet (exact and with noise, as experiment 5 runs it) into large-1, large-2 and wide-96,
 * and Net2DeeperNet (a Conv2D and a Dense identity layer), on a fixed seeded small CNN, must write byte-identical
 * models and expansion tables (fixtures/characterization.json, recorded before the unified growth contract; what is
 * compared where: packages/expand/test/support/characterize.ts).
 */
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import { net2deeperStage } from "../src/Net2DeeperStage.js"
import { net2widerStage } from "../src/Net2WiderStage.js"
import { type Case, describeCharacterization, specs } from "../../expand/test/support/characterize.js"

const cases: Array<Case> = []
for (const target of ["large1", "large2", "wide96"] as const) {
  cases.push({ id: `e5-grow--target=${target}--method=net2wider`, stage: net2widerStage, sourceSeed: 7, params: { target: encodeModelSpec(specs[target]), seed: 2, probeSize: 64 } })
  cases.push({ id: `e5-grow--target=${target}--method=net2wider-noisy`, stage: net2widerStage, sourceSeed: 7, params: { target: encodeModelSpec(specs[target]), seed: 2, probeSize: 64, noise: { ratio: 0.05 } } })
}
cases.push({ id: "deeper--after=conv2d_5", stage: net2deeperStage, sourceSeed: 7, params: { after: "conv2d_5", seed: 2, probeSize: 64 } })
cases.push({ id: "deeper--after=7--linear", stage: net2deeperStage, sourceSeed: 7, params: { after: 7, activation: "linear", kernelSize: 3, seed: 3, probeSize: 64 } })

describeCharacterization("net2net stages characterization (byte-identical outputs)", new URL("./fixtures/characterization.json", import.meta.url), cases)
