/**
 * Resolves a decoded pipeline file into stage instances: matrix expansion, matrix inheritance along bound inputs,
 * `$ref` substitution, input wiring and a params hash per instance. Pure (no IO), so the Nx plugin, the runner and
 * the CLI all see the same graph.
 */
import * as Effect from "effect/Effect"
import { hashJson } from "@growlab/core/Hash"
import { PipelineError } from "./PipelineError.js"
import { compose, deepMerge, has, plain, type ComposeOptions, type Group } from "./Compose.js"
import { DEFAULT_MAX_INSTANCES, INPUT_REF, MAX_INSTANCE_NAME, checkFileName, decodeJson, pipelineName, type MatrixValue, type PipelineFile, type Resources } from "./PipelineFile.js"
import { kindEntry, kinds, type StageResources } from "./Registry.js"

export type Var = string | number | boolean
export type Vars = Readonly<Record<string, Var>>

export interface InputSource {
  readonly stage: string
  readonly output: string
  readonly instance: string
}

export interface BoundInput {
  readonly name: string
  /** The reference(s) as written in the file. */
  readonly refs: ReadonlyArray<string>
  /** A gathered input (`stage[*].output`, or a list of references). */
  readonly gather: boolean
  /** The upstream artifacts bound, in order (exactly one unless `gather`). */
  readonly sources: ReadonlyArray<InputSource>
  /** Instance ids of `sources`. */
  readonly instances: ReadonlyArray<string>
}

export interface Instance {
  readonly id: string
  /** The Nx project name: `<pipeline>--<id>`. */
  readonly project: string
  readonly stage: string
  readonly kind: string
  readonly vars: Vars
  readonly params: Record<string, unknown>
  readonly paramsHash: string
  readonly inputs: ReadonlyArray<BoundInput>
  readonly upstream: ReadonlyArray<string>
  /** What it asks of the machine: matrix variant → stage → file → kind default. Only `cpus` can change results (threads). */
  readonly resources: StageResources
}

export interface Graph {
  readonly file: string
  /** The pipeline's name: the file's, or `<file's>-<profile>`. */
  readonly pipeline: string
  /** The profile applied, if any. */
  readonly profile?: string
  /** The profiles the file declares (each is another pipeline, `<name>-<profile>`). */
  readonly profiles: ReadonlyArray<string>
  /** Named groups of stages (Nx targets `pipelines:<group>` and `pipelines:<group>-<profile>`). */
  readonly groups: Readonly<Record<string, Group>>
  /** The part files the pipeline includes. */
  readonly parts: ReadonlyArray<string>
  readonly description: string
  /** Instances in topological order. */
  readonly instances: ReadonlyArray<Instance>
  readonly byId: ReadonlyMap<string, Instance>
}

const err = (file: string, field: string, expected: string, actual: string) =>
  new PipelineError({ file, field, expected, actual })

const isVariant = (v: MatrixValue): v is { readonly id: string; readonly params: Record<string, unknown>; readonly resources?: Resources } =>
  typeof v === "object" && v !== null

/** Replaces every `{ "$ref": name }` with a deep copy of `definitions[name]`. */
const substitute = (file: string, field: string, value: unknown, defs: Readonly<Record<string, unknown>>, depth = 0): unknown => {
  if (depth > 32) throw err(file, field, "non-recursive $ref definitions", "a cycle")
  if (Array.isArray(value)) return value.map((v, i) => substitute(file, `${field}.${i}`, v, defs, depth))
  if (plain(value)) {
    const keys = Object.keys(value)
    if (keys.length === 1 && keys[0] === "$ref") {
      const name = value.$ref
      if (typeof name !== "string" || !has(defs, name)) {
        throw err(file, `${field}.$ref`, `one of the definitions (${Object.keys(defs).join(", ") || "none"})`, JSON.stringify(name))
      }
      return substitute(file, `definitions.${name}`, structuredClone(defs[name]), defs, depth + 1)
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(file, `${field}.${k}`, v, defs, depth)]))
  }
  return value
}

