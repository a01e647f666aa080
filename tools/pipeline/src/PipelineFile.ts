/**
 * The pipeline file format (`pipelines/<name>.pipeline.json`), decoded once at the boundary. See docs/pipelines.md.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ParseResult from "effect/ParseResult"
import { PipelineError } from "./PipelineError.js"

export const NAME = /^[a-z][a-z0-9-]*$/
/**
 * `<stage>.<output>` binds one instance; `<stage>[*].<output>` gathers every instance; `<stage>[k=v,k=v].<output>`
 * gathers the instances whose matrix values match (e.g. `large[target=large2,learningRate=0.001].metrics`).
 */
export const INPUT_REF = /^([a-z][a-z0-9-]*)(\[(?:\*|[A-Za-z][A-Za-z0-9_]*=[A-Za-z0-9._-]+(?:,[A-Za-z][A-Za-z0-9_]*=[A-Za-z0-9._-]+)*)\])?\.([A-Za-z][A-Za-z0-9_-]*)$/

/** Longest stage name: instance names (`<stage>--<var>=<value>...`) become folder names, which the OS limits to 255 bytes. */
export const MAX_STAGE_NAME = 64
/** Longest instance name (a folder name, with room for the runner's `.tmp-<name>-<host>-<pid>` beside it). */
export const MAX_INSTANCE_NAME = 180
/** Default limit on a pipeline's number of stage instances (the study has 301); `maxInstances` in the file raises it. */
export const DEFAULT_MAX_INSTANCES = 2000

const StageName = Schema.String.pipe(
  Schema.pattern(NAME, { message: () => "a stage name matching ^[a-z][a-z0-9-]*$" }),
  Schema.maxLength(MAX_STAGE_NAME, { message: () => `a stage name of at most ${MAX_STAGE_NAME} characters` })
)
const InputRef = Schema.String.pipe(Schema.pattern(INPUT_REF, { message: () => "an input reference '<stage>.<output>', '<stage>[*].<output>' or '<stage>[var=value,...].<output>'" }))

/**
 * What a stage instance asks of the machine: cpus (its TensorFlow threads, and the CPU slots it holds while it runs),
 * memory, GPUs and a time limit (used by the Slurm executor). Any field left out comes from the next level: matrix
 * variant → stage → pipeline file → the kind's default (Registry.ts).
 */
export const Resources = Schema.Struct({
  cpus: Schema.optional(Schema.Int.pipe(Schema.between(1, 1024, { message: () => "an integer number of cpus from 1 to 1024" }))),
  memoryMiB: Schema.optional(Schema.Int.pipe(Schema.between(16, 16 * 1024 * 1024, { message: () => "memory in MiB, an integer from 16" }))),
  gpus: Schema.optional(Schema.Int.pipe(Schema.between(0, 64, { message: () => "an integer number of GPUs from 0 to 64" }))),
  timeMinutes: Schema.optional(Schema.Int.pipe(Schema.between(1, 60 * 24 * 365, { message: () => "a time limit in whole minutes, at least 1" })))
})
export type Resources = typeof Resources.Type

export const MatrixVariant = Schema.Struct({
  id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: () => "a variant id of letters, digits, '.', '_' or '-'" })),
  params: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  resources: Schema.optional(Resources)
})
export type MatrixVariant = typeof MatrixVariant.Type
export const MatrixValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean, MatrixVariant)
export type MatrixValue = typeof MatrixValue.Type

export const StageEntry = Schema.Struct({
  kind: Schema.String,
  description: Schema.optional(Schema.String),
  /** An input binds one reference, or gathers a list of references (each `<stage>[*].<output>` or `<stage>.<output>`). */
  inputs: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Union(InputRef, Schema.NonEmptyArray(InputRef)) }), { default: () => ({}) }),
  params: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) }),
  resources: Schema.optional(Resources),
  matrix: Schema.optionalWith(
    Schema.Record({
      key: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, { message: () => "a dotted param path" })),
      value: Schema.Array(MatrixValue).pipe(Schema.minItems(1, { message: () => "a non-empty list of matrix values (an empty list would make no instance at all)" }))
    }),
    { default: () => ({}) }
  )
})
export type StageEntry = typeof StageEntry.Type

export const PipelineFile = Schema.Struct({
  $schema: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  definitions: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) }),
  /** Refuse to resolve more stage instances than this (default DEFAULT_MAX_INSTANCES): a typo in a matrix fails early. */
  maxInstances: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Resources of every stage of the file, unless the stage or its matrix variant says otherwise. */
  resources: Schema.optional(Resources),
  stages: Schema.Record({ key: StageName, value: StageEntry })
})
export type PipelineFile = typeof PipelineFile.Type

/** The pipeline name of a file path: `pipelines/exp4.pipeline.json` → `exp4`. */
export const pipelineName = (file: string): string => {
  const base = file.split("/").pop() ?? file
  return base.replace(/\.pipeline\.json$/, "")
}

/** A name as shown in a message: at most 40 characters. */
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 37)}...` : s)

const describe = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s === undefined ? "nothing" : s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** Checks a pipeline file's name: `<name>.pipeline.json` with a valid name. */
export const checkFileName = (file: string) =>
  Effect.suspend(() => {
    const name = pipelineName(file)
    return !NAME.test(name) || !file.endsWith(".pipeline.json")
      ? Effect.fail(new PipelineError({ file, field: "(file name)", expected: "<name>.pipeline.json with a name matching ^[a-z][a-z0-9-]*$", actual: file.split("/").pop() ?? file }))
      : Effect.void
  })

/** Decodes a (flat, composed) pipeline object, failing with the first problem's file, dotted field, expected and actual. */
export const decodeJson = (file: string, json: unknown) =>
  Schema.decodeUnknown(PipelineFile, { onExcessProperty: "error" })(json).pipe(
    Effect.mapError((e) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
      const path = issue?.path ?? []
      const actual = path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), json)
      const field = path.length ? path.map((k) => clip(String(k))).join(".") : "(root)"
      // a key that fails a record's key schema (a stage name) is reported by Schema as "unexpected"
      if (issue?._tag === "Unexpected" && path.length === 2 && path[0] === "stages") {
        const name = String(path[1])
        return new PipelineError({
          file, field,
          expected: `a stage name of lowercase letters, digits and '-', starting with a letter, at most ${MAX_STAGE_NAME} characters`,
          actual: `${JSON.stringify(clip(name))} (${name.length} characters)`
        })
      }
      return new PipelineError({
        file,
        field,
        expected: issue?.message ?? e.message,
        actual: issue?._tag === "Unexpected" ? "an unknown field" : describe(actual)
      })
    })
  )
