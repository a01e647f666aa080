/**
 * Builds a StageContext from resolved bindings. The pipeline runner uses it, and so do tests that run a stage
 * directly (`runStage(stage, params, { outDir, inputs })`) without a pipeline file.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ParseResult from "effect/ParseResult"
import type { InputArtifact, Stage, StageContext } from "./Stage.js"
import { ParamsError, StageFailure } from "./Errors.js"

export interface Bindings {
  readonly pipeline?: string
  readonly pipelineFile?: string
  readonly stage?: string
  readonly vars?: Readonly<Record<string, string | number | boolean>>
  readonly outDir: string
  /** Input name → bound artifacts (one for a single input, many for a gathered one). */
  readonly inputs?: Readonly<Record<string, ReadonlyArray<InputArtifact> | string>>
  readonly log?: (line: string) => void
}

export const makeContext = (stage: Stage, b: Bindings): {
  readonly ctx: StageContext
  readonly info: Record<string, unknown>
  readonly measurements: Record<string, unknown>
} => {
  const info: Record<string, unknown> = {}
  const measurements: Record<string, unknown> = {}
  const name = b.stage ?? stage.kind
  const bound = (input: string): ReadonlyArray<InputArtifact> => {
    const v = b.inputs?.[input]
    if (v === undefined) return []
    return typeof v === "string" ? [{ path: v, stage: "", vars: {} }] : v
  }
  const fail = (reason: string): never => {
    throw new StageFailure({ stage: name, reason })
  }
  const ctx: StageContext = {
    pipeline: b.pipeline ?? "",
    pipelineFile: b.pipelineFile ?? "",
    stage: name,
    vars: b.vars ?? {},
    outDir: b.outDir,
    input: (input) => {
      if (!(input in stage.inputs)) fail(`stage kind ${stage.kind} declares no input '${input}'`)
      const all = bound(input)
      if (all.length !== 1) fail(`input '${input}' needs exactly one artifact, got ${all.length}`)
      return all[0].path
    },
    optionalInput: (input) => {
      if (!(input in stage.inputs)) fail(`stage kind ${stage.kind} declares no input '${input}'`)
      const all = bound(input)
      if (all.length > 1) fail(`input '${input}' takes at most one artifact, got ${all.length}`)
      return all[0]?.path
    },
    inputs: (input) => {
      if (!(input in stage.inputs)) fail(`stage kind ${stage.kind} declares no input '${input}'`)
      return bound(input)
    },
    output: (output) => {
      const decl = stage.outputs[output]
      if (!decl) fail(`stage kind ${stage.kind} declares no output '${output}'`)
      return `${b.outDir}/${decl.file}`
    },
    record: (key, value) => { info[key] = value },
    measure: (key, value) => { measurements[key] = value },
    log: b.log ?? ((line) => process.stderr.write(`[${name}] ${line}\n`))
  }
  return { ctx, info, measurements }
}

/** Decodes params with the stage's Schema, failing with a ParamsError that names the field. */
export const decodeParams = <P>(stage: Stage<P>, raw: unknown, where: { readonly file: string; readonly stage: string }) =>
  Schema.decodeUnknown(stage.params, { errors: "all", onExcessProperty: "error" })(raw).pipe(
    Effect.mapError((e) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(e)
      const first = issues[0]
      return new ParamsError({
        file: where.file,
        stage: where.stage,
        field: first ? ["params", ...first.path.map(String)].join(".") : "params",
        expected: first?.message ?? e.message,
        actual: issues.length > 1 ? `${issues.length} problems: ${issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}` : JSON.stringify(first ? pick(raw, first.path) : raw) ?? "undefined"
      })
    })
  )

const pick = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), value)

/**
 * Runs a stage directly: decodes params, builds the context, runs it. Returns what it recorded for its manifest: `info`
 * and `measurements` (seconds, throughput).
 */
export const runStageRecorded = <P>(stage: Stage<P>, rawParams: unknown, b: Bindings) =>
  Effect.gen(function*() {
    const params = yield* decodeParams(stage, rawParams, { file: b.pipelineFile ?? "<direct>", stage: b.stage ?? stage.kind })
    const { ctx, info, measurements } = makeContext(stage, b)
    yield* Effect.suspend(() => stage.run(params, ctx)).pipe(
      Effect.catchAllDefect((d) => d instanceof StageFailure ? Effect.fail(d) : Effect.die(d))
    )
    return { info, measurements }
  })

/** Runs a stage directly (runStageRecorded); returns the manifest `info` it recorded. */
export const runStage = <P>(stage: Stage<P>, rawParams: unknown, b: Bindings) =>
  Effect.map(runStageRecorded(stage, rawParams, b), (r) => r.info)
