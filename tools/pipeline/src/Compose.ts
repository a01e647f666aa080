/**
 * Composition of pipeline files, resolved before the graph is built (docs/pipelines.md, "Composing pipelines"):
 *
 *   include    `"include": ["parts/models.part.json", ...]`: part files whose definitions, templates, stages and
 *              groups join this file's (paths relative to the including file; a name defined twice is an error
 *              naming both files);
 *   templates  `"templates": { "grow-train": { "stages": { "grow": {...}, "train": {...} } } }`, instantiated by a stage
 *              `"e2": { "use": "grow-train", "with": { "grow": { ...patch } } }` as stages `e2-grow`, `e2-train`:
 *              each patch deep-merges into its template stage (objects merge, lists and values replace), and
 *              references to the template's own stages (`grow.model`) are renamed (`e2-grow.model`);
 *   profiles   `"profiles": { "quick": { "description", "resources", "rules": [...] } }`: the pipeline `<name>-quick`
 *              is this one with the rules applied (set params where a stage's kind and params match; replace or
 *              filter a matrix key's values), resolved here rather than kept as a second file;
 *   groups     `"groups": { "exp4": { "description", "stages": ["report-exp4"] } }`: Nx targets `pipelines:exp4` (and
 *              `pipelines:exp4-quick` per profile) that run those stages and everything they need;
 *   overrides  `stage.params.path=value` pairs given for one run (GROWLAB_SET, `growlab ... -S`): applied last, so the
 *              overridden stages get their own cache keys.
 * The result is one flat pipeline (description, definitions, resources, maxInstances, stages) for PipelineFile's
 * schema and the graph builder.
 */
import * as Effect from "effect/Effect"
import { PipelineError } from "./PipelineError.js"
import { scan } from "./JsonText.js"

export interface ComposeOptions {
  /** Reads a part file (path relative to the workspace root, as written after resolving against its includer). */
  readonly read?: (path: string) => Effect.Effect<string, PipelineError>
  /** The profile to apply (`quick` → pipeline `<name>-quick`). */
  readonly profile?: string
  /** `stage.field.path=value` overrides for one run. */
  readonly overrides?: ReadonlyArray<string>
}

export interface Group {
  readonly description: string
  readonly stages: ReadonlyArray<string>
}

export interface Composed {
  /** The flat pipeline, ready for PipelineFile's schema. */
  readonly flat: Record<string, unknown>
  readonly groups: Readonly<Record<string, Group>>
  readonly profiles: ReadonlyArray<string>
  /** The part files read, relative to the workspace root (their content is part of the graph). */
  readonly parts: ReadonlyArray<string>
}

type Json = Record<string, unknown>

/** A JSON object (not null, not a list). */
export const plain = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
/** Own-property membership: names such as `constructor` or `__proto__` never resolve to Object.prototype. */
export const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)
const err = (file: string, field: string, expected: string, actual: string) => new PipelineError({ file, field, expected, actual })

/** `GROWLAB_SET`: overrides for one run, `stage.params.path=value` separated by `;` or newlines. */
export const overridesFrom = (env: Readonly<Record<string, string | undefined>>): Array<string> =>
  (env.GROWLAB_SET ?? "").split(/[;\n]/).map((s) => s.trim()).filter((s) => s !== "")

