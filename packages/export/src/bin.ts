/**
 * growlab-export CLI (until the `growlab` CLI wires the `export` subcommand):
 *
 *   npx tsx packages/export/src/bin.ts export artifacts/smoke/large/model.arrow --format onnx --format keras --out out/
 */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { exportCommand } from "./Cli.js"

const root = Command.make("growlab-export").pipe(Command.withSubcommands([exportCommand]))

Command.run(root, { name: "growlab-export", version: "0.1.0" })(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