/** Replaces every `{ "$var": name }` with the instance's matrix value `name` (its own or inherited). */
const substituteVars = (file: string, field: string, value: unknown, vars: Vars): unknown => {
  if (Array.isArray(value)) return value.map((v, i) => substituteVars(file, `${field}.${i}`, v, vars))
  if (plain(value)) {
    const keys = Object.keys(value)
    if (keys.length === 1 && keys[0] === "$var") {
      const name = value.$var
      if (typeof name !== "string" || !has(vars, name)) {
        throw err(file, `${field}.$var`, `a matrix value of this instance (${Object.keys(vars).join(", ") || "none"})`, JSON.stringify(name))
      }
      return vars[name]
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteVars(file, `${field}.${k}`, v, vars)]))
  }
  return value
}

/** `k=v,k=v` of a filtered gather. */
const parseFilter = (text: string): ReadonlyArray<readonly [string, string]> =>
  text === "*" ? [] : text.split(",").map((kv) => { const [k, v] = kv.split("="); return [k, v] as const })

const matchesFilter = (vars: Vars, filter: ReadonlyArray<readonly [string, string]>): boolean =>
  filter.every(([k, v]) => has(vars, k) && (String(vars[k]) === v || varText(vars[k]) === v))

const setPath = (obj: Record<string, unknown>, path: ReadonlyArray<string>, value: unknown): Record<string, unknown> => {
  const [head, ...rest] = path
  if (rest.length === 0) return { ...obj, [head]: value }
  const child = has(obj, head) && plain(obj[head]) ? (obj[head] as Record<string, unknown>) : {}
  return { ...obj, [head]: setPath(child, rest, value) }
}

const varText = (v: Var): string => String(v).replace(/[^A-Za-z0-9._-]/g, "_")

interface Combo {
  readonly vars: Record<string, Var>
  readonly apply: (params: Record<string, unknown>) => Record<string, unknown>
  /** Resources set by the instance's matrix variants (later matrix keys win). */
  readonly resources: Resources
}

const ownCombos = (file: string, stage: string, matrix: Readonly<Record<string, ReadonlyArray<MatrixValue>>>): ReadonlyArray<Combo> => {
  let combos: Array<Combo> = [{ vars: {}, apply: (p) => p, resources: {} }]
  const seen = new Set<string>()
  for (const [key, values] of Object.entries(matrix)) {
    const path = key.split(".")
    const short = path[path.length - 1]
    if (seen.has(short)) throw err(file, `stages.${stage}.matrix.${key}`, "matrix keys whose last segments differ", `a second '${short}'`)
    seen.add(short)
    const next: Array<Combo> = []
    for (const c of combos) {
      for (const v of values) {
        next.push(isVariant(v)
          ? { vars: { ...c.vars, [short]: v.id }, apply: (p) => deepMerge(c.apply(p), v.params) as Record<string, unknown>, resources: { ...c.resources, ...v.resources } }
          : { vars: { ...c.vars, [short]: v }, apply: (p) => setPath(c.apply(p), path, v), resources: c.resources })
      }
    }
    combos = next
  }
  return combos
}

/** The fields of a resources object that are set (so an absent field never overrides a default). */
const defined = (r: Resources | undefined): Partial<StageResources> =>
  Object.fromEntries(Object.entries(r ?? {}).filter(([, v]) => v !== undefined)) as Partial<StageResources>

const consistent = (a: Vars, b: Vars): boolean => Object.keys(a).every((k) => !has(b, k) || a[k] === b[k])

