/**
 * A stage: a named Effect program with Schema-decoded params, declared inputs and declared outputs.
 * Stage kinds are registered by packages (each exports `stages` from `@growlab/<pkg>/stages`); pipeline files
 * name kinds and wire outputs to inputs; the runner decodes params, checks inputs and moves outputs into place.
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"

export type ArtifactKind = "dataset" | "model" | "metrics" | "evaluation" | "expansion" | "gradcam" | "figure" | "report" | "table"

export interface InputDecl {
  readonly description: string
  /** The artifact kind expected (checked against the upstream output's declared kind). */
  readonly kind: ArtifactKind
  /** Gathers many upstream outputs (pipeline syntax `stage[*].output`). */
  readonly many?: boolean
  readonly optional?: boolean
}

export interface OutputDecl {
  readonly description: string
  readonly kind: ArtifactKind
  /** File name inside the stage's artifact folder, or a sub-folder when `dir` is true. */
  readonly file: string
  readonly dir?: boolean
  readonly optional?: boolean
}

/** One upstream artifact bound to an input. `vars` are the matrix values that produced it. */
export interface InputArtifact {
  readonly path: string
  readonly stage: string
  readonly vars: Readonly<Record<string, string | number | boolean>>
  /**
   * What the upstream run measured (its manifest's `measurements`: seconds, images per second). Not part of any
   * cache key: a downstream stage restored from the cache keeps the measurements of the run it first read.
   */
  readonly measurements?: Readonly<Record<string, unknown>>
}

export interface StageContext {
  readonly pipeline: string
  readonly pipelineFile: string
  /** The stage instance name (`stage` or `stage--k=v--...` for matrix instances). */
  readonly stage: string
  readonly vars: Readonly<Record<string, string | number | boolean>>
  /** Folder the stage writes its outputs into (the runner moves it into place atomically when the stage succeeds). */
  readonly outDir: string
  /** Path of a single-valued input (fails at wiring time if absent and not optional). */
  readonly input: (name: string) => string
  readonly optionalInput: (name: string) => string | undefined
  /** All artifacts bound to a gathered input. */
  readonly inputs: (name: string) => ReadonlyArray<InputArtifact>
  /** Where to write a declared output. */
  readonly output: (name: string) => string
  /** Adds facts to the stage's manifest (`info`). */
  readonly record: (key: string, value: unknown) => void
  /**
   * Adds a run-to-run measurement (wall time, throughput) to the manifest's `measurements`: never written into an
   * output, so an identical rerun leaves every output byte-identical and reruns nothing downstream.
   */
  readonly measure: (key: string, value: unknown) => void
  readonly log: (line: string) => void
}

export type StageRequirements = FileSystem.FileSystem | Path.Path

export interface Stage<P = any> {
  readonly kind: string
  readonly description: string
  readonly params: Schema.Schema<P, any, never>
  readonly inputs: Readonly<Record<string, InputDecl>>
  readonly outputs: Readonly<Record<string, OutputDecl>>
  /** Whether the stage needs the TensorFlow backend (the runner checks it before running). Default true. */
  readonly usesTf?: boolean
  readonly run: (params: P, ctx: StageContext) => Effect.Effect<void, { readonly _tag: string; readonly message: string }, StageRequirements>
}

/** Declares a stage kind (identity, for inference). */
export const make = <P>(stage: Stage<P>): Stage<P> => stage
