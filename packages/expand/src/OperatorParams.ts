/**
 * Params that several methods read, declared once so that the registry can merge every method's params into the
 * stage's Schema (a field two methods declare must be this very object; see Registry).
 */
import * as Schema from "effect/Schema"
import * as Noise from "./Noise.js"

/** What diagonal methods do with layers that grow along one axis only (the study ran both). */
export const OneAxis = Schema.Literal("symmetric", "random")
export type OneAxis = typeof OneAxis.Type

/** What envelope expansion puts around the centred source weights. */
export const Fill = Schema.Literal("zeros", "scaled-noise")
export type Fill = typeof Fill.Type

/** Noise of the noisy methods (required by them), and of envelope's `scaled-noise` fill (default scaled normal). */
export const noise = Schema.optional(Noise.Scheme)
/** Diagonal methods: layers that grow along one axis get the symmetric operator or a random initialisation. */
export const oneAxis = Schema.optionalWith(OneAxis, { default: () => "symmetric" as const })
/** Envelope: what surrounds the centred source weights. */
export const fill = Schema.optionalWith(Fill, { default: () => "zeros" as const })
