/**
 * The operator registry: every `operators/<Name>.ts` that exports `operator` (an Operator.Descriptor), found when
 * this module loads, so that adding an operator is adding its file. From it come the method literal and the merged
 * params of the `expand` stage, its description, the README's operator table (`docsTable`), the planning rules and
 * the generic tests.
 *
 * The folder is listed at load time and each file imported with `import(\`./operators/${name}.ts\`)`; esbuild bundles
 * that pattern as every matching file, so the stage's code closure (its cache key) covers each operator.
 * An inconsistent registry (no `operator` export, a duplicate name, a method param declared twice with different
 * schemas) fails the import with a RegistryError naming the file.
 */
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Schema from "effect/Schema"
import type * as Operator from "./Operator.js"

export class RegistryError extends Schema.TaggedError<RegistryError>()("RegistryError", {
  file: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `operator registry: ${this.file}: ${this.field}: expected ${this.expected}, got ${this.actual}`
  }
}

export type MethodDescriptor = Operator.Descriptor & { readonly method: Operator.Method }

/** Operator modules: PascalCase `.ts` files directly in `operators/`. */
const MODULE = /^[A-Z][A-Za-z0-9]*\.ts$/

const folder = fileURLToPath(new URL("./operators/", import.meta.url))
const files = readdirSync(folder).filter((f) => MODULE.test(f)).sort()
const modules = await Promise.all(files.map((f) => import(`./operators/${f.slice(0, -3)}.ts`) as Promise<Record<string, unknown>>))

const load = (): ReadonlyArray<Operator.Descriptor> => {
  const seen = new Map<string, string>()
  return modules.map((m, i) => {
    const file = `operators/${files[i]}`
    const d = m.operator as Operator.Descriptor | undefined
    if (!d || typeof d.name !== "string" || typeof d.kernel !== "function" || typeof d.bias !== "function") {
      throw new RegistryError({ file, field: "operator", expected: "an exported Operator.make({ name, kernel, bias, ... })", actual: d === undefined ? "no `operator` export" : "an incomplete descriptor" })
    }
    const other = seen.get(d.name)
    if (other !== undefined) throw new RegistryError({ file, field: "name", expected: `a name no other operator has`, actual: `${d.name} (also ${other})` })
    seen.set(d.name, file)
    return d
  })
}

/** Every operator, by file name. */
export const all: ReadonlyArray<Operator.Descriptor> = load()

const byName = new Map(all.map((d) => [d.name, d]))

/** The operator of a name, if registered. */
export const get = (name: string): Operator.Descriptor | undefined => byName.get(name)

/** The operators a pipeline can name as `method`. */
export const methods: ReadonlyArray<MethodDescriptor> = all.filter((d): d is MethodDescriptor => d.method !== undefined)

if (methods.length === 0) throw new RegistryError({ file: "operators/", field: "method", expected: "at least one operator with a `method`", actual: "none" })

export const methodNames = methods.map((d) => d.name) as unknown as readonly [string, ...Array<string>]

/** The `method` param. */
export const Method = Schema.Literal(...methodNames)

/** Every method's params, merged: a field several methods read must be declared by the same object (OperatorParams). */
export const params: Schema.Struct.Fields = (() => {
  const out: Record<string, Schema.Struct.Fields[string]> = {}
  const from: Record<string, string> = {}
  for (const d of methods) {
    for (const [key, field] of Object.entries(d.method.params)) {
      if (key in out && out[key] !== field) {
        throw new RegistryError({ file: d.name, field: `method.params.${key}`, expected: `the declaration ${from[key]} uses (share it from OperatorParams)`, actual: "another declaration" })
      }
      out[key] = field
      from[key] = d.name
    }
  }
  return out
})()

/** The list of methods, as the stage description and the plan's errors write it. */
export const describe = (): string => methodNames.join(", ")

const cell = (s: string) => s.replace(/\|/g, "\\|")

/** The README's operator table (markdown): one row per operator, methods first, then the operators they fall back to. */
export const docsTable = (): string => {
  const rows = [...methods, ...all.filter((d) => d.method === undefined)].map((d) =>
    `| ${d.method ? `**${d.name}**` : d.name} | ${cell(d.summary)} | ${cell(d.docs.kernel)} | ${cell(d.docs.bias)} | ${d.method ? d.method.layout : "–"} | ` +
    `${d.noise === "required" ? "required" : d.noise === "optional" ? "optional" : "–"} | ${cell(d.docs.preserves)} |`)
  return [
    "| operator | what | grown kernel `W'[s, r·i+v, q·o+u]` | bias | layout | noise | function-preserving (exact arithmetic) |",
    "|---|---|---|---|---|---|---|",
    ...rows
  ].join("\n")
}
