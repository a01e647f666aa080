/** What the Nx plugin needs, bundled into one module (see plugin.mjs). */
export { resolve } from "./PipelineGraph.js"
export { registry } from "./Registry.js"
export { runPromiseExit } from "effect/Effect"