/** Objects merge key by key (a key named `__proto__` stays a plain key); lists and values replace. */
export const deepMerge = (base: unknown, patch: unknown): unknown => {
  if (!plain(base) || !plain(patch)) return structuredClone(patch)
  const out: Json = {}
  for (const [k, v] of Object.entries(base)) Object.defineProperty(out, k, { value: structuredClone(v), enumerable: true, writable: true, configurable: true })
  for (const [k, v] of Object.entries(patch)) {
    Object.defineProperty(out, k, { value: has(out, k) ? deepMerge(out[k], v) : structuredClone(v), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** Parses JSON text strictly (duplicate keys, nesting depth), naming the file. */
export const parseJson = (file: string, text: string): Effect.Effect<unknown, PipelineError> =>
  Effect.suspend(() => {
    const problem = scan(text)
    if (problem?._tag === "DuplicateKey") return Effect.fail(err(file, problem.path, "each key once", `${JSON.stringify(problem.key)} twice (JSON keeps only the last)`))
    if (problem?._tag === "TooDeep") return Effect.fail(err(file, problem.path, `at most ${problem.limit} levels of nesting`, "deeper"))
    return Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => err(file, "(file)", "valid JSON", (e as Error).message) })
  })

const joinPath = (from: string, rel: string): string => {
  const parts = from.split("/").slice(0, -1)
  for (const seg of rel.split("/")) {
    if (seg === "..") parts.pop()
    else if (seg !== "." && seg !== "") parts.push(seg)
  }
  return parts.join("/")
}

const COMPOSITION_KEYS = ["include", "templates", "groups", "profiles"] as const
const PART_KEYS = new Set(["$schema", "description", "include", "definitions", "templates", "stages", "groups"])

interface Collected {
  definitions: Json
  templates: Json
  stages: Json
  groups: Json
  /** Where each name was defined, for duplicate errors. */
  origin: Map<string, string>
  parts: Array<string>
}

/** Merges a file's sections into `into`, refusing a name already defined elsewhere. */
const collect = (file: string, json: Json, into: Collected, read: ComposeOptions["read"], trail: ReadonlyArray<string>): Effect.Effect<void, PipelineError> =>
  Effect.gen(function*() {
    const include = json.include ?? []
    if (!Array.isArray(include) || !include.every((p) => typeof p === "string")) {
      return yield* Effect.fail(err(file, "include", "a list of part file paths", JSON.stringify(include).slice(0, 80)))
    }
    for (const [i, rel] of (include as Array<string>).entries()) {
      const part = joinPath(file, rel)
      if (!part.endsWith(".part.json")) return yield* Effect.fail(err(file, `include.${i}`, "a part file named <name>.part.json", JSON.stringify(rel)))
      if (trail.includes(part)) return yield* Effect.fail(err(file, `include.${i}`, "no include cycle", [...trail, part].join(" → ")))
      if (trail.length > 8) return yield* Effect.fail(err(file, `include.${i}`, "includes at most 8 levels deep", `${trail.length + 1}`))
      if (!read) return yield* Effect.fail(err(file, `include.${i}`, "a pipeline read from a workspace (its parts are files)", "no file reader"))
      const text = yield* read(part)
      const partJson = yield* parseJson(part, text)
      if (!plain(partJson)) return yield* Effect.fail(err(part, "(root)", "a JSON object", typeof partJson))
      for (const k of Object.keys(partJson)) {
        if (!PART_KEYS.has(k)) return yield* Effect.fail(err(part, k, `a part file's sections (${[...PART_KEYS].join(", ")})`, "an unknown field"))
      }
      into.parts.push(part)
      yield* collect(part, partJson, into, read, [...trail, part])
    }
    for (const section of ["definitions", "templates", "stages", "groups"] as const) {
      const value = json[section]
      if (value === undefined) continue
      if (!plain(value)) return yield* Effect.fail(err(file, section, "an object", JSON.stringify(value).slice(0, 80)))
      for (const [name, entry] of Object.entries(value)) {
        const key = `${section}.${name}`
        const first = into.origin.get(key)
        if (first !== undefined) return yield* Effect.fail(err(file, key, "a name defined once", `also defined in ${first}`))
        into.origin.set(key, file)
        Object.defineProperty(into[section], name, { value: entry, enumerable: true, writable: true, configurable: true })
      }
    }
  })

/** `e2` instantiating template `tpl`: its stages as `e2-<stage>`, own references renamed, patches merged. */
const instantiate = (file: string, ns: string, use: Json, templates: Json): Effect.Effect<Array<[string, Json]>, PipelineError> =>
  Effect.gen(function*() {
    const name = use.use
    const field = `stages.${ns}`
    if (typeof name !== "string" || !has(templates, name)) {
      return yield* Effect.fail(err(file, `${field}.use`, `one of the templates (${Object.keys(templates).join(", ") || "none"})`, JSON.stringify(name)))
    }
    for (const k of Object.keys(use)) {
      if (!["use", "with", "description"].includes(k)) return yield* Effect.fail(err(file, `${field}.${k}`, "a template use's fields (use, with, description)", "an unknown field"))
    }
    const template = templates[name]
    if (!plain(template) || !plain(template.stages)) return yield* Effect.fail(err(file, `templates.${name}.stages`, "an object of stages", JSON.stringify(template).slice(0, 80)))
    const own = new Set(Object.keys(template.stages))
    const patches = use.with ?? {}
    if (!plain(patches)) return yield* Effect.fail(err(file, `${field}.with`, "an object of patches by template stage", JSON.stringify(patches).slice(0, 80)))
    for (const k of Object.keys(patches)) {
      if (!own.has(k)) return yield* Effect.fail(err(file, `${field}.with.${k}`, `a stage of template ${name} (${[...own].join(", ")})`, JSON.stringify(k)))
    }
    const rename = (ref: unknown): unknown => {
      if (typeof ref !== "string") return ref
      const m = /^([a-z][a-z0-9-]*)(.*)$/.exec(ref)
      return m && own.has(m[1]) ? `${ns}-${m[1]}${m[2]}` : ref
    }
    const out: Array<[string, Json]> = []
    for (const [stage, entry] of Object.entries(template.stages)) {
      const merged = deepMerge(entry, has(patches, stage) ? patches[stage] : {}) as Json
      if (plain(merged.inputs)) {
        merged.inputs = Object.fromEntries(Object.entries(merged.inputs).map(([k, v]) => [k, Array.isArray(v) ? v.map(rename) : rename(v)]))
      }
      out.push([`${ns}-${stage}`, merged])
    }
    return out
  })

/** Where a rule's `where` matches the stage's params as written (before any rule applies). */
const matches = (params: Json, where: unknown): boolean => {
  if (!plain(where)) return true
  return Object.entries(where).every(([k, cond]) => {
    const v = has(params, k) ? params[k] : undefined
    if (plain(cond) && Object.keys(cond).every((op) => ["gt", "gte", "lt", "lte"].includes(op))) {
      if (typeof v !== "number") return false
      return Object.entries(cond).every(([op, bound]) => typeof bound === "number" &&
        (op === "gt" ? v > bound : op === "gte" ? v >= bound : op === "lt" ? v < bound : v <= bound))
    }
    return JSON.stringify(v) === JSON.stringify(cond)
  })
}

const setPath = (obj: Json, path: ReadonlyArray<string>, value: unknown): void => {
  let cur: Json = obj
  for (const [i, k] of path.entries()) {
    if (i === path.length - 1) {
      Object.defineProperty(cur, k, { value, enumerable: true, writable: true, configurable: true })
      return
    }
    if (!has(cur, k) || !plain(cur[k])) Object.defineProperty(cur, k, { value: {}, enumerable: true, writable: true, configurable: true })
    cur = cur[k] as Json
  }
}

/** Applies a profile's rules to the flat stages (conditions read the stages as written). */
const applyProfile = (file: string, name: string, profile: Json, stages: Json): Effect.Effect<void, PipelineError> =>
  Effect.gen(function*() {
    const rules = profile.rules ?? []
    if (!Array.isArray(rules)) return yield* Effect.fail(err(file, `profiles.${name}.rules`, "a list of rules", JSON.stringify(rules).slice(0, 80)))
    const original = structuredClone(stages)
    for (const [i, rule] of rules.entries()) {
      const field = `profiles.${name}.rules.${i}`
      // a rule is checked as written, whether or not a stage matches it
      if (!plain(rule)) return yield* Effect.fail(err(file, field, "a rule object", JSON.stringify(rule)))
      if (rule.set !== undefined) {
        if (!plain(rule.set)) return yield* Effect.fail(err(file, `${field}.set`, "an object of param paths and values", JSON.stringify(rule.set)))
      } else if (typeof rule.matrix === "string") {
        if (!Array.isArray(rule.values) && !Array.isArray(rule.keep)) return yield* Effect.fail(err(file, field, "a matrix rule with `values` or `keep`", JSON.stringify(rule)))
      } else {
        return yield* Effect.fail(err(file, field, "a rule with `set` (params) or `matrix` (values / keep)", JSON.stringify(rule).slice(0, 80)))
      }
      for (const [stageName, entry] of Object.entries(stages)) {
        const before = original[stageName] as Json
        if (!plain(entry)) continue
        if (rule.kind !== undefined && before.kind !== rule.kind) continue
        if (rule.stage !== undefined && stageName !== rule.stage) continue
        if (plain(rule.set)) {
          if (!matches(plain(before.params) ? before.params : {}, rule.where)) continue
          if (!plain(entry.params)) entry.params = {}
          for (const [path, value] of Object.entries(rule.set)) setPath(entry.params as Json, path.split("."), structuredClone(value))
        } else if (typeof rule.matrix === "string") {
          const matrix = entry.matrix
          if (!plain(matrix) || !has(matrix, rule.matrix)) continue
          if (Array.isArray(rule.values)) matrix[rule.matrix] = structuredClone(rule.values)
          else if (Array.isArray(rule.keep)) {
            const keep = new Set(rule.keep.map(String))
            matrix[rule.matrix] = (matrix[rule.matrix] as Array<unknown>).filter((v) => keep.has(plain(v) ? String(v.id) : String(v)))
          }
        }
      }
    }
  })

/** Parses `stage.field.path=value` (value: JSON when it parses, else the text). */
export const parseOverride = (file: string, text: string): Effect.Effect<{ stage: string; path: Array<string>; value: unknown }, PipelineError> =>
  Effect.suspend(() => {
    const eq = text.indexOf("=")
    const lhs = eq < 0 ? "" : text.slice(0, eq)
    const parts = lhs.split(".")
    if (eq < 0 || parts.length < 3 || !["params", "matrix", "resources", "inputs"].includes(parts[1])) {
      return Effect.fail(err(file, `override ${JSON.stringify(text)}`, "stage.params.<path>=<value> (or stage.matrix.<key>=[...], stage.resources.<field>=<n>)", "something else"))
    }
    const raw = text.slice(eq + 1)
    let value: unknown = raw
    try { value = JSON.parse(raw) } catch { /* a plain string */ }
    return Effect.succeed({ stage: parts[0], path: parts.slice(1), value })
  })

/** Resolves includes, templates, a profile and overrides of a pipeline file into one flat pipeline. */
export const compose = (file: string, text: string, options: ComposeOptions = {}) =>
  Effect.gen(function*() {
    const json = yield* parseJson(file, text)
    if (!plain(json)) return yield* Effect.fail(err(file, "(root)", "a JSON object", JSON.stringify(json).slice(0, 40)))
    const into: Collected = { definitions: {}, templates: {}, stages: {}, groups: {}, origin: new Map(), parts: [] }
    yield* collect(file, json, into, options.read, [file])
    // templates: each use becomes its template's stages, in place
    const stages: Json = {}
    for (const [name, entry] of Object.entries(into.stages)) {
      const made: Array<[string, Json]> = plain(entry) && has(entry, "use") ? yield* instantiate(into.origin.get(`stages.${name}`) ?? file, name, entry, into.templates) : [[name, entry as Json]]
      for (const [n, e] of made) {
        if (has(stages, n)) return yield* Effect.fail(err(file, `stages.${n}`, "a stage name defined once", `made twice (by ${name} and before it)`))
        Object.defineProperty(stages, n, { value: e, enumerable: true, writable: true, configurable: true })
      }
    }
    const flat: Json = {}
    for (const [k, v] of Object.entries(json)) {
      if (!(COMPOSITION_KEYS as ReadonlyArray<string>).includes(k) && !["definitions", "stages"].includes(k)) {
        Object.defineProperty(flat, k, { value: v, enumerable: true, writable: true, configurable: true })
      }
    }
    flat.definitions = into.definitions
    flat.stages = stages
    const profiles = plain(json.profiles) ? json.profiles : {}
    if (json.profiles !== undefined && !plain(json.profiles)) return yield* Effect.fail(err(file, "profiles", "an object of profiles", JSON.stringify(json.profiles).slice(0, 80)))
    if (options.profile !== undefined) {
      if (!has(profiles, options.profile) || !plain(profiles[options.profile])) {
        return yield* Effect.fail(err(file, "profiles", `a profile named ${JSON.stringify(options.profile)} (${Object.keys(profiles).join(", ") || "none"})`, "none"))
      }
      const profile = profiles[options.profile] as Json
      yield* applyProfile(file, options.profile, profile, stages)
      if (typeof profile.description === "string") flat.description = `${profile.description} ${typeof json.description === "string" ? json.description : ""}`.trim()
      if (has(profile, "resources")) {
        if (plain(profile.resources) && Object.keys(profile.resources).length === 0) delete flat.resources
        else flat.resources = profile.resources
      }
    }
    for (const text of options.overrides ?? []) {
      const o = yield* parseOverride(file, text)
      if (!has(stages, o.stage) || !plain(stages[o.stage])) {
        return yield* Effect.fail(err(file, `override ${JSON.stringify(text)}`, `a stage of this pipeline (${Object.keys(stages).slice(0, 12).join(", ")}…)`, JSON.stringify(o.stage)))
      }
      setPath(stages[o.stage] as Json, o.path, o.value)
    }
    const groups: Record<string, Group> = {}
    for (const [name, g] of Object.entries(into.groups)) {
      if (!plain(g) || typeof g.description !== "string" || !Array.isArray(g.stages) || g.stages.length === 0 || !g.stages.every((s) => typeof s === "string")) {
        return yield* Effect.fail(err(into.origin.get(`groups.${name}`) ?? file, `groups.${name}`, "{ description: string, stages: [stage names] }", JSON.stringify(g).slice(0, 80)))
      }
      for (const s of g.stages as Array<string>) {
        if (!has(stages, s)) return yield* Effect.fail(err(into.origin.get(`groups.${name}`) ?? file, `groups.${name}.stages`, `stages of this pipeline`, JSON.stringify(s)))
      }
      groups[name] = { description: g.description, stages: g.stages as Array<string> }
    }
    return { flat, groups, profiles: Object.keys(profiles), parts: into.parts } satisfies Composed
  })