/** Builds the instance graph of a decoded pipeline file. Throws PipelineError (wrapped by `resolve`). */
const build = (file: string, pf: PipelineFile, pipeline: string): Omit<Graph, "profile" | "profiles" | "groups" | "parts"> => {
  const entries = Object.entries(pf.stages)
  if (entries.length === 0) throw err(file, "stages", "at least one stage", "none")
  const stageByName = new Map(entries)
  const maxInstances = pf.maxInstances ?? DEFAULT_MAX_INSTANCES
  // kinds and input references
  interface Ref {
    readonly ref: string
    readonly stage: string
    readonly gather: boolean
    readonly output: string
    readonly filter: ReadonlyArray<readonly [string, string]>
  }
  const refs = new Map<string, Array<{ name: string; gather: boolean; refs: Array<Ref> }>>()
  for (const [name, s] of entries) {
    const entry = kindEntry(s.kind)
    if (!entry) throw err(file, `stages.${name}.kind`, `a registered stage kind (${kinds.join(", ")})`, JSON.stringify(s.kind))
    const list: Array<{ name: string; gather: boolean; refs: Array<Ref> }> = []
    for (const [input, value] of Object.entries(s.inputs)) {
      const many = Array.isArray(value)
      const parsed: Array<Ref> = []
      for (const [i, ref] of (many ? value : [value]).entries()) {
        const field = `stages.${name}.inputs.${input}${many ? `.${i}` : ""}`
        const [, up, bracket, output] = INPUT_REF.exec(ref)!
        const upEntry = stageByName.get(up)
        if (!upEntry) throw err(file, field, `an upstream stage (${[...stageByName.keys()].join(", ")})`, JSON.stringify(up))
        if (up === name) throw err(file, field, "another stage", "the stage itself")
        const upOutputs = Object.keys(kindEntry(upEntry.kind)?.outputs ?? {})
        if (!upOutputs.includes(output)) {
          throw err(file, field, `an output of ${up} (kind ${upEntry.kind}: ${upOutputs.join(", ")})`, JSON.stringify(output))
        }
        const filter = bracket === undefined ? [] : parseFilter(bracket.slice(1, -1))
        parsed.push({ ref, stage: up, gather: many || bracket !== undefined, output, filter })
      }
      list.push({ name: input, gather: many || parsed[0].gather, refs: parsed })
    }
    refs.set(name, list)
  }
  // topological order (Kahn), reporting a cycle by name
  const order: Array<string> = []
  const state = new Map<string, "visiting" | "done">()
  const visit = (name: string, trail: ReadonlyArray<string>) => {
    const st = state.get(name)
    if (st === "done") return
    if (st === "visiting") throw err(file, `stages.${name}.inputs`, "an acyclic graph", `a cycle ${[...trail, name].join(" -> ")}`)
    state.set(name, "visiting")
    for (const r of refs.get(name) ?? []) for (const x of r.refs) visit(x.stage, [...trail, name])
    state.set(name, "done")
    order.push(name)
  }
  for (const [name] of entries) visit(name, [])

  const instancesOf = new Map<string, Array<Instance>>()
  const all: Array<Instance> = []
  for (const name of order) {
    const s = stageByName.get(name)!
    const stageRefs = refs.get(name) ?? []
    // inherited combos: cross product of bound upstream instances, consistent on shared vars
    const boundStages = [...new Set(stageRefs.filter((r) => !r.gather).map((r) => r.refs[0].stage))]
    let inherited: Array<{ vars: Record<string, Var> }> = [{ vars: {} }]
    for (const up of boundStages) {
      const next: Array<{ vars: Record<string, Var> }> = []
      for (const c of inherited) {
        for (const inst of instancesOf.get(up) ?? []) {
          if (consistent(c.vars, inst.vars)) next.push({ vars: { ...c.vars, ...inst.vars } })
        }
      }
      inherited = next
    }
    const combos = ownCombos(file, name, s.matrix)
    const count = inherited.length * combos.length
    if (all.length + count > maxInstances) {
      throw err(file, `stages.${name}.matrix`, `at most ${maxInstances} stage instances in the pipeline (raise "maxInstances" in the file to allow more)`,
        `${all.length + count} (${name}: ${count} = ${inherited.length} inherited × ${combos.length} of its own)`)
    }
    const list: Array<Instance> = []
    const rawOf = new Map<string, string>()
    for (const inh of inherited) {
      for (const c of combos) {
        for (const k of Object.keys(c.vars)) {
          if (has(inh.vars, k)) {
            throw err(file, `stages.${name}.matrix`, `matrix keys not already set by an upstream stage`, `'${k}', which ${boundStages.join(", ")} already varies`)
          }
        }
        const vars: Record<string, Var> = { ...inh.vars, ...c.vars }
        const id = [name, ...Object.entries(vars).map(([k, v]) => `${k}=${varText(v)}`)].join("--")
        const raw = JSON.stringify(vars)
        const clash = rawOf.get(id)
        if (clash !== undefined) {
          throw err(file, `stages.${name}.matrix`, "matrix values that name distinct instances (names keep letters, digits, '.', '_', '-' and turn the rest into '_')",
            `${clash} and ${raw} both named ${JSON.stringify(id)}`)
        }
        rawOf.set(id, raw)
        if (id.length > MAX_INSTANCE_NAME) {
          throw err(file, `stages.${name}.matrix`, `instance names of at most ${MAX_INSTANCE_NAME} characters (they are folder names)`, `${id.length} characters: ${id.slice(0, 60)}…`)
        }
        const resolved = substituteVars(file, `stages.${name}.params`,
          substitute(file, `stages.${name}.params`, c.apply(s.params), pf.definitions), vars) as Record<string, unknown>
        const inputs: Array<BoundInput> = stageRefs.map((r) => {
          const sources = r.refs.flatMap((x) => {
            const matching = (instancesOf.get(x.stage) ?? []).filter((u) => consistent(u.vars, vars) && matchesFilter(u.vars, x.filter))
            if (x.filter.length > 0 && matching.length === 0) {
              const seen = [...new Set((instancesOf.get(x.stage) ?? []).flatMap((u) => Object.entries(u.vars).map(([k, v]) => `${k}=${varText(v)}`)))]
              throw err(file, `stages.${name}.inputs.${r.name}`, `instances of ${x.stage} matching ${x.ref} (its matrix values: ${seen.join(", ") || "none"})`, "none")
            }
            return matching.map((u) => ({ stage: x.stage, output: x.output, instance: u.id }))
          })
          if (!r.gather && sources.length !== 1) {
            throw err(file, `stages.${name}.inputs.${r.name}`, `one instance of ${r.refs[0].stage} for ${id}`, `${sources.length}`)
          }
          return { name: r.name, refs: r.refs.map((x) => x.ref), gather: r.gather, sources, instances: sources.map((x) => x.instance) }
        })
        list.push({
          id,
          project: `${pipeline}--${id}`,
          stage: name,
          kind: s.kind,
          vars,
          params: resolved,
          paramsHash: hashJson({ kind: s.kind, params: resolved }),
          inputs,
          upstream: [...new Set(inputs.flatMap((i) => i.instances))],
          resources: { ...kindEntry(s.kind)!.resources, ...defined(pf.resources), ...defined(s.resources), ...defined(c.resources) }
        })
      }
    }
    instancesOf.set(name, list)
    all.push(...list)
  }
  return { file, pipeline, description: pf.description ?? "", instances: all, byId: new Map(all.map((i) => [i.id, i])) }
}

/** Decodes and resolves pipeline JSON text. */
export const resolve = (file: string, text: string, options: ComposeOptions = {}): Effect.Effect<Graph, PipelineError> =>
  Effect.gen(function*() {
    yield* checkFileName(file)
    const composed = yield* compose(file, text, options)
    const pf = yield* decodeJson(file, composed.flat)
    const name = options.profile === undefined ? pipelineName(file) : `${pipelineName(file)}-${options.profile}`
    const graph = yield* Effect.try({
      try: () => build(file, pf, name),
      catch: (e) => e instanceof PipelineError ? e : err(file, "(file)", "a resolvable pipeline", String(e))
    })
    return { ...graph, ...(options.profile === undefined ? {} : { profile: options.profile }), profiles: composed.profiles, groups: composed.groups, parts: composed.parts }
  })

/** Artifact folder of an instance, relative to the workspace root. */
export const artifactDir = (pipeline: string, id: string, root = "artifacts"): string => `${root}/${pipeline}/${id}`
