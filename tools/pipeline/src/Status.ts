/**
 * What is on disk for each instance of a pipeline versus what the file asks for now: explains why a stage would
 * rerun (params changed, an upstream reran, no artifact yet). Source-code changes are Nx's part of the key and show
 * up as "upstream" or via `nx show target inputs`.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Schema from "effect/Schema"
import { Manifest } from "@growlab/core/Manifest"
import { sha256 } from "@growlab/core/Hash"
import type { Graph } from "./PipelineGraph.js"

export type InstanceStatus =
  | { readonly id: string; readonly state: "missing" }
  | { readonly id: string; readonly state: "params-changed"; readonly was: string; readonly now: string }
  | { readonly id: string; readonly state: "upstream-changed"; readonly input: string }
  | { readonly id: string; readonly state: "up-to-date"; readonly wallSeconds: number }

export const status = (graph: Graph, artifactsRoot: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const out: Array<InstanceStatus> = []
    for (const inst of graph.instances) {
      const file = path.join(artifactsRoot, graph.pipeline, inst.id, "manifest.json")
      const text = yield* fs.readFileString(file).pipe(Effect.option)
      if (text._tag === "None") { out.push({ id: inst.id, state: "missing" }); continue }
      const manifest = yield* Schema.decodeUnknown(Schema.parseJson(Manifest))(text.value).pipe(Effect.option)
      if (manifest._tag === "None") { out.push({ id: inst.id, state: "missing" }); continue }
      const m = manifest.value
      if (m.paramsHash !== inst.paramsHash) { out.push({ id: inst.id, state: "params-changed", was: m.paramsHash.slice(0, 12), now: inst.paramsHash.slice(0, 12) }); continue }
      let changed: string | undefined
      for (const [name, arts] of Object.entries(m.inputs)) {
        for (const a of arts) {
          const bytes = yield* fs.readFile(path.join(artifactsRoot, a.file)).pipe(Effect.option)
          if (bytes._tag === "None" || sha256(bytes.value) !== a.sha256) changed ??= `${name} (${a.file})`
        }
      }
      out.push(changed ? { id: inst.id, state: "upstream-changed", input: changed } : { id: inst.id, state: "up-to-date", wallSeconds: m.wallSeconds })
    }
    return out
  })
