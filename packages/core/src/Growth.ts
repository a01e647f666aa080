/**
 * The growth contract: every way of growing a trained model (@growlab/expand's operators, @growlab/net2net's
 * Net2WiderNet and Net2DeeperNet) is a `Growth`: params (a Schema, decoded from the pipeline file) and a pure `grow`
 * from the source model to a `Grown` — the grown model, one expansion record per layer (ExpansionArtifact) and
 * whether the result computes the source's function in exact arithmetic (`breaks`). Measuring preservation, writing
 * the artifacts and logging are the stage's (GrowthStage), the same for every growth.
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { LayerRecord } from "./ExpansionArtifact.js"
import type { Model } from "./ModelArtifact.js"

/** A file of the growth's `figures` output. */
export interface Figure {
  readonly file: string
  readonly bytes: Uint8Array
}

export interface Grown {
  /** The grown model as written (its info says how it was grown). */
  readonly model: Model
  /** One record per layer of the grown model. */
  readonly layers: ReadonlyArray<LayerRecord>
  /** The method as the summary and `growlab.method` name it. */
  readonly method: string
  /** Summary options (null where they do not apply): @growlab/expand's one-axis rule and fill, the noise params. */
  readonly oneAxis: string | null
  readonly fill: string | null
  readonly noise: object | null
  readonly seed: number
  /** Why the grown model does not compute the source's logits in exact arithmetic (empty: it does). */
  readonly breaks: ReadonlyArray<string>
  /** Facts of the operation for the summary (`details`), when the growth has any. */
  readonly details?: Record<string, unknown>
  /** Draws the files of the `figures` output and its `index.json`, for growths that draw (called once, when written). */
  readonly figures?: () => { readonly files: ReadonlyArray<Figure>; readonly index: unknown }
  /** Lines for the stage log and facts for the manifest (`ctx.record`). */
  readonly log?: ReadonlyArray<string>
  readonly facts?: Record<string, unknown>
}

export interface Growth<P, E extends { readonly _tag: string; readonly message: string }> {
  readonly params: Schema.Schema<P, any, never>
  readonly grow: (source: Model, params: P) => Effect.Effect<Grown, E>
}
