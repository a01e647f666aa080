/** Text and Graphviz views of a pipeline graph. */
import type { Graph } from "./PipelineGraph.js"

export const toText = (g: Graph): string => {
  const lines = [`${g.pipeline}: ${g.instances.length} stage instances${g.description ? ` — ${g.description}` : ""}`]
  for (const inst of g.instances) {
    lines.push(`  ${inst.id}  (${inst.kind})`)
    for (const i of inst.inputs) {
      lines.push(`      ${i.name} ← ${i.gather ? `${i.sources.length} × ${i.refs.join(" + ")}` : `${i.sources[0].instance}.${i.sources[0].output}`}`)
    }
  }
  return lines.join("\n")
}

export const toDot = (g: Graph): string => {
  const q = (s: string) => JSON.stringify(s)
  const lines = [`digraph ${q(g.pipeline)} {`, "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
  for (const inst of g.instances) lines.push(`  ${q(inst.id)} [label=${q(`${inst.id}\n(${inst.kind})`)}];`)
  for (const inst of g.instances) {
    for (const i of inst.inputs) for (const up of i.instances) lines.push(`  ${q(up)} -> ${q(inst.id)} [label=${q(i.name)}];`)
  }
  lines.push("}")
  return lines.join("\n")
}
