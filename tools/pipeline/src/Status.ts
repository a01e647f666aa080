/**
 * Why each stage instance would rerun: the cache key it was made with (its manifest's key parts) against the key the
 * pipeline, the workspace and the environment give now (StageKey.ts, the same computation the Nx plugin and the
 * runner use), and whether its outputs are on disk intact. In topological order, so a stage whose upstream will rerun
 * says so: it reruns too when that upstream's artifacts come out different (an identical rerun reruns nothing below).
 */
import * as Effect from "effect/Effect"
import * as Path from "@effect/platform/Path"
import type { Manifest } from "@growlab/core/Manifest"
import { readManifest, verifyOutputs } from "./Integrity.js"
import type { Env } from "./Numerics.js"
import type { Graph } from "./PipelineGraph.js"
import { codePartsByKind, environmentParts, staticPartsWith, upstreamHash, type BoundUpstream } from "./StageKey.js"

export type Reason =
  | { readonly part: "missing"; readonly detail: string }
  | { readonly part: "corrupt"; readonly detail: string }
  | { readonly part: "params" | "wiring" | "code" | "packages" | "data" | "kind"; readonly detail: string }
  | { readonly part: "numerics"; readonly detail: string }
  | { readonly part: "upstream"; readonly detail: string }

export interface InstanceStatus {
  readonly id: string
  readonly project: string
  /** up-to-date: Nx restores or keeps it; will-run: its own key changed or its output is missing/corrupt;
   *  upstream-reruns: only an upstream reruns (this one reruns if that upstream's artifacts change). */
  readonly state: "up-to-date" | "will-run" | "upstream-reruns"
  readonly reasons: ReadonlyArray<Reason>
  readonly wallSeconds?: number
}

const short = (h: string | null): string => (h === null ? "none" : h.slice(0, 12))

const numericsDiff = (was: Record<string, unknown> | null, now: Record<string, unknown> | null): string | undefined => {
  if (JSON.stringify(was) === JSON.stringify(now)) return undefined
  if (was === null || now === null) return `${was === null ? "none" : "set"} → ${now === null ? "none" : "set"}`
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])]
  return keys.filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k} ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`).join(", ")
}

export const status = (root: string, graph: Graph, artifactsRoot: string, env: Env = process.env) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const dirOf = (id: string) => path.join(artifactsRoot, graph.pipeline, id)
    const out = new Map<string, InstanceStatus>()
    const codeByKind = yield* codePartsByKind(root, graph.instances)
    const manifests = new Map<string, Manifest>()
    for (const inst of graph.instances) {
      const reasons: Array<Reason> = []
      const dir = dirOf(inst.id)
      const read = yield* Effect.either(readManifest(dir, inst.project))
      if (read._tag === "Left") {
        const notRun = read.left.actual === "no such file"
        out.set(inst.id, { id: inst.id, project: inst.project, state: "will-run", reasons: [{ part: notRun ? "missing" : "corrupt", detail: notRun ? "no artifact yet" : read.left.message }] })
        continue
      }
      const m = read.right
      const intact = yield* Effect.either(verifyOutputs(dir, m, inst.project))
      if (intact._tag === "Left") reasons.push({ part: "corrupt", detail: `${path.relative(artifactsRoot, intact.left.file)}: ${intact.left.actual} (manifest: ${intact.left.expected})` })
      else manifests.set(inst.id, m)
      const now = staticPartsWith(inst, codeByKind.get(inst.kind)!)
      const was = m.keyParts
      if (was.kind !== now.kind) reasons.push({ part: "kind", detail: `${was.kind} → ${now.kind}` })
      else if (was.params !== now.params) reasons.push({ part: "params", detail: `params changed (${short(was.params)} → ${short(now.params)})` })
      if (was.wiring !== now.wiring) reasons.push({ part: "wiring", detail: "inputs are bound to other upstream outputs" })
      if (was.code !== now.code) reasons.push({ part: "code", detail: `the stage's code changed (${short(was.code)} → ${short(now.code)})` })
      if (was.packages !== now.packages) reasons.push({ part: "packages", detail: "third-party package versions changed (package-lock.json)" })
      const envNow = yield* environmentParts(root, inst, env)
      const diff = numericsDiff(was.numerics, envNow.numerics)
      if (diff) reasons.push({ part: "numerics", detail: diff })
      if (was.data !== envNow.data) reasons.push({ part: "data", detail: `the dataset files differ (${short(was.data)} → ${short(envNow.data)})` })
      // upstream: an upstream that reruns may change what this one reads; else compare the bound artifacts' digests
      const rerunning = inst.upstream.filter((u) => out.get(u)?.state !== "up-to-date")
      if (rerunning.length > 0) {
        if (reasons.length === 0) {
          out.set(inst.id, { id: inst.id, project: inst.project, state: "upstream-reruns", reasons: [{ part: "upstream", detail: `${rerunning.join(", ")} will rerun (this reruns if its artifacts change)` }], wallSeconds: m.wallSeconds })
          continue
        }
      } else {
        const bound: Array<BoundUpstream> = []
        for (const input of inst.inputs) {
          for (const s of input.sources) {
            const digests = manifests.get(s.instance)?.outputs[s.output]
            if (digests) bound.push({ input: input.name, instance: s.instance, output: s.output, files: digests.map((d) => ({ file: d.file, sha256: d.sha256 })) })
          }
        }
        if (upstreamHash(bound) !== was.upstream) reasons.push({ part: "upstream", detail: `upstream artifacts changed (${[...new Set(bound.map((b) => b.instance))].join(", ") || "none bound"})` })
      }
      out.set(inst.id, { id: inst.id, project: inst.project, state: reasons.length > 0 ? "will-run" : "up-to-date", reasons, wallSeconds: m.wallSeconds })
    }
    return graph.instances.map((i) => out.get(i.id)!)
  })
